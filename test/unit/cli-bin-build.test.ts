/**
 * The `nexus-redis` bin's build of cli/, run on a copy of the project so that the builds it makes
 * and the sources these tests edit are its own: a build older than its sources is never what
 * runs (rebuilt, or the sources run through tsx when it cannot be), and each command's V8 code
 * cache is written by a run that succeeds, used as it is, replaced when V8 rejects it, and never
 * in the way of a user who may not write the build's folder.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as vm from "node:vm";
import { beforeAll, describe, expect, it } from "vitest";
import { HELP } from "../../cli/main";
import { ROOT, bin, stoppedOutputs, temp } from "./cliBin";

/** How the bin wraps the build before compiling it (scripts/build-cli.js, plain JavaScript). */
const { commonJsWrapper } = createRequire(__filename)("../../scripts/build-cli.js") as { commonJsWrapper: (source: string) => string };

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
