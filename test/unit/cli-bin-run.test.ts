/**
 * The `nexus-redis` bin as users run it: a process started through its shebang, running the
 * JavaScript build of cli/ (one file in dist/). What each command loads (a check loads no
 * package at all: no YAML parser, no Docker client, no compiler), what it prints and exits
 * with, and that the README, the help, the workflow and the docs run the bin itself, never npx.
 *
 * The other CLI tests call the TypeScript sources in-process; these run the build.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { HELP } from "../../cli/main";
import { markdownFiles } from "./docsFiles";
import { BIN, ROOT, bin, closedPort, stoppedOutputs, temp } from "./cliBin";

/** Packages check, recover and rotate never load: the compilers, and what other commands need (adopt, backup and restore: Docker's client). */
const NEVER = ["tsx", "esbuild", "typescript", "ioredis", "dockerode", "docker-modem", "@pulumi/pulumi", "@pulumi/docker"];

describe("the nexus-redis bin", () => {
    it("prints the help of the sources, loading the one built file and no package", () => {
        const run = bin(["--help"]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toBe(`${HELP}\n`);
        expect(run.stderr).toBe("");
        expect(run.loaded).toEqual(["bin/nexus-redis.js", "dist/cli/main.js", "scripts/build-cli.js"]);
        expect(run.packages).toEqual([]);
    });

    it("checks from the build: a row per environment, exit 1, and no package loaded", () => {
        const run = bin(["check", "--outputs", stoppedOutputs(), "--timeout", "1000"]);
        expect(run.status, run.stderr).toBe(1);
        expect(run.stderr).toBe("checking 2 environments...\n");
        expect(run.stdout).toMatch(
            new RegExp(`^contact\\s+standard\\s+PROBLEM\\s+-\\s+vault 127\\.0\\.0\\.1:${closedPort} refused the connection`, "m"),
        );
        expect(run.stdout).toMatch(/^user\s+secure\s+PROBLEM\s/m);
        expect(run.loaded).toEqual(["bin/nexus-redis.js", "dist/cli/main.js", "scripts/build-cli.js"]);
        // No package at all: no YAML parser (recover's), no Docker client, no Redis library, no compiler.
        expect(run.packages).toEqual([]);
        // Nor node:child_process (it starts no program), node:perf_hooks, or node:crypto (7 ms:
        // the password hashes are @noble/hashes's, bundled). node:http only because a server did
        // not answer, to ask the Docker engine why.
        expect(run.builtins).toEqual(["fs", "http", "module", "net", "path", "util", "vm"]);
    });

    it("asks the Docker engine DOCKER_HOST names why a server does not answer, and says it", async () => {
        const socket = path.join(temp, "engine.sock");
        const asked: string[] = [];
        const engine = http.createServer((request, response) => {
            asked.push(request.url ?? "");
            const state = {
                "/containers/nexus3-contact-vault/json": { State: { Status: "exited", ExitCode: 0 }, NetworkSettings: { Networks: {} } },
                "/containers/nexus3-contact-operational/json": {
                    State: { Status: "running", ExitCode: 0 },
                    NetworkSettings: { Networks: {} },
                },
            }[request.url ?? ""];
            response.writeHead(state ? 200 : 404);
            response.end(JSON.stringify(state ?? { message: "No such container" }));
        });
        await new Promise<void>((resolve) => engine.listen(socket, resolve));
        try {
            const child = spawn(BIN, ["check", "--outputs", stoppedOutputs(), "--timeout", "1000", "--env", "contact"], {
                cwd: ROOT,
                env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
            });
            let stdout = "";
            child.stdout.on("data", (b) => (stdout += b));
            const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
            expect(code, stdout).toBe(1);
            expect(stdout).toContain(
                `  - vault 127.0.0.1:${closedPort} refused the connection: container nexus3-contact-vault is stopped (exit code 0; \`docker logs nexus3-contact-vault\` says why): \`docker start nexus3-contact-vault\`\n`,
            );
            expect(stdout).toContain(
                `  - operational 127.0.0.1:${closedPort} refused the connection: container nexus3-contact-operational runs, but is attached to no network (docker network disconnect?)`,
            );
            expect(asked.sort()).toEqual(["/containers/nexus3-contact-operational/json", "/containers/nexus3-contact-vault/json"]);
        } finally {
            await new Promise((resolve) => engine.close(resolve));
        }
    });

    it("prints one JSON document with --json, nothing on stderr", () => {
        const run = bin(["check", "--json", "--outputs", "-", "--timeout", "1000"], { input: fs.readFileSync(stoppedOutputs(), "utf8") });
        expect(run.status, run.stderr).toBe(1);
        expect(run.stderr).toBe("");
        expect(JSON.parse(run.stdout).summary).toEqual({ ok: 0, fixed: 0, problem: 2 });
    });

    it("loads prom-client only with --prometheus, and writes the metrics beside the table", () => {
        const file = path.join(temp, "nexus-redis-check.prom");
        const run = bin(["check", "--prometheus", file, "--outputs", stoppedOutputs(), "--timeout", "1000"]);
        expect(run.status, run.stderr).toBe(1);
        expect(run.stdout).toMatch(/^user\s+secure\s+PROBLEM\s/m);
        // prom-client and what it requires, nothing else.
        expect(run.packages).toEqual(["@opentelemetry/api", "bintrees", "prom-client", "tdigest"]);
        expect(fs.readFileSync(file, "utf8")).toContain('nexus_redis_server_up{environment="user",role="vault"} 0\n');
    });

    it("loads recover's YAML parser only for recover", () => {
        const run = bin(["recover", "contact", "--dry-run", "--stack", "dev", "--outputs", stoppedOutputs()]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^pulumi up --yes --stack dev --target 'urn:pulumi:dev::nexus-redis::/);
        expect(run.packages).toEqual(["yaml"]);
        for (const name of NEVER) expect(run.packages).not.toContain(name);
    });

    it("loads Docker's client only for the commands that talk to Docker, and never the Pulumi SDK for backup and restore", () => {
        for (const command of ["backup", "restore"]) {
            const run = bin([command, "--help"]);
            expect(run.status, run.stderr).toBe(0);
            expect(run.stdout).toMatch(new RegExp(`^  nexus-redis ${command} `, "m"));
            expect(run.packages).toContain("dockerode");
            // Seconds of start-up for commands that never use it.
            expect(run.packages).not.toContain("@pulumi/pulumi");
        }
        // adopt's module is loaded (and refuses on a machine without the Pulumi CLI, or goes on with it).
        const adopt = bin(["adopt", "--dry-run", "--stack", "nexus-redis-bin-test"], { path: "/usr/bin:/bin" });
        expect(adopt.stderr).toMatch(/^nexus-redis adopt: the Pulumi CLI \(pulumi\) is not on PATH/);
        expect(adopt.packages).toContain("dockerode");
    });

    it("exits 2 on a usage error, with the message on stderr", () => {
        const run = bin(["check", "--dry-run"]);
        expect(run.status).toBe(2);
        expect(run.stdout).toBe("");
        expect(run.stderr).toBe("nexus-redis: --dry-run is not an option of check\n\nRun `nexus-redis --help` for usage.\n");
    });

    it("runs as the README writes it, ./bin/nexus-redis.js, from a fresh clone once npm ci has run its prepare", () => {
        // The committed tree, with its file modes (the bin's executable bit) and without dist/.
        const clone = path.join(temp, "clone");
        const git = spawnSync("git", ["clone", "--quiet", "--no-hardlinks", ROOT, clone], { encoding: "utf8" });
        expect(git.status, git.stderr).toBe(0);
        expect(fs.existsSync(path.join(clone, "dist"))).toBe(false);
        // What npm ci installs, exactly as locked (it would fetch it again), then the script it runs last.
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
        const prepare = spawnSync("npm", ["run", "--silent", "prepare"], { cwd: clone, encoding: "utf8", timeout: 60_000 });
        expect(prepare.status, prepare.stderr).toBe(0);
        // Typed at a shell prompt: the executable bit and the shebang, not node given the file.
        const run = spawnSync("sh", ["-c", "./bin/nexus-redis.js --help"], { cwd: clone, encoding: "utf8", timeout: 60_000 });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(run.stdout).toMatch(/^Usage:\n {2}nexus-redis check /);
    });

    it("is what the README, the help and the deployment workflow run: the bin itself, never through npx", () => {
        const texts = {
            "README.md": fs.readFileSync(path.join(ROOT, "README.md"), "utf8"),
            ".github/workflows/deploy.yml": fs.readFileSync(path.join(ROOT, ".github/workflows/deploy.yml"), "utf8"),
            "--help": HELP,
        };
        for (const [where, text] of Object.entries(texts)) {
            expect(text.match(/npx nexus-redis[^\n]*/g), where).toBeNull();
            expect(text, where).toContain("./bin/nexus-redis.js ");
        }
    });

    it("is never run through npx on any page of the docs or the examples, but where the benchmarks name what they measure", () => {
        // The benchmark of npx's cost (check-cli-npx) says what it runs, and why the docs stopped showing it.
        const measured = new Set([
            "docs/benchmarks.md: npx nexus-redis check`, which adds npm's own",
            "docs/benchmarks.md: npx nexus-redis check`, what the README showed before (npm's own start-up",
        ]);
        const files = markdownFiles();
        expect(files).toEqual(expect.arrayContaining(["README.md", "docs/check.md", "docs/benchmarks.md"]));
        const found = files.flatMap((file) =>
            (fs.readFileSync(path.join(ROOT, file), "utf8").match(/npx nexus-redis[^\n]*/g) ?? []).map((line) => `${file}: ${line}`),
        );
        expect(found.filter((line) => !measured.has(line))).toEqual([]);
    });
});
