/**
 * The samples `nexus-redis backup --prometheus` writes (pure): a good run's snapshot, a failed
 * run keeping the last success the previous file had (or 0, never, for the alert to catch), and
 * the environments this run did not back up kept while the stack has them.
 */
import { describe, expect, it } from "vitest";
import { BACKUP_METRICS, backupSamples } from "../../cli/backup/metrics";
import type { Sample } from "../../cli/core/prometheus";
import { FINISHED, backupResult, failedBackup as failed, backupReport as report, SUCCESS, value } from "./metricsSamples";

describe("backup's samples", () => {
    const contactVault = { environment: "contact", role: "vault" };

    it("of a good run: when it ran, that it did not fail, and its snapshot's time, size, duration and keys", () => {
        const s = backupSamples(report(backupResult("contact")), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", contactVault)).toBe(FINISHED.getTime() / 1000);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(0);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(SUCCESS);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBe(3664574);
        expect(value(s, "nexus_redis_backup_last_success_duration_seconds", contactVault)).toBe(7.25);
        expect(value(s, "nexus_redis_backup_last_success_keys", contactVault)).toBe(100000);
    });

    it("of a failed run keep the last success the previous file had", () => {
        const previous = backupSamples(report(backupResult("contact")), [], ["contact"], new Date("2026-11-26T17:03:00Z"));
        const s = backupSamples(report(failed("contact")), previous, ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(1);
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", contactVault)).toBe(FINISHED.getTime() / 1000);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(SUCCESS);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBe(3664574);
        expect(value(s, "nexus_redis_backup_last_success_keys", contactVault)).toBe(100000);
    });

    it("of a failed run with no success known: a last success of 0 (never), which the 26-hour alert catches", () => {
        const s = backupSamples(report(failed("contact")), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(0);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBeUndefined();
    });

    it("of a run whose snapshot is kept but whose restic upload failed: a failed run, not a success", () => {
        const partly = backupResult("contact", { status: "failed", error: "restic backup failed" });
        const s = backupSamples(report(partly), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(1);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(0);
    });

    it("keep the environments this run did not back up (--env) while the stack has them, and drop those it no longer has", () => {
        const previous = backupSamples(
            report(backupResult("kb"), backupResult("web")),
            [],
            ["kb", "web"],
            new Date("2026-11-26T18:00:00Z"),
        );
        const s = backupSamples(report(backupResult("contact")), previous, ["contact", "kb"], FINISHED);
        const kbVault = { environment: "kb", role: "vault" };
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", kbVault)).toBe(Date.parse("2026-11-26T18:00:00Z") / 1000);
        expect(value(s, "nexus_redis_backup_last_success_keys", kbVault)).toBe(100000);
        expect(s.some((x) => x.labels.environment === "web")).toBe(false);
        for (const sample of s) expect(Object.keys(sample.labels)).toEqual(BACKUP_METRICS[sample.name].labels);
    });

    it("ignore what in the previous file is not theirs", () => {
        const previous: Sample[] = [
            { name: "node_textfile_scrape_error", labels: {}, value: 1 },
            { name: "nexus_redis_backup_last_success_keys", labels: { environment: "kb", role: "vault", extra: "x" }, value: 5 },
            { name: "nexus_redis_backup_last_success_keys", labels: { environment: "kb", role: "operational" }, value: 5 },
        ];
        expect(
            backupSamples(report(backupResult("contact")), previous, ["contact", "kb"], FINISHED).some(
                (x) => x.labels.environment === "kb",
            ),
        ).toBe(false);
    });
});
