/**
 * scripts/ensure-prometheus.sh (npm test runs it): installs Debian's prometheus and
 * prometheus-node-exporter when a binary is missing, and leaves no server running that the
 * install started. Run from a copy in a temp project with stand-ins for apt, id and systemctl,
 * on a PATH without this machine's own Prometheus.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../harness/fleet";
import { executable, scriptProject } from "./scriptProject";

const TOOLS = ["bash", "cat", "sort", "comm", "awk", "sleep", "setsid", "dirname", "chmod", "mkdir", "cp"];

/** Running: a zombie (ended, not yet reaped by init) is not. */
function alive(pid: number): boolean {
    try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
    } catch {
        return false;
    }
}

const started: ChildProcess[] = [];
afterEach(() => {
    for (const child of started.splice(0)) if (child.pid && alive(child.pid)) child.kill("SIGKILL");
});

/** The script in a temp project: `uid` as `id -u` says it, the Prometheus binaries present or not. */
function project(options: { uid: number; installed: boolean; systemd?: boolean }) {
    const { dir, project, bin } = scriptProject("ensure-prometheus", ["scripts/ensure-prometheus.sh"]);
    for (const tool of TOOLS) {
        const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        symlinkSync(found, path.join(bin, tool));
    }
    executable(path.join(bin, "id"), `#!/bin/sh\necho ${options.uid}\n`);
    const calls = path.join(dir, "calls");
    const binaries = `for b in prometheus promtool prometheus-node-exporter; do printf '#!/bin/sh\\necho "$b 2.42"\\n' > "${bin}/$b"; chmod +x "${bin}/$b"; done`;
    if (options.installed) spawnSync("bash", ["-c", binaries]);
    // apt, as the packages' postinst would behave without policy-rc.d: a daemon named prometheus.
    const daemon = path.join(dir, "daemon", "prometheus");
    mkdirSync(path.dirname(daemon));
    copyFileSync(spawnSync("bash", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim(), daemon);
    executable(
        path.join(project, "scripts", "apt-install.sh"),
        `#!/bin/bash\necho "apt-install.sh $*" >> "${calls}"\n${binaries}\n(setsid "${daemon}" 300 > /dev/null 2>&1 & echo $! > "${dir}/daemon.pid") \n`,
    );
    executable(path.join(bin, "systemctl"), `#!/bin/sh\necho "systemctl $*" >> "${calls}"\n`);
    const systemdDir = path.join(dir, options.systemd ? "systemd" : "no-systemd");
    if (options.systemd) mkdirSync(systemdDir);
    const run = () =>
        spawnSync(path.join(bin, "bash"), [path.join(project, "scripts/ensure-prometheus.sh")], {
            env: { PATH: bin, NEXUS_REDIS_SYSTEMD_DIR: systemdDir },
            stdio: ["ignore", "pipe", "pipe"],
            encoding: "utf8",
        });
    const callsMade = () => (existsSync(calls) ? readFileSync(calls, "utf8").trimEnd().split("\n") : []);
    const daemonPid = () => Number(readFileSync(path.join(dir, "daemon.pid"), "utf8"));
    return { run, callsMade, daemonPid, daemon };
}

describe("ensure-prometheus.sh", () => {
    it("changes nothing when prometheus, promtool and node_exporter are there", () => {
        const p = project({ uid: 1000, installed: true });
        const run = p.run();
        expect(run.status).toBe(0);
        expect(run.stderr).toBe("");
        expect(p.callsMade()).toEqual([]);
    });

    it("refuses without root when one is missing, naming Debian's packages", () => {
        const p = project({ uid: 1000, installed: false });
        const run = p.run();
        expect(run.status).toBe(1);
        expect(run.stderr).toMatch(/this is not root: install Debian's prometheus and prometheus-node-exporter packages first/);
        expect(p.callsMade()).toEqual([]);
    });

    it("installs both packages without their recommends, and stops the server the install started, not one that ran before", async () => {
        const p = project({ uid: 0, installed: false });
        // Someone's own Prometheus, running before the install (a daemon too: its parent is gone).
        const theirs = spawn("setsid", ["-f", p.daemon, "300"], { stdio: "ignore" });
        started.push(theirs);
        await new Promise((resolve) => theirs.once("exit", resolve));
        const theirPid = Number(
            spawnSync("bash", ["-c", `for d in /proc/[0-9]*; do [ "$(readlink $d/exe)" = "${p.daemon}" ] && echo \${d#/proc/}; done`], {
                encoding: "utf8",
            }).stdout.trim(),
        );
        try {
            const run = p.run();
            expect(run.stderr).toMatch(/installing prometheus and prometheus-node-exporter with apt/);
            expect(run.status).toBe(0);
            expect(p.callsMade()).toEqual(["apt-install.sh --no-install-recommends prometheus prometheus-node-exporter"]);
            expect(run.stderr).toMatch(new RegExp(`the install started process ${p.daemonPid()} \\(prometheus\\): stopping it`));
            // SIGTERM was sent; on a busy machine the process may take a moment to end.
            await waitFor("the install's server ended", async () => (alive(p.daemonPid()) ? undefined : true), 10_000, 50);
            expect(alive(theirPid)).toBe(true);
        } finally {
            if (theirPid && alive(theirPid)) process.kill(theirPid, "SIGKILL");
            if (alive(p.daemonPid())) process.kill(p.daemonPid(), "SIGKILL");
        }
    });

    it("on a host run by systemd, disables and stops the two services it installed", () => {
        const p = project({ uid: 0, installed: false, systemd: true });
        try {
            const run = p.run();
            expect(run.status).toBe(0);
            expect(p.callsMade()).toEqual([
                "apt-install.sh --no-install-recommends prometheus prometheus-node-exporter",
                "systemctl disable --now prometheus.service prometheus-node-exporter.service",
            ]);
        } finally {
            if (alive(p.daemonPid())) process.kill(p.daemonPid(), "SIGKILL");
        }
    });
});
