/**
 * `nexus-redis backup`'s arguments (defaults, environments, restic and retention, what it
 * refuses), and the command's refusals that need neither Docker nor Redis: its help, a missing
 * redis-cli or restic, an unknown environment or option, no Docker engine; never a password.
 */
import { mkdtempSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { BACKUP_HELP, DEFAULT_BACKUP_TIMEOUT_MS, parseBackupArgs } from "../../cli/backup/spec";
import type { RunResult } from "../../cli/core/runner";
import { SAMPLE_SECRETS, fleetOutputsFile } from "./cli-samples";
import { cli } from "./cliRun";
import { tempFolder } from "./tempFolder";

/** Every temporary folder of these tests, removed after them. */
const TEMP = tempFolder("nexus-redis-backup-unit-");

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

describe("nexus-redis backup, before it connects anywhere", () => {
    const outputs = fleetOutputsFile(mkdtempSync(path.join(TEMP, "nexus-redis-backup-")));

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
