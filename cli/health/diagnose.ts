/**
 * What is wrong with an environment, in words: pure functions from observations (see
 * `observe.ts`) and the stack output to problems, so every rule is tested on INFO/CONFIG
 * samples without a server (what the program declares that they compare with is in
 * `fleet/declared.ts`), and whether re-syncing an operational could lose data.
 */
import { REDIS_INTERNAL_PORT } from "../../components/protocol";
import { aclDifferences } from "../redis/acl";
import {
    declaredOperationalSettings,
    declaredOperationalUsers,
    declaredTlsPaths,
    declaredVaultSettings,
    declaredVaultUsers,
} from "../fleet/declared";
import type { EnvironmentObservation, OperationalObservation, VaultObservation } from "./observe";
import type {
    SwarmObservation,
    EnvironmentOutput,
    EnvironmentsOutput,
    SecureEnvironmentOutput,
    StandardEnvironmentOutput,
} from "../fleet/environment";
import type { ContainerFacts } from "../core/io";
import { type AclUser, type ClientEntry, type Info, NO_REPLID, infoInt } from "../redis/replies";
import { NOTHING_LISTENS, type ProbeFailure } from "../redis/session";

export type ProblemCode =
    | "vault-unreachable"
    | "vault-auth"
    | "vault-error"
    | "vault-not-master"
    | "persistence-off"
    | "persistence-failing"
    | "snapshot-failing"
    | "vault-loading"
    | "vault-memory-full"
    | "vault-drift"
    | "vault-acl-drift"
    | "secure-has-replicas"
    | "operational-unreachable"
    | "operational-reads-need-password"
    | "operational-error"
    | "not-replica"
    | "wrong-master"
    | "syncing"
    | "link-down"
    | "admin-auth"
    | "masterauth-drift"
    | "masteruser-drift"
    | "operational-drift"
    | "operational-acl-drift"
    | "replication-user"
    | "replica-unseen"
    | "not-fixed"
    | "fix-failed"
    | "vault-not-running"
    | "operational-not-running"
    | "vault-misplaced"
    | "operational-misplaced"
    | "tls-cert-expiring";

/**
 * Problems of the vault alone. Nothing done to the operational causes or cures them: --fix
 * never writes to a vault, and recover does not wait for them.
 */
export const VAULT_PROBLEMS: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
    "vault-not-master",
    "persistence-off",
    "persistence-failing",
    "snapshot-failing",
    "vault-loading",
    "vault-memory-full",
    "vault-drift",
    "vault-acl-drift",
    "secure-has-replicas",
    "vault-misplaced",
]);

export interface Problem {
    code: ProblemCode;
    /** In words, for a person; never a password. */
    message: string;
    /** The setting concerned, for drift. */
    setting?: string;
    /** The ACL user concerned, for ACL drift. */
    user?: string;
    /** The server concerned, for a problem either role can have (tls-cert-expiring). */
    role?: "vault" | "operational";
}

/** What the operational's replication looks like, for the report. */
export interface ReplicationState {
    role: string | null;
    /** `host:port` it replicates from, or null when it is no replica. */
    master: string | null;
    /** master_link_status: "up", "down", or null. */
    link: string | null;
    /** ACL user the vault lists the replica's connection under, when known. */
    user: string | null;
}

/** Values that change from one run to the next on a healthy fleet: kept out of the stable report. */
export interface Lag {
    /** Vault's master_repl_offset minus the replica's offset; null when they follow different histories or the link is down. */
    bytes: number | null;
    /** master_last_io_seconds_ago: seconds since the replica last heard from the vault (0-1 on an idle link: the vault pings every second, repl-ping-replica-period 1). */
    seconds: number | null;
}

export interface Diagnosis {
    problems: Problem[];
    replication: ReplicationState | null;
    lag: Lag | null;
}

export interface DiagnosisContext {
    /** Container name → environment, for every vault of the stack: names "another environment's vault". */
    vaultOwners: ReadonlyMap<string, string>;
    /** Now, in ms since the epoch: what a certificate's end is measured against. Default: the clock. */
    now?: number;
}

export function diagnosisContext(environments: EnvironmentsOutput, now = Date.now()): DiagnosisContext {
    return { vaultOwners: new Map(Object.entries(environments).map(([name, env]) => [env.vault.container, name])), now };
}

/** How long before a certificate's end `check` reports it (tls-cert-expiring, exit 1). */
export const CERT_EXPIRY_WARNING_DAYS = 30;

/**
 * A server's certificate that ends within CERT_EXPIRY_WARNING_DAYS (or has ended). Nothing
 * renews certificates by itself (pulumi/pulumi-tls#39): the message says how to. Pure.
 */
export function certificateProblem(
    environment: string,
    role: "vault" | "operational",
    validTo: string | undefined,
    now: number,
): Problem | undefined {
    if (validTo === undefined) return undefined;
    const end = Date.parse(validTo);
    const days = Math.floor((end - now) / 86_400_000);
    if (Number.isNaN(end) || days >= CERT_EXPIRY_WARNING_DAYS) return undefined;
    const when = end <= now ? `expired on ${validTo}` : `expires on ${validTo}, in ${days} day${days === 1 ? "" : "s"}`;
    return {
        code: "tls-cert-expiring",
        role,
        message: `the ${role}'s TLS certificate ${when}: renew it with \`pulumi up --target URN --target-dependents --replace URN\`, URN the one of ${environment}-${role}-tls-cert (docs/tls.md, Certificate rotation); that ${role} restarts once`,
    };
}

const LOCALHOST = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0"]);
const IP_ADDRESS = /^(\d{1,3}\.){3}\d{1,3}$|:/;

export function diagnose(env: EnvironmentOutput, observation: EnvironmentObservation, context: DiagnosisContext): Diagnosis {
    const diagnosis =
        env.kind === "standard"
            ? diagnoseStandard(env, observation.vault, observation.operational ?? {}, context, observation.containers)
            : diagnoseSecure(env, observation.vault, observation.containers);
    const name = context.vaultOwners.get(env.vault.container) ?? env.vault.container;
    const now = context.now ?? Date.now();
    const certificates = [
        certificateProblem(name, "vault", observation.vault.certificateValidTo, now),
        certificateProblem(name, "operational", observation.operational?.certificateValidTo, now),
    ].filter((p): p is Problem => p !== undefined);
    const withCertificates = certificates.length > 0 ? { ...diagnosis, problems: [...diagnosis.problems, ...certificates] } : diagnosis;
    return observation.swarm ? withPlacement(env, observation.swarm, withCertificates) : withCertificates;
}

const UNANSWERED: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
    "vault-unreachable",
    "vault-error",
    "operational-unreachable",
    "operational-error",
]);

/**
 * On Swarm, what the manager says about each role's task: a server that does not answer
 * because its service runs no task is reported as that, with the cause (its node down, no
 * node it may run on, its container failing), and a task on a node it must not be on is
 * reported too. Pure, like the rest.
 */
export function withPlacement(env: EnvironmentOutput, swarm: SwarmObservation, diagnosis: Diagnosis): Diagnosis {
    const problems: Problem[] = [];
    const vaultNodeId = env.swarm?.vaultNode ?? "";
    const pinned = swarm.vaultNode ? `${swarm.vaultNode.hostname} (${swarm.vaultNode.id})` : vaultNodeId;
    const vaultDown = !swarm.vault.node;
    const operationalDown = swarm.operational !== undefined && !swarm.operational.node;
    for (const problem of diagnosis.problems) {
        const role = problem.code.startsWith("vault") ? "vault" : "operational";
        // Replaced by the cause: the service runs no task.
        if (UNANSWERED.has(problem.code) && (role === "vault" ? vaultDown : operationalDown)) continue;
        problems.push(problem);
    }
    const notRunning: Problem[] = [];
    if (vaultDown) {
        const service = env.vault.container;
        const v = swarm.vault;
        let cause: string;
        if (!v.exists) cause = "the service does not exist on the Swarm (removed by hand? `pulumi up` creates it again)";
        else if (!swarm.vaultNode)
            cause = `it is pinned to node ${vaultNodeId}, which is not in the Swarm: a vault runs only on the node that holds its data`;
        else if (swarm.vaultNode.state !== "ready")
            cause = `its node ${pinned} is ${swarm.vaultNode.state}; the vault is never started on another node (its data is in a volume on ${swarm.vaultNode.hostname}): bring ${swarm.vaultNode.hostname} back`;
        else cause = `its task on ${pinned} is ${v.waiting ? `${v.waiting.state}: ${v.waiting.message}` : "not running"}`;
        notRunning.push({ code: "vault-not-running", message: `the vault's service ${service} runs no task: ${cause}` });
    } else if (swarm.vault.node && vaultNodeId !== "" && swarm.vault.node.id !== vaultNodeId) {
        problems.push({
            code: "vault-misplaced",
            message: `the vault runs on node ${swarm.vault.node.hostname} (${swarm.vault.node.id}), not on ${pinned}, the node that holds its data (constraint changed by hand?)`,
        });
    }
    if (env.kind === "standard" && swarm.operational) {
        const o = swarm.operational;
        const service = env.operational.container;
        if (operationalDown) {
            let cause: string;
            if (!o.exists) cause = "the service does not exist on the Swarm (removed by hand? `pulumi up` creates it again)";
            else if (swarm.otherReadyNodes === 0)
                cause = `it runs on any node but its vault's (${pinned}), and no other node is up: reads wait until one is`;
            else cause = o.waiting ? `${o.waiting.state}: ${o.waiting.message}` : "not running";
            notRunning.push({ code: "operational-not-running", message: `the operational's service ${service} runs no task: ${cause}` });
        } else if (o.node && o.node.id === vaultNodeId) {
            problems.push({
                code: "operational-misplaced",
                message: `the operational runs on its vault's node ${pinned}: losing that one node loses both (constraint changed by hand?)`,
            });
        }
    }
    return { ...diagnosis, problems: [...notRunning, ...problems] };
}

export function diagnoseSecure(env: SecureEnvironmentOutput, vault: VaultObservation, containers?: Containers): Diagnosis {
    const problems = vaultProblems(env, vault, containers);
    const reported = infoInt(vault.info, "connected_slaves");
    // While `nexus-redis backup` (redis-cli --rdb) streams a snapshot, the vault counts that
    // connection as a replica. CLIENT LIST says which user each one authenticated as: the
    // backup user can only take snapshots, so its connections are not replicas to report.
    const replicas = vault.replicas && withoutBackups(env, vault.replicas);
    const attached = replicas ? replicas.length : reported;
    if (attached !== undefined && attached > 0) {
        const backups = (vault.replicas?.length ?? 0) - attached;
        const who = (replicas ?? []).map((c) => `${c.addr ?? "?"} as ${c.user ?? "?"}`).join(", ");
        const counted = `connected_slaves:${reported ?? "?"}${backups > 0 ? `, ${backups} of them a backup by user ${env.backup.user}` : ""}`;
        problems.push({
            code: "secure-has-replicas",
            message: `secure environment has ${attached} replica${attached === 1 ? "" : "s"} attached (${counted}${who ? `; ${who}` : ""}): its data must never leave the vault`,
        });
    }
    return { problems, replication: null, lag: null };
}

/** A vault's replica connections without those of its backup user (a snapshot being taken, not a replica). */
export function withoutBackups(env: EnvironmentOutput, replicas: ClientEntry[]): ClientEntry[] {
    return replicas.filter((c) => c.user !== env.backup.user);
}

function vaultProblems(env: EnvironmentOutput, vault: VaultObservation, containers: Containers | undefined): Problem[] {
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
 * noeviction (performEvictions, evict.c); with LOADING while it loads its data. Pure.
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
    return problems;
}

type Containers = EnvironmentObservation["containers"];

/**
 * What a server that did not answer is, in words: what its port did and, when the engine said,
 * what its container is doing, which the port alone cannot tell (a stopped container and a
 * running one cut off its network both refuse).
 */
function unansweredMessage(
    env: EnvironmentOutput,
    role: "vault" | "operational",
    where: string,
    failure: ProbeFailure,
    containers: Containers,
): string {
    const name = role === "vault" ? env.vault.container : (env as StandardEnvironmentOutput).operational.container;
    const other = role === "vault" ? containers?.operational : containers?.vault;
    const explanation = containerExplanation(name, containers?.[role], failure, other?.networks[0]);
    if (!explanation) return `${where} ${failure.message}`;
    // The engine's answer replaces the port's guess at the cause.
    const port = failure.message.endsWith(` ${NOTHING_LISTENS}`) ? failure.message.slice(0, -NOTHING_LISTENS.length - 1) : failure.message;
    return `${where} ${port}: ${explanation}`;
}

/**
 * Why a container's server does not answer, from the engine's facts; undefined when they
 * explain nothing the port did not say already. `network`: the one its partner is on, to name
 * in the repair. Pure.
 */
export function containerExplanation(
    name: string,
    facts: ContainerFacts | undefined,
    failure: ProbeFailure,
    network: string | undefined,
): string | undefined {
    if (!facts) return undefined;
    if (!facts.exists) return `container ${name} does not exist (removed by hand? \`pulumi up\` creates it again)`;
    const exit = `exit code ${facts.exitCode ?? "?"}${facts.oomKilled ? ", killed by the kernel for lack of memory" : ""}`;
    switch (facts.status) {
        case "exited":
        case "dead":
            return `container ${name} is stopped (${exit}; \`docker logs ${name}\` says why): \`docker start ${name}\``;
        case "created":
            return `container ${name} was created and never started: \`docker start ${name}\``;
        case "restarting":
            return `container ${name} is restarting: it keeps exiting as it starts (last ${exit}; \`docker logs ${name}\` says why)`;
        case "paused":
            return `container ${name} is paused: \`docker unpause ${name}\``;
        case "removing":
            return `container ${name} is being removed`;
        case "running":
            if (facts.networks.length === 0)
                return (
                    `container ${name} runs, but is attached to no network (docker network disconnect?), so its published port is closed ` +
                    `and it cannot reach the other server: \`docker network connect ${network ?? "NETWORK"} ${name}\``
                );
            if (failure.kind === "refused")
                return `container ${name} runs, but nothing listens in it yet (Redis starting, or a vault converting its data with no port open: \`docker logs ${name}\`)`;
            return undefined;
        default:
            return undefined;
    }
}

const USER_ROLE: Record<string, string> = { default: "clients without a password" };

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

/**
 * A standard environment's problems, in the order the report lists them: the vault's, the
 * operational's answer, its replication, its admin user, its settings, its ACL, then the
 * vault's side of the link.
 */
export function diagnoseStandard(
    env: StandardEnvironmentOutput,
    vault: VaultObservation,
    operational: OperationalObservation,
    context: DiagnosisContext,
    containers?: Containers,
): Diagnosis {
    const problems = vaultProblems(env, vault, containers);
    const where = `operational ${env.operational.host}:${env.operational.port}`;
    problems.push(...operationalFailures(env, operational, where, containers));
    const { replication, lag, wrongMaster, problems: replicationProblems } = replicationState(env, vault, operational, context);
    problems.push(...replicationProblems);
    problems.push(...adminProblems(env, operational, where));
    if (operational.config) problems.push(...operationalDrift(env, operational.config));
    problems.push(...readerAcl(env, operational));
    if (replication && replication.link === "up" && !wrongMaster && vault.replicas)
        problems.push(...replicaSide(env, vault.replicas, operational, replication));
    return { problems, replication, lag };
}

/** The operational did not answer, or would not let anyone read without a password. */
function operationalFailures(
    env: StandardEnvironmentOutput,
    operational: OperationalObservation,
    where: string,
    containers: Containers | undefined,
): Problem[] {
    const problems: Problem[] = [];
    if (operational.failure) {
        const f = operational.failure;
        const code =
            f.kind === "denied" || f.kind === "error" || f.kind === "not-redis" || f.kind === "auth" || f.kind === "tls"
                ? "operational-error"
                : "operational-unreachable";
        problems.push({
            code,
            message:
                code === "operational-unreachable" ? unansweredMessage(env, "operational", where, f, containers) : `${where} ${f.message}`,
        });
    }
    if (operational.readFailure) {
        problems.push({
            code: "operational-reads-need-password",
            message: `${where} ${operational.readFailure.message}: the protocol's reads (and its INFO replication check) need no password`,
        });
    }
    return problems;
}

/** Role, master, link and lag from the operational's INFO replication; whether it follows another master. */
function replicationState(
    env: StandardEnvironmentOutput,
    vault: VaultObservation,
    operational: OperationalObservation,
    context: DiagnosisContext,
): { problems: Problem[]; replication: ReplicationState | null; lag: Lag | null; wrongMaster: boolean } {
    const problems: Problem[] = [];
    const info = operational.info;
    if (!info) return { problems, replication: null, lag: null, wrongMaster: false };
    let lag: Lag | null = null;
    let wrongMaster = false;
    const role = info.role ?? null;
    const isReplica = role === "slave";
    const masterHost = info.master_host;
    const masterPort = infoInt(info, "master_port");
    const link = info.master_link_status ?? null;
    const replication = { role, master: isReplica ? `${masterHost}:${masterPort}` : null, link: isReplica ? link : null, user: null };
    if (!isReplica) {
        problems.push({
            code: "not-replica",
            message: `the operational is not a replica (role:${role}; REPLICAOF NO ONE?): it no longer receives the vault's writes`,
        });
    } else if (masterHost !== env.vault.container || masterPort !== REDIS_INTERNAL_PORT) {
        wrongMaster = true;
        problems.push({ code: "wrong-master", message: wrongMasterMessage(env, masterHost ?? "", masterPort, context) });
    } else if (link !== "up") {
        if (info.master_sync_in_progress === "1") {
            problems.push({ code: "syncing", message: `the operational is loading the vault's data (initial sync in progress)` });
        } else {
            // No "down for N s": the report must read the same on two runs against an unchanged fleet.
            const expected = `${env.vault.container}:${REDIS_INTERNAL_PORT}`;
            problems.push({
                code: "link-down",
                message: `the replication link to ${expected} is ${link ?? "unknown"}${linkDownCause(vault, operational, env)}`,
            });
        }
    }
    if (isReplica && !wrongMaster && link === "up" && vault.info) {
        lag = replicationLag(vault.info, info);
    } else if (isReplica && link === "up") {
        lag = { bytes: null, seconds: infoInt(info, "master_last_io_seconds_ago") ?? null };
    }
    return { problems, replication, lag, wrongMaster };
}

/** The admin user could not log in: runtime settings can be neither checked nor repaired. */
function adminProblems(env: StandardEnvironmentOutput, operational: OperationalObservation, where: string): Problem[] {
    if (!operational.adminFailure) return [];
    const f = operational.adminFailure;
    return [
        {
            code: "admin-auth",
            message:
                f.kind === "auth"
                    ? `${where} rejected the admin user ${env.operational.adminUser}'s password: runtime settings cannot be checked, nor repaired`
                    : `${where}: the admin user ${env.operational.adminUser} ${f.message}`,
        },
    ];
}

/** The operational's runtime settings against what the program declares (masterauth compared, never printed). */
function operationalDrift(env: StandardEnvironmentOutput, config: Record<string, string>): Problem[] {
    const problems: Problem[] = [];
    if (config.masterauth !== env.replication.password) {
        // Never print either value: both are passwords.
        problems.push({
            code: "masterauth-drift",
            setting: "masterauth",
            message: `masterauth differs from the stack's replication password (CONFIG SET by hand?): the vault refuses the replica`,
        });
    }
    for (const [setting, declared] of Object.entries(declaredOperationalSettings(env.vault.container, declaredTlsPaths(env)))) {
        // replicaof is judged from INFO replication above, which says more.
        if (setting === "replicaof") continue;
        const actual = config[setting];
        if (actual === declared) continue;
        if (setting === "masteruser") {
            problems.push({
                code: "masteruser-drift",
                setting,
                message: `masteruser is ${show(actual)}, declared ${show(declared)} (the replication-only user)`,
            });
        } else {
            problems.push({
                code: "operational-drift",
                setting,
                message: `operational setting ${setting} is ${show(actual)}, declared ${show(declared)}`,
            });
        }
    }
    return problems;
}

/** The operational's ACL users against their declarations; the reader's commands (ACL DRYRUN) when its rules looked right. */
function readerAcl(env: StandardEnvironmentOutput, operational: OperationalObservation): Problem[] {
    const problems: Problem[] = [];
    if (operational.users && operational.acl) {
        problems.push(
            ...aclProblems("operational-acl-drift", "operational", declaredOperationalUsers(env), operational.users, operational.acl),
        );
    }
    // Only aclProblems above reports operational-acl-drift: the default user is reported once.
    if (
        operational.readerMayRun &&
        operational.readerMayRun.length > 0 &&
        !problems.some((p) => p.code === "operational-acl-drift" && p.user === "default")
    ) {
        problems.push({
            code: "operational-acl-drift",
            user: "default",
            message: `operational ACL user default (${USER_ROLE.default}, who may only read) may run ${operational.readerMayRun.join(", ")} (ACL DRYRUN; ACL SETUSER by hand?)`,
        });
    }
    return problems;
}

/** The vault's side of an up link: which user the replica's connection authenticated as (written into `replication`). */
function replicaSide(
    env: StandardEnvironmentOutput,
    replicas: NonNullable<VaultObservation["replicas"]>,
    operational: OperationalObservation,
    replication: ReplicationState,
): Problem[] {
    const connection = replicaConnection(withoutBackups(env, replicas), operational.masterLink);
    if (connection) {
        replication.user = connection.user ?? null;
        if (connection.user !== env.replication.user) {
            return [
                {
                    code: "replication-user",
                    message: `the operational replicates as user ${connection.user ?? "?"}, not ${env.replication.user} (the replication-only user)`,
                },
            ];
        }
    } else if (operational.masterLink) {
        return [
            {
                code: "replica-unseen",
                message: `the vault does not list the operational's connection (${operational.masterLink.laddr}) among its replicas`,
            },
        ];
    }
    return [];
}

function wrongMasterMessage(env: StandardEnvironmentOutput, host: string, port: number | undefined, context: DiagnosisContext): string {
    const expected = `${env.vault.container}:${REDIS_INTERNAL_PORT}`;
    const actual = `${host}:${port}`;
    if (LOCALHOST.has(host)) {
        return `the operational replicates from ${actual}: localhost inside its container is the operational itself; it must replicate from ${expected}`;
    }
    if (host === env.vault.container) {
        return `the operational replicates from ${actual}: port ${port} is not the vault's internal port; it must replicate from ${expected}`;
    }
    const owner = context.vaultOwners.get(host);
    if (owner !== undefined) {
        return `the operational replicates from ${actual}, the vault of environment ${owner}, not from ${expected}`;
    }
    if (IP_ADDRESS.test(host)) {
        return `the operational replicates from the IP address ${actual}, which changes when a container is re-created; it must replicate from ${expected}`;
    }
    return `the operational replicates from ${actual}, not from ${expected}`;
}

function linkDownCause(vault: VaultObservation, operational: OperationalObservation, env: StandardEnvironmentOutput): string {
    if (vault.info?.loading === "1") return ": the vault is loading its data";
    if (vault.failure && vault.failure.kind !== "auth") return ": the vault is not answering";
    if (operational.config && operational.config.masterauth !== env.replication.password) return ": masterauth is wrong";
    if (operational.config && operational.config.masteruser !== env.replication.user) return ": masteruser is wrong";
    return "";
}

/** Lag of a replica that follows the vault's current history; bytes are unknown otherwise. */
export function replicationLag(vaultInfo: Info, replicaInfo: Info): Lag {
    const seconds = infoInt(replicaInfo, "master_last_io_seconds_ago") ?? null;
    const vaultOffset = infoInt(vaultInfo, "master_repl_offset");
    const replicaOffset = infoInt(replicaInfo, "slave_repl_offset");
    const sameHistory = vaultInfo.master_replid !== undefined && vaultInfo.master_replid === replicaInfo.master_replid;
    if (!sameHistory || vaultOffset === undefined || replicaOffset === undefined) return { bytes: null, seconds };
    // Both INFOs are read at about the same time, not atomically: never report a negative lag.
    return { bytes: Math.max(0, vaultOffset - replicaOffset), seconds };
}

/**
 * The vault's connection from this operational: the one whose address is the operational's
 * local end of its master link. Without that (no admin access), a vault with a single
 * replica can only be listing this one.
 */
export function replicaConnection(replicas: ClientEntry[], masterLink: ClientEntry | undefined): ClientEntry | undefined {
    if (masterLink?.laddr) return replicas.find((c) => c.addr === masterLink.laddr);
    return replicas.length === 1 ? replicas[0] : undefined;
}

/**
 * Why re-syncing the operational from its vault could lose data, or undefined when it cannot.
 *
 * Re-pointing (or restoring the credentials of) a replica makes it sync from the vault, and
 * a full sync replaces every key it holds. That loses nothing when the operational's data
 * is an earlier state of the vault's. Redis tells us so through replication ids: a replica
 * holds the history `master_replid` (and, once promoted by REPLICAOF NO ONE or re-pointed
 * before its next sync, the one it followed before as `master_replid2`); the vault has its
 * own `master_replid` and `master_replid2`. The rule:
 *
 * - the operational holds no keys: nothing to lose;
 * - the vault holds no keys while the operational does: the vault lost its data, and the
 *   operational may hold the only copy → refuse;
 * - the two share no replication id: the vault's history is not the one the operational
 *   followed (restarted or rebuilt since, restored from a backup, another server) → refuse.
 *   A vault restart gives it a new id too, so a vault that restarted while its operational
 *   was broken is refused once; the key counts in the message say whether --force is safe.
 */
export function resyncRisk(vault: VaultObservation, operational: OperationalObservation): string | undefined {
    // Keys of every database: an operational whose data is all in database 3 holds data too.
    const operationalKeys = operational.keys;
    if (operationalKeys === undefined) return "the operational's keys could not be counted";
    if (operationalKeys === 0) return undefined;
    if (vault.keys === undefined || !vault.info) return "the vault's data could not be examined";
    const keys = (n: number) => `${n} key${n === 1 ? "" : "s"}`;
    if (vault.keys === 0) {
        return `the vault is empty while the operational holds ${keys(operationalKeys)}: syncing would wipe what may be the only copy`;
    }
    const ids = (info: Info | undefined) =>
        [info?.master_replid, info?.master_replid2].filter((id): id is string => !!id && id !== NO_REPLID);
    const vaultIds = ids(vault.info);
    const operationalIds = ids(operational.info);
    if (!operationalIds.some((id) => vaultIds.includes(id))) {
        return (
            `the vault's replication id (${short(vaultIds[0])}) is not one the operational followed (${operationalIds.map(short).join(", ") || "none"}): ` +
            `the vault was restarted, rebuilt or replaced since; syncing would replace the operational's ${keys(operationalKeys)} with the vault's ${keys(vault.keys)}`
        );
    }
    return undefined;
}

function short(id: string | undefined): string {
    return id ? id.slice(0, 8) : "none";
}

function show(value: string | undefined): string {
    if (value === undefined) return "not reported";
    return JSON.stringify(value);
}
