/**
 * The whole protocol (twelve environments) on a real Docker engine, created from the
 * program's own plan: replication and the access rules of every container.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { READER_FORBIDDEN_COMMANDS } from "../../components/redisServer";
import { exec } from "../../harness/docker";
import { type LiveFleet, dockerAvailable, missingKeys, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { logsOf } from "../../harness/handBuilt";
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
        // The vault's password belongs to the default user only: every other user the vault has
        // (replicator on a standard vault, backup on every vault) refuses it.
        const users = (await fleet.client(env, "vault", "password").call("ACL", "USERS")) as string[];
        const others = users.filter((user) => user !== "default").sort();
        expect(others).toEqual(STANDARD.includes(env) ? ["backup", "replicator"] : ["backup"]);
        for (const user of others) expect([user, String(await auth(user, password))]).toEqual([user, expect.stringMatching(/WRONGPASS/)]);
        expect(await auth(password)).toBe("OK");
    });

    describe.each(STANDARD)("%s: the operational's unauthenticated user", (env) => {
        // The commands the program declares forbidden to it (DEBUG has its own test below).
        it.each(READER_FORBIDDEN_COMMANDS.filter((c) => c[0] !== "DEBUG").map((c) => [c.join(" "), [...c]] as [string, string[]]))(
            "cannot run %s: the ACL refuses it (NOPERM)",
            async (_name, command) => {
                const client = fleet.client(env, "operational");
                await expect(client.call(command[0], ...command.slice(1))).rejects.toThrow(/^NOPERM/);
            },
        );

        it("cannot run DEBUG: through the published port enable-debug-command local refuses it, inside the container the ACL does", async () => {
            // From outside, Redis refuses DEBUG before it asks the ACL: the connection is not local.
            await expect(fleet.client(env, "operational").call("DEBUG", "SLEEP", "0")).rejects.toThrow(/^ERR DEBUG command not allowed/);
            // Over loopback inside the container, DEBUG is allowed by the setting: the ACL refuses the default user.
            const inside = await exec(fleet.docker, fleet.containerName(env, "operational"), ["redis-cli", "DEBUG", "SLEEP", "0"]);
            expect(inside.stdout).toMatch(/^NOPERM this user has no permissions to run the 'debug' command/);
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

    it("the harness's missingKeys finds exactly the absent keys, across its batches of 10 000", async () => {
        const vault = fleet.client("chrono", "vault", "password");
        const keys = Array.from({ length: 25_000 }, (_, i) => `harness-missing:${i}`);
        await vault.mset(keys.flatMap((k) => [k, "1"]));
        const absent = [keys[0], keys[9_999], keys[10_000], keys[24_999]];
        await vault.del(...absent);
        expect(await missingKeys(vault, keys)).toEqual(absent);
        await vault.del(...keys);
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

    /** Every password of the fleet, and the SHA-256 of each (what the vaults' configs hold). */
    function allPasswords(): string[] {
        const passwords = Object.values(fleet.outputs).flatMap((o) => [
            o.vault.password,
            o.backup.password,
            ...(o.replication ? [o.replication.password] : []),
            ...(o.operational ? [o.operational.adminPassword] : []),
        ]);
        expect(passwords).toHaveLength(STANDARD.length * 4 + SECURE.length * 2);
        return passwords;
    }

    it("shows no password to docker inspect, docker ps --no-trunc, /proc/1/cmdline, the environment or the logs", async () => {
        const passwords = allPasswords();
        const containers = await fleet.docker.listContainers({ all: true, filters: { label: [fleet.label] } });
        expect(containers).toHaveLength(STANDARD.length * 2 + SECURE.length);
        const seen: string[] = [
            execFileSync("docker", ["ps", "-a", "--no-trunc", "--filter", `label=${fleet.label}`], { encoding: "utf8" }),
        ];
        for (const c of containers) {
            seen.push(execFileSync("docker", ["inspect", c.Id], { encoding: "utf8" }));
            for (const file of ["/proc/1/cmdline", "/proc/1/environ"]) {
                // As Redis's own user: another user (root without CAP_SYS_PTRACE included) may not read its environ.
                const read = await exec(fleet.docker, c.Id, ["cat", file], { user: "999" });
                expect(read.exitCode, `${c.Names[0]} ${file}`).toBe(0);
                seen.push(read.stdout);
            }
            seen.push(await logsOf(fleet.docker, c.Id));
        }
        // What was read is real: commands and logs of every container.
        expect(seen.join("\n")).toContain("redis-server");
        for (const text of seen) for (const password of passwords) expect(text.includes(password)).toBe(false);
    });

    it("keeps each container's config readable by the redis user alone, and Redis runs as that user", async () => {
        for (const env of [...STANDARD, ...SECURE]) {
            for (const role of env === "user" || env === "locker" ? ["vault"] : ["vault", "operational"]) {
                const name = fleet.containerName(env, role as "vault" | "operational");
                const file = `/etc/nexus-redis/${role}.conf`;
                const stat = await exec(fleet.docker, name, ["stat", "-c", "%a %u %g", file]);
                expect(stat.stdout.trim(), name).toBe("400 999 999");
                expect((await exec(fleet.docker, name, ["stat", "-c", "%u", "/proc/1"])).stdout.trim(), name).toBe("999");
                // Any other user of the container is refused (root, who can read anything, aside).
                const other = await exec(fleet.docker, name, ["cat", file], { user: "1000:1000" });
                expect(other.exitCode, name).not.toBe(0);
                expect(other.stderr, name).toMatch(/Permission denied/);
            }
        }
    });
});
