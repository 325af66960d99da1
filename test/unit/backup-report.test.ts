/**
 * `nexus-redis backup`'s report: its exit code, retention held back while a backup fails, the one
 * JSON document for monitoring and the table for people.
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { describeFailure, snapshotTimeout } from "../../cli/backup/failures";
import { createPrivateFolder } from "../../cli/snapshot/files";
import { tempFolder } from "./tempFolder";
import { retentionBlocked } from "../../cli/backup/retention";
import { type BackupReport, type BackupResult, backupExitCode, renderBackupJson, renderBackupTable } from "../../cli/backup/report";
import { manifest } from "./backupSamples";

function result(environment: string, fields: Partial<BackupResult> = {}): BackupResult {
    return {
        environment,
        kind: "standard",
        status: "ok",
        snapshot: {
            file: `backups/${environment}/20260126T030000.123Z.rdb`,
            manifest: `backups/${environment}/20260126T030000.123Z.json`,
            createdAt: manifest.createdAt,
            bytes: 2277961,
            sha256: manifest.sha256,
            keys: 100000,
            expiringKeys: 0,
            databases: { "0": { keys: 100000, expiringKeys: 0 } },
            digest: manifest.digest,
            redis: manifest.redis,
        },
        restic: null,
        error: null,
        measurements: { durationMs: 1200, snapshotMs: 100, verifyMs: 900, resticMs: null },
        ...fields,
    };
}

describe("backup's report", () => {
    const failed = result("kb", {
        status: "failed",
        snapshot: null,
        error: "redis-cli --rdb from vault 127.0.0.1:6625 as user backup failed: AUTH failed",
    });

    it("exits 0 only when every environment was backed up and retention, when asked, was applied", () => {
        expect(backupExitCode({ backups: [result("contact"), result("user")], retention: null })).toBe(0);
        expect(backupExitCode({ backups: [result("contact"), failed], retention: null })).toBe(1);
        const retention = {
            policy: { "keep-last": "3" },
            status: "failed" as const,
            kept: null,
            removed: null,
            error: "restic forget --prune failed: locked",
        };
        expect(backupExitCode({ backups: [result("contact")], retention })).toBe(1);
    });

    it("never prunes older backups while a backup of the run failed", () => {
        expect(retentionBlocked([result("contact"), result("user")])).toBeUndefined();
        expect(retentionBlocked([result("contact"), failed])).toBe("a backup failed (kb): nothing is pruned while backups fail");
    });

    it("prints one JSON document for monitoring: status per environment, what varies from run to run apart", () => {
        const report: BackupReport = { backups: [result("contact", { restic: { snapshot: "d879ba56" } }), failed], retention: null };
        const document = JSON.parse(renderBackupJson(report));
        expect(document.ok).toBe(false);
        expect(document.summary).toEqual({ ok: 1, failed: 1 });
        expect(document.backups.map((b: { environment: string; status: string }) => [b.environment, b.status])).toEqual([
            ["contact", "ok"],
            ["kb", "failed"],
        ]);
        expect(document.backups[0].snapshot.redis).toEqual({
            redisVersion: "7.0.15",
            replicationId: "1f85e01e8350c57ba4f2e7abaa3f98f1e9a35cf7",
            replicationOffset: 42,
        });
        expect(document.backups[0].restic).toEqual({ snapshot: "d879ba56" });
        expect(document.backups[1].error).toMatch(/AUTH failed/);
        expect(Object.keys(document)).toEqual(["ok", "summary", "backups", "retention", "measurements"]);
        expect(document.measurements.contact).toEqual({ durationMs: 1200, snapshotMs: 100, verifyMs: 900, resticMs: null });
    });

    it("prints a table for people, with the retention's outcome", () => {
        const table = renderBackupTable({
            backups: [result("contact", { restic: { snapshot: "d879ba56" } }), failed],
            retention: {
                policy: { "keep-last": "3" },
                status: "skipped",
                kept: null,
                removed: null,
                error: "a backup failed (kb): nothing is pruned while backups fail",
            },
        });
        expect(table).toContain("contact  ok      100000  2.2 MiB  backups/contact/20260126T030000.123Z.rdb (restic d879ba56)");
        expect(table).toContain(
            "kb       FAILED  -       -        redis-cli --rdb from vault 127.0.0.1:6625 as user backup failed: AUTH failed",
        );
        expect(table).toContain("retention not applied: a backup failed (kb): nothing is pruned while backups fail");
        expect(table).toContain("2 environments: 1 backed up, 1 failed");
    });
});

describe("a --to where a file is", () => {
    const temp = tempFolder("nexus-redis-backup-to-");
    const failure = (root: string) => {
        try {
            createPrivateFolder(root, path.join(root, "contact"));
        } catch (e) {
            return describeFailure(e);
        }
        throw new Error(`${root} was made`);
    };

    it.each([
        ["--to a file", (file: string) => file, /EEXIST/],
        ["--to a folder under a file", (file: string) => path.join(file, "backups"), /ENOTDIR/],
    ])("fails that backup saying --to is not a folder, not that another backup is being written (%s)", (_, to, code) => {
        const file = path.join(temp, `file-${code.source}`);
        writeFileSync(file, "");
        const message = failure(to(file));
        expect(message).toMatch(
            /^cannot write the backup: .* or a folder above it is a file, not a folder \(.*\); give --to the folder the backups go in$/,
        );
        expect(message).toMatch(code);
        expect(message).not.toMatch(/same time stamp/);
    });
});

describe("a snapshot past --timeout", () => {
    it("over TLS with nothing received, names the likely cause (a vault with TLS off never finishes the handshake) and the check that tells", () => {
        const message = describeFailure(snapshotTimeout("contact", "127.0.0.1:6611", 300000, true));
        expect(message).toContain("the snapshot from vault 127.0.0.1:6611 did not finish within 300000 ms (--timeout)");
        expect(message).toContain("a vault with TLS off never finishes the handshake (`nexus-redis check --env contact` tells)");
    });

    it("without TLS, or once the snapshot had begun to arrive, says the timeout alone", () => {
        const message = describeFailure(snapshotTimeout("contact", "127.0.0.1:6611", 300000, false));
        expect(message).toContain("did not finish within 300000 ms (--timeout)");
        expect(message).not.toMatch(/TLS/);
    });
});
