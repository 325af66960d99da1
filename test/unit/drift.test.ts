/**
 * `npm run drift` (scripts/drift.sh) against stand-ins: a `pulumi` and a `node` (which runs
 * ./bin/nexus-redis.js check) that record their arguments and exit as told. The script runs
 * from a copy in a temp project.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

/** A project with scripts/drift.sh; `pulumi` and `node` stand-ins exiting with the codes given. */
function setUp({ preview = 0, check = 0, withPulumi = true } = {}) {
    const { dir, project, bin } = scriptProject("drift", ["scripts/drift.sh"]);
    const calls = path.join(dir, "calls");
    const recorder = (name: string, code: number) =>
        executable(
            path.join(bin, name),
            ["#!/bin/sh", `echo "${name} $*" >> "${calls}"`, `echo "${name} ran in $(pwd)" >&2`, `exit ${code}`, ""].join("\n"),
        );
    if (withPulumi) recorder("pulumi", preview);
    recorder("node", check);
    const run = (args: string[] = []) => {
        const result = bash([path.join(project, "scripts/drift.sh"), ...args], { cwd: dir, bin });
        const recorded = existsSync(calls) ? readFileSync(calls, "utf8").trimEnd().split("\n") : [];
        return { status: result.status, stderr: result.stderr, calls: recorded };
    };
    return { project, run };
}

describe.each([
    ["no change planned and every environment healthy", 0, 0, 0],
    ["a change planned (Pulumi's --expect-no-changes fails)", 255, 0, 1],
    ["a problem check found (a setting changed inside Redis)", 0, 1, 1],
    ["both", 255, 1, 1],
    ["check unable to read the stack's outputs", 0, 2, 2],
    ["check unable to read the outputs, and a change planned", 255, 2, 2],
    ["an internal error of check", 0, 3, 3],
])("npm run drift with %s", (_what, preview, check, expected) => {
    it(`runs both halves and exits ${expected}`, () => {
        const result = setUp({ preview, check }).run();
        expect(result.calls).toEqual(["pulumi preview --refresh --expect-no-changes --diff", "node ./bin/nexus-redis.js check"]);
        expect(result.status).toBe(expected);
    });
});

describe.each([
    [["--stack", "prod"], "--stack prod"],
    [["--stack=prod"], "--stack prod"],
    [["-s", "prod"], "--stack prod"],
])("npm run drift -- %j", (args, forCheck) => {
    it("passes every argument to the preview and the stack to check", () => {
        const result = setUp().run([...args, "-c", "image=redis:7.4"]);
        expect(result.calls).toEqual([
            `pulumi preview --refresh --expect-no-changes --diff ${args.join(" ")} -c image=redis:7.4`,
            `node ./bin/nexus-redis.js check ${forCheck}`,
        ]);
    });
});

it("runs both in the project, whatever folder it is started from", () => {
    const { project, run } = setUp();
    const result = run();
    expect(result.stderr).toContain(`pulumi ran in ${project}`);
    expect(result.stderr).toContain(`node ran in ${project}`);
});

it("says which half found something", () => {
    const result = setUp({ preview: 255 }).run();
    expect(result.stderr).toContain("the preview exited 255: the stack's resources differ from the program (or the preview failed)");
});

it("exits 2 and runs nothing without the Pulumi CLI", () => {
    const result = setUp({ withPulumi: false }).run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("the Pulumi CLI (pulumi) is not on PATH");
    expect(result.calls).toEqual([]);
});
