/** What a restore reports (and a refusal, which ends it with nothing changed), rendered as JSON or for people. */
import type { SnapshotContent } from "../snapshot/manifest";
import type { SnapshotOrigin } from "../snapshot/rdb";
import { seconds } from "../core/format";
import { type ServerState, type Verification, short } from "./plan";

export type RestoreStatus = "restored" | "unchanged" | "refused" | "failed";

export interface RestoreReport {
    environment: string;
    status: RestoreStatus;
    /** --from as given. */
    from: string;
    snapshot:
        | (SnapshotContent & { sha256: string; bytes: number; redis: SnapshotOrigin; manifest: boolean; createdAt: string | null })
        | null;
    /** What the vault and the operational held before. */
    before: { vault: ServerState | null; operational: ServerState | null };
    /**
     * Why it went ahead, was refused, or did nothing; and what --force was to override (it went
     * ahead over it only if the vault was stopped: `measurements.stopMs`).
     */
    reasons: string[];
    forced: string[];
    verification: Verification | null;
    /** Where the vault's previous files are: kept, never deleted by restore. */
    aside: { data: string; folder: string; moved: string[] } | null;
    /** What a restore that was killed before it finished had left, and what this one did about it. */
    leftovers: string[];
    error: string | null;
    measurements: {
        durationMs: number;
        /** From the write pause until the vault answered again: what clients saw. */
        writesRefusedMs: number | null;
        stopMs: number | null;
        swapMs: number | null;
        startMs: number | null;
        /** Writes paused again while the digests were taken. */
        verifyPauseMs: number | null;
        /** How long each write pause lasts unless renewed: the bound on writes blocked should restore be killed. */
        pauseLeaseMs: number | null;
        operationalSyncMs: number | null;
    };
}

export class Refusal extends Error {}

/**
 * The staging found no room beside the vault's files: nothing was stopped or moved yet. The
 * earlier restores' aside folders are the likely room to free (restore never deletes them).
 */
export function stagingDiskFullRefusal(data: string, snapshotSize: string, cause: string): string {
    return (
        `refused, nothing was changed: disk full: ${data} has no room for the snapshot (${snapshotSize}) beside the vault's files (${cause}). ` +
        `Free at least that much there (earlier restores keep the vault's previous files in its /data/nexus-redis-restore-* folders until you remove them), then run restore again`
    );
}

/** The progress lines for what --force overrides: logged just before the vault is stopped, when it does go ahead. */
export function forcedProgress(forced: readonly string[]): string[] {
    return forced.map((risk) => `--force: going ahead although ${risk}`);
}

/**
 * What --force was to override, as the report's end says it: replaced when the restore went
 * through the stop; otherwise nothing was replaced, and the lines say so, so that a refusal
 * above them (the staging's disk full) does not read as its contradiction.
 */
export function forcedLines(report: Pick<RestoreReport, "status" | "forced" | "measurements">): string[] {
    const stopped = report.measurements.stopMs !== null;
    return report.forced.map((risk) =>
        report.status === "restored"
            ? `--force: replaced although ${risk}`
            : stopped
              ? `--force: went ahead although ${risk}`
              : `--force would have gone ahead although ${risk}; nothing was replaced`,
    );
}

/** One JSON document, keys in a fixed order; times apart in `measurements`; never a password. */
export function renderRestoreJson(report: RestoreReport): string {
    const state = (s: ServerState | null) =>
        s && {
            unavailable: s.unavailable ?? null,
            keys: s.keys ?? null,
            expiringKeys: s.expiringKeys ?? null,
            databases: s.databases ?? null,
            digest: s.digest ?? null,
            datasetBytes: s.datasetBytes ?? null,
        };
    const document = {
        environment: report.environment,
        status: report.status,
        from: report.from,
        snapshot: report.snapshot && {
            bytes: report.snapshot.bytes,
            sha256: report.snapshot.sha256,
            keys: report.snapshot.keys,
            expiringKeys: report.snapshot.expiringKeys,
            databases: report.snapshot.databases ?? null,
            digest: report.snapshot.digest,
            manifest: report.snapshot.manifest,
            createdAt: report.snapshot.createdAt,
            redis: {
                redisVersion: report.snapshot.redis.redisVersion,
                replicationId: report.snapshot.redis.replicationId,
                replicationOffset: report.snapshot.redis.replicationOffset,
            },
        },
        before: { vault: state(report.before.vault), operational: state(report.before.operational) },
        reasons: report.reasons,
        forced: report.forced,
        verification: report.verification && {
            equal: report.verification.equal,
            snapshot: report.verification.snapshot,
            vault: report.verification.vault,
            operational: report.verification.operational,
            aofBase: report.verification.aofBase,
            compared: report.verification.compared,
            problems: report.verification.problems,
        },
        aside: report.aside,
        leftovers: report.leftovers,
        error: report.error,
        measurements: report.measurements,
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

/** The end of a restore for people (its progress went to stderr as it happened). */
export function renderRestoreText(report: RestoreReport): string {
    const out: string[] = [];
    const m = report.measurements;
    const v = report.verification;
    switch (report.status) {
        case "restored":
            out.push(`restored ${report.environment} from ${report.from}: ${report.snapshot?.keys} keys`);
            break;
        case "unchanged":
            out.push(`${report.environment} unchanged: ${report.reasons.join("; ")}`);
            break;
        case "refused":
            out.push(`${report.environment} NOT restored: ${report.error}`);
            break;
        case "failed":
            out.push(`${report.environment} restore FAILED: ${report.error}`);
    }
    if (v) {
        const digests = [
            `snapshot ${short(v.snapshot)}`,
            ...(v.aofBase ? [`vault's AOF base ${short(v.aofBase)}`] : []),
            `vault ${short(v.vault ?? undefined)}`,
            ...(v.operational ? [`operational ${short(v.operational)}`] : []),
        ];
        out.push(`  verified: ${v.equal ? "equal" : "NOT EQUAL"}: ${digests.join(", ")}; compared: ${v.compared}`);
        for (const p of v.problems) out.push(`  - ${p}`);
    }
    for (const line of forcedLines(report)) out.push(`  ${line}`);
    if (m.writesRefusedMs !== null) {
        out.push(
            `  writes were refused for ${seconds(m.writesRefusedMs)} (stop ${seconds(m.stopMs)}, swap ${seconds(m.swapMs)}, start and load ${seconds(m.startMs)}), ` +
                `then paused ${seconds(m.verifyPauseMs)} in all while digests were taken`,
        );
    }
    if (m.operationalSyncMs !== null) out.push(`  the operational re-synced ${seconds(m.operationalSyncMs)} after the vault answered`);
    if (report.aside) {
        out.push(
            `  the vault's previous files (${report.aside.moved.join(", ")}) are kept in ${report.aside.data}, ${report.aside.folder}: remove them when no longer needed`,
        );
    }
    for (const leftover of report.leftovers) out.push(`  before it began: ${leftover}`);
    return `${out.join("\n")}\n`;
}
