/**
 * The fleet in Prometheus: `check --prometheus FILE` and `backup --prometheus FILE` write what
 * they found as metrics in Prometheus's text exposition format, for node_exporter's textfile
 * collector (which serves every `*.prom` file of its folder along with its own metrics, read
 * afresh at each scrape: hence the atomic write, a temporary file that is no `*.prom` renamed
 * over the last one).
 *
 * The functional core: samples from what check already knows (its report, and the INFO each
 * server answered) and from backup's report plus the previous backup file (a failed run keeps
 * the last success). The shell: the exposition through prom-client, loaded only here, and this
 * module only when --prometheus is given (loading prom-client costs a process about 0.1 s of
 * CPU, two thirds of a whole check's: BENCHMARKS.md, check --prometheus), and the write.
 *
 * Every metric is a gauge: each file is a snapshot that the next run replaces, so nothing here
 * counts up over runs (no `_total`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { REDIS_INTERNAL_PORT } from "../components/protocol";
import type { BackupReport } from "./backup/report";
import { type ProblemCode, VAULT_PROBLEMS } from "./health/diagnose";
import { UsageError } from "./core/errors";
import type { EnvironmentResult } from "./health/checkFleet";
import type { CliIo } from "./core/io";
import type { EnvironmentObservation, VaultObservation } from "./health/observe";
import { keyCount, type Info, infoInt } from "./redis/replies";
import { EXIT_HEALTHY, EXIT_USAGE } from "./core/exit";
import type { FleetReport } from "./health/report";
import type { FailureKind } from "./redis/session";

export type Role = "vault" | "operational";
type LabelName = "environment" | "role" | "code" | "reason";

export interface MetricDefinition {
    help: string;
    labels: readonly LabelName[];
}

/** One value of one metric: what a line of the exposition says. */
export interface Sample {
    name: string;
    labels: Readonly<Record<string, string>>;
    value: number;
}

const SERVER: readonly LabelName[] = ["environment", "role"];

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
        help: "1 when the vault would take a write by Redis's own rules (answers, takes the stack's password, is a master, not loading, no failed RDB save or AOF write, not over maxmemory with noeviction), else 0; nexus_redis_writes_refused says why.",
        labels: SERVER,
    },
    nexus_redis_writes_refused: {
        help: "1 for each reason the vault refuses writes: unreachable, password-refused, certificate-refused, unknown (INFO failed), replica, loading, rdb-bgsave-failed, aof-write-failed, out-of-memory. No series while it accepts them.",
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

/** What `backup --prometheus` writes, per environment (role vault: a backup is of the vault). */
export const BACKUP_METRICS: Readonly<Record<string, MetricDefinition>> = {
    nexus_redis_backup_last_run_timestamp_seconds: {
        help: "When nexus-redis backup last finished a run for this vault, whatever its outcome (Unix time).",
        labels: SERVER,
    },
    nexus_redis_backup_last_run_failed: {
        help: "1 when the last backup run of this vault failed (snapshot, verification or restic upload), else 0.",
        labels: SERVER,
    },
    nexus_redis_backup_last_success_timestamp_seconds: {
        help: "When the snapshot of the last successful backup was taken (Unix time), kept across failed runs; 0 when no success is known.",
        labels: SERVER,
    },
    nexus_redis_backup_last_success_size_bytes: { help: "Size of the last successful backup's snapshot.", labels: SERVER },
    nexus_redis_backup_last_success_duration_seconds: {
        help: "How long the last successful backup took: snapshot, verification and restic upload.",
        labels: SERVER,
    },
    nexus_redis_backup_last_success_keys: { help: "Keys in the last successful backup's snapshot, every database.", labels: SERVER },
};

/**
 * What identifies a file as one this command writes: replacing anything else could destroy a
 * file someone keeps (a typo in --prometheus), and backup's file holds the last success, which
 * check's would erase.
 */
const MARKER: Record<"check" | "backup", string> = {
    check: "# TYPE nexus_redis_check_timestamp_seconds gauge",
    backup: "# TYPE nexus_redis_backup_last_run_timestamp_seconds gauge",
};

/** --prometheus's value, checked before anything runs; throws UsageError (of `command` when it has its own help). */
export function parsePrometheusFile(value: string | undefined, command?: string): string | undefined {
    if (value === undefined) return undefined;
    if (!value.endsWith(".prom") || path.basename(value) === ".prom")
        throw new UsageError(
            `--prometheus needs a file whose name ends in .prom (node_exporter's textfile collector reads only those), got "${value}"`,
            command,
        );
    return value;
}

/** The exit code of a run that wrote metrics: its own verdict first, then 2 when the file could not be written. Pure. */
export function exitCodeWithMetrics(verdict: number, metricsWritten: boolean): number {
    if (verdict !== EXIT_HEALTHY || metricsWritten) return verdict;
    return EXIT_USAGE;
}

/**
 * The server a problem concerns, from its code as check names them: a secure environment has
 * only its vault; otherwise a code of the vault names it (`vault-...`), or is one of the
 * vault's own (VAULT_PROBLEMS, which recover ignores for the same reason); every other one is
 * about the operational or its link. The same rule as Swarm placement's (diagnose.ts
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
 * points). `min-replicas-to-write` is not judged: the program never sets it.
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
    add("nexus_redis_keys", keyCount(info));
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

const SUCCESS_METRICS = [
    "nexus_redis_backup_last_success_timestamp_seconds",
    "nexus_redis_backup_last_success_size_bytes",
    "nexus_redis_backup_last_success_duration_seconds",
    "nexus_redis_backup_last_success_keys",
];

/**
 * backup's samples: each environment backed up in this run, from its result; its last success
 * from the previous file when this run failed (a failed run never erases when the last good
 * backup was: that is what the 26-hour alert measures); and the environments this run did not
 * back up (--env) as the previous file had them, while they are still in the stack. Pure.
 */
export function backupSamples(report: BackupReport, previous: Sample[], stackEnvironments: string[], finishedAt: Date): Sample[] {
    const ran = new Set(report.backups.map((b) => b.environment));
    const known = previous.filter(
        (s) =>
            Object.hasOwn(BACKUP_METRICS, s.name) &&
            s.labels.role === "vault" &&
            Object.keys(s.labels).length === 2 &&
            stackEnvironments.includes(s.labels.environment),
    );
    const samples: Sample[] = known.filter((s) => !ran.has(s.labels.environment));
    for (const b of report.backups) {
        const labels = { environment: b.environment, role: "vault" };
        samples.push(
            { name: "nexus_redis_backup_last_run_timestamp_seconds", labels, value: finishedAt.getTime() / 1000 },
            { name: "nexus_redis_backup_last_run_failed", labels, value: b.status === "ok" ? 0 : 1 },
        );
        if (b.status === "ok" && b.snapshot) {
            samples.push(
                { name: "nexus_redis_backup_last_success_timestamp_seconds", labels, value: Date.parse(b.snapshot.createdAt) / 1000 },
                { name: "nexus_redis_backup_last_success_size_bytes", labels, value: b.snapshot.bytes },
                { name: "nexus_redis_backup_last_success_duration_seconds", labels, value: b.measurements.durationMs / 1000 },
                { name: "nexus_redis_backup_last_success_keys", labels, value: b.snapshot.keys },
            );
            continue;
        }
        const kept = known.filter((s) => s.labels.environment === b.environment && SUCCESS_METRICS.includes(s.name));
        samples.push(...kept);
        if (!kept.some((s) => s.name === "nexus_redis_backup_last_success_timestamp_seconds"))
            samples.push({ name: "nexus_redis_backup_last_success_timestamp_seconds", labels, value: 0 });
    }
    return samples;
}

/**
 * The samples of an exposition (the text format, version 0.0.4): one per line that is neither
 * a comment nor blank; label values unescaped. A line this cannot read is an error naming it.
 * Pure. Used on the previous file only, which this module wrote.
 */
export function parseSamples(text: string): Sample[] {
    const samples: Sample[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
        if (line.trim() === "" || line.startsWith("#")) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/.exec(line);
        const labels = match ? parseLabels(match[2] ?? "") : undefined;
        const value = match ? parseValue(match[3]) : undefined;
        if (!match || !labels || value === undefined) throw new Error(`line ${i + 1} is not a metric sample: ${line.slice(0, 200)}`);
        samples.push({ name: match[1], labels, value });
    }
    return samples;
}

function parseLabels(text: string): Record<string, string> | undefined {
    const labels: Record<string, string> = {};
    const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
    let offset = 0;
    while (offset < text.length) {
        pattern.lastIndex = offset;
        const match = pattern.exec(text);
        if (!match) return undefined;
        labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        offset = pattern.lastIndex;
    }
    return labels;
}

function parseValue(text: string): number | undefined {
    if (text === "+Inf") return Number.POSITIVE_INFINITY;
    if (text === "-Inf") return Number.NEGATIVE_INFINITY;
    if (text === "NaN") return Number.NaN;
    const value = Number(text);
    return text.trim() === "" || Number.isNaN(value) ? undefined : value;
}

/** The exposition of `samples` (every metric of `definitions`, HELP and TYPE first), by prom-client's Registry. */
export async function renderExposition(definitions: Readonly<Record<string, MetricDefinition>>, samples: Sample[]): Promise<string> {
    const { Gauge, Registry } = await import("prom-client");
    const registry = new Registry();
    const gauges = new Map<string, InstanceType<typeof Gauge>>();
    for (const [name, definition] of Object.entries(definitions)) {
        gauges.set(name, new Gauge({ name, help: definition.help, labelNames: [...definition.labels], registers: [registry] }));
    }
    for (const sample of samples) {
        const gauge = gauges.get(sample.name);
        if (!gauge) throw new Error(`${sample.name} is not among the metrics this command writes`);
        gauge.set({ ...sample.labels }, sample.value);
    }
    return registry.metrics();
}

/**
 * Replaces `file` with `content`: a temporary file in the same folder (not `*.prom`, so the
 * textfile collector never reads it half written), mode 0644 (node_exporter runs as another
 * user), fsynced, renamed over `file`, and the folder fsynced.
 */
export function writeAtomically(file: string, content: string): void {
    const folder = path.dirname(file);
    const temp = path.join(folder, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    const fd = fs.openSync(temp, "wx", 0o644);
    try {
        try {
            fs.fchmodSync(fd, 0o644); // whatever the umask
            fs.writeFileSync(fd, content); // every byte, however many writes it takes
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(temp, file);
    } catch (e) {
        fs.rmSync(temp, { force: true });
        throw e;
    }
    const dir = fs.openSync(folder, "r");
    try {
        fs.fsyncSync(dir);
    } finally {
        fs.closeSync(dir);
    }
}

/** `file`'s text, or undefined when there is none; throws when it is not a file this command writes. */
function previousFile(file: string, command: "check" | "backup"): string | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
    if (text !== "" && !text.split("\n").includes(MARKER[command])) {
        const other = command === "check" ? "backup" : "check";
        const whose = text.split("\n").includes(MARKER[other]) ? `nexus-redis ${other}'s metrics` : "no metrics of nexus-redis";
        throw new Error(`it holds ${whose}: not replaced (give each command a file of its own)`);
    }
    return text;
}

/**
 * Writes the metrics of a run that has printed its verdict, and returns its exit code: the
 * verdict, or 2 when the run was healthy and the file could not be written. A failure is said
 * on stderr, naming the file; it never hides the verdict.
 */
async function publish(
    command: "check" | "backup",
    file: string,
    definitions: Readonly<Record<string, MetricDefinition>>,
    samplesFrom: (previous: string | undefined) => Sample[],
    io: CliIo,
    verdict: number,
): Promise<number> {
    try {
        writeAtomically(file, await renderExposition(definitions, samplesFrom(previousFile(file, command))));
        return verdict;
    } catch (e) {
        const prefix = command === "check" ? "nexus-redis" : "nexus-redis backup";
        io.stderr.write(`${prefix}: --prometheus ${file}: ${(e as Error).message}\n`);
        return exitCodeWithMetrics(verdict, false);
    }
}

/** check's hook: its metrics into `file`, after its report; returns the exit code. */
export function publishCheckMetrics(file: string, results: EnvironmentResult[], report: FleetReport, io: CliIo, verdict: number) {
    const observations = Object.fromEntries(results.map((r) => [r.name, r.observation]));
    const checkedAt = new Date();
    return publish("check", file, CHECK_METRICS, () => checkSamples(report, observations, checkedAt), io, verdict);
}

/** backup's hook: its metrics into `file`, keeping what the previous file knew of the last successes; returns the exit code. */
export function publishBackupMetrics(file: string, report: BackupReport, stackEnvironments: string[], io: CliIo, verdict: number) {
    const finishedAt = new Date();
    const samplesFrom = (previous: string | undefined) => {
        let kept: Sample[];
        try {
            kept = previous === undefined ? [] : parseSamples(previous);
        } catch (e) {
            // The last successes are in there: rather no new file than one without them.
            throw new Error(`its ${(e as Error).message}: not replaced`);
        }
        return backupSamples(report, kept, stackEnvironments, finishedAt);
    };
    return publish("backup", file, BACKUP_METRICS, samplesFrom, io, verdict);
}
