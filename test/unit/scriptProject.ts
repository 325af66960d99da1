/**
 * Temp projects for the tests of the project's shell scripts (scripts/test.sh, up.sh,
 * use-node.sh...): a copy of the scripts under test in project/scripts/, and a bin folder for
 * stand-ins of the programs they call, which `bash` puts first on a PATH that holds nothing
 * else of this machine's but /usr/bin and /bin. Every project made is removed when the test
 * file that made it ends.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export interface ScriptProject {
    /** The temp folder holding project/ and bin/, for the tests' own files (call records...). */
    dir: string;
    project: string;
    bin: string;
}

/** A temp project (its folder named after `name`) holding a copy of each of `scripts`, paths from the root. */
export function scriptProject(name: string, scripts: string[]): ScriptProject {
    const dir = mkdtempSync(path.join(tmpdir(), `nexus-redis-${name}-`));
    made.push(dir);
    const project = path.join(dir, "project");
    const bin = path.join(dir, "bin");
    mkdirSync(path.join(project, "scripts"), { recursive: true });
    mkdirSync(bin);
    for (const script of scripts) copyFileSync(path.join(ROOT, script), path.join(project, script));
    return { dir, project, bin };
}

export function executable(file: string, text: string): void {
    writeFileSync(file, text);
    chmodSync(file, 0o755);
}

/** bash with `args`, in `cwd`, with `bin`'s stand-ins first on PATH and `env` added. */
export function bash(args: string[], options: { cwd?: string; bin: string; env?: Record<string, string> }): SpawnSyncReturns<string> {
    return spawnSync("bash", args, {
        cwd: options.cwd,
        env: { PATH: `${options.bin}:/usr/bin:/bin`, ...options.env },
        // Debian's bash reads ~/.bashrc (which may change PATH) when its stdin is a socket, as Node's pipes are.
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
    });
}
