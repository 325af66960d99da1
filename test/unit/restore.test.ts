/**
 * `nexus-redis restore`'s decisions: when it may replace data (never by accident), the swap
 * of the vault's files (run here with sh on a folder), what counts as restored, the report.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SnapshotContent } from "../../cli/snapshot/manifest";
import { type RestoreReport, renderRestoreJson, renderRestoreText } from "../../cli/restore/report";
import { noManifestRefusal } from "../../cli/restore/source";
import { DEFAULT_RESTORE_TIMEOUT_MS, RESTORE_HELP, parseRestoreArgs } from "../../cli/restore/spec";
import {
    EMPTY_DIGEST,
    type LeftoverHelper,
    MIN_PAUSE_LEASE_MS,
    STAGING_FILE,
    asideFolderName,
    asideFolderOfScript,
    decideRestore,
    describePause,
    judgeLeftover,
    movedFiles,
    pauseLeaseMs,
    pauseRenewalMs,
    restoredFolderName,
    swapScript,
    verifyVault,
    wayBackCommands,
    wayBackScript,
} from "../../cli/restore/plan";
import { SAMPLE_SECRETS, fleetOutputs } from "./cli-samples";
import { cli } from "./cliRun";

/** Every temporary folder of these tests, removed after them. */
const TEMP = mkdtempSync(path.join(tmpdir(), "nexus-redis-restore-unit-"));
afterAll(() => rmSync(TEMP, { recursive: true, force: true }));
const SNAPSHOT: SnapshotContent = { keys: 1000, expiringKeys: 0, digest: "75dea420a05334c707d0f0fc560ce5e71cae1870" };
const OTHER = "524a51f698518afb2f855a61e565a355e0e7e0fb";
const EMPTY = "0000000000000000000000000000000000000000";

describe("restore's arguments", () => {
    const password = { RESTIC_PASSWORD_FILE: "/etc/nexus-redis/restic.pw" };

    it("takes an environment and a file", () => {
        expect(parseRestoreArgs(["contact", "--from", "backups/contact/x.rdb"], {})).toEqual({
            environment: "contact",
            from: "backups/contact/x.rdb",
            force: false,
            withoutManifest: false,
            json: false,
            resticRepo: undefined,
            outputs: undefined,
            stack: undefined,
            timeoutMs: DEFAULT_RESTORE_TIMEOUT_MS,
        });
    });

    it("takes an RDB file without a manifest only when told so", () => {
        expect(parseRestoreArgs(["contact", "--from", "dump.rdb", "--without-manifest"], {})).toMatchObject({ withoutManifest: true });
    });

    it("takes a restic snapshot with its repository", () => {
        expect(parseRestoreArgs(["locker", "--from", "restic:latest", "--restic-repo", "/srv/restic", "--force"], password)).toMatchObject({
            from: "restic:latest",
            resticRepo: "/srv/restic",
            force: true,
        });
    });

    it.each<[string, string[], Record<string, string>, RegExp]>([
        ["no environment", ["--from", "x.rdb"], {}, /restore takes exactly one environment, got none/],
        ["two environments", ["a", "b", "--from", "x.rdb"], {}, /restore takes exactly one environment, got "a b"/],
        ["no snapshot", ["contact"], {}, /--from FILE or --from restic:SNAPSHOT is required/],
        ["a restic snapshot without a repository", ["contact", "--from", "restic:latest"], password, /needs --restic-repo URL/],
        [
            "a restic snapshot without a password",
            ["contact", "--from", "restic:latest", "--restic-repo", "/r"],
            {},
            /set RESTIC_PASSWORD_FILE/,
        ],
        ["a snapshot ID that is not one", ["contact", "--from", "restic:HEAD~1", "--restic-repo", "/r"], password, /give a snapshot ID/],
        [
            "a repository with a file",
            ["contact", "--from", "x.rdb", "--restic-repo", "/r"],
            {},
            /--restic-repo only applies to --from restic/,
        ],
        ["an option of backup", ["contact", "--from", "x.rdb", "--to", "/b"], {}, /Unknown option '--to'/],
        [
            "a manifest given for the snapshot, saying to give the .rdb",
            ["contact", "--from", "/b/contact/20260126T030000.000Z.json"],
            {},
            /--from \/b\/contact\/20260126T030000\.000Z\.json is a manifest: --from takes the snapshot, the \.rdb beside it \(--from \/b\/contact\/20260126T030000\.000Z\.rdb\)/,
        ],
    ])("refuses %s", (_what, argv, env, message) => {
        expect(() => parseRestoreArgs(argv, env)).toThrow(message);
    });
});

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

describe("the swap of the vault's files (run with sh on a folder)", () => {
    function dataFolder(files: Record<string, string>): string {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-swap-"));
        for (const [name, content] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            writeFileSync(path.join(dir, name), content);
        }
        return dir;
    }
    const uid = String(process.getuid?.() ?? 0);
    const STAGED = "REDIS0010snapshot";
    const swap = (dir: string, bytes = STAGED.length) =>
        spawnSync("sh", ["-c", swapScript("nexus-redis-restore-20260126T030000Z", uid, bytes, dir)], { encoding: "utf8" });

    it("moves the AOF folder, Redis 6's single AOF and dump.rdb aside (never deletes them), and puts the snapshot in as dump.rdb, 0600", () => {
        const dir = dataFolder({
            "appendonlydir/appendonly.aof.manifest": "m",
            "appendonlydir/appendonly.aof.1.base.rdb": "base",
            "appendonly.aof": "old",
            "dump.rdb": "old-rdb",
            "appendonlydir.incomplete-20260101T000000Z/x": "kept where it is",
            [STAGING_FILE]: STAGED,
        });
        const run = swap(dir);
        expect(run.status).toBe(0);
        expect(movedFiles(run.stdout)).toEqual(["appendonlydir", "appendonly.aof", "dump.rdb"]);
        expect(readdirSync(dir).sort()).toEqual([
            "appendonlydir.incomplete-20260101T000000Z",
            "dump.rdb",
            "nexus-redis-restore-20260126T030000Z",
        ]);
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("REDIS0010snapshot");
        expect(statSync(path.join(dir, "dump.rdb")).mode & 0o777).toBe(0o600);
        const aside = path.join(dir, "nexus-redis-restore-20260126T030000Z");
        expect(readdirSync(aside).sort()).toEqual(["appendonly.aof", "appendonlydir", "dump.rdb"]);
        expect(readFileSync(path.join(aside, "appendonlydir/appendonly.aof.1.base.rdb"), "utf8")).toBe("base");
        // As private as what it holds (mkdir's default would be 0755 under a 022 umask).
        expect(statSync(aside).mode & 0o777).toBe(0o700);
    });

    it("refuses a staged snapshot cut short, moving nothing", () => {
        const dir = dataFolder({ "dump.rdb": "old-rdb", [STAGING_FILE]: "REDIS00" });
        const run = swap(dir, STAGED.length);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/the staged snapshot is 7 bytes, not 17: its staging was cut short/);
        expect(readdirSync(dir).sort()).toEqual([STAGING_FILE, "dump.rdb"].sort());
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("old-rdb");
    });

    it("is found again from the script a killed restore's helper ran", () => {
        expect(asideFolderOfScript(swapScript("nexus-redis-restore-20260126T030000Z", "999", 17))).toBe(
            "nexus-redis-restore-20260126T030000Z",
        );
    });

    it("leaves no empty folder behind when the vault had no files (a lost volume)", () => {
        const dir = dataFolder({ [STAGING_FILE]: STAGED });
        const run = swap(dir);
        expect(run.status).toBe(0);
        expect(movedFiles(run.stdout)).toEqual([]);
        expect(readdirSync(dir)).toEqual(["dump.rdb"]);
    });

    it("moves nothing when the snapshot was not staged", () => {
        const dir = dataFolder({ "dump.rdb": "old-rdb", "appendonlydir/appendonly.aof.manifest": "m" });
        const run = swap(dir);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/the staged snapshot is missing/);
        expect(readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    });

    it("names the aside folder by the UTC second of the restore", () => {
        expect(asideFolderName(new Date("2026-01-26T03:00:05.123Z"))).toBe("nexus-redis-restore-20260126T030005Z");
    });
});

describe("the way back after a restore (run with sh on a folder)", () => {
    const aside = "nexus-redis-restore-20261126T170256Z";

    it("puts the previous files back and keeps what the restored vault holds, writes since the restore included, aside too", () => {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-wayback-"));
        const files: Record<string, string> = {
            "appendonlydir/appendonly.aof.2.base.rdb": "the restored snapshot",
            "appendonlydir/appendonly.aof.2.incr.aof": "SET written-after-the-restore",
            "dump.rdb": "the restored snapshot",
            [`${aside}/appendonlydir/appendonly.aof.1.incr.aof`]: "FLUSHALL",
            [`${aside}/dump.rdb`]: "before the restore",
        };
        for (const [name, content] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            writeFileSync(path.join(dir, name), content);
        }
        const run = spawnSync("sh", ["-c", wayBackScript(aside, dir)], { encoding: "utf8" });
        expect(run.status).toBe(0);
        const restored = path.join(dir, restoredFolderName(aside));
        expect(readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb", "nexus-redis-restored-20261126T170256Z"]);
        expect(readFileSync(path.join(dir, "appendonlydir/appendonly.aof.1.incr.aof"), "utf8")).toBe("FLUSHALL");
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("before the restore");
        expect(readFileSync(path.join(restored, "appendonlydir/appendonly.aof.2.incr.aof"), "utf8")).toBe("SET written-after-the-restore");
        expect(statSync(restored).mode & 0o777).toBe(0o700);
        expect(existsSync(path.join(dir, aside))).toBe(false);
    });

    it("is what the restore page gives, for its example", () => {
        const page = readFileSync(path.join(__dirname, "../../docs/restore.md"), "utf8");
        for (const line of wayBackCommands("nexus3-contact-vault", "redis:7.2", aside)) expect(page).toContain(line);
        expect(page).not.toContain("rm -rf appendonlydir appendonly.aof dump.rdb");
    });
});

describe("how long writes stay paused should restore be killed", () => {
    it.each<[number, number]>([
        [0, MIN_PAUSE_LEASE_MS],
        [300, MIN_PAUSE_LEASE_MS],
        [1_000, 5_000],
        [4_000, 14_000],
    ])("a DEBUG DIGEST of %i ms on the scratch server gives a pause of %i ms at a time", (digestMs, leaseMs) => {
        expect(pauseLeaseMs(digestMs)).toBe(leaseMs);
    });

    it("renews a pause several times within its lease, at least every second", () => {
        expect(pauseRenewalMs(5_000)).toBe(1_000);
        expect(pauseRenewalMs(14_000)).toBe(1_000);
        expect(pauseRenewalMs(MIN_PAUSE_LEASE_MS)).toBeLessThanOrEqual(MIN_PAUSE_LEASE_MS / 4);
    });

    it("says what the pause means for clients", () => {
        expect(describePause(5_000)).toBe(
            "CLIENT PAUSE WRITE for 5.0 s at a time, renewed while restore runs: should it be killed, writes resume within 5.0 s",
        );
    });
});

describe("what a killed restore left", () => {
    const created = Date.parse("2026-11-26T17:02:00Z");
    const helper = (fields: Partial<LeftoverHelper>): LeftoverHelper => ({
        name: "nexus3-contact-vault-restore-0a1b2c",
        state: "created",
        exitCode: 0,
        createdMs: created,
        aside: "nexus-redis-restore-20261126T170256Z",
        log: "",
        ...fields,
    });
    const vault = (running: boolean, finishedMs = created - 3_600_000) => ({ name: "nexus3-contact-vault", running, finishedMs });

    it("a helper never started, the vault running (killed while staging): both the helper and the staged snapshot go, the vault is left alone", () => {
        const verdict = judgeLeftover(helper({}), vault(true));
        expect(verdict).toMatchObject({ action: "discard", startVault: false });
        expect(verdict.note).toMatch(
            /was killed before its swap .* the vault's files were not touched; its helper and staged snapshot are removed$/,
        );
    });

    it("a helper never started, the vault stopped after it was made (killed between the stop and the swap): the vault is started on its own files", () => {
        const verdict = judgeLeftover(helper({}), vault(false, created + 2_000));
        expect(verdict).toMatchObject({ action: "discard", startVault: true });
        expect(verdict.note).toMatch(/nexus3-contact-vault, which it had stopped, is started again on its own files/);
    });

    it("a helper never started, the vault stopped before it was made: not that restore's doing, the vault stays stopped", () => {
        expect(judgeLeftover(helper({}), vault(false))).toMatchObject({ action: "discard", startVault: false });
    });

    it("a swap that finished (killed before the vault was started): the vault is started on that restore's snapshot, and says where the files are", () => {
        const verdict = judgeLeftover(
            helper({ state: "exited", log: "moved appendonlydir\nmoved dump.rdb\n" }),
            vault(false, created + 2_000),
        );
        expect(verdict).toMatchObject({ action: "finish", startVault: true });
        expect(verdict.note).toMatch(
            /its previous files \(appendonlydir, dump\.rdb\) are in \/data\/nexus-redis-restore-20261126T170256Z; nexus3-contact-vault is started on that snapshot/,
        );
    });

    it("a swap that failed midway: nothing is started, the operator decides", () => {
        const verdict = judgeLeftover(
            helper({ state: "exited", exitCode: 1, log: "mv: can't rename 'dump.rdb': I/O error" }),
            vault(false),
        );
        expect(verdict.action).toBe("refuse");
        expect(verdict.note).toMatch(
            /its swap of the vault's files did not finish .* I\/O error\); nothing was changed now: .*\(docker rm -f nexus3-contact-vault-restore-0a1b2c/,
        );
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

    it("says why it refused", () => {
        const text = renderRestoreText(
            report({
                status: "refused",
                verification: null,
                aside: null,
                error: "refused, nothing was changed: the vault holds 1001 keys",
                measurements: {
                    durationMs: 900,
                    writesRefusedMs: null,
                    stopMs: null,
                    swapMs: null,
                    startMs: null,
                    verifyPauseMs: null,
                    pauseLeaseMs: null,
                    operationalSyncMs: null,
                },
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

describe("nexus-redis restore, before it connects anywhere", () => {
    const outputs = (() => {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-restore-"));
        const file = path.join(dir, "outputs.json");
        writeFileSync(file, JSON.stringify({ environments: fleetOutputs }));
        return file;
    })();

    async function restore(argv: string[]) {
        const { code, stdout, stderr } = await cli(["restore", ...argv, "--outputs", outputs], {
            runner: async (command) => {
                throw new Error(`no command may run here, got ${command.join(" ")}`);
            },
        });
        return { code, stdout, stderr };
    }

    it("prints its own help", async () => {
        const run = await restore(["--help"]);
        expect(run).toEqual({ code: 0, stdout: `${RESTORE_HELP}\n`, stderr: "" });
        for (const section of ["Usage:", "Options:", "Examples:", "Exit codes:"]) expect(RESTORE_HELP).toContain(section);
    });

    it("exits 2 on an option it does not take, pointing to its own help", async () => {
        const run = await restore(["contact", "--from", "x.rdb", "--to", "/b"]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/^nexus-redis restore: Unknown option '--to'\..*\n\nRun `nexus-redis restore --help` for usage\.\n$/s);
    });

    it("exits 2 for an environment the stack does not have, naming the stack's", async () => {
        const run = await restore(["contct", "--from", "x.rdb"]);
        expect(run.code).toBe(2);
        expect(run.stderr).toBe(
            'nexus-redis restore: unknown environment "contct"; the stack\'s are contact, kb, user\n\nRun `nexus-redis restore --help` for usage.\n',
        );
        for (const secret of SAMPLE_SECRETS) expect(run.stderr).not.toContain(secret);
    });
});
