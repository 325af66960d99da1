/**
 * backup's metrics (`backup --prometheus FILE`): samples from backup's report plus the previous
 * file (a failed run keeps the last success). Pure but for publishBackupMetrics, which writes
 * them through core/prometheus.ts.
 */
import type { CliIo } from "../core/io";
import { type MetricDefinition, SERVER, type Sample, parseSamples, publish } from "../core/prometheus";
import type { BackupReport } from "./report";

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
