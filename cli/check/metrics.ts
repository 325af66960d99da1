/**
 * check's metrics (`check --prometheus FILE`): samples from what check already knows (its
 * report, and the INFO each server answered). Pure but for publishCheckMetrics, which writes
 * them through core/prometheus.ts. This module is loaded only when --prometheus is given
 * (check/run.ts), as it leads to prom-client.
 */
import { REDIS_INTERNAL_PORT } from "../../components/protocol";
import { type ProblemCode, VAULT_PROBLEMS } from "../health/problems";
import type { EnvironmentResult } from "../health/checkFleet";
import { replicaQuorum } from "../health/vaultProblems";
import type { CliIo } from "../core/io";
import type { EnvironmentObservation, VaultObservation } from "../health/observe";
import { type Info, infoInt } from "../redis/replies";
import { readKeyspace } from "../redis/keyspace";
import type { FleetReport } from "../health/report";
import type { FailureKind } from "../redis/session";
import { type MetricDefinition, SERVER, type Sample, parseSamples, publish } from "../core/prometheus";

export type Role = "vault" | "operational";

/** What `check --prometheus` writes, per environment and role (docs/monitoring.md's table). */
export const CHECK_METRICS: Readonly<Record<string, MetricDefinition>> = {
    nexus_redis_check_timestamp_seconds: {
        help: "When nexus-redis check last looked at this server (Unix time); an old value means the check stopped running.",
        labels: SERVER,
    },
    nexus_redis_server_up: {
        help: "1 when the check got the server's INFO (it answered, and a vault took the stack's password), else 0.",
        labels: SERVER,
    },
    nexus_redis_replication_link_up: {
        help: "1 when the operational replicates from its own vault's container on 6379 with master_link_status:up, else 0 (not answering, no replica, another master, link down, first sync still loading).",
        labels: SERVER,
    },
    nexus_redis_replication_lag_bytes: {
        help: "The vault's master_repl_offset minus the operational's slave_repl_offset, while the link is up and both follow the same replication history.",
        labels: SERVER,
    },
    nexus_redis_replication_offset_bytes: {
        help: "Replication offset: the vault's master_repl_offset, the operational's slave_repl_offset.",
        labels: SERVER,
    },
    nexus_redis_replication_sync_age_seconds: {
        help: "Link up: seconds since the operational last heard from its vault (master_last_io_seconds_ago). Link down: how long it has been down (master_link_down_since_seconds). Absent when Redis does not know.",
        labels: SERVER,
    },
    nexus_redis_accepts_writes: {
        help: "1 when the vault would take a write by Redis's own rules (answers, takes the stack's password, is a master, not loading, no failed RDB save or AOF write, not over maxmemory with noeviction, enough replicas for min-replicas-to-write), else 0; nexus_redis_writes_refused says why.",
        labels: SERVER,
    },
    nexus_redis_writes_refused: {
        help: "1 for each reason the vault refuses writes: unreachable, password-refused, certificate-refused, unknown (INFO failed), replica, loading, rdb-bgsave-failed, aof-write-failed, out-of-memory, not-enough-replicas (min-replicas-to-write). No series while it accepts them.",
        labels: ["environment", "role", "reason"],
    },
    nexus_redis_loading: {
        help: "1 while the server loads its dataset (loading:1; it answers LOADING to reads and writes meanwhile), else 0.",
        labels: SERVER,
    },
    nexus_redis_aof_enabled: { help: "1 when the append-only file is on (aof_enabled).", labels: SERVER },
    nexus_redis_aof_last_write_ok: {
        help: "1 when the last AOF write and fsync succeeded (aof_last_write_status:ok), else 0.",
        labels: SERVER,
    },
    nexus_redis_aof_last_rewrite_ok: {
        help: "1 when the last AOF rewrite succeeded (aof_last_bgrewrite_status:ok), else 0.",
        labels: SERVER,
    },
    nexus_redis_rdb_last_bgsave_ok: {
        help: "1 when the last RDB snapshot succeeded (rdb_last_bgsave_status:ok), else 0 (with Redis's default save points and stop-writes-on-bgsave-error, the vault then refuses writes).",
        labels: SERVER,
    },
    nexus_redis_rdb_last_save_timestamp_seconds: {
        help: "When the server last saved an RDB snapshot successfully (rdb_last_save_time, Unix time).",
        labels: SERVER,
    },
    nexus_redis_keys: { help: "Keys in every database of the server (the sum of INFO keyspace's keys=).", labels: SERVER },
    nexus_redis_memory_used_bytes: { help: "Memory the server uses (used_memory).", labels: SERVER },
    nexus_redis_memory_max_bytes: { help: "The server's memory limit (maxmemory); 0: no limit.", labels: SERVER },
    nexus_redis_check_problems: {
        help: "How many problems check reports under each code, by the server they concern (docs/check.md, Problem codes). No series: none.",
        labels: ["environment", "role", "code"],
    },
};
/**
 * The server a problem concerns, from its code as check names them: a secure environment has
 * only its vault; otherwise a code of the vault names it (`vault-...`), or is one of the
 * vault's own (VAULT_PROBLEMS, which recover ignores for the same reason); every other one is
 * about the operational or its link. The same rule as Swarm placement's (health/placement.ts
 * withPlacement), so a code added there is placed without a change here.
 */
export function problemRole(kind: "standard" | "secure", code: ProblemCode, role?: Role): Role {
    if (kind === "secure") return "vault";
    // A problem either role can have (an expiring certificate) says whose it is.
    if (role) return role;
    return code.startsWith("vault") || VAULT_PROBLEMS.has(code) ? "vault" : "operational";
}

/** Reasons the check could not read a vault's INFO, by how the conversation failed. */
const UNOBSERVED: Partial<Record<FailureKind, string>> = {
    refused: "unreachable",
    unreachable: "unreachable",
    silent: "unreachable",
    closed: "unreachable",
    auth: "password-refused",
    // Over TLS: the server's certificate is not the stack's CA's, or is for another name, or expired.
    tls: "certificate-refused",
};

/**
 * Why a vault refuses writes, by Redis's own rules (server.c processCommand and
 * writeCommandsDeniedByDiskError, evict.c getMaxmemoryState); none: it takes them. Pure.
 *
 * A failed RDB snapshot refuses writes only while save points are set and
 * `stop-writes-on-bgsave-error` is yes (INFO shows neither: they come from the CONFIG GET the
 * check already makes). The program declares no save points and `no`, so on a vault as declared
 * it never does; a vault whose CONFIG GET failed is judged by Redis's defaults (yes, and save
 * points). `min-replicas-to-write` is never set by the program either, but one set by hand
 * refuses every write (NOREPLICAS) while too few replicas are in time: judged as check judges it.
 */
export function writeRefusals(vault: VaultObservation): string[] {
    const info = vault.info;
    if (!info) return [(vault.failure && UNOBSERVED[vault.failure.kind]) ?? "unknown"];
    const reasons: string[] = [];
    if (info.role !== undefined && info.role !== "master") reasons.push("replica");
    if (info.loading === "1") reasons.push("loading");
    const snapshotsStopWrites = vault.config?.save !== "" && vault.config?.["stop-writes-on-bgsave-error"] !== "no";
    if (info.rdb_last_bgsave_status === "err" && snapshotsStopWrites) reasons.push("rdb-bgsave-failed");
    if (info.aof_enabled === "1" && info.aof_last_write_status === "err") reasons.push("aof-write-failed");
    const max = infoInt(info, "maxmemory") ?? 0;
    const used = infoInt(info, "used_memory");
    // Redis leaves the replicas' and the AOF's buffers out of what it compares with maxmemory.
    const notCounted = infoInt(info, "mem_not_counted_for_evict") ?? 0;
    if (max > 0 && used !== undefined && info.maxmemory_policy === "noeviction" && used - notCounted > max) reasons.push("out-of-memory");
    if (replicaQuorum(info, vault.config)?.refuses) reasons.push("not-enough-replicas");
    return reasons;
}

/** The samples every server's INFO gives, whatever its role: loading, persistence, keys, memory. */
function infoSamples(info: Info, labels: Record<string, string>): Sample[] {
    const samples: Sample[] = [];
    const add = (name: string, value: number | undefined) => {
        if (value !== undefined && Number.isFinite(value)) samples.push({ name, labels, value });
    };
    const flag = (field: string, ok: string) => (info[field] === undefined ? undefined : info[field] === ok ? 1 : 0);
    add("nexus_redis_loading", flag("loading", "1"));
    add("nexus_redis_aof_enabled", flag("aof_enabled", "1"));
    add("nexus_redis_aof_last_write_ok", flag("aof_last_write_status", "ok"));
    add("nexus_redis_aof_last_rewrite_ok", flag("aof_last_bgrewrite_status", "ok"));
    add("nexus_redis_rdb_last_bgsave_ok", flag("rdb_last_bgsave_status", "ok"));
    add("nexus_redis_rdb_last_save_timestamp_seconds", infoInt(info, "rdb_last_save_time"));
    add("nexus_redis_keys", readKeyspace(info).keys);
    add("nexus_redis_memory_used_bytes", infoInt(info, "used_memory"));
    add("nexus_redis_memory_max_bytes", infoInt(info, "maxmemory"));
    return samples;
}

/**
 * check's samples: for each environment of the report and each of its servers, what the
 * check saw, what it concluded (link, lag, problems by code) and when. Pure.
 */
export function checkSamples(
    report: FleetReport,
    observations: Readonly<Record<string, EnvironmentObservation>>,
    checkedAt: Date,
): Sample[] {
    const samples: Sample[] = [];
    for (const e of report.environments) {
        const observation = observations[e.name];
        const roles: Role[] = e.kind === "standard" ? ["vault", "operational"] : ["vault"];
        for (const role of roles) {
            const labels = { environment: e.name, role };
            const add = (name: string, value: number | null | undefined) => {
                if (value !== null && value !== undefined) samples.push({ name, labels, value });
            };
            const info = role === "vault" ? observation?.vault.info : observation?.operational?.info;
            add("nexus_redis_check_timestamp_seconds", checkedAt.getTime() / 1000);
            add("nexus_redis_server_up", info ? 1 : 0);
            if (role === "vault") {
                const refusals = observation ? writeRefusals(observation.vault) : ["unknown"];
                add("nexus_redis_accepts_writes", refusals.length === 0 ? 1 : 0);
                for (const reason of refusals)
                    samples.push({ name: "nexus_redis_writes_refused", labels: { ...labels, reason }, value: 1 });
                add("nexus_redis_replication_offset_bytes", info && infoInt(info, "master_repl_offset"));
            } else {
                const r = e.replication;
                const ownVault = r?.role === "slave" && r.master === `${e.vault.container}:${REDIS_INTERNAL_PORT}`;
                add("nexus_redis_replication_link_up", ownVault && r?.link === "up" ? 1 : 0);
                add("nexus_redis_replication_lag_bytes", report.measurements[e.name]?.lagBytes);
                if (info?.role === "slave") {
                    add("nexus_redis_replication_offset_bytes", infoInt(info, "slave_repl_offset"));
                    const age =
                        info.master_link_status === "up"
                            ? infoInt(info, "master_last_io_seconds_ago")
                            : infoInt(info, "master_link_down_since_seconds");
                    // Redis says -1 when it does not know (never connected since it started).
                    if (age !== undefined && age >= 0) add("nexus_redis_replication_sync_age_seconds", age);
                }
            }
            if (info) samples.push(...infoSamples(info, labels));
        }
        const counts = new Map<string, number>();
        for (const problem of e.problems) {
            const key = `${problemRole(e.kind, problem.code, problem.role)}\u0000${problem.code}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        for (const [key, count] of counts) {
            const [role, code] = key.split("\u0000");
            samples.push({ name: "nexus_redis_check_problems", labels: { environment: e.name, role, code }, value: count });
        }
    }
    return samples;
}
/**
 * The previous file's samples of the environments this run did not check (--env) that are
 * still in the stack, as that file had them: a check of one environment by hand must not take
 * the others' series away, which would resolve their alerts until the next full run. Their
 * nexus_redis_check_timestamp_seconds stays as old as it is, so the stale-metrics alert still
 * says when they were last looked at. Pure.
 */
export function uncheckedFromPrevious(previous: Sample[], checked: readonly string[], stackEnvironments: readonly string[]): Sample[] {
    return previous.filter(
        (s) =>
            Object.hasOwn(CHECK_METRICS, s.name) &&
            stackEnvironments.includes(s.labels.environment) &&
            !checked.includes(s.labels.environment),
    );
}

/** check's hook: its metrics into `file`, after its report, keeping the unchecked environments' (--env); returns the exit code. */
export function publishCheckMetrics(
    file: string,
    results: EnvironmentResult[],
    report: FleetReport,
    stackEnvironments: readonly string[],
    io: CliIo,
    verdict: number,
) {
    const observations = Object.fromEntries(results.map((r) => [r.name, r.observation]));
    const checkedAt = new Date();
    const checked = report.environments.map((e) => e.name);
    const samplesFrom = (previous: string | undefined) => {
        const fresh = checkSamples(report, observations, checkedAt);
        // A run of every environment says all there is: the previous file is not read (a damaged one is replaced).
        if (previous === undefined || stackEnvironments.every((name) => checked.includes(name))) return fresh;
        let before: Sample[];
        try {
            before = parseSamples(previous);
        } catch (e) {
            throw new Error(`its ${(e as Error).message}: not replaced (a check of every environment replaces it)`);
        }
        return [...uncheckedFromPrevious(before, checked, stackEnvironments), ...fresh];
    };
    return publish("check", file, CHECK_METRICS, samplesFrom, io, verdict);
}
