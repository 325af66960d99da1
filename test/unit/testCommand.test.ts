/**
 * scripts/test.sh (`npm test`) decides from vitest's arguments whether Docker is needed. It runs
 * here from a copy in a temp project, next to stand-ins for what it calls: the Docker and image
 * scripts, `npm` and `npx` record their calls instead of doing anything.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
/** Every temp folder the tests made, removed at the end. */
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function testCommand(args: string[]) {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-test-sh-"));
    made.push(dir);
    const project = path.join(dir, "project");
    const bin = path.join(dir, "bin");
    const calls = path.join(dir, "calls");
    mkdirSync(path.join(project, "scripts"), { recursive: true });
    mkdirSync(bin);
    copyFileSync(path.join(ROOT, "scripts/test.sh"), path.join(project, "scripts/test.sh"));
    writeFileSync(path.join(project, "package-lock.json"), "{}\n");
    writeFileSync(path.join(project, "scripts/use-node-24.sh"), ":\n");
    const recorder = (name: string) => `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "${calls}"\n`;
    for (const script of ["ensure-docker.sh", "build-test-image.sh", "ensure-restic.sh"])
        writeFileSync(path.join(project, "scripts", script), recorder(script));
    for (const command of ["npm", "npx"]) {
        writeFileSync(path.join(bin, command), `${recorder(command)}mkdir -p node_modules\n`);
        chmodSync(path.join(bin, command), 0o755);
    }
    const result = spawnSync("bash", [path.join(project, "scripts/test.sh"), ...args], {
        env: { PATH: `${bin}:/usr/bin:/bin` },
        // Debian's bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
    });
    expect(result.stderr).not.toMatch(/command not found|No such file/);
    expect(result.status).toBe(0);
    return readFileSync(calls, "utf8").trimEnd().split("\n");
}

const cases = (list: string[][]) => list.map((args) => ({ args, shown: args.length ? `npm test -- ${args.join(" ")}` : "npm test" }));
const UNIT_ONLY = cases([
    ["--project", "unit"],
    ["--project=unit"],
    ["--project", "unit", "--reporter", "dot", "-t", "adopts"],
    ["--reporter=dot", "--project=unit"],
]);
const WITH_LIVE = cases([
    [],
    ["--project", "live"],
    ["--project=live"],
    ["--project", "unit", "--project", "live"],
    ["--project=unit", "--project=live"],
    ["-t", "unit"],
]);

describe("npm test", () => {
    it.each(UNIT_ONLY)("runs only the type check, lint and unit tests, never starting Docker: $shown", ({ args }) => {
        expect(testCommand(args)).toEqual([
            "npm ci --no-audit --no-fund",
            "npx tsc --noEmit -p .",
            "npx biome check .",
            `npx vitest run ${args.join(" ")}`,
        ]);
    });

    it.each(WITH_LIVE)("starts Docker, builds the test image and installs restic before the live tests: $shown", ({ args }) => {
        expect(testCommand(args)).toEqual([
            "npm ci --no-audit --no-fund",
            "ensure-docker.sh ",
            "build-test-image.sh ",
            "ensure-restic.sh ",
            "npx tsc --noEmit -p .",
            "npx biome check .",
            `npx vitest run ${args.join(" ")}`.trimEnd(),
        ]);
    });
});
