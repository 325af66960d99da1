/**
 * `nexus-redis restore`'s report: the JSON document (each digest compared, the times apart) and
 * the text for people (restored or why not, how long writes were refused, where the old files
 * are, what a killed restore had left), and its refusal of a file without a manifest.
 */
import { describe, expect, it } from "vitest";
import { type RestoreReport, forcedProgress, renderRestoreJson, renderRestoreText, stagingDiskFullRefusal } from "../../cli/restore/report";
import { noManifestRefusal } from "../../cli/restore/source";
import { EMPTY, SNAPSHOT } from "./restoreSamples";

function report(fields: Partial<RestoreReport>): RestoreReport {
    return {
        environment: "contact",
        status: "restored",
        from: "backups/contact/20260126T030000.123Z.rdb",
        snapshot: {
            ...SNAPSHOT,
            sha256: "f".repeat(64),
            bytes: 18958,
            manifest: true,
            createdAt: "2026-01-26T03:00:00.123Z",
            redis: {
                redisVersion: "7.0.15",
                rdbVersion: 10,
                replicationId: "1f85",
                replicationOffset: 42,
                writtenAt: null,
                usedMemory: null,
            },
        },
        before: {
            vault: { keys: 0, expiringKeys: 0, digest: EMPTY, datasetBytes: 1 },
            operational: { keys: 0, expiringKeys: 0, datasetBytes: 1 },
        },
        reasons: ["the vault is empty: nothing is replaced"],
        forced: [],
        verification: {
            snapshot: SNAPSHOT.digest,
            vault: SNAPSHOT.digest,
            operational: SNAPSHOT.digest,
            aofBase: null,
            equal: true,
            compared: "DEBUG DIGEST of the whole dataset (no key has an expiry)",
            problems: [],
        },
        aside: {
            data: "volume nexus3-contact-vault-data",
            folder: "/data/nexus-redis-restore-20260126T030000Z",
            moved: ["appendonlydir", "dump.rdb"],
        },
        leftovers: [],
        error: null,
        measurements: {
            durationMs: 9000,
            writesRefusedMs: 3200,
            stopMs: 400,
            swapMs: 300,
            startMs: 2500,
            verifyPauseMs: 200,
            pauseLeaseMs: 5000,
            operationalSyncMs: 300,
        },
        ...fields,
    };
}

describe("restore's report", () => {
    /** Every digest a restore can compare, each distinct so the report must name the right one in each place. */
    const compared = {
        snapshot: "aaaaaaaaaaaa1111",
        vault: "bbbbbbbbbbbb2222",
        aofBase: "cccccccccccc3333",
        operational: "dddddddddddd4444",
    };
    const verified = (equal: boolean) =>
        report({
            snapshot: {
                ...report({}).snapshot!,
                keys: 12_345,
                databases: { "0": { keys: 12_000, expiringKeys: 7 }, "3": { keys: 345, expiringKeys: 0 } },
            },
            verification: {
                ...compared,
                equal,
                compared: "the vault's AOF base with the snapshot",
                problems: equal ? [] : ["the vault's AOF base does not hold the snapshot"],
            },
        });

    it("gives, as JSON, the snapshot's key count over every database and each digest compared, the AOF base's included", () => {
        const json = JSON.parse(renderRestoreJson(verified(true)));
        expect(json.snapshot.keys).toBe(12_345);
        expect(json.snapshot.databases).toEqual({ "0": { keys: 12_000, expiringKeys: 7 }, "3": { keys: 345, expiringKeys: 0 } });
        expect(json.verification).toEqual({
            equal: true,
            ...compared,
            compared: "the vault's AOF base with the snapshot",
            problems: [],
        });
    });

    it.each([
        [true, "verified: equal:"],
        [false, "verified: NOT EQUAL:"],
    ])("says for people whether the digests agreed (equal %s) and names each one it compared", (equal, verdict) => {
        const text = renderRestoreText(verified(equal));
        expect(text).toContain(
            `${verdict} snapshot aaaaaaaaaaaa, vault's AOF base cccccccccccc, vault bbbbbbbbbbbb, operational dddddddddddd`,
        );
        if (!equal) expect(text).toContain("  - the vault's AOF base does not hold the snapshot");
    });

    it("says the three digests, how long writes were refused, and where the old files are", () => {
        const text = renderRestoreText(report({}));
        expect(text).toContain("restored contact from backups/contact/20260126T030000.123Z.rdb: 1000 keys");
        expect(text).toContain("verified: equal: snapshot 75dea420a053, vault 75dea420a053, operational 75dea420a053");
        expect(text).toContain("writes were refused for 3.2 s (stop 0.4 s, swap 0.3 s, start and load 2.5 s)");
        expect(text).toContain("kept in volume nexus3-contact-vault-data, /data/nexus-redis-restore-20260126T030000Z");
    });

    /** The measurements of a restore that ended before the vault was stopped. */
    const notStopped = {
        durationMs: 900,
        writesRefusedMs: null,
        stopMs: null,
        swapMs: null,
        startMs: null,
        verifyPauseMs: null,
        pauseLeaseMs: 5000,
        operationalSyncMs: null,
    };

    describe("with --force", () => {
        const risk = "the vault holds 1001 keys (db0: 1001), 2.0 MiB of data, and they are not the snapshot's 1000 keys";

        it("says, when the staging finds the vault's disk full, that nothing was changed and nothing replaced, what was different, and where to free how much", () => {
            const error = stagingDiskFullRefusal(
                "volume nexus3-contact-vault-data",
                "18.5 KiB",
                "(HTTP code 500) server error - write /data/.nexus-redis-restore.rdb: no space left on device",
            );
            const text = renderRestoreText(
                report({ status: "refused", verification: null, aside: null, forced: [risk], error, measurements: notStopped }),
            );
            expect(text).toBe(
                "contact NOT restored: refused, nothing was changed: disk full: volume nexus3-contact-vault-data has no room for the snapshot (18.5 KiB) beside the vault's files " +
                    "((HTTP code 500) server error - write /data/.nexus-redis-restore.rdb: no space left on device). " +
                    "Free at least that much there (earlier restores keep the vault's previous files in its /data/nexus-redis-restore-* folders until you remove them), then run restore again\n" +
                    `  --force would have gone ahead although ${risk}; nothing was replaced\n`,
            );
        });

        it("says it replaced what --force overrode once the restore went through", () => {
            expect(renderRestoreText(report({ forced: [risk] }))).toContain(`  --force: replaced although ${risk}\n`);
        });

        it("says it went ahead when the restore failed after the vault was stopped", () => {
            const text = renderRestoreText(report({ status: "failed", error: "verification failed", forced: [risk] }));
            expect(text).toContain(`  --force: went ahead although ${risk}\n`);
        });

        it("announces the override as going ahead, for the log just before the vault stops", () => {
            expect(forcedProgress([risk])).toEqual([`--force: going ahead although ${risk}`]);
        });
    });

    it("says why it refused", () => {
        const text = renderRestoreText(
            report({
                status: "refused",
                verification: null,
                aside: null,
                error: "refused, nothing was changed: the vault holds 1001 keys",
                measurements: { ...notStopped, pauseLeaseMs: null },
            }),
        );
        expect(text).toBe("contact NOT restored: refused, nothing was changed: the vault holds 1001 keys\n");
    });

    it("prints one JSON document with every digest and the times apart", () => {
        const document = JSON.parse(renderRestoreJson(report({})));
        expect(Object.keys(document)).toEqual([
            "environment",
            "status",
            "from",
            "snapshot",
            "before",
            "reasons",
            "forced",
            "verification",
            "aside",
            "leftovers",
            "error",
            "measurements",
        ]);
        expect(document.verification).toMatchObject({
            equal: true,
            snapshot: SNAPSHOT.digest,
            vault: SNAPSHOT.digest,
            operational: SNAPSHOT.digest,
        });
        expect(document.measurements.writesRefusedMs).toBe(3200);
        expect(document.before.operational).toEqual({
            unavailable: null,
            keys: 0,
            expiringKeys: 0,
            databases: null,
            digest: null,
            datasetBytes: 1,
        });
    });

    it("says what a killed restore had left, and what was done about it", () => {
        const text = renderRestoreText(report({ leftovers: ["a restore started at 2026-11-26T17:02:00.000Z was killed before its swap"] }));
        expect(text).toContain("  before it began: a restore started at 2026-11-26T17:02:00.000Z was killed before its swap\n");
    });

    it("refuses an RDB file without its manifest, saying why and how to go on", () => {
        expect(noManifestRefusal("backups/contact/20260126T030000.123Z.rdb")).toBe(
            "refused, nothing was changed: backups/contact/20260126T030000.123Z.rdb has no manifest beside it (backups/contact/20260126T030000.123Z.json). " +
                "nexus-redis backup writes the manifest last, so this is a backup that did not finish, or a file from elsewhere. " +
                "Restore a backup that has its manifest; or, for an RDB file you know (a dump.rdb copied by hand), give --without-manifest: it is then checked by loading it only",
        );
    });
});
