/**
 * The protocol's disaster recovery and the faults a fleet meets, on a real Docker engine,
 * with the program's own container specs: nothing written to a vault is lost, and every
 * operational comes back to equal its vault by itself.
 */
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";

const live = dockerAvailable();
let fleet: LiveFleet;

beforeAll(async () => {
    if (live) fleet = await startLiveFleet({ environments: ["contact", "links", "track", "session", "web", "kb"] });
});
afterAll(async () => {
    await fleet?.destroy();
});

async function info(client: Redis, section: string): Promise<Record<string, string>> {
    return parseInfo(await client.info(section));
}

/** Waits until the operational has applied every byte the vault has sent, then compares datasets. */
async function expectInSync(env: string, timeoutMs = 60_000): Promise<void> {
    const vault = fleet.client(env, "vault", "password");
    const operational = fleet.client(env, "operational");
    await waitFor(
        `${env} operational caught up with its vault`,
        async () => {
            const [v, o] = await Promise.all([info(vault, "replication"), info(operational, "replication")]);
            return o.master_link_status === "up" && o.slave_repl_offset === v.master_repl_offset ? true : undefined;
        },
        timeoutMs,
    );
    expect(await fleet.digest(env, "operational")).toBe(await fleet.digest(env, "vault"));
}

async function fill(env: string, keys: number, prefix = "key"): Promise<void> {
    const vault = fleet.client(env, "vault", "password");
    const batch = 1_000;
    for (let start = 0; start < keys; start += batch) {
        const args: string[] = [];
        for (let i = start; i < Math.min(start + batch, keys); i++) args.push(`${prefix}:${i}`, `value-${i}-${"x".repeat(32)}`);
        await vault.mset(...args);
    }
}

/** Writes to a vault steadily until stopped; returns how many writes succeeded. */
function steadyWrites(env: string, prefix: string): { stop(): Promise<number> } {
    const vault = fleet.client(env, "vault", "password");
    let running = true;
    let count = 0;
    const loop = (async () => {
        while (running) {
            await vault.set(`${prefix}:${count}`, String(Date.now()));
            count++;
            await new Promise((r) => setTimeout(r, 2));
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return count;
        },
    };
}

describe.skipIf(!live)("disaster recovery and faults", () => {
    it("restores an operational wiped with its volume from the vault: 100k keys, equal digests", async () => {
        await fill("contact", 100_000);
        await expectInSync("contact");
        // The protocol's recovery: stop the operational, delete its volume, recreate it from the plan.
        await fleet.recreate("contact", "operational");
        const operational = fleet.client("contact", "operational");
        await expectInSync("contact");
        expect(await operational.dbsize()).toBe(100_000);
    });

    it("keeps a vault's data across stop/start and the operational reconnects by itself", async () => {
        await fill("links", 5_000);
        await expectInSync("links");
        const vault = fleet.container("links", "vault");
        await vault.stop({ t: 10 });
        await vault.start();
        const after = fleet.client("links", "vault", "password");
        await waitFor("vault back", async () => ((await after.dbsize()) === 5_000 ? true : undefined));
        await expectInSync("links");
    });

    it("comes back by itself after its Redis is killed (restart policy unless-stopped), with its data, and the link comes up", async () => {
        await fill("links", 2_000, "before-kill");
        // appendfsync everysec: what was written more than a second ago is on disk.
        await new Promise((r) => setTimeout(r, 1_500));
        const vault = fleet.container("links", "vault");
        const before = await vault.inspect();
        // A crash, not a `docker kill` (which the engine counts as a stop): SIGKILL to Redis from the host.
        process.kill(before.State.Pid, "SIGKILL");
        const client = fleet.client("links", "vault", "password");
        await waitFor("vault back after its Redis was killed", async () => ((await client.dbsize()) >= 7_000 ? true : undefined));
        const after = await vault.inspect();
        expect(after.RestartCount).toBe(before.RestartCount + 1);
        expect(after.State.Pid).not.toBe(before.State.Pid);
        expect(await client.exists("before-kill:0", "before-kill:1999", "key:4999")).toBe(3);
        await expectInSync("links");
    });

    it("stays stopped after `docker kill`, which the engine counts as a stop, until `docker start` brings it back with its data", async () => {
        const vault = fleet.container("links", "vault");
        const before = await vault.inspect();
        await vault.kill({ signal: "SIGKILL" });
        // The restart policy would act within a second or so; give it several.
        await new Promise((r) => setTimeout(r, 5_000));
        const killed = await vault.inspect();
        expect(killed.State.Running).toBe(false);
        expect(killed.RestartCount).toBe(before.RestartCount);
        await vault.start();
        const client = fleet.client("links", "vault", "password");
        await waitFor("vault back after docker start", async () =>
            (await client.exists("before-kill:0", "before-kill:1999")) === 2 ? true : undefined,
        );
        await expectInSync("links");
    });

    it("keeps the vault's data when the plan re-creates its container, as pulumi up --replace does", async () => {
        await fill("kb", 3_000);
        const digest = await fleet.digest("kb", "vault");
        await fleet.recreate("kb", "vault", { volume: false });
        const client = fleet.client("kb", "vault", "password");
        await waitFor("re-created vault loaded", async () => ((await client.dbsize()) === 3_000 ? true : undefined));
        expect(await fleet.digest("kb", "vault")).toBe(digest);
        await expectInSync("kb");
    });

    it("finds the vault's data from a container of another name on the same volume (a containerPrefix change)", async () => {
        const digest = await fleet.digest("kb", "vault");
        const volume = fleet.plan.resources.find((r) => r.name === "kb-vault-data")!.inputs.name as string;
        // Never two vaults on one volume: the old one stops first, as a replacement deletes it first.
        await fleet.container("kb", "vault").stop({ t: 60 });
        const renamed = await startLiveFleet({ environments: ["kb"], config: { vaultData: JSON.stringify({ kb: volume }) } });
        try {
            expect(renamed.containerName("kb", "vault")).not.toBe(fleet.containerName("kb", "vault"));
            const client = renamed.client("kb", "vault", "password");
            await waitFor("renamed vault loaded", async () => ((await client.dbsize()) === 3_000 ? true : undefined));
            expect(await renamed.digest("kb", "vault")).toBe(digest);
        } finally {
            await renamed.destroy();
        }
        expect((await fleet.docker.getVolume(volume).inspect()).Name).toBe(volume);
    });

    it("resumes with a partial resync after a 10 s network cut under writes, and ends equal to the vault", async () => {
        await fill("track", 10_000);
        await expectInSync("track");
        const vault = fleet.client("track", "vault", "password");
        const before = await info(vault, "stats");
        const network = fleet.plan.resources.find((r) => r.type === "docker:index/network:Network")!.inputs.name as string;
        const operational = fleet.containerName("track", "operational");

        const writer = steadyWrites("track", "during-cut");
        await fleet.docker.getNetwork(network).disconnect({ Container: operational, Force: true });
        await new Promise((r) => setTimeout(r, 10_000));
        await fleet.docker.getNetwork(network).connect({ Container: operational });
        await new Promise((r) => setTimeout(r, 1_000));
        const written = await writer.stop();

        await expectInSync("track", 90_000);
        const after = await info(vault, "stats");
        expect(written).toBeGreaterThan(100);
        expect(Number(after.sync_partial_ok)).toBeGreaterThan(Number(before.sync_partial_ok));
        expect(after.sync_full).toBe(before.sync_full);
        expect(await fleet.client("track", "operational").exists("during-cut:0", `during-cut:${written - 1}`)).toBe(2);
    });

    it("ends equal to the vault when writes continue throughout an operational's wipe and recreation", async () => {
        await fill("session", 20_000);
        await expectInSync("session");
        const writer = steadyWrites("session", "during-wipe");
        await new Promise((r) => setTimeout(r, 500));
        await fleet.recreate("session", "operational");
        await new Promise((r) => setTimeout(r, 2_000));
        const written = await writer.stop();
        await expectInSync("session");
        expect(await fleet.client("session", "operational").dbsize()).toBe(20_000 + written);
    });

    it("loses the link when the operational's masterauth is wrong, and regains it once restored", async () => {
        const admin = fleet.client("web", "operational", "admin");
        const anonymous = fleet.client("web", "operational");
        await waitFor("link up", async () => ((await info(anonymous, "replication")).master_link_status === "up" ? true : undefined));
        const [, rightPassword] = (await admin.config("GET", "masterauth")) as string[];
        await admin.config("SET", "masterauth", "wrong-password");
        // The current link stays up until it reconnects: make it reconnect.
        await admin.call("CLIENT", "KILL", "TYPE", "master");
        await new Promise((r) => setTimeout(r, 3_000));
        expect((await info(anonymous, "replication")).master_link_status).toBe("down");
        await admin.config("SET", "masterauth", rightPassword);
        await waitFor("link up again", async () => ((await info(anonymous, "replication")).master_link_status === "up" ? true : undefined));
    });
});
