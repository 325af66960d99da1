/**
 * `nexus-redis adopt` on the command line, through main() with a stand-in for the Pulumi CLI:
 * its help line, its usage errors, the Pulumi CLI it needs, the stack's configuration read one
 * key at a time, a swarm stack refused, a failing pulumi config get; and the --passwords FILE it
 * reads, never echoed when malformed.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readPasswordsFile } from "../../cli/adopt/adopt";
import { HELP, main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { ROOT } from "./cliAdoptSamples";

describe("nexus-redis adopt on the command line", () => {
    async function cli(argv: string[], runner?: CliIo["run"]) {
        let stdout = "";
        let stderr = "";
        const commands: string[][] = [];
        const code = await main(argv, {
            stdout: { write: (t: string) => (stdout += t) },
            stderr: { write: (t: string) => (stderr += t) },
            readStdin: async () => "",
            run: async (command, options) => {
                commands.push(command);
                if (!runner) throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
                return runner(command, options);
            },
            projectDir: ROOT,
            env: {},
        });
        return { code, stdout, stderr, commands };
    }

    it("is in the help", () => {
        expect(HELP).toContain("nexus-redis adopt [--dry-run] [--json] [--env NAME]... [--stack NAME] [--passwords FILE] [--timeout MS]");
    });

    it.each([
        [["adopt", "contact"], /adopt takes no arguments, got "contact" \(use --env NAME to choose environments\)/],
        [["adopt", "--fix"], /--fix is not an option of adopt/],
        [["adopt", "--outputs", "-"], /--outputs is not an option of adopt/],
        [["adopt", "--timeout", "0"], /--timeout must be a whole number of milliseconds above 0/],
        [["check", "--passwords", "x"], /--passwords is not an option of check/],
    ])("refuses %j as a usage error", async (argv, message) => {
        const run = await cli(argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.commands).toEqual([]);
    });

    it("needs the Pulumi CLI, and says so (exit 2)", async () => {
        const run = await cli(["adopt", "--dry-run"]);
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("the Pulumi CLI (pulumi) is not on PATH");
    });

    it("reads the stack's configuration with pulumi config get, one key at a time, on the given stack", async () => {
        const run = await cli(["adopt", "--dry-run", "--stack", "prod", "--env", "nosuch"], async (command) =>
            command[3] === "--stack" && command[5] === "bindAddress"
                ? { exitCode: 0, stdout: "127.0.0.1\n", stderr: "" }
                : {
                      exitCode: 255,
                      stdout: "",
                      stderr: `error: configuration key 'nexus-redis:${command[5]}' not found for stack 'prod'\n`,
                  },
        );
        expect(run.commands).toEqual(
            [
                "platform",
                "image",
                "network",
                "createNetwork",
                "bindAddress",
                "containerPrefix",
                "portOffset",
                "memoryLimitMb",
                "environments",
                "passwords",
                "vaultData",
            ].map((key) => ["pulumi", "config", "get", "--stack", "prod", key]),
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/unknown environment "nosuch" in --env; the protocol's and the stack's are workflow, context/);
    });

    it("refuses a stack on platform swarm: a fleet built by hand runs on one engine (exit 2)", async () => {
        const run = await cli(["adopt", "--dry-run"], async (command) =>
            command[3] === "platform"
                ? { exitCode: 0, stdout: "swarm\n", stderr: "" }
                : { exitCode: 255, stdout: "", stderr: `error: configuration key 'nexus-redis:${command[3]}' not found for stack 'dev'\n` },
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(
            "the stack's platform is swarm: adopt takes over a fleet built by hand on one Docker engine, for platform docker only",
        );
    });

    it("stops on a failing pulumi config get, with Pulumi's message (exit 2)", async () => {
        const run = await cli(["adopt"], async () => ({ exitCode: 255, stdout: "", stderr: "error: no stack selected\n" }));
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("`pulumi config get platform` failed (exit 255): error: no stack selected");
    });
});

describe("--passwords FILE", () => {
    it("is read as the passwords config key's shape, and never echoed when malformed", async () => {
        const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
        const { tmpdir } = await import("node:os");
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-adopt-"));
        try {
            const good = path.join(dir, "good.json");
            writeFileSync(good, '{"user": {"vault": "u-pw", "backup": "b-pw"}}');
            expect(readPasswordsFile(good)).toEqual({ user: { vault: "u-pw", backup: "b-pw" } });
            const bad = path.join(dir, "bad.json");
            writeFileSync(bad, '{"user": {"vault": "hunter2"');
            expect(() => readPasswordsFile(bad)).toThrow(/is not JSON/);
            expect(() => readPasswordsFile(bad)).not.toThrow(/hunter2/);
            const role = path.join(dir, "role.json");
            writeFileSync(role, '{"user": {"root": "x"}}');
            expect(() => readPasswordsFile(role)).toThrow(
                /must be \{"ENV": \{"vault": "\.\.\.", \.\.\.\}\} with roles vault, replication, operationalAdmin, backup/,
            );
            expect(() => readPasswordsFile(path.join(dir, "missing.json"))).toThrow(/cannot read --passwords .*ENOENT/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
