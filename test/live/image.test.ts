/**
 * The test image behaves like the official `redis` image in the ways that matter to the
 * program (scripts/build-test-image.sh): Redis runs as the redis user (uid 999), files it
 * writes are 0600, a root-owned file in /data is handed to redis, and a command that starts
 * with an option or a .conf file gets `redis-server` in front. If the image stopped doing
 * one of these, the rest of the live suite would prove the program against the wrong image.
 */
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_IMAGE, dockerAvailable } from "../../harness/fleet";

const RUN = `img-${process.pid}-${Date.now().toString(36)}`;
const LABEL = `nexus-redis.test-run=${RUN}`;

function docker(args: string[]): string {
    const r = spawnSync("docker", args, { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
}

/** Starts a container of the test image with `args` as its command; returns its name. */
function start(name: string, args: string[], extra: string[] = []): string {
    docker(["run", "-d", "--name", `${RUN}-${name}`, "--label", LABEL, ...extra, TEST_IMAGE, ...args]);
    return `${RUN}-${name}`;
}

function untilPong(container: string): void {
    for (let i = 0; i < 100; i++) {
        const r = spawnSync("docker", ["exec", container, "redis-cli", "ping"], { encoding: "utf8" });
        if (r.stdout.trim() === "PONG") return;
        spawnSync("sleep", ["0.1"]);
    }
    throw new Error(`${container} never answered PING`);
}

describe.skipIf(!dockerAvailable())("the test image behaves like the official redis image", () => {
    afterAll(() => {
        const ids = docker(["ps", "-aq", "--filter", `label=${LABEL}`]);
        if (ids) docker(["rm", "-f", "-v", ...ids.split("\n")]);
    });

    it("runs Redis as the redis user (uid 999) when started as root with an option as its command", () => {
        const c = start("uid", ["--save", "1", "1"]);
        untilPong(c);
        expect(docker(["exec", c, "sh", "-c", "stat -c %u /proc/1"])).toBe("999");
        expect(docker(["exec", c, "cat", "/proc/1/cmdline"]).split("\0")[0]).toBe("redis-server *:6379");
    });

    it("writes the files Redis creates with mode 0600, owned by redis", () => {
        const c = start("umask", ["redis-server", "--appendonly", "yes"]);
        untilPong(c);
        docker(["exec", c, "redis-cli", "save"]);
        const modes = docker(["exec", c, "sh", "-c", "stat -c '%a %u %n' /data/dump.rdb /data/appendonlydir/*"]).split("\n");
        expect(modes.length).toBeGreaterThan(1);
        for (const line of modes) expect(line).toMatch(/^600 999 /);
    });

    it("hands files root put under /data to redis before Redis starts", () => {
        const c = `${RUN}-chown`;
        docker(["create", "--name", c, "--label", LABEL, TEST_IMAGE, "redis-server"]);
        docker(["cp", "/etc/hostname", `${c}:/data/from-root`]);
        docker(["start", c]);
        untilPong(c);
        expect(docker(["exec", c, "stat", "-c", "%u", "/data/from-root"])).toBe("999");
    });

    it("has util-linux's flock and setpriv, as the official Debian-based image does (busybox's setpriv cannot change the user)", () => {
        const tools = docker(["run", "--rm", "--entrypoint", "sh", TEST_IMAGE, "-c", "flock --version && /usr/bin/setpriv --help"]);
        expect(tools).toMatch(/^flock from util-linux/);
        expect(tools).toContain("--reuid");
    });

    it("runs redis-server on a command whose first argument is a .conf file", () => {
        // No such file: the message proves redis-server was given it (a bare exec of the path
        // would fail with "not found" instead).
        const c = start("conf", ["/etc/nexus-redis-test-missing.conf"]);
        docker(["wait", c]);
        const logs = spawnSync("docker", ["logs", c], { encoding: "utf8" });
        expect(`${logs.stdout}${logs.stderr}`).toMatch(/Fatal error, can't open config file '\/etc\/nexus-redis-test-missing.conf'/);
    });
});

/** What each variant (scripts/build-test-image.sh) lacks, and what it still has: a shell command that must succeed in it. */
const VARIANTS = [
    {
        variant: "noentrypoint",
        lacks: "an entrypoint and gosu",
        check: "[ ! -e /usr/local/bin/docker-entrypoint.sh ] && ! command -v gosu && grep -q '^redis:x:999:' /etc/passwd && /usr/bin/setpriv --help | grep -q -- --reuid",
        entrypoint: null,
    },
    {
        variant: "notmp",
        lacks: "/tmp",
        check: "[ ! -e /tmp ] && grep -q '^redis:x:999:' /etc/passwd && command -v flock",
        entrypoint: ["docker-entrypoint.sh"],
    },
    {
        variant: "nouser",
        lacks: "a redis user and an entrypoint",
        check: "! grep -q '^redis:' /etc/passwd /etc/group && [ ! -e /usr/local/bin/docker-entrypoint.sh ] && command -v gosu",
        entrypoint: null,
    },
    {
        variant: "noflock",
        lacks: "flock",
        check: "! command -v flock && grep -q '^redis:x:999:' /etc/passwd",
        entrypoint: ["docker-entrypoint.sh"],
    },
];

describe.skipIf(!dockerAvailable())("the test image's variants lack one thing each", () => {
    it.each(VARIANTS)("$variant lacks $lacks and keeps the rest", ({ variant, check, entrypoint }) => {
        const image = `${TEST_IMAGE}-${variant}`;
        docker(["run", "--rm", "--entrypoint", "sh", image, "-c", `set -e; ${check}`]);
        expect(JSON.parse(docker(["image", "inspect", "-f", "{{json .Config.Entrypoint}}", image]))).toEqual(entrypoint);
        expect(docker(["run", "--rm", "--entrypoint", "redis-server", image, "--version"])).toMatch(/^Redis server v=/);
    });
});
