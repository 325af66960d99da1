/**
 * The whole protocol (twelve environments) on a real Docker engine, created from the
 * program's own plan: replication and the access rules of every container.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { redisCommands } from "../../harness/resp";

const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").map((e) => e.name);
const SECURE = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "secure").map((e) => e.name);
const live = dockerAvailable();
let fleet: LiveFleet;

beforeAll(async () => {
    if (live) fleet = await startLiveFleet();
});
afterAll(async () => {
    await fleet?.destroy();
});

describe.skipIf(!live)("the protocol's fleet on Docker", () => {
    it.each(STANDARD)("%s: the operational reaches master_link_status:up, by the protocol's own unauthenticated check", async (env) => {
        const port = fleet.outputs[env].operational!.port;
        // The protocol's command, as operators type it: redis-cli -p {op_port} INFO replication
        const status = await waitFor(`${env} link up`, async () => {
            const info = parseInfo(execFileSync("redis-cli", ["-p", String(port), "INFO", "replication"], { encoding: "utf8" }));
            return info.master_link_status === "up" ? info : undefined;
        });
        expect(status.role).toBe("slave");
        expect(status.master_host).toBe(fleet.containerName(env, "vault"));
        expect(status.master_port).toBe("6379");
    });

    it.each(STANDARD)("%s: a write on the vault is readable on the operational without a password", async (env) => {
        const vault = fleet.client(env, "vault", "password");
        const operational = fleet.client(env, "operational");
        await vault.set(`probe:${env}`, `written-to-${env}`);
        const value = await waitFor(`${env} replicated`, async () => (await operational.get(`probe:${env}`)) ?? undefined);
        expect(value).toBe(`written-to-${env}`);
    });

    it.each([...STANDARD, ...SECURE])("%s: the vault refuses clients without its password", async (env) => {
        const anonymous = fleet.client(env, "vault");
        await expect(anonymous.get("anything")).rejects.toThrow(/NOAUTH/);
        await expect(anonymous.set("anything", "x")).rejects.toThrow(/NOAUTH/);
        const { host, port, password } = fleet.outputs[env].vault;
        // One fresh connection per attempt, no client library retrying: what the server says.
        const auth = async (...args: string[]) => (await redisCommands(port, [["AUTH", ...args]], { host }))[0];
        expect(String(await auth("not-the-password"))).toMatch(/WRONGPASS/);
        // The vault's password belongs to the default user only.
        if (env !== "user" && env !== "locker") expect(String(await auth("replicator", password))).toMatch(/WRONGPASS/);
        expect(await auth(password)).toBe("OK");
    });

    describe.each(STANDARD)("%s: the operational's unauthenticated user", (env) => {
        it.each<[string, string[]]>([
            ["SET", ["SET", "k", "v"]],
            ["DEL", ["DEL", "k"]],
            ["CONFIG SET", ["CONFIG", "SET", "masterauth", "x"]],
            ["CONFIG GET", ["CONFIG", "GET", "masterauth"]],
            ["REPLICAOF", ["REPLICAOF", "NO", "ONE"]],
            ["FLUSHALL", ["FLUSHALL"]],
            ["SHUTDOWN", ["SHUTDOWN", "NOSAVE"]],
            ["DEBUG", ["DEBUG", "SLEEP", "0"]],
            ["KEYS", ["KEYS", "*"]],
            ["ACL", ["ACL", "LIST"]],
            ["EVAL", ["EVAL", "return 1", "0"]],
            ["MONITOR", ["MONITOR"]],
        ])("cannot run %s", async (_name, command) => {
            const client = fleet.client(env, "operational");
            // DEBUG is refused before the ACL is consulted: only loopback inside the container may run it.
            await expect(client.call(command[0], ...command.slice(1))).rejects.toThrow(/NOPERM|DEBUG command not allowed/);
        });

        it("can read, scan and run INFO", async () => {
            const client = fleet.client(env, "operational");
            await fleet.client(env, "vault", "password").set("readable", "yes");
            await waitFor("replicated", async () => ((await client.get("readable")) === "yes" ? true : undefined));
            expect(await client.mget("readable", "missing")).toEqual(["yes", null]);
            expect((await client.scan("0", "COUNT", 100))[1]).toContain("readable");
            expect(await client.exists("readable")).toBe(1);
            expect(parseInfo(await client.info("replication")).role).toBe("slave");
        });
    });

    it.each(STANDARD)("%s: the operational's admin user can reconfigure it", async (env) => {
        const admin = fleet.client(env, "operational", "admin");
        const before = (await admin.config("GET", "replica-serve-stale-data")) as string[];
        await admin.config("SET", "replica-serve-stale-data", before[1] === "yes" ? "no" : "yes");
        expect(((await admin.config("GET", "replica-serve-stale-data")) as string[])[1]).not.toBe(before[1]);
        await admin.config("SET", "replica-serve-stale-data", before[1]);
    });

    it.each(STANDARD)("%s: the operational cannot write even as admin, since it is a read-only replica", async (env) => {
        await expect(fleet.client(env, "operational", "admin").set("k", "v")).rejects.toThrow(/READONLY/);
    });

    it.each(SECURE)("%s: a secure environment is one password-protected container with no replica", async (env) => {
        const containers = await fleet.docker.listContainers({
            all: true,
            filters: { label: [fleet.label, `nexus-redis.environment=${env}`] },
        });
        expect(containers.map((c) => c.Names[0])).toEqual([`/${fleet.containerName(env, "vault")}`]);
        const vault = fleet.client(env, "vault", "password");
        await vault.set("secret-data", "1");
        expect(await vault.get("secret-data")).toBe("1");
        expect(parseInfo(await vault.info("replication")).connected_slaves).toBe("0");
        expect(parseInfo(await vault.info("persistence")).aof_enabled).toBe("1");
    });

    it("publishes every port on loopback only", async () => {
        const containers = await fleet.docker.listContainers({ all: true, filters: { label: [fleet.label] } });
        expect(containers).toHaveLength(STANDARD.length * 2 + SECURE.length);
        for (const c of containers) {
            const inspect = await fleet.docker.getContainer(c.Id).inspect();
            const bindings = Object.values(inspect.HostConfig.PortBindings ?? {}).flat() as { HostIp: string }[];
            expect(bindings.map((b) => b.HostIp)).toEqual(["127.0.0.1"]);
        }
    });
});
