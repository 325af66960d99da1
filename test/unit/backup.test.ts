/**
 * `nexus-redis backup`'s pure parts: names and manifests, restic's commands and outputs,
 * arguments, the report; and the command's refusals that need neither Docker nor Redis.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { BACKUP_HELP, DEFAULT_BACKUP_TIMEOUT_MS, parseBackupArgs, retentionBlocked } from "../../cli/backup";
import {
    type BackupManifest,
    MANIFEST_FORMAT,
    manifestPathOf,
    parseManifest,
    renderManifest,
    snapshotPaths,
    snapshotStamp,
} from "../../cli/backupManifest";
import { type BackupReport, type BackupResult, backupExitCode, renderBackupJson, renderBackupTable } from "../../cli/backupReport";
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
} from "../../cli/backupRestic";
import { LABEL_ROLE, parseScratchOutput, redisLogReason, temporaryLabels } from "../../cli/backupVerify";
import { LABEL_ROLE as PROGRAM_ROLE_LABEL } from "../../components/containerSpec";
import type { RunResult } from "../../cli/runner";
import { SAMPLE_SECRETS, fleetOutputs } from "./cli-samples";
import { cli } from "./cliRun";

const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    environment: "contact",
    kind: "standard",
    createdAt: "2026-01-26T03:00:00.123Z",
    file: "20260126T030000.123Z.rdb",
    bytes: 2277961,
    sha256: "f0e6288465622490f768e9defade678db4150e906b4693270207a15ce3bcddd8",
    keys: 100000,
    expiringKeys: 16666,
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

    it("puts the snapshot and its manifest in the environment's folder, and writes both under dot names first", () => {
        expect(snapshotPaths("/var/backups/nexus-redis", "locker", "20260126T030005.123Z")).toEqual({
            folder: "/var/backups/nexus-redis/locker",
            rdb: "/var/backups/nexus-redis/locker/20260126T030005.123Z.rdb",
            manifest: "/var/backups/nexus-redis/locker/20260126T030005.123Z.json",
            rdbTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.rdb.partial",
            manifestTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.json.partial",
        });
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
    ])("is refused with %s", (_what, change, message) => {
        const m = JSON.parse(renderManifest(manifest));
        change(m);
        expect(() => parseManifest(JSON.stringify(m), "m.json")).toThrow(message);
    });

    it("is refused when it is not JSON at all", () => {
        expect(() => parseManifest("REDIS0010", "x.json")).toThrow(/x\.json is not JSON/);
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
        expect(temporaryLabels(vault, "backup-verify")).toEqual({
            "nexus-redis.environment": "contact",
            "nexus-redis.role": "backup-verify",
            "nexus-redis.test-run": "nrt12345678",
            "nexus-redis.temporary": "true",
        });
    });
});

describe("the scratch server's answers", () => {
    it("reads keys, keys with an expiry (every database) and the digest", () => {
        const stdout =
            "# Keyspace\r\ndb0:keys=100000,expires=16666,avg_ttl=86380000\r\ndb3:keys=2,expires=1,avg_ttl=5\r\n\n@@\n100002\n@@\n3faabdf57b880000000000000000000000000000\n";
        expect(parseScratchOutput(stdout)).toEqual({
            keys: 100002,
            expiringKeys: 16667,
            digest: "3faabdf57b880000000000000000000000000000",
        });
    });

    it("reads an empty dataset", () => {
        expect(parseScratchOutput("# Keyspace\n@@\n0\n@@\n0000000000000000000000000000000000000000\n")).toEqual({
            keys: 0,
            expiringKeys: 0,
            digest: "0000000000000000000000000000000000000000",
        });
    });

    it("refuses an answer it does not understand", () => {
        expect(() => parseScratchOutput("LOADING Redis is loading the dataset in memory")).toThrow(/unexpected answer/);
    });

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
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-"));
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
