/**
 * `nexus-redis backup`'s pure parts: names and manifests, restic's commands and outputs,
 * arguments, the report; and the command's refusals that need neither Docker nor Redis.
 */
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { redisCliRanOutOfSpace } from "../../cli/backup/failures";
import { retentionBlocked } from "../../cli/backup/retention";
import { BACKUP_HELP, DEFAULT_BACKUP_TIMEOUT_MS, parseBackupArgs } from "../../cli/backup/spec";
import { diskFullMessage, isDiskFull, removeAbandonedFiles, spaceOf, writeFileDurably } from "../../cli/snapshot/files";
import {
    type BackupManifest,
    MANIFEST_FORMAT,
    MANIFEST_FORMAT_1,
    manifestKeysOf,
    manifestPathOf,
    parseManifest,
    renderManifest,
    snapshotPaths,
    snapshotStamp,
    temporaryFileOwner,
} from "../../cli/snapshot/manifest";
import { type BackupReport, type BackupResult, backupExitCode, renderBackupJson, renderBackupTable } from "../../cli/backup/report";
import {
    parseBackupSummary,
    parseForgetOutput,
    resticBackupCommand,
    resticForgetCommand,
    resticRestoreCommand,
    resticSnapshotOf,
    retentionArgs,
    retentionProblems,
    validSnapshotId,
} from "../../cli/snapshot/restic";
import { LABEL_ROLE, isTemporaryNameOf, temporaryLabels } from "../../cli/snapshot/vaultContainer";
import { databasesRefused, highestSelectedDatabase, parseScratchKeyspace, redisLogReason, scratchCommand } from "../../cli/snapshot/verify";
import { describeDatabases, parseKeyspace } from "../../cli/redis/keyspace";
import { ownerState, ownerTag } from "../../cli/core/owner";
import { LABEL_ROLE as PROGRAM_ROLE_LABEL } from "../../components/containerSpec";
import type { RunResult } from "../../cli/core/runner";
import { SAMPLE_SECRETS, fleetOutputs } from "./cli-samples";
import { cli } from "./cliRun";

/** Every temporary folder of these tests, removed after them. */
const TEMP = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-unit-"));
afterAll(() => rmSync(TEMP, { recursive: true, force: true }));
const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    environment: "contact",
    kind: "standard",
    createdAt: "2026-01-26T03:00:00.123Z",
    file: "20260126T030000.123Z.rdb",
    bytes: 2277961,
    sha256: "f0e6288465622490f768e9defade678db4150e906b4693270207a15ce3bcddd8",
    keys: 105000,
    expiringKeys: 16666,
    databases: { "0": { keys: 100000, expiringKeys: 16666 }, "2": { keys: 5000, expiringKeys: 0 } },
    digest: "75dea420a05334c707d0f0fc560ce5e71cae1870",
    redis: {
        redisVersion: "7.0.15",
        rdbVersion: 10,
        replicationId: "1f85e01e8350c57ba4f2e7abaa3f98f1e9a35cf7",
        replicationOffset: 42,
        writtenAt: "2026-01-26T03:00:00.000Z",
        usedMemory: 1146400,
    },
    source: { container: "nexus3-contact-vault", endpoint: "127.0.0.1:6630", user: "backup" },
    verification: { method: "loaded into a scratch redis-server", image: "sha256:0ab796c7c77d", durationMs: 882 },
};

describe("where a backup is written", () => {
    it("names it by the UTC time it started, sortable and without colons", () => {
        expect(snapshotStamp(new Date("2026-01-26T03:00:05.123Z"))).toBe("20260126T030005.123Z");
    });

    it("puts the snapshot and its manifest in the environment's folder, and writes both under dot names naming the process first", () => {
        expect(snapshotPaths("/var/backups/nexus-redis", "locker", "20260126T030005.123Z", "backup-host:4242")).toEqual({
            folder: "/var/backups/nexus-redis/locker",
            rdb: "/var/backups/nexus-redis/locker/20260126T030005.123Z.rdb",
            manifest: "/var/backups/nexus-redis/locker/20260126T030005.123Z.json",
            rdbTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.rdb.partial",
            manifestTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.json.partial",
            caFile: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.ca.partial",
        });
    });

    it("reads the process back from a temporary file's name, and from no other name", () => {
        const paths = snapshotPaths("/b", "locker", "20260126T030005.123Z", ownerTag("ops.example.org", 31337));
        expect(temporaryFileOwner(path.basename(paths.rdbTemp))).toBe("ops.example.org:31337");
        expect(temporaryFileOwner(path.basename(paths.manifestTemp))).toBe("ops.example.org:31337");
        for (const other of ["20260126T030005.123Z.rdb", ".20260126T030005.123Z.rdb.partial", "notes.txt", ".pid1@h.rdb.partial"])
            expect(temporaryFileOwner(other)).toBeUndefined();
    });

    it("finds a snapshot's manifest next to it", () => {
        expect(manifestPathOf("backups/contact/20260126T030005.123Z.rdb")).toBe("backups/contact/20260126T030005.123Z.json");
        expect(manifestPathOf("/tmp/dump")).toBe("/tmp/dump.json");
    });
});

describe("a backup's manifest", () => {
    it("reads back what was written", () => {
        expect(parseManifest(renderManifest(manifest), "m.json")).toEqual(manifest);
    });

    it("is written with its keys in a fixed order, whatever order they came in", () => {
        const shuffled = Object.fromEntries(Object.entries(manifest).reverse()) as unknown as BackupManifest;
        expect(renderManifest(shuffled)).toBe(renderManifest(manifest));
        expect(Object.keys(JSON.parse(renderManifest(manifest)))).toEqual([
            "format",
            "environment",
            "kind",
            "createdAt",
            "file",
            "bytes",
            "sha256",
            "keys",
            "expiringKeys",
            "databases",
            "digest",
            "redis",
            "source",
            "verification",
        ]);
    });

    it.each<[string, (m: Record<string, unknown>) => void, RegExp]>([
        ["another format", (m) => (m.format = "nexus-redis-backup/9"), /format is "nexus-redis-backup\/9"/],
        ["no environment", (m) => delete m.environment, /environment is missing/],
        ["a short sha256", (m) => (m.sha256 = "abc"), /sha256 is not 64 hex digits/],
        ["a digest that is not DEBUG DIGEST's", (m) => (m.digest = "zz"), /digest is not 40 hex digits/],
        ["a negative key count", (m) => (m.keys = -1), /keys is not a count/],
        ["no time", (m) => (m.createdAt = "yesterday"), /createdAt is not a time/],
        ["no databases", (m) => delete m.databases, /databases is missing/],
        [
            "databases that do not add up to keys",
            (m) => ((m.databases as Record<string, { keys: number }>)["2"].keys = 4999),
            /databases hold 104999 keys \(16666 with an expiry\), but keys is 105000/,
        ],
        [
            "a database that is not a number",
            (m) => ((m.databases as Record<string, unknown>).x = { keys: 0, expiringKeys: 0 }),
            /databases has "x"/,
        ],
    ])("is refused with %s", (_what, change, message) => {
        const m = JSON.parse(renderManifest(manifest));
        change(m);
        expect(() => parseManifest(JSON.stringify(m), "m.json")).toThrow(message);
    });

    it("is refused when it is not JSON at all", () => {
        expect(() => parseManifest("REDIS0010", "x.json")).toThrow(/x\.json is not JSON/);
    });

    it("counts every database in keys (format 2); a format 1 manifest, which counted database 0, is still read as such", () => {
        const content = { keys: 105000, expiringKeys: 16666, digest: manifest.digest, databases: manifest.databases };
        expect(manifestKeysOf(manifest, content)).toBe(105000);
        const { databases: _none, ...old } = { ...manifest, format: MANIFEST_FORMAT_1, keys: 100000 };
        const read = parseManifest(JSON.stringify(old), "old.json");
        expect(read.format).toBe(MANIFEST_FORMAT_1);
        expect(manifestKeysOf(read, content)).toBe(100000);
    });
});

describe("restic", () => {
    it("stores a backup's snapshot and manifest as one restic snapshot, tagged with the environment", () => {
        expect(resticBackupCommand("/srv/restic", "contact", ["/b/contact/x.rdb", "/b/contact/x.json"])).toEqual([
            "restic",
            "--repo",
            "/srv/restic",
            "backup",
            "--json",
            "--tag",
            "nexus-redis",
            "--tag",
            "env:contact",
            "/b/contact/x.rdb",
            "/b/contact/x.json",
        ]);
    });

    it("applies retention per environment: grouped by tags (each file name is new, so grouping by paths would keep every backup)", () => {
        expect(resticForgetCommand("s3:s3.amazonaws.com/b", ["contact", "locker"], { "keep-daily": "14", "keep-last": "3" })).toEqual([
            "restic",
            "--repo",
            "s3:s3.amazonaws.com/b",
            "forget",
            "--json",
            "--prune",
            "--group-by",
            "tags",
            "--tag",
            "nexus-redis,env:contact",
            "--tag",
            "nexus-redis,env:locker",
            "--keep-last",
            "3",
            "--keep-daily",
            "14",
        ]);
    });

    it("never runs forget without a --keep-* option (restic would refuse, or forget nothing)", () => {
        expect(() => resticForgetCommand("/r", ["contact"], {})).toThrow(/no --keep-\* option/);
    });

    it("passes every --keep-* option in one order", () => {
        expect(
            retentionArgs({
                "keep-within": "30d",
                "keep-yearly": "2",
                "keep-monthly": "12",
                "keep-weekly": "8",
                "keep-daily": "14",
                "keep-hourly": "24",
                "keep-last": "1",
            }),
        ).toEqual([
            "--keep-last",
            "1",
            "--keep-hourly",
            "24",
            "--keep-daily",
            "14",
            "--keep-weekly",
            "8",
            "--keep-monthly",
            "12",
            "--keep-yearly",
            "2",
            "--keep-within",
            "30d",
        ]);
    });

    it.each([
        [{ "keep-last": "0" }, /--keep-last takes a whole number of at least 1, got "0"/],
        [{ "keep-daily": "7d" }, /--keep-daily takes a whole number/],
        [{ "keep-within": "30 days" }, /--keep-within takes a restic duration/],
        [{ "keep-within": "" }, /--keep-within takes a restic duration/],
    ])("refuses the retention %j", (policy, message) => {
        expect(retentionProblems(policy).join("; ")).toMatch(message);
    });

    it("accepts restic's durations", () => {
        expect(retentionProblems({ "keep-within": "1y6m" })).toEqual([]);
        expect(retentionProblems({ "keep-within": "12h" })).toEqual([]);
    });

    it("restores a snapshot by ID, or the environment's latest by its tags", () => {
        expect(resticRestoreCommand("/r", "kb", "d879ba56", "/tmp/x")).toEqual([
            "restic",
            "--repo",
            "/r",
            "restore",
            "d879ba56",
            "--target",
            "/tmp/x",
        ]);
        expect(resticRestoreCommand("/r", "kb", "latest", "/tmp/x")).toEqual([
            "restic",
            "--repo",
            "/r",
            "restore",
            "latest",
            "--tag",
            "nexus-redis,env:kb",
            "--target",
            "/tmp/x",
        ]);
    });

    it("reads the snapshot ID from restic 0.14's backup --json output", () => {
        const stdout = [
            '{"message_type":"status","percent_done":0,"total_files":1,"total_bytes":3}',
            '{"message_type":"summary","files_new":2,"files_changed":0,"files_unmodified":0,"dirs_new":3,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":2,"tree_blobs":4,"data_added":20710,"total_files_processed":2,"total_bytes_processed":18961,"total_duration":0.219957155,"snapshot_id":"d879ba56"}',
        ].join("\n");
        expect(parseBackupSummary(stdout)).toBe("d879ba56");
        expect(() => parseBackupSummary('{"message_type":"status"}')).toThrow(/no summary/);
    });

    it("counts what restic 0.14's forget --json --prune kept and removed (prune's text report follows the JSON)", () => {
        const stdout = [
            '[{"tags":["env:contact","nexus-redis"],"host":"","paths":null,"keep":[{"short_id":"d5cec4e2"}],"remove":[{"short_id":"d879ba56"}],"reasons":[]},' +
                '{"tags":["env:user","nexus-redis"],"host":"","paths":null,"keep":[{"short_id":"aa"},{"short_id":"bb"}],"remove":null,"reasons":[]}]',
            "loading indexes...",
            "to delete:             6 blobs / 4.906 KiB",
        ].join("\n");
        expect(parseForgetOutput(stdout)).toEqual({ kept: 3, removed: 1 });
    });

    it.each([
        ["restic:d879ba56", "d879ba56", true],
        ["restic:latest", "latest", true],
        ["restic:../etc", "../etc", false],
        ["restic:", "", false],
        ["backups/contact/x.rdb", undefined, undefined],
    ])("reads --from %s", (from, snapshot, valid) => {
        expect(resticSnapshotOf(from)).toBe(snapshot);
        if (snapshot !== undefined) expect(validSnapshotId(snapshot)).toBe(valid);
    });
});

describe("the containers backup and restore create for a moment", () => {
    it("carry the vault's labels (a test run's included, so its cleanup finds them), their own role, and the temporary label", () => {
        expect(LABEL_ROLE).toBe(PROGRAM_ROLE_LABEL);
        const vault = {
            id: "c0ffee",
            name: "nexus3-contact-vault",
            image: "sha256:1",
            running: true,
            data: undefined,
            labels: { "nexus-redis.environment": "contact", "nexus-redis.role": "vault", "nexus-redis.test-run": "nrt12345678" },
        };
        expect(temporaryLabels(vault, "backup-verify", "ops:4242")).toEqual({
            "nexus-redis.environment": "contact",
            "nexus-redis.role": "backup-verify",
            "nexus-redis.test-run": "nrt12345678",
            "nexus-redis.temporary": "true",
            "nexus-redis.owner": "ops:4242",
        });
    });

    it("are the vault's by name: its name, their role, six hex digits", () => {
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-restore-0a1b2c")).toBe(true);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-verify-0a1b2c")).toBe(true);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-2-restore-0a1b2c")).toBe(false);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault")).toBe(false);
        expect(isTemporaryNameOf("nexus3-contact", "nexus3-contact-vault-restore-0a1b2c")).toBe(false);
    });
});

describe("what a killed run left, and what a running one is using", () => {
    const here = { host: "ops", alive: (pid: number) => pid === 100 };

    it.each<[string, string | undefined, string]>([
        ["a process of this host that runs", "ops:100", "alive"],
        ["a process of this host that is gone", "ops:200", "dead"],
        ["a process of another host, which this one cannot ask", "backup-host:200", "elsewhere"],
        ["no owner (made by an older version)", undefined, "unknown"],
    ])("tells %s", (_what, tag, state) => {
        expect(ownerState(tag, here)).toBe(state);
    });

    it("asks the kernel about this process and about one that has exited", () => {
        expect(ownerState(ownerTag())).toBe("alive");
        const gone = require("node:child_process").spawnSync(process.execPath, ["-e", ""]).pid as number;
        expect(ownerState(ownerTag(undefined, gone))).toBe("dead");
    });

    it("removes the temporary files of backups whose process is gone, and nothing else", () => {
        const folder = mkdtempSync(path.join(TEMP, "nexus-redis-abandoned-"));
        const names = [
            ".20260126T030000.000Z.pid200@ops.rdb.partial", // killed
            ".20260126T030000.000Z.pid200@ops.json.partial", // killed
            ".20260126T040000.000Z.pid100@ops.rdb.partial", // still being written
            ".20260126T040000.000Z.pid300@other.rdb.partial", // another host's
            ".20260126T020000.000Z.rdb.partial", // an older version's: whose, nobody can tell
            "20260126T010000.000Z.rdb",
            "20260126T010000.000Z.json",
        ];
        for (const name of names) writeFileSync(path.join(folder, name), "x");
        const removed = removeAbandonedFiles(folder, (owner) => ownerState(owner, here));
        expect(removed.sort()).toEqual([".20260126T030000.000Z.pid200@ops.json.partial", ".20260126T030000.000Z.pid200@ops.rdb.partial"]);
        expect(readdirSync(folder).sort()).toEqual(names.slice(2).sort());
    });
});

describe("a full disk", () => {
    it("is what redis-cli's short write means when the file system has nothing left, and is said so, with the folder and the sizes", () => {
        expect(redisCliRanOutOfSpace("Error writing data to file: short write", { free: 3072 })).toBe(true);
        expect(redisCliRanOutOfSpace("Error writing data to file: No space left on device", undefined)).toBe(true);
        expect(redisCliRanOutOfSpace("Error writing data to file: short write", { free: 50 * 1024 * 1024 })).toBe(false);
        expect(redisCliRanOutOfSpace("AUTH failed: WRONGPASS", { free: 0 })).toBe(false);
        expect(
            diskFullMessage({
                folder: "/var/backups/nexus-redis/contact",
                writing: "the manifest",
                space: { free: 0, size: 20 * 1024 * 1024 },
                snapshotBytes: 3664574,
            }),
        ).toBe(
            "disk full: no room for the manifest in /var/backups/nexus-redis/contact: 0 B free of 20.0 MiB (the snapshot: 3.5 MiB); nothing of this backup was kept. Free space there, or back up to a larger folder (--to)",
        );
    });

    it("is recognised by the error's code, and the file system's space is what a file may still take", () => {
        expect(isDiskFull(Object.assign(new Error("write"), { code: "ENOSPC" }))).toBe(true);
        expect(isDiskFull(Object.assign(new Error("write"), { code: "EDQUOT" }))).toBe(true);
        expect(isDiskFull(Object.assign(new Error("open"), { code: "EACCES" }))).toBe(false);
        const s = statfsSync(tmpdir());
        expect(spaceOf(tmpdir())).toEqual({ free: s.bavail * s.bsize, size: s.blocks * s.bsize });
    });

    it("leaves a file written durably whole, 0600, and never overwrites one", () => {
        const file = path.join(mkdtempSync(path.join(TEMP, "nexus-redis-durable-")), "m.json");
        writeFileDurably(file, "{}\n");
        expect(require("node:fs").statSync(file).mode & 0o777).toBe(0o600);
        expect(() => writeFileDurably(file, "again")).toThrow(/EEXIST/);
    });
});

describe("how many keys a server holds: every database", () => {
    it("counts the keys of every database INFO keyspace lists, not only database 0's", () => {
        const stdout = "# Keyspace\r\ndb0:keys=100000,expires=16666,avg_ttl=86380000\r\ndb3:keys=2,expires=1,avg_ttl=5\r\n";
        expect(parseScratchKeyspace(stdout)).toEqual({
            keys: 100002,
            expiringKeys: 16667,
            databases: { "0": { keys: 100000, expiringKeys: 16666 }, "3": { keys: 2, expiringKeys: 1 } },
        });
    });

    it("counts a vault whose keys are all in database 2 as holding them", () => {
        expect(parseKeyspace("# Keyspace\ndb2:keys=5000,expires=0,avg_ttl=0\n")).toMatchObject({ keys: 5000, expiringKeys: 0 });
    });

    it("reads an empty dataset: the header and no database", () => {
        expect(parseScratchKeyspace("# Keyspace\n")).toEqual({ keys: 0, expiringKeys: 0, databases: {} });
    });

    it.each([
        ["an error", "NOAUTH Authentication required."],
        ["a server still loading", "LOADING Redis is loading the dataset in memory"],
        ["nothing", ""],
        ["a line it does not know", "# Keyspace\ndb0:keys=many\n"],
    ])("never reads %s as no key", (_what, text) => {
        expect(() => parseKeyspace(text)).toThrow();
        expect(() => parseScratchKeyspace(text)).toThrow(/unexpected answer from the scratch server/);
    });

    it("says where the keys are", () => {
        expect(describeDatabases({ "2": { keys: 5000, expiringKeys: 0 }, "0": { keys: 1, expiringKeys: 0 } })).toBe(
            "1 key in db0, 5000 in db2",
        );
        expect(describeDatabases({})).toBe("no key in any database");
    });
});

describe("a snapshot of a vault with more than 16 databases", () => {
    it("starts the scratch server with the databases asked for, 16 unless told", () => {
        expect(scratchCommand().slice(-2)).toEqual(["--databases", "16"]);
        expect(scratchCommand(33).slice(-2)).toEqual(["--databases", "33"]);
        expect(() => scratchCommand(0)).toThrow(/databases must be a count/);
    });

    it("recognises Redis 7.0's refusal to load it, with the number the server had", () => {
        const log =
            "1:M 07 Dec 2026 00:27:11.001 # FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting\n";
        expect(databasesRefused(log)).toBe(16);
        expect(databasesRefused("1:M # Short read or OOM loading DB.")).toBeUndefined();
    });

    it("finds the highest database in redis-check-rdb's output (Redis 7.0.15's, on a file with keys in db3 and db20)", () => {
        const output = [
            "[offset 0] Checking RDB file dump.rdb",
            "[offset 27] AUX FIELD redis-ver = '7.0.15'",
            "[offset 82] Selecting DB ID 3",
            "[offset 92] Selecting DB ID 20",
            "[offset 109] Checksum OK",
            "[offset 109] \\o/ RDB looks OK! \\o/",
        ].join("\n");
        expect(highestSelectedDatabase(output)).toBe(20);
        expect(highestSelectedDatabase("[offset 0] Checking RDB file dump.rdb\n[info] 0 keys read")).toBeUndefined();
    });
});

describe("a snapshot that does not load", () => {
    it("says why Redis 7.0 refused a truncated file, from its log, without the noise", () => {
        const log = [
            "1:C 26 Nov 2026 15:57:03.689 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            "1:C 26 Nov 2026 15:57:03.689 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=1, just started",
            "1:M 26 Nov 2026 15:57:03.690 # WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition.",
            "1:M 26 Nov 2026 15:57:03.691 * Loading RDB produced by version 7.0.15",
            "1:M 26 Nov 2026 15:57:03.691 # Short read or OOM loading DB. Unrecoverable error, aborting now.",
            "1:M 26 Nov 2026 15:57:03.691 # Internal error in RDB reading offset 0, function at rdb.c:3249 -> Unexpected EOF reading RDB file",
            "--- RDB ERROR DETECTED ---",
            "[offset 10000] Unexpected EOF reading RDB file",
            "[info] 523 keys read",
        ].join("\n");
        expect(redisLogReason(log)).toBe(
            "Short read or OOM loading DB. Unrecoverable error, aborting now.; Internal error in RDB reading offset 0, function at rdb.c:3249 -> Unexpected EOF reading RDB file",
        );
    });
});

describe("backup's arguments", () => {
    const password = { RESTIC_PASSWORD_FILE: "/etc/nexus-redis/restic.pw" };

    it("backs up every environment to ./backups by default, each within five minutes", () => {
        expect(parseBackupArgs([], {})).toEqual({
            environments: [],
            to: "backups",
            json: false,
            timeoutMs: DEFAULT_BACKUP_TIMEOUT_MS,
            resticRepo: undefined,
            retention: {},
            outputs: undefined,
            stack: undefined,
        });
        expect(DEFAULT_BACKUP_TIMEOUT_MS).toBe(300_000);
    });

    it("takes environments, a folder, restic and retention", () => {
        const options = parseBackupArgs(
            [
                "--env",
                "locker",
                "--env",
                "user",
                "--to",
                "/var/backups/nexus-redis",
                "--restic-repo",
                "/srv/restic",
                "--keep-daily",
                "14",
                "--json",
            ],
            password,
        );
        expect(options).toMatchObject({
            environments: ["locker", "user"],
            to: "/var/backups/nexus-redis",
            resticRepo: "/srv/restic",
            retention: { "keep-daily": "14" },
            json: true,
        });
    });

    it.each<[string, string[], Record<string, string>, RegExp]>([
        ["retention without restic", ["--keep-last", "7"], {}, /--keep-\* applies retention to a restic repository: give --restic-repo/],
        ["restic without its password", ["--restic-repo", "/srv/restic"], {}, /set RESTIC_PASSWORD_FILE/],
        ["an empty repository", ["--restic-repo", ""], password, /--restic-repo needs a repository/],
        ["a bad retention", ["--restic-repo", "/r", "--keep-hourly", "x"], password, /--keep-hourly takes a whole number/],
        ["an argument", ["contact"], {}, /backup takes no arguments, got "contact" \(use --env NAME/],
        ["a timeout in seconds", ["--timeout", "5m"], {}, /--timeout must be a whole number of milliseconds/],
        ["an option of another command", ["--force"], {}, /Unknown option '--force'/],
    ])("refuses %s", (_what, argv, env, message) => {
        expect(() => parseBackupArgs(argv, env)).toThrow(message);
    });
});

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

describe("nexus-redis backup, before it connects anywhere", () => {
    const outputs = (() => {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-backup-"));
        const file = path.join(dir, "outputs.json");
        writeFileSync(file, JSON.stringify({ environments: fleetOutputs }));
        return file;
    })();

    function backup(argv: string[], runner: (command: string[]) => RunResult | Error, env: Record<string, string> = {}) {
        return cli(["backup", ...argv, "--outputs", outputs], {
            runner: async (command) => {
                const answer = runner(command);
                if (answer instanceof Error) throw answer;
                return answer;
            },
            env,
        });
    }
    const enoent = () => Object.assign(new Error("spawn ENOENT"), { code: "ENOENT" });

    it("prints its own help", async () => {
        const run = await backup(["--help"], () => ({ exitCode: 0, stdout: "", stderr: "" }));
        expect(run.code).toBe(0);
        expect(run.stdout).toBe(`${BACKUP_HELP}\n`);
        for (const section of ["Usage:", "Options:", "Examples:", "Exit codes:"]) expect(BACKUP_HELP).toContain(section);
    });

    it("exits 2 without redis-cli on this machine, saying what to install", async () => {
        const run = await backup([], (command) => (command[0] === "redis-cli" ? enoent() : { exitCode: 0, stdout: "", stderr: "" }));
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/redis-cli is not on PATH: install Redis's command line tools \(Debian: redis-tools\)/);
        expect(run.commands.map(([c]) => c)).toEqual([["redis-cli", "--version"]]);
    });

    it("exits 2 without restic when asked to store into a repository", async () => {
        const run = await backup(
            ["--restic-repo", "/srv/restic"],
            (command) => (command[0] === "restic" ? enoent() : { exitCode: 0, stdout: "redis-cli 7.0.15", stderr: "" }),
            {
                RESTIC_PASSWORD_FILE: "/pw",
            },
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/restic is not on PATH: install it \(Debian: restic\) for --restic-repo/);
    });

    it("exits 2 for an environment the stack does not have, before running anything", async () => {
        const run = await backup(["--env", "contct"], () => ({ exitCode: 0, stdout: "", stderr: "" }));
        expect(run.code).toBe(2);
        expect(run.stderr).toBe(
            'nexus-redis backup: unknown environment "contct" in --env; the stack\'s are contact, kb, user\n\nRun `nexus-redis backup --help` for usage.\n',
        );
        expect(run.commands).toEqual([]);
    });

    it("exits 2 on an option it does not take, pointing to its own help", async () => {
        const run = await backup(["--force"], () => ({ exitCode: 0, stdout: "", stderr: "" }));
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/^nexus-redis backup: Unknown option '--force'\..*\n\nRun `nexus-redis backup --help` for usage\.\n$/s);
        expect(run.commands).toEqual([]);
    });

    it("exits 2 when no Docker engine answers, saying why backup needs one", async () => {
        vi.stubEnv("DOCKER_HOST", "unix:///nonexistent/docker.sock");
        try {
            const run = await backup([], () => ({ exitCode: 0, stdout: "redis-cli 7.0.15", stderr: "" }));
            expect(run.code).toBe(2);
            expect(run.stderr).toMatch(
                /^nexus-redis backup: no Docker engine answers \(.*\/nonexistent\/docker\.sock.*\): backup verifies each snapshot in a scratch container of the vault's image/,
            );
        } finally {
            vi.unstubAllEnvs();
        }
    });

    it("never prints a password while refusing", async () => {
        const run = await backup(["--keep-last", "2"], () => ({ exitCode: 0, stdout: "", stderr: "" }));
        expect(run.code).toBe(2);
        for (const secret of SAMPLE_SECRETS) expect(run.stderr + run.stdout).not.toContain(secret);
    });
});
