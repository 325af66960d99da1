/**
 * What restore prints at its end, as JSON and for people: the snapshot's count, the digests it
 * compared (the AOF base one included) and a verification that failed must each reach the
 * reader. Driven with a plain report, no server.
 */
import { describe, expect, it } from "vitest";
import { type RestoreReport, renderRestoreJson, renderRestoreText } from "../../cli/restore/report";

const DIGEST = {
    snapshot: "aaaaaaaaaaaa1111",
    vault: "bbbbbbbbbbbb2222",
    aofBase: "cccccccccccc3333",
    operational: "dddddddddddd4444",
};

function report(equal: boolean): RestoreReport {
    return {
        environment: "contact",
        status: equal ? "restored" : "failed",
        from: "/backups/contact/20261207T050000Z.rdb",
        snapshot: {
            keys: 12_345,
            expiringKeys: 7,
            databases: { "0": { keys: 12_000, expiringKeys: 7 }, "3": { keys: 345, expiringKeys: 0 } },
            digest: DIGEST.snapshot,
            sha256: "e".repeat(64),
            bytes: 1_048_576,
            manifest: true,
            createdAt: "2026-12-07T05:00:00.000Z",
            redis: {
                redisVersion: "7.0.15",
                rdbVersion: 10,
                replicationId: "f".repeat(40),
                replicationOffset: 42,
                writtenAt: null,
                usedMemory: null,
            },
        },
        before: { vault: { keys: 3 }, operational: null },
        reasons: [],
        forced: [],
        verification: {
            snapshot: DIGEST.snapshot,
            vault: DIGEST.vault,
            operational: DIGEST.operational,
            aofBase: DIGEST.aofBase,
            equal,
            compared: "the vault's AOF base with the snapshot",
            problems: equal ? [] : ["the vault's AOF base does not hold the snapshot"],
        },
        aside: null,
        leftovers: [],
        error: equal ? null : "the restored vault does not hold the snapshot",
        measurements: {
            durationMs: 1000,
            writesRefusedMs: null,
            stopMs: null,
            swapMs: null,
            startMs: null,
            verifyPauseMs: null,
            pauseLeaseMs: null,
            operationalSyncMs: null,
        },
    };
}

describe("restore's report", () => {
    it("gives, as JSON, the snapshot's key count over every database and each digest compared, the AOF base's included", () => {
        const json = JSON.parse(renderRestoreJson(report(true)));
        expect(json.snapshot.keys).toBe(12_345);
        expect(json.snapshot.databases).toEqual({ "0": { keys: 12_000, expiringKeys: 7 }, "3": { keys: 345, expiringKeys: 0 } });
        expect(json.verification).toEqual({
            equal: true,
            snapshot: DIGEST.snapshot,
            vault: DIGEST.vault,
            operational: DIGEST.operational,
            aofBase: DIGEST.aofBase,
            compared: "the vault's AOF base with the snapshot",
            problems: [],
        });
    });

    it.each([
        [true, "verified: equal:"],
        [false, "verified: NOT EQUAL:"],
    ])("says for people whether the digests agreed (equal %s) and names each one it compared", (equal, verdict) => {
        const text = renderRestoreText(report(equal));
        expect(text).toContain(
            `${verdict} snapshot aaaaaaaaaaaa, vault's AOF base cccccccccccc, vault bbbbbbbbbbbb, operational dddddddddddd`,
        );
        if (!equal) expect(text).toContain("  - the vault's AOF base does not hold the snapshot");
    });
});
