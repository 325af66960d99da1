/**
 * scripts/test.sh (`npm test`) decides from vitest's arguments whether Docker is needed. It runs
 * here from a copy in a temp project, next to stand-ins for what it calls: the Docker and image
 * scripts, `npm` and `npx` record their calls instead of doing anything.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

function testCommand(args: string[]) {
    const { dir, project, bin } = scriptProject("test-sh", ["scripts/test.sh"]);
    const calls = path.join(dir, "calls");
    writeFileSync(path.join(project, "package-lock.json"), "{}\n");
    writeFileSync(path.join(project, "scripts/use-node-24.sh"), ":\n");
    const recorder = (name: string) => `#!/bin/sh\nprintf '%s\\n' "${name} $*" >> "${calls}"\n`;
    for (const script of ["ensure-docker.sh", "build-test-image.sh", "ensure-restic.sh", "ensure-loop-tools.sh"])
        writeFileSync(path.join(project, "scripts", script), recorder(script));
    for (const command of ["npm", "npx"]) executable(path.join(bin, command), `${recorder(command)}mkdir -p node_modules\n`);
    const result = bash([path.join(project, "scripts/test.sh"), ...args], { bin });
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

    it.each(WITH_LIVE)(
        "starts Docker, builds the test image and installs restic and the loop-device tools before the live tests: $shown",
        ({ args }) => {
            expect(testCommand(args)).toEqual([
                "npm ci --no-audit --no-fund",
                "ensure-docker.sh ",
                "build-test-image.sh ",
                "ensure-restic.sh ",
                "ensure-loop-tools.sh ",
                "npx tsc --noEmit -p .",
                "npx biome check .",
                `npx vitest run ${args.join(" ")}`.trimEnd(),
            ]);
        },
    );
});
