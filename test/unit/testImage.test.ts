/**
 * scripts/build-test-image.sh installs the Debian packages of the host tools it copies into
 * the test image, decided from the very files it copies. Its `missing_packages` runs here,
 * sourced from a copy of the script, against stand-in file trees of machines set up
 * differently (the script's paths under a temp root).
 */
import { mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

const TOOLS = {
    redisServerLink: "/usr/bin/redis-server",
    redisServerBinary: "/usr/bin/redis-check-rdb",
    redisCli: "/usr/bin/redis-cli",
    busybox: "/bin/busybox",
    gosu: "/usr/sbin/gosu",
    flock: "/usr/bin/flock",
    setpriv: "/usr/bin/setpriv",
};
type Tool = keyof typeof TOOLS;

/** The packages the script would install on a machine that has `present`; Debian's links are links. */
function missingPackages(present: Tool[]): string[] {
    const { dir, project, bin } = scriptProject("test-image", ["scripts/build-test-image.sh"]);
    const root = path.join(dir, "root");
    for (const tool of present) {
        const file = path.join(root, TOOLS[tool]);
        mkdirSync(path.dirname(file), { recursive: true });
        // As Debian lays them out: redis-server (package redis-server) is a link to
        // redis-check-rdb (package redis-tools), which is the binary.
        if (tool === "redisServerLink") symlinkSync("redis-check-rdb", file);
        else executable(file, "#!/bin/sh\n");
    }
    const result = bash(["-c", 'source "$1" && missing_packages "$2"', "sh", path.join(project, "scripts/build-test-image.sh"), root], {
        bin,
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return result.stdout.split("\n").filter((line) => line !== "");
}

const EVERYTHING = Object.keys(TOOLS) as Tool[];
const without = (...tools: Tool[]) => EVERYTHING.filter((t) => !tools.includes(t));

describe("build-test-image.sh's packages to install", () => {
    it.each([
        { machine: "a machine with everything", present: EVERYTHING, packages: [] },
        {
            machine: "a machine with only redis-tools (redis-cli and redis-check-rdb, no redis-server)",
            present: without("redisServerLink"),
            packages: ["redis-server"],
        },
        {
            machine: "a machine whose redis-server link points to a missing binary",
            present: without("redisServerBinary", "redisCli"),
            packages: ["redis-server", "redis-tools"],
        },
        { machine: "a machine without busybox-static and gosu", present: without("busybox", "gosu"), packages: ["busybox-static", "gosu"] },
        { machine: "a machine without flock and setpriv", present: without("flock", "setpriv"), packages: ["util-linux"] },
        { machine: "a machine without setpriv alone", present: without("setpriv"), packages: ["util-linux"] },
        {
            machine: "a bare machine",
            present: [],
            packages: ["redis-server", "redis-tools", "busybox-static", "gosu", "util-linux"],
        },
    ] as { machine: string; present: Tool[]; packages: string[] }[])("are $packages on $machine", ({ present, packages }) => {
        expect(missingPackages(present)).toEqual(packages);
    });
});
