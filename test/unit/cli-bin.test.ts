/**
 * The `nexus-redis` bin as users run it: a process started through its shebang, running the
 * JavaScript build of cli/ (one file in dist/). What each command loads (a check loads no
 * package at all: no YAML parser, no Docker client, no compiler), what it prints and exits
 * with, and that a build older than its sources is never what runs.
 *
 * The other CLI tests call the TypeScript sources in-process; these run the build.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELP } from "../../cli/main";
import { contact, user } from "./cli-samples";
import { markdownFiles } from "./docsFiles";

const ROOT = path.resolve(__dirname, "../..");
/** How the bin wraps the build before compiling it (scripts/build-cli.js, plain JavaScript). */
const { commonJsWrapper } = createRequire(__filename)("../../scripts/build-cli.js") as { commonJsWrapper: (source: string) => string };
const BIN = path.join(ROOT, "bin/nexus-redis.js");

const temp = fs.mkdtempSync(path.join(tmpdir(), "nexus-redis-bin-"));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

/** Writes every module the process loaded (project files, packages, Node's own modules) to `file` when it exits. */
const PROBE = path.join(temp, "probe.cjs");
fs.writeFileSync(
    PROBE,
    `const Module = require("node:module");
const vm = require("node:vm");
const builtins = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
    if (Module.isBuiltin(request)) builtins.add(request.replace(/^node:/, ""));
    return load.call(this, request, ...rest);
};
// The bin compiles the build itself (with its code cache), not through require().
const compiled = [];
vm.Script = class extends vm.Script {
    constructor(code, options) {
        super(code, options);
        compiled.push(options.filename);
    }
};
process.on("exit", () =>
    require("node:fs").writeFileSync(
        process.env.NEXUS_REDIS_PROBE,
        JSON.stringify({ files: [...Object.keys(require.cache), ...compiled], builtins: [...builtins] }),
    ),
);
`,
);

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    /** Files loaded, relative to the project (dist/build-.../ shortened to dist/). */
    loaded: string[];
    /** Packages loaded from node_modules. */
    packages: string[];
    /** Node's own modules the CLI required (those Node loads for itself are not listed). */
    builtins: string[];
}

function bin(args: string[], opts: { input?: string; bin?: string; path?: string; dockerHost?: string } = {}): Run {
    const probeFile = path.join(temp, `loaded-${Math.random().toString(36).slice(2)}.json`);
    const result: SpawnSyncReturns<string> = spawnSync(opts.bin ?? BIN, args, {
        cwd: ROOT,
        input: opts.input ?? "",
        encoding: "utf8",
        env: {
            ...process.env,
            NODE_OPTIONS: `--require ${PROBE}`,
            NEXUS_REDIS_PROBE: probeFile,
            // No engine answers there: what the check says of a server that does not answer
            // never depends on this machine's Docker engine (the test below gives it one).
            DOCKER_HOST: opts.dockerHost ?? `unix://${path.join(temp, "no-engine.sock")}`,
            // The bin's shebang finds node on PATH: the one running the tests comes first.
            ...(opts.path ? { PATH: `${path.dirname(process.execPath)}:${opts.path}` } : {}),
        },
        timeout: 60_000,
    });
    const probed = fs.existsSync(probeFile)
        ? (JSON.parse(fs.readFileSync(probeFile, "utf8")) as { files: string[]; builtins: string[] })
        : { files: [], builtins: [] };
    const files = probed.files;
    const root = path.dirname(path.dirname(opts.bin ?? BIN));
    const loaded = files
        .filter((f) => f.startsWith(root) && !f.includes("/node_modules/") && f !== PROBE)
        .map((f) => path.relative(root, f).replace(/^dist\/build-[^/]+\//, "dist/"))
        .sort();
    const packages = [
        ...new Set(files.map((f) => /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined)),
    ].sort();
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, loaded, packages, builtins: probed.builtins.sort() };
}

/** Packages check, recover and rotate never load: the compilers, and what other commands need (adopt, backup and restore: Docker's client). */
const NEVER = ["tsx", "esbuild", "typescript", "ioredis", "dockerode", "docker-modem", "@pulumi/pulumi", "@pulumi/docker"];

let closedPort = 0;
beforeAll(async () => {
    // A run first, untested: after an edit it rebuilds (tested below, on a copy), so the tests
    // here see what every later run does.
    spawnSync(BIN, ["--help"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
});

/** A stack output whose every server is a closed port: the check fails fast, in words. */
function stoppedOutputs(): string {
    const file = path.join(temp, "outputs.json");
    fs.writeFileSync(
        file,
        JSON.stringify({
            environments: {
                contact: {
                    ...contact,
                    vault: { ...contact.vault, port: closedPort },
                    operational: { ...contact.operational, port: closedPort },
                },
                user: { ...user, vault: { ...user.vault, port: closedPort } },
            },
        }),
    );
    return file;
}

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

// A copy of what the bin needs, so the builds it makes and the sources these tests edit are its own.
const project = path.join(temp, "project");
const projectBin = () => path.join(project, "bin/nexus-redis.js");

/** Makes the copy, once (each describe below may run alone). */
function copyProject(): void {
    if (fs.existsSync(project)) return;
    for (const part of ["bin", "cli", "components", "config.ts", "config", "scripts/build-cli.js", "Pulumi.yaml", "package.json"])
        fs.cpSync(path.join(ROOT, part), path.join(project, part), { recursive: true });
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
}

describe("a build older than its sources", () => {
    beforeAll(copyProject);
    // The help is built from the commands' specs: an edit of check's usage is a source change like any other.
    const editHelp = (words: string) => {
        const file = path.join(project, "cli/check/spec.ts");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/usage: "(\([^)]*\) )?/, `usage: "${words} `));
    };
    const builds = () => fs.readdirSync(path.join(project, "dist")).filter((f) => f.startsWith("build-"));

    it("is built on the first run when there is none", () => {
        const run = bin(["--help"], { bin: projectBin() });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toBe(`${HELP}\n`);
        expect(run.stderr).toBe("");
        expect(builds()).toHaveLength(1);
        expect(run.packages).toContain("esbuild");
        // The package bundled into it counts as a source: updating it makes the build stale.
        const { sources } = JSON.parse(fs.readFileSync(path.join(project, "dist/current.json"), "utf8")) as { sources: object };
        // (node_modules is a link in this copy: the path recorded is the file's own.)
        expect(Object.keys(sources).filter((f) => f.endsWith("node_modules/@noble/hashes/package.json"))).toHaveLength(1);
    });

    it("is rebuilt after a source changes, and the change is what runs", () => {
        editHelp("(edited)");
        const run = bin(["--help"], { bin: projectBin() });
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^ {2}nexus-redis check \(edited\) \[--fix/m);
        expect(builds()).toHaveLength(2);
        // Current again: the next run builds nothing.
        const next = bin(["--help"], { bin: projectBin() });
        expect(next.stdout).toBe(run.stdout);
        expect(next.packages).toEqual([]);
        expect(builds()).toHaveLength(2);
    });

    it("runs the sources through tsx when it cannot be rebuilt, and says so", () => {
        editHelp("(edited again)");
        // dist/ unwritable in effect: a file where the new build's folder would go cannot be made a folder.
        const dist = path.join(project, "dist");
        fs.renameSync(dist, `${dist}.moved`);
        fs.writeFileSync(dist, "not a folder");
        try {
            const run = bin(["--help"], { bin: projectBin() });
            expect(run.status, run.stderr).toBe(0);
            expect(run.stdout).toMatch(/^ {2}nexus-redis check \(edited again\) \[--fix/m);
            expect(run.stderr).toMatch(
                /^nexus-redis: the CLI is not built, and it could not be built \(.*\): running the TypeScript sources instead \(slower\)/,
            );
            expect(run.packages).toContain("tsx");
        } finally {
            fs.rmSync(dist);
            fs.renameSync(`${dist}.moved`, dist);
        }
    });
});

describe("the code cache of each command (in the copy above)", () => {
    const currentBuild = () => {
        const { build } = JSON.parse(fs.readFileSync(path.join(project, "dist/current.json"), "utf8")) as { build: string };
        return path.join(project, "dist", build, "cli");
    };
    /** The current build's cache for `word` (the first word of the command line) and this Node, if there is one. */
    const cacheOf = (word: string) => {
        const name = fs.readdirSync(currentBuild()).find((f) => f.startsWith(`main.js.${word}.node-v`) && f.endsWith(".v8cache"));
        return name === undefined ? undefined : path.join(currentBuild(), name);
    };
    const recoverArgs = () => ["recover", "contact", "--dry-run", "--stack", "dev", "--outputs", stoppedOutputs()];
    const recover = () => bin(recoverArgs(), { bin: projectBin() });
    const removeCaches = () => {
        for (const f of fs.readdirSync(currentBuild())) if (f.endsWith(".v8cache")) fs.rmSync(path.join(currentBuild(), f));
    };

    beforeAll(() => {
        copyProject();
        // The copy's build made current (--help never writes a cache), then no cache in it.
        expect(bin(["--help"], { bin: projectBin() }).status).toBe(0);
        removeCaches();
    });

    it("is written by a command's first run that succeeds, and used as it is by the next", () => {
        const first = recover();
        expect(first.status, first.stderr).toBe(0);
        const written = fs.statSync(cacheOf("recover")!);
        const next = recover();
        expect(next.status, next.stderr).toBe(0);
        expect(next.stdout).toBe(first.stdout);
        // Accepted by V8: not written again.
        const after = fs.statSync(cacheOf("recover")!);
        expect([after.ino, after.mtimeMs]).toEqual([written.ino, written.mtimeMs]);
    });

    it("holds what the run compiled, not only what loading the file compiles", () => {
        // What a cache taken right after loading the file holds, with this Node.
        const file = path.join(currentBuild(), "main.js");
        const loadOnly = new vm.Script(commonJsWrapper(fs.readFileSync(file, "utf8")), { filename: file }).createCachedData().length;
        expect(fs.statSync(cacheOf("recover")!).size).toBeGreaterThan(1.3 * loadOnly);
    });

    it("is not written by a run that stops early: a usage error, --help, a check that finds problems", () => {
        expect(bin(["chek"], { bin: projectBin() }).status).toBe(2);
        expect(bin(["rotate", "--help"], { bin: projectBin() }).status).toBe(0);
        expect(bin(["check", "--outputs", stoppedOutputs(), "--timeout", "1000"], { bin: projectBin() }).status).toBe(1);
        expect(fs.readdirSync(currentBuild()).filter((f) => f.endsWith(".v8cache"))).toEqual([path.basename(cacheOf("recover")!)]);
    });

    it("is replaced when V8 rejects it, and the run goes on", () => {
        const cache = cacheOf("recover")!;
        fs.writeFileSync(cache, "not a code cache");
        const run = recover();
        expect(run.status, run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^pulumi up --yes --stack dev /);
        expect(fs.readFileSync(cache, "utf8")).not.toBe("not a code cache");
        expect(fs.statSync(cache).size).toBeGreaterThan(10_000);
    });

    // A build installed by one user and run by another (a shared checkout, a global install):
    // the runner may read the build's folder and not write it. Needs root, to run as nobody.
    it.skipIf(process.getuid?.() !== 0)("is neither written nor in the way where the user may not write the build's folder", () => {
        const asNobody = () =>
            spawnSync(projectBin(), recoverArgs(), {
                cwd: project,
                encoding: "utf8",
                uid: 65534,
                gid: 65534,
                // TMPDIR: Node's own compile cache goes there, and nobody may not write it either.
                env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: "/nonexistent", TMPDIR: temp },
                timeout: 60_000,
            });
        const byRoot = recover();
        expect(byRoot.status, byRoot.stderr).toBe(0);
        // The copy lives in a folder only its owner may enter.
        fs.chmodSync(temp, 0o755);
        try {
            // No cache yet: none is written, and the run is as root's.
            removeCaches();
            const before = fs.readdirSync(currentBuild()).sort();
            const first = asNobody();
            expect(first.status, first.stderr).toBe(0);
            expect(first.stderr).toBe("");
            expect(first.stdout).toBe(byRoot.stdout);
            expect(fs.readdirSync(currentBuild()).sort()).toEqual(before);
            // Root's cache there (the usual shared install): the run unchanged, the cache left as it is.
            expect(recover().status).toBe(0);
            const rootsCache = fs.statSync(cacheOf("recover")!);
            const next = asNobody();
            expect(next.status, next.stderr).toBe(0);
            expect(next.stderr).toBe("");
            expect(next.stdout).toBe(byRoot.stdout);
            const after = fs.statSync(cacheOf("recover")!);
            expect([after.ino, after.mtimeMs, after.uid]).toEqual([rootsCache.ino, rootsCache.mtimeMs, 0]);
        } finally {
            fs.chmodSync(temp, 0o700);
        }
    });
});
