/**
 * The systemd units of the docs (monitoring, backup scheduling), checked as systemd would load them: `systemd-analyze verify` on
 * a copy whose project folder (/opt/nexus-redis) is a temp folder holding an executable
 * stand-in of the bin, since verify checks that ExecStart's program is there. Cron and
 * systemd themselves cannot fire here. Not a test file itself.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** Whether `systemd-analyze` runs on this machine (tests that need it skip without). */
export const systemdAnalyzeAvailable = spawnSync("systemd-analyze", ["--version"]).status === 0;

/** The units of a docs block (`# /etc/systemd/system/NAME` starts each), by name. */
export function unitsOf(block: string): Record<string, string> {
    return Object.fromEntries(
        block.split(/^(?=# \/etc\/systemd\/system\/)/m).map((unit) => [/^# \/etc\/systemd\/system\/(\S+)/.exec(unit)![1], unit.trim()]),
    );
}

/** `systemd-analyze verify` of `units`, written into `dir`: what it printed, and its exit status. */
export function verifyUnits(units: Record<string, string>, dir: string): { output: string; status: number | null } {
    const project = path.join(dir, "opt-nexus-redis");
    mkdirSync(path.join(project, "bin"), { recursive: true });
    writeFileSync(path.join(project, "bin/nexus-redis.js"), "#!/bin/sh\n", { mode: 0o755 });
    for (const [name, content] of Object.entries(units))
        writeFileSync(path.join(dir, name), `${content.replaceAll("/opt/nexus-redis", project)}\n`);
    const run = spawnSync("systemd-analyze", ["verify", "--man=no", ...Object.keys(units).map((n) => path.join(dir, n))], {
        encoding: "utf8",
    });
    return { output: run.stdout + run.stderr, status: run.status };
}
