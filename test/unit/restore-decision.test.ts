/**
 * `nexus-redis restore`'s two judgements on the vault's data: before, whether it may replace what
 * the vault (and a cut-off operational) holds, never by accident; after, what counts as restored
 * (the DEBUG DIGEST, or the keys without an expiry by count once some keys have expired).
 */
import { describe, expect, it } from "vitest";
import type { SnapshotContent } from "../../cli/snapshot/manifest";
import { EMPTY_DIGEST, decideRestore, verifyVault } from "../../cli/restore/plan";
import { EMPTY, OTHER, SNAPSHOT } from "./restoreSamples";

describe("whether restore may replace what the vault holds", () => {
    it("restores onto an empty vault (a mistaken FLUSHALL, a lost volume) without --force", () => {
        expect(decideRestore(SNAPSHOT, { keys: 0, digest: EMPTY, datasetBytes: 800_000 }, { keys: 0, digest: undefined }, false)).toEqual({
            action: "restore",
            reasons: ["the vault is empty (no key in any database, DEBUG DIGEST of the empty dataset): nothing is replaced"],
            forced: [],
        });
    });

    it("refuses a vault whose keys are all in database 2, saying where they are", () => {
        const decision = decideRestore(
            SNAPSHOT,
            { keys: 5000, databases: { "2": { keys: 5000, expiringKeys: 0 } }, datasetBytes: 565_112 },
            undefined,
            false,
        );
        expect(decision.action).toBe("refuse");
        expect(decision.reasons.join()).toMatch(/the vault holds 5000 keys \(5000 keys in db2\), 551\.9 KiB of data/);
    });

    it.each<[string, { keys: number; digest?: string }]>([
        ["lists no key but whose DEBUG DIGEST is not the empty dataset's", { keys: 0, digest: OTHER }],
        ["lists no key and whose digest was not read", { keys: 0 }],
    ])("never takes for empty a vault that %s: a count does not stand in for the digest", (_what, vault) => {
        const decision = decideRestore(SNAPSHOT, { ...vault, datasetBytes: 565_112 }, undefined, false);
        expect(decision.action).toBe("refuse");
        expect(decision.reasons.join()).toMatch(/lists no key in INFO keyspace, but its DEBUG DIGEST is .*, not the empty dataset's/);
    });

    it("knows the empty dataset's digest", () => {
        expect(EMPTY_DIGEST).toBe(EMPTY);
    });

    it("does nothing when the vault holds exactly the snapshot", () => {
        expect(decideRestore(SNAPSHOT, { keys: 1000, digest: SNAPSHOT.digest }, undefined, true)).toMatchObject({ action: "unchanged" });
    });

    it("refuses a vault that holds other keys, saying how many and how much memory would be replaced", () => {
        const decision = decideRestore(SNAPSHOT, { keys: 1001, datasetBytes: 4_300_000 }, undefined, false);
        expect(decision.action).toBe("refuse");
        expect(decision.reasons.join()).toMatch(
            /the vault holds 1001 keys, 4\.1 MiB of data, and they are not the snapshot's 1000 keys: restoring would replace every one of them/,
        );
    });

    it("refuses a vault with as many keys as the snapshot but other content", () => {
        expect(decideRestore(SNAPSHOT, { keys: 1000, digest: OTHER, datasetBytes: 1 }, undefined, false).action).toBe("refuse");
    });

    it("replaces them with --force, and records what it overrode", () => {
        const decision = decideRestore(SNAPSHOT, { keys: 1001, datasetBytes: 4_300_000 }, undefined, true);
        expect(decision.action).toBe("restore");
        expect(decision.action === "restore" && decision.forced.join()).toMatch(/the vault holds 1001 keys/);
    });

    it("refuses a vault whose data cannot be read: nobody knows what would be replaced", () => {
        const decision = decideRestore(SNAPSHOT, { unavailable: "container nexus3-contact-vault is not running" }, undefined, false);
        expect(decision).toEqual({
            action: "refuse",
            reasons: [
                "the vault's data cannot be examined (container nexus3-contact-vault is not running): nobody knows what the restore would replace",
            ],
        });
    });

    it("refuses when a cut-off operational holds data that is neither the vault's nor the snapshot's (it may be the newest copy)", () => {
        const decision = decideRestore(SNAPSHOT, { keys: 0, digest: EMPTY }, { keys: 1, digest: OTHER }, false);
        expect(decision.action).toBe("refuse");
        expect(decision.reasons.join()).toMatch(/the operational holds 1 key that is neither the vault's nor the snapshot's/);
    });

    it.each<[string, { keys: number; digest?: string }]>([
        ["follows the vault (link up: its data is the vault's, its digest not read)", { keys: 1000 }],
        ["holds the snapshot's data", { keys: 1000, digest: SNAPSHOT.digest }],
        ["holds the vault's data", { keys: 5, digest: OTHER }],
        ["is empty", { keys: 0, digest: EMPTY }],
    ])("does not refuse for an operational that %s", (_what, operational) => {
        const vault = operational.digest === OTHER ? { keys: 5, digest: OTHER } : { keys: 0, digest: EMPTY };
        const decision = decideRestore(SNAPSHOT, vault, operational, true);
        expect(decision.action).toBe("restore");
        // Only what the vault holds may need --force: nothing about the operational.
        expect(decision.action === "restore" && decision.forced.join()).not.toMatch(/operational/);
    });

    it("does not refuse for an operational that does not answer: it re-syncs when it comes back", () => {
        expect(decideRestore(SNAPSHOT, { keys: 0, digest: EMPTY }, { unavailable: "container stopped" }, false).action).toBe("restore");
    });
});

describe("what counts as restored", () => {
    it("without expiring keys: the vault's DEBUG DIGEST equals the snapshot's", () => {
        expect(verifyVault(SNAPSHOT, { ...SNAPSHOT })).toMatchObject({
            equal: true,
            compared: "DEBUG DIGEST of the whole dataset (no key has an expiry)",
        });
        const wrong = verifyVault(SNAPSHOT, { keys: 1000, expiringKeys: 0, digest: OTHER });
        expect(wrong.equal).toBe(false);
        expect(wrong.problems.join()).toMatch(
            /the vault holds 1000 keys with DEBUG DIGEST 524a51f69851, the snapshot 1000 keys with 75dea420a053/,
        );
    });

    const session: SnapshotContent = { keys: 1000, expiringKeys: 400, digest: SNAPSHOT.digest };

    it("with expiring keys none of which expired: still the digest", () => {
        const v = verifyVault(session, { ...session });
        expect(v.equal).toBe(true);
        expect(v.compared).toMatch(/DEBUG DIGEST of the whole dataset \(none of the snapshot's 400 keys with an expiry had expired/);
    });

    it("with expiring keys some of which expired: the keys without an expiry by count, and says digests cannot match", () => {
        const v = verifyVault(session, { keys: 950, expiringKeys: 350, digest: OTHER });
        expect(v.equal).toBe(true);
        expect(v.compared).toMatch(
            /50 of the snapshot's 400 keys with an expiry had expired when the vault loaded it .* the 600 keys without an expiry are compared by count, not content/,
        );
    });

    it("fails when a key without an expiry is missing, which no expiry explains", () => {
        const v = verifyVault(session, { keys: 949, expiringKeys: 350, digest: OTHER });
        expect(v.equal).toBe(false);
        expect(v.problems).toEqual(["the vault holds 599 keys without an expiry, the snapshot 600 keys"]);
    });
});
