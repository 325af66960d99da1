/**
 * What `nexus-redis adopt` reads before it decides anything, on plain data: the stack's
 * configuration (Pulumi.yaml's defaults, the keys the stack sets, a malformed value refused), the
 * ports it looks at, the password on a container's command line, where its data is mounted,
 * docker inspect, a vault that is not Redis, Redis versions, a settled AOF, and the write probe
 * that times when the old vault stops taking writes. The live suite (test/live/adopt.test.ts)
 * takes a real hand-built fleet over.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { AdoptError } from "../../cli/adopt/stack";
import { candidates } from "../../cli/adopt/candidates";
import { compareVersions, dataSource, parseRedisServerVersion, passwordFromCommand } from "../../cli/adopt/findings";
import { aofSettled } from "../../cli/redis/replies";
import { askVault, containerFacts } from "../../cli/adopt/discover";
import { WriteProbe } from "../../cli/adopt/probes";
import { FakeRedis } from "./cli-fake-redis";
import { PASSWORD, view } from "./cliAdoptSamples";

describe("what adopt reads from the stack's configuration", () => {
    it("takes Pulumi.yaml's default for every key the stack does not set, and remembers which keys the stack sets", () => {
        const v = view();
        expect(v).toMatchObject({
            image: "redis:7.2",
            network: "nexus-storage-network",
            createNetwork: true,
            bindAddress: "127.0.0.1",
            containerPrefix: "nexus3",
            portOffset: 0,
            environments: [],
            passwords: {},
            vaultData: {},
        });
        expect([...v.setInStack].sort()).toEqual(["bindAddress", "createNetwork"]);
    });

    it("reads an environments list as Pulumi prints it (JSON), and the passwords secret decrypted", () => {
        const v = view({ environments: '["contact","kb=7000/7001"]', passwords: '{"contact":{"vault":"x"}}' });
        expect(v.environments).toEqual(["contact", "kb=7000/7001"]);
        expect(v.passwords).toEqual({ contact: { vault: "x" } });
    });

    it("refuses a malformed value, naming the key and never echoing the passwords", () => {
        let error: unknown;
        try {
            view({ passwords: '{"contact": {"vault": "hunter2"', portOffset: "ten" });
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(AdoptError);
        expect((error as AdoptError).exitCode).toBe(2);
        expect((error as Error).message).toContain("passwords is not valid JSON");
        expect((error as Error).message).toContain('portOffset is "ten", not an integer');
        expect((error as Error).message).not.toContain("hunter2");
    });

    it("looks for every environment of the table at its ports plus portOffset, and for the stack's own items at theirs", () => {
        const found = candidates(view({ portOffset: "1000", environments: '["kb=7000/7001","billing=7100/7101","vaultonly=7200"]' }));
        expect(found.find((c) => c.name === "contact")).toEqual({
            name: "contact",
            kind: "standard",
            vaultPort: 7630,
            operationalPort: 7631,
        });
        expect(found.find((c) => c.name === "kb")).toEqual({
            name: "kb",
            kind: "standard",
            vaultPort: 8000,
            operationalPort: 8001,
            item: "kb=7000/7001",
        });
        expect(found.find((c) => c.name === "billing")).toMatchObject({ kind: "standard", vaultPort: 8100, operationalPort: 8101 });
        expect(found.find((c) => c.name === "vaultonly")).toMatchObject({ kind: "secure", vaultPort: 8200 });
        expect(found.find((c) => c.name === "user")).toEqual({ name: "user", kind: "secure", vaultPort: 7610 });
        expect(found).toHaveLength(14);
    });
});

describe("what adopt reads from Docker and Redis", () => {
    it.each([
        [["docker-entrypoint.sh", "redis-server", "--requirepass", "pw1"], "pw1"],
        [["redis-server", "--appendonly", "no", "--requirepass", "pw2", "--save", ""], "pw2"],
        [["sh", "-c", "exec redis-server --requirepass 'pw 3' --port 6379"], "pw 3"],
        [["sh", "-c", "redis-server --requirepass pw4"], "pw4"],
        [["redis-server", "/etc/redis/redis.conf"], undefined],
        [["redis-server", "--user", "default", "on", ">pw5", "~*", "+@all"], undefined],
    ])("finds the password of %j: %s", (command, password) => {
        expect(passwordFromCommand(command)).toBe(password);
    });

    it.each([
        [
            "a named volume",
            [{ type: "volume", name: "v1", source: "/x", destination: "/data", declared: true }],
            "/data",
            { kind: "volume", name: "v1", anonymous: false },
        ],
        [
            "an anonymous volume",
            [{ type: "volume", name: "f".repeat(64), source: "/x", destination: "/data", declared: false }],
            "/data",
            { kind: "volume", name: "f".repeat(64), anonymous: true },
        ],
        [
            "a host folder",
            [{ type: "bind", source: "/srv/redis/", destination: "/data", declared: true }],
            "/data",
            { kind: "host", path: "/srv/redis" },
        ],
        [
            "a volume at another dir",
            [{ type: "volume", name: "v2", source: "/x", destination: "/var/lib/redis", declared: true }],
            "/var/lib/redis",
            { kind: "volume", name: "v2", anonymous: false },
        ],
    ] as const)("finds the data on %s", (_what, mounts, dir, expected) => {
        expect(dataSource([...mounts], dir)).toEqual(expected);
    });

    it.each([
        ["nothing mounted", [], "/data", /nothing is mounted at \/data: the data is in the container's writable layer/],
        [
            "a mount elsewhere only",
            [{ type: "volume", name: "v", source: "/x", destination: "/data", declared: true }],
            "/tmp",
            /nothing is mounted at \/tmp/,
        ],
        [
            "a subfolder of a mount",
            [{ type: "bind", source: "/srv", destination: "/srv", declared: true }],
            "/srv/redis",
            /subfolder of the bind mounted at \/srv/,
        ],
        [
            "a tmpfs",
            [{ type: "tmpfs", source: "", destination: "/data", declared: true }],
            "/data",
            /a tmpfs mount is at \/data: its data does not outlive the container/,
        ],
    ] as const)("finds no usable data with %s", (_what, mounts, dir, why) => {
        const found = dataSource([...mounts], dir);
        expect(found.kind).toBe("none");
        expect(found.kind === "none" && found.why).toMatch(why);
    });

    it("reads docker inspect: bindings of 6379, networks, and which volume was named on the command line", () => {
        const facts = containerFacts({
            Name: "/nexus3-kb-vault",
            State: { Status: "running" },
            Config: { Image: "redis:7.2", Labels: {}, Entrypoint: ["docker-entrypoint.sh"], Cmd: ["redis-server", "--requirepass", "p"] },
            HostConfig: { PortBindings: { "6379/tcp": [{ HostIp: "", HostPort: "6625" }] }, Binds: ["/srv/kb:/srv/kb"] },
            Mounts: [
                { Type: "volume", Name: "e".repeat(64), Source: "/var/lib/docker/volumes/e/_data", Destination: "/data" },
                { Type: "bind", Source: "/srv/kb", Destination: "/srv/kb" },
            ],
            NetworkSettings: { Networks: { "nexus-storage-network": { IPAddress: "10.0.4.9" } } },
        } as never);
        expect(facts).toEqual({
            name: "nexus3-kb-vault",
            state: "running",
            managed: false,
            image: "redis:7.2",
            command: ["docker-entrypoint.sh", "redis-server", "--requirepass", "p"],
            bindings: [{ hostIp: "", hostPort: 6625 }],
            networks: { "nexus-storage-network": "10.0.4.9" },
            mounts: [
                { type: "volume", name: "e".repeat(64), source: "/var/lib/docker/volumes/e/_data", destination: "/data", declared: false },
                { type: "bind", source: "/srv/kb", destination: "/srv/kb", declared: true },
            ],
        });
    });

    it("tells a server that answers in another protocol (not Redis) from one that fails", async () => {
        // A web server on the vault's port: it answers in HTTP and reads on until the client closes.
        const server = net.createServer((socket) => {
            socket.on("error", () => undefined);
            socket.write("HTTP/1.1 400 Bad Request\r\n\r\n");
            socket.resume();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const { port } = server.address() as net.AddressInfo;
            expect((await askVault({ host: "127.0.0.1", port }, "anything", 2000)).failure).toEqual({
                kind: "not-redis",
                message: 'it answered AUTH in another protocol (AUTH failed: not a Redis reply: unexpected reply type byte 0x48 ("H"))',
            });
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
        // A Redis that rejects the password is Redis: the failure is the password's.
        const redis = await new FakeRedis(() => ({ error: "WRONGPASS invalid username-password pair or user is disabled." })).start();
        try {
            expect((await askVault({ host: "127.0.0.1", port: redis.port }, "wrong", 2000)).failure?.kind).toBe("auth");
        } finally {
            await redis.stop();
        }
    });

    it("compares Redis versions as numbers, and reads redis-server --version", () => {
        expect(compareVersions("7.2.4", "7.10.0")).toBeLessThan(0);
        expect(compareVersions("7.2", "7.2.0")).toBe(0);
        expect(compareVersions("8.0.1", "7.4.2")).toBeGreaterThan(0);
        expect(parseRedisServerVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=6f8c7c5d8a1f0b1a")).toBe(
            "7.0.15",
        );
    });

    it("knows when the AOF holds the whole dataset: no rewrite running or pending, the last one fine, and one done since AOF was turned on", () => {
        const settled = {
            aof_enabled: "1",
            aof_rewrite_in_progress: "0",
            aof_rewrite_scheduled: "0",
            aof_last_bgrewrite_status: "ok",
            aof_last_write_status: "ok",
            aof_rewrites: "1",
        };
        expect(aofSettled(settled, 0)).toBe(true);
        expect(aofSettled(settled, undefined)).toBe(true);
        expect(aofSettled({ ...settled, aof_rewrites: "0" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_rewrite_in_progress: "1" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_rewrite_scheduled: "1" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_last_bgrewrite_status: "err" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_enabled: "0" }, 0)).toBe(false);
    });
});

describe("writes refused starts when the old vault stops accepting writes, not when docker stop is called", () => {
    it("writes (a DEL of a key that does not exist) until the server refuses one, and keeps the time of the last one accepted", async () => {
        let accepted = 0;
        let lastAccepted = 0;
        let refusing = false;
        let refusedAt = 0;
        const redis = await new FakeRedis((command) => {
            if (command[0] === "AUTH") return { status: "OK" };
            if (refusing) {
                refusedAt = performance.now();
                return { error: "ERR the server is shutting down" };
            }
            accepted++;
            lastAccepted = performance.now();
            return 0;
        }).start();
        try {
            const probe = new WriteProbe({ host: "127.0.0.1", port: redis.port }, PASSWORD, (ms) => new Promise((r) => setTimeout(r, ms)));
            await probe.first;
            while (accepted < 3) await new Promise((r) => setTimeout(r, 10));
            refusing = true;
            // The probe ends by itself at the refusal (AUTH, the accepted writes, the refused one).
            while (redis.commands.length < accepted + 2) await new Promise((r) => setTimeout(r, 10));
            await probe.stop();
            // The last write the server accepted, not the moment it began to refuse.
            expect(probe.lastAccepted).toBeGreaterThanOrEqual(lastAccepted);
            expect(probe.lastAccepted).toBeLessThanOrEqual(refusedAt);
            const [auth, ...writes] = redis.commands;
            expect(auth).toEqual(["AUTH", PASSWORD]);
            expect(writes.length).toBe(accepted + 1);
            expect(new Set(writes.map((w) => w.join(" "))).size).toBe(1);
            expect(writes[0]).toEqual(["DEL", expect.stringMatching(/^nexus-redis:adopt-probe:[0-9a-f]{16}$/)]);
        } finally {
            await redis.stop();
        }
    });
});
