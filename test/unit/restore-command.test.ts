/**
 * `nexus-redis restore`'s arguments (an environment and a file or a restic snapshot, what it
 * refuses), and the command's refusals that need neither Docker nor Redis: its help, an unknown
 * option or environment, never a password.
 */
import { mkdtempSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_RESTORE_TIMEOUT_MS, RESTORE_HELP, parseRestoreArgs } from "../../cli/restore/spec";
import { SAMPLE_SECRETS, fleetOutputsFile } from "./cli-samples";
import { cli } from "./cliRun";
import { tempFolder } from "./tempFolder";

/** Every temporary folder of these tests, removed after them. */
const TEMP = tempFolder("nexus-redis-restore-unit-");

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

describe("nexus-redis restore, before it connects anywhere", () => {
    const outputs = fleetOutputsFile(mkdtempSync(path.join(TEMP, "nexus-redis-restore-")));

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
