/**
 * What `nexus-redis backup` did, as data, as a table, as one JSON document for monitoring,
 * and its exit code: all pure.
 */
import type { EnvironmentKind } from "../../components/protocol";
import type { SnapshotOrigin } from "../snapshot/rdb";
import type { RetentionPolicy } from "../snapshot/restic";
import type { DatabaseCount } from "../redis/keyspace";
import { EXIT_HEALTHY, EXIT_PROBLEMS } from "../core/exit";
import { formatBytes, tableLines } from "../core/format";

export interface SnapshotRecord {
    /** The snapshot and its manifest, as paths the operator gave (relative to where the CLI ran, unless --to was absolute). */
    file: string;
    manifest: string;
    createdAt: string;
    bytes: number;
    sha256: string;
    /** Keys in every database. */
    keys: number;
    expiringKeys: number;
    /** The databases that hold keys, with their counts. */
    databases: Record<string, DatabaseCount>;
    digest: string;
    redis: SnapshotOrigin;
}

export interface BackupResult {
    environment: string;
    kind: EnvironmentKind;
    /** ok: a verified snapshot is on disk (and in restic when asked); failed: anything less. */
    status: "ok" | "failed";
    /** The verified snapshot; set as soon as it is on disk, even if restic failed afterwards. */
    snapshot: SnapshotRecord | null;
    /** The restic snapshot holding it, when --restic-repo was given. */
    restic: { snapshot: string } | null;
    /** What went wrong, in words; never a password. */
    error: string | null;
    measurements: { durationMs: number; snapshotMs: number | null; verifyMs: number | null; resticMs: number | null };
}

export interface RetentionResult {
    policy: RetentionPolicy;
    /** applied; skipped (a backup of this run failed: nothing is pruned while backups fail); failed. */
    status: "applied" | "skipped" | "failed";
    kept: number | null;
    removed: number | null;
    error: string | null;
}

export interface BackupReport {
    backups: BackupResult[];
    retention: RetentionResult | null;
}

export function backupExitCode(report: BackupReport): number {
    const failed = report.backups.some((b) => b.status === "failed") || report.retention?.status === "failed";
    return failed ? EXIT_PROBLEMS : EXIT_HEALTHY;
}

/** One JSON document, keys in a fixed order; what varies run to run on the same data (times) is in `measurements`. */
export function renderBackupJson(report: BackupReport): string {
    const ok = report.backups.filter((b) => b.status === "ok").length;
    const document = {
        ok: backupExitCode(report) === EXIT_HEALTHY,
        summary: { ok, failed: report.backups.length - ok },
        backups: report.backups.map((b) => ({
            environment: b.environment,
            kind: b.kind,
            status: b.status,
            snapshot: b.snapshot && {
                file: b.snapshot.file,
                manifest: b.snapshot.manifest,
                createdAt: b.snapshot.createdAt,
                bytes: b.snapshot.bytes,
                sha256: b.snapshot.sha256,
                keys: b.snapshot.keys,
                expiringKeys: b.snapshot.expiringKeys,
                databases: b.snapshot.databases,
                digest: b.snapshot.digest,
                redis: {
                    redisVersion: b.snapshot.redis.redisVersion,
                    replicationId: b.snapshot.redis.replicationId,
                    replicationOffset: b.snapshot.redis.replicationOffset,
                },
            },
            restic: b.restic,
            error: b.error,
        })),
        retention: report.retention && {
            policy: report.retention.policy,
            status: report.retention.status,
            kept: report.retention.kept,
            removed: report.retention.removed,
            error: report.retention.error,
        },
        measurements: Object.fromEntries(report.backups.map((b) => [b.environment, b.measurements])),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

export function renderBackupTable(report: BackupReport): string {
    const header = ["ENV", "STATUS", "KEYS", "SIZE", "SNAPSHOT"];
    const rows = report.backups.map((b) => [
        b.environment,
        b.status === "ok" ? "ok" : "FAILED",
        b.snapshot ? String(b.snapshot.keys) : "-",
        b.snapshot ? formatBytes(b.snapshot.bytes) : "-",
        b.error ?? `${b.snapshot?.file}${b.restic ? ` (restic ${b.restic.snapshot})` : ""}`,
    ]);
    const out = tableLines(header, rows);
    const failedWithSnapshot = report.backups.filter((b) => b.status === "failed" && b.snapshot);
    for (const b of failedWithSnapshot) out.push("", `${b.environment}: the verified snapshot is kept at ${b.snapshot!.file}`);
    const r = report.retention;
    if (r) {
        out.push("");
        if (r.status === "applied") out.push(`retention (restic forget --prune): ${r.kept} snapshots kept, ${r.removed} removed`);
        else if (r.status === "skipped") out.push(`retention not applied: ${r.error}`);
        else out.push(`retention FAILED: ${r.error}`);
    }
    const ok = report.backups.filter((b) => b.status === "ok").length;
    const total = report.backups.length;
    out.push("", `${total} environment${total === 1 ? "" : "s"}: ${ok} backed up${ok < total ? `, ${total - ok} failed` : ""}`);
    return `${out.join("\n")}\n`;
}
