/**
 * The vault's problems, which every kind of environment has: its answer, its role, whether it
 * takes writes and can save, its settings and its ACL users against what the program declares.
 */
import { declaredTlsPaths, declaredVaultSettings, declaredVaultUsers } from "../fleet/declared";
import type { EnvironmentOutput } from "../fleet/environment";
import { aclDifferences } from "../redis/acl";
import { type AclUser, type Info, infoInt } from "../redis/replies";
import type { VaultObservation } from "./observe";
import { type Problem, show } from "./problems";
import { type Containers, unansweredMessage } from "./unanswered";

export function vaultProblems(env: EnvironmentOutput, vault: VaultObservation, containers: Containers | undefined): Problem[] {
    const problems: Problem[] = [];
    const where = `vault ${env.vault.host}:${env.vault.port}`;
    const info = vault.info;
    const loading = info?.loading === "1";
    // While it loads, the vault refuses DBSIZE (LOADING): that is the loading, reported below.
    if (vault.failure && !(loading && vault.failure.kind === "error" && /LOADING/.test(vault.failure.message))) {
        const f = vault.failure;
        if (f.kind === "auth") problems.push({ code: "vault-auth", message: `${where} rejected the stack's vault password` });
        // A certificate refused (tls) is an answer too: the server is there, its certificate is wrong.
        else if (f.kind === "denied" || f.kind === "error" || f.kind === "not-redis" || f.kind === "tls")
            problems.push({ code: "vault-error", message: `${where} ${f.message}` });
        else problems.push({ code: "vault-unreachable", message: unansweredMessage(env, "vault", where, f, containers) });
    }
    if (info?.role !== undefined && info.role !== "master") {
        problems.push({
            code: "vault-not-master",
            message: `the vault is itself a replica of ${info.master_host}:${info.master_port} (REPLICAOF run on the vault?): it must be the source of truth`,
        });
    }
    problems.push(...writeRefusals(info, vault.config));
    if (vault.config) {
        for (const [setting, declared] of Object.entries(declaredVaultSettings(declaredTlsPaths(env)))) {
            const actual = vault.config[setting];
            if (actual === declared) continue;
            if (setting === "appendonly") {
                problems.push({
                    code: "persistence-off",
                    setting,
                    message: `persistence is off on the vault (appendonly ${show(actual)}): a restart would come back empty and wipe its replica`,
                });
            } else {
                problems.push({
                    code: "vault-drift",
                    setting,
                    message: `vault setting ${setting} is ${show(actual)}, declared ${show(declared)}`,
                });
            }
        }
    }
    if (vault.users && vault.acl) {
        problems.push(...aclProblems("vault-acl-drift", "vault", declaredVaultUsers(env), vault.users, vault.acl));
    }
    return problems;
}

/**
 * Every state in which the vault refuses writes or cannot save, from `INFO persistence` and
 * `INFO memory` and its settings alone: the check never writes to a vault to find out. Redis
 * refuses every write with MISCONF when its AOF cannot be written, and when an RDB snapshot
 * failed while save points are set and stop-writes-on-bgsave-error is yes
 * (writeCommandsDeniedByDiskError, server.c); with OOM when maxmemory is reached under
 * noeviction (performEvictions, evict.c); with LOADING while it loads its data; with NOREPLICAS
 * while min-replicas-to-write, set by hand, is not met (replicaQuorum). Pure.
 */
export function writeRefusals(info: Info | undefined, config: Record<string, string> | undefined): Problem[] {
    if (!info) return [];
    const problems: Problem[] = [];
    if (info.loading === "1") {
        problems.push({
            code: "vault-loading",
            message: "the vault is loading its data into memory (loading:1): until it is done it refuses every write and read (LOADING)",
        });
    }
    if (info.aof_last_write_status !== undefined && info.aof_last_write_status !== "ok") {
        problems.push({
            code: "persistence-failing",
            message: `the vault cannot write its append-only file (aof_last_write_status:${info.aof_last_write_status}; a full or failing disk?): it refuses every write (MISCONF) until a write succeeds again (Redis retries every second)`,
        });
    }
    // Snapshots matter only while save points are set: without any, Redis neither refuses writes
    // for a failed one nor needs one to stop. The vault declares none (`save ""`).
    const save = config?.save;
    if (info.rdb_last_bgsave_status === "err" && save !== "") {
        const stops = config?.["stop-writes-on-bgsave-error"];
        const points = save === undefined ? "save points" : `save points (save ${show(save)})`;
        const writes =
            stops === "no"
                ? "its writes go on (stop-writes-on-bgsave-error no)"
                : `it refuses every write (MISCONF, stop-writes-on-bgsave-error ${stops ?? "yes, Redis's default"}) until a snapshot succeeds`;
        problems.push({
            code: "snapshot-failing",
            message: `the vault's last RDB snapshot failed (rdb_last_bgsave_status:err; a full or failing disk?) while it has ${points}: ${writes}, and a graceful stop cannot finish while they fail (Redis saves one more before it exits)`,
        });
    }
    const maxmemory = infoInt(info, "maxmemory") ?? 0;
    const used = (infoInt(info, "used_memory") ?? 0) - (infoInt(info, "mem_not_counted_for_evict") ?? 0);
    if (maxmemory > 0 && info.maxmemory_policy === "noeviction" && used > maxmemory) {
        problems.push({
            code: "vault-memory-full",
            message: `the vault holds as much as its maxmemory allows (maxmemory ${maxmemory} bytes, noeviction): it refuses every write that needs memory (OOM) until keys are deleted or the limit is raised`,
        });
    }
    const quorum = replicaQuorum(info, config);
    if (quorum?.required !== undefined) {
        const r = quorum.required;
        const effect = quorum.refuses
            ? `with ${quorum.good} replica${quorum.good === 1 ? "" : "s"} in time it refuses every write (NOREPLICAS) until ${r} ${r === 1 ? "is" : "are"}`
            : `it refuses every write (NOREPLICAS) whenever fewer than ${r} replica${r === 1 ? " is" : "s are"} in time`;
        problems.push({
            code: "vault-drift",
            setting: "min-replicas-to-write",
            message: `vault setting min-replicas-to-write is "${r}", declared "0" (Redis's default): ${effect}`,
        });
    }
    return problems;
}

/**
 * `min-replicas-to-write`, which the program never sets (Redis's default 0, off): a vault with
 * it set refuses every write with NOREPLICAS while fewer replicas than that have acknowledged
 * within `min-replicas-max-lag` seconds (server.c checkGoodReplicasStatus). INFO replication
 * shows `min_slaves_good_slaves` only while both settings are above 0, that is while the rule
 * applies; the count it asks for comes from CONFIG GET. Undefined: the rule is off. `refuses`
 * is undefined when it cannot be told: CONFIG GET failed while a replica is in time (with none
 * in time, any count above 0 refuses). Pure.
 */
export function replicaQuorum(
    info: Info | undefined,
    config: Record<string, string> | undefined,
): { required: number | undefined; good: number; refuses: boolean | undefined } | undefined {
    const good = info ? infoInt(info, "min_slaves_good_slaves") : undefined;
    // A replica is not held to it: Redis judges the rule on a master only.
    if (good === undefined || (info?.role !== undefined && info.role !== "master")) return undefined;
    const configured = config?.["min-replicas-to-write"];
    const required = configured !== undefined && /^\d+$/.test(configured) ? Number(configured) : undefined;
    if (required === 0) return undefined;
    return { required, good, refuses: required !== undefined ? good < required : good === 0 ? true : undefined };
}

export const USER_ROLE: Record<string, string> = { default: "clients without a password" };

/** One problem per ACL user that differs from its declaration, and one per user nobody declared. */
export function aclProblems(
    code: "vault-acl-drift" | "operational-acl-drift",
    where: "vault" | "operational",
    declared: Record<string, string[]>,
    users: string[],
    acl: Record<string, AclUser | undefined>,
): Problem[] {
    const problems: Problem[] = [];
    for (const [user, rules] of Object.entries(declared)) {
        const differences = aclDifferences(acl[user], rules);
        if (differences.length === 0) continue;
        const who = where === "operational" && user === "default" ? `${user} (${USER_ROLE.default}, who may only read)` : user;
        problems.push({ code, user, message: `${where} ACL user ${who} ${differences.join("; ")} (ACL SETUSER by hand?)` });
    }
    for (const user of users.filter((u) => !(u in declared))) {
        problems.push({
            code,
            user,
            message: `${where} ACL user ${user} exists, and the program declares no such user (ACL SETUSER by hand?)`,
        });
    }
    return problems;
}
