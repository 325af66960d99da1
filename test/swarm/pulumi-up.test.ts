/**
 * What users do to a deployed Swarm stack, on a real three-node Swarm (harness/swarm.ts),
 * each planned as the engine plans it from the state the last up left and applied through the
 * manager as the Docker provider applies it (harness/engineApply.ts, harness/swarmProvider.ts):
 * a second up, each password rotated under a writer, memoryLimitMb added, raised, lowered
 * and removed, an environment added and removed, a new containerPrefix while the old vault
 * still stops (the new one waits on the data folder's lock), `pulumi destroy`, and a Docker
 * stack switched to `platform: swarm`. One cluster for the file; each test leaves the stack
 * whole for the next. (A new image rolled through every service is test/swarm/swarm.test.ts.)
 *
 * `contact`'s vault runs on n2, not the manager: the provider's delete of its service waits
 * for nothing there. `locker`'s runs on the manager (n1).
 */
import { readFileSync, readdirSync } from "node:fs";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeConfig } from "../../harness/engineApply";
import { LiveFleet, changesOf, missingKeys, parseInfo, testStackConfig } from "../../harness/fleet";
import { SwarmCluster, type SwarmNode, swarmAvailable } from "../../harness/swarm";
import { SWARM_TEST_IMAGE, SwarmFleet, imageId, startSwarmFleet, waitUntil } from "../../harness/swarmFleet";
import { inVolume } from "../../harness/vaultStart";

const available = swarmAvailable(SWARM_TEST_IMAGE);
const WAITING = "another Redis has /data (a second container or task of this vault on the same volume, or one still stopping): waiting";
let cluster: SwarmCluster;
let fleet: SwarmFleet;
/** The prefix the stack was first deployed with: its vaults' volumes keep it. */
let firstPrefix: string;
const log = (message: string) => process.stderr.write(`swarm up test: ${message}\n`);
const node = (name: string): SwarmNode => cluster.nodes.find((n) => n.name === name)!;

interface ServiceNow {
    id: string;
    version: number;
    task: string | undefined;
}

/** Every service of the stack: its ID, its spec's version, and its running task (a service touched shows another). */
async function services(): Promise<Record<string, ServiceNow>> {
    const found: Record<string, ServiceNow> = {};
    for (const s of await fleet.docker.listServices({ filters: JSON.stringify({ label: [`nexus-redis.test-run=${fleet.runId}`] }) })) {
        const tasks = await fleet.tasks(String(s.Spec?.Name));
        const running = tasks.find((t) => t.DesiredState === "running");
        found[String(s.Spec?.Name)] = { id: String(s.ID), version: Number(s.Version?.Index), task: running?.ID };
    }
    return found;
}

async function linkUp(env: string): Promise<void> {
    await waitUntil(
        `${env}'s link up`,
        async () => parseInfo(await fleet.cli(env, "operational", ["INFO", "replication"])).master_link_status === "up",
        120_000,
        500,
    );
}

/** A client writing to a vault until stopped; `acked` holds every key it answered OK to. */
async function writer(env: string) {
    const acked: string[] = [];
    let writing = true;
    const connect = () =>
        fleet.client(env, "vault", "password", { maxRetriesPerRequest: 0, retryStrategy: () => 100, enableOfflineQueue: false });
    let client: Redis = await connect();
    const done = (async () => {
        for (let i = 0; writing; i++) {
            try {
                if ((await client.set(`w:${env}:${i}`, String(i))) === "OK") acked.push(`w:${env}:${i}`);
            } catch {
                // The vault is restarting: not acknowledged, so it may be lost.
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }
    })();
    await waitUntil("the writer's first writes", async () => acked.length > 20, 60_000);
    return {
        acked,
        /** A new connection with the stack's password now (no overlap on Swarm: clients switch as the vault restarts). */
        async reconnect() {
            const old = client;
            client = await connect();
            old.disconnect();
        },
        /** Stops once the vault acknowledged writes again (it may be rolling), then stops writing. */
        async stop() {
            const before = acked.length;
            await waitUntil("writes acknowledged again", async () => acked.length > before + 5, 180_000);
            writing = false;
            await done;
        },
    };
}

/**
 * The host's PIDs of a container's processes running `command`, on whichever node's engine it
 * runs (its cgroup path names its ID): how a test holds a task's Redis where it is.
 */
function hostPids(containerId: string, command: string): number[] {
    return readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
            try {
                return (
                    readFileSync(`/proc/${pid}/cgroup`, "utf8").includes(containerId) &&
                    readFileSync(`/proc/${pid}/comm`, "utf8").trim() === command
                );
            } catch {
                return false;
            }
        })
        .map(Number);
}

/** Every acknowledged key is on the vault, now that it answers with the stack's password. */
async function nothingLost(env: string, acked: string[]): Promise<void> {
    const vault = await fleet.client(env, "vault", "password");
    expect(await missingKeys(vault, acked), `${env}: acknowledged writes lost`).toEqual([]);
}

/** Waits until each service's update has rolled (the task of its spec's version runs). */
async function rolled(): Promise<void> {
    await waitUntil(
        "every service rolled",
        async () => {
            for (const s of await fleet.docker.listServices({
                filters: JSON.stringify({ label: [`nexus-redis.test-run=${fleet.runId}`] }),
            })) {
                const state = (s as { UpdateStatus?: { State?: string } }).UpdateStatus?.State;
                if (state !== undefined && state !== "completed") return false;
                const tasks = await fleet.tasks(String(s.Spec?.Name));
                const live = tasks.filter((t) => t.DesiredState === "running");
                if (live.length !== 1 || live[0].Status?.State !== "running") return false;
            }
            return true;
        },
        180_000,
        500,
    );
}

beforeAll(async () => {
    if (!available) return;
    cluster = await SwarmCluster.start({ images: [SWARM_TEST_IMAGE], log });
    fleet = await startSwarmFleet(cluster, { environments: ["contact", "locker"], vaultNodes: { contact: "n2" } });
    firstPrefix = fleet.prefix;
    await linkUp("contact");
    await fleet.cli("contact", "vault", ["SET", "before-everything", "kept"]);
    await fleet.cli("locker", "vault", ["SET", "before-everything", "kept"]);
}, 300_000);

afterAll(async () => {
    await fleet?.destroy();
    await cluster?.destroy();
});

describe.skipIf(!available)("pulumi up on a Swarm stack, planned as the engine plans it and applied through the manager", () => {
    it("a second up with no change plans nothing, and applying it touches no service or task", async () => {
        expect(changesOf(await fleet.preview())).toEqual([]);
        const before = await services();
        const result = await fleet.up();
        expect(result.steps.filter((s) => s.op !== "same")).toEqual([]);
        expect(await services()).toEqual(before);
    });

    it.each([
        ["vault", ["contact-vault-config"], ["contact-vault"]],
        ["backup", ["contact-vault-config"], ["contact-vault"]],
        ["replication", ["contact-operational-config", "contact-vault-config"], ["contact-operational", "contact-vault"]],
        ["operationalAdmin", ["contact-operational-config"], ["contact-operational"]],
    ])(
        "rotating the %s password makes a new secret and updates exactly its services, under a writer, nothing lost",
        async (role, secrets, updated) => {
            const before = await services();
            const w = await writer("contact");
            const passwords = JSON.parse(fleet.config.secrets.passwords ?? "{}");
            passwords.contact = { ...passwords.contact, [role]: `N3w${role}${Date.now().toString(36)}Password` };
            const result = await fleet.up({ secrets: { passwords: JSON.stringify(passwords) } });
            // No overlap on Swarm (rotate is Docker-only): the client takes the new password as the vault restarts.
            if (role === "vault") await w.reconnect();
            expect(result.replaced.sort()).toEqual(secrets);
            expect(result.updated.sort()).toEqual(updated);
            expect(result.created).toEqual([]);
            expect(result.deleted.every((name) => name.endsWith("-password"))).toBe(true);
            await rolled();
            await w.stop();
            await nothingLost("contact", w.acked);
            const after = await services();
            for (const [name, s] of Object.entries(before)) {
                const role = name.replace(`${fleet.prefix}-`, "");
                if (!updated.includes(role)) expect(after[name], `${role} untouched`).toEqual(s);
                else expect(after[name].task, `${role}'s task rolled`).not.toBe(s.task);
            }
            await linkUp("contact");
            expect(changesOf(await fleet.preview())).toEqual([]);
        },
    );

    describe("memoryLimitMb", () => {
        const limits = async () => {
            const found: Record<string, number> = {};
            for (const s of await fleet.docker.listServices({
                filters: JSON.stringify({ label: [`nexus-redis.test-run=${fleet.runId}`] }),
            })) {
                found[String(s.Spec?.Name).replace(`${fleet.prefix}-`, "")] =
                    Number(s.Spec?.TaskTemplate?.Resources?.Limits?.MemoryBytes ?? 0) / 2 ** 20;
            }
            return found;
        };

        it.each([
            ["added", "256"],
            ["raised", "1024"],
            ["lowered", "512"],
            ["removed", "0"],
        ])("%s: a new config for each vault, every service updated in place; the next up plans nothing", async (_what, limit) => {
            const result = await fleet.up({ config: { memoryLimitMb: limit } });
            expect(result.replaced.sort()).toEqual(["contact-vault-config", "locker-vault-config"]);
            expect(result.updated.sort()).toEqual(["contact-operational", "contact-vault", "locker-vault"]);
            const mb = Number(limit);
            expect(await limits()).toEqual({ "contact-vault": mb, "contact-operational": mb, "locker-vault": mb });
            expect(changesOf(await fleet.preview())).toEqual([]);
        });

        it("left the data whole", async () => {
            await rolled();
            for (const env of ["contact", "locker"]) {
                await waitUntil(
                    `${env}'s vault with its data`,
                    async () => (await fleet.cli(env, "vault", ["GET", "before-everything"])) === "kept",
                    60_000,
                );
            }
            await linkUp("contact");
        });
    });

    it("adding an environment creates its resources alone, and removing it deletes them alone", async () => {
        await rolled();
        const before = await services();
        const added = await fleet.up({ config: { environments: JSON.stringify(["contact", "locker", "links"]) } });
        expect([...added.updated, ...added.replaced, ...added.deleted]).toEqual([]);
        expect(
            added.created.every((name) => name.startsWith("links-")),
            added.created.join(", "),
        ).toBe(true);
        const withLinks = await services();
        for (const [name, s] of Object.entries(before)) expect(withLinks[name], name).toEqual(s);
        await linkUp("links");

        const removed = await fleet.up({ config: { environments: JSON.stringify(["contact", "locker"]) } });
        expect([...removed.created, ...removed.updated, ...removed.replaced]).toEqual([]);
        expect(removed.deleted.every((name) => name.startsWith("links-"))).toBe(true);
        expect(await services()).toEqual(before);
        expect(changesOf(await fleet.preview())).toEqual([]);
    });

    it("a new containerPrefix replaces each vault's service while the old task still stops: the new one waits on the lock, then starts on the old volume with every write", async () => {
        const old = await fleet.waitRunning("contact", "vault");
        expect(old.node.name).toBe("n2");
        const w = await writer("contact");
        await w.stop();
        const digest = await fleet.digest("contact", "vault");
        // As the stack runs by default, the vault's port not published: a host-mode port would
        // keep the scheduler from starting the new task on n2 until the old one is gone.
        const planned = await fleet.replan({
            config: { containerPrefix: `${firstPrefix}b`, swarmPublish: JSON.stringify(["operational"]) },
        });
        // The old vault held where it is (for at most 50 s of its 60 s grace), as a loaded machine
        // would hold it: Docker's SIGTERM waits, and Redis handles it (the AOF flushed, the lock
        // let go) only once it goes on, here once the new vault is seen waiting.
        const pids = hostPids(old.containerId, "redis-server");
        expect(pids).toHaveLength(1);
        process.kill(pids[0], "SIGSTOP");
        let resumed = false;
        const resume = () => {
            if (!resumed) process.kill(pids[0], "SIGCONT");
            resumed = true;
        };
        const timer = setTimeout(resume, 50_000);
        let fresh: Awaited<ReturnType<SwarmFleet["waitRunning"]>>;
        try {
            const result = await fleet.apply(planned);
            expect(result.replaced).toEqual(
                expect.arrayContaining([
                    "contact-vault",
                    "contact-operational",
                    "locker-vault",
                    "contact-vault-config",
                    "locker-vault-config",
                ]),
            );
            expect(result.steps.filter((s) => s.name.endsWith("-vault-volume")).map((s) => s.op)).toEqual(["same", "same"]);
            // The new task runs while the old container still does (the provider waits for nothing on n2).
            fresh = await fleet.waitRunning("contact", "vault");
            expect(fresh.node.name).toBe("n2");
            expect((await old.node.docker.getContainer(old.containerId).inspect()).State.Running, "the old vault still running").toBe(true);
            await waitUntil("the new vault's wait logged", async () => (await logs(fresh)).includes(WAITING), 30_000);
            expect(resumed, "the old vault was held until the new one waited").toBe(false);
        } finally {
            // A moment more of waiting for the new one, then the old one goes on and stops.
            await new Promise((r) => setTimeout(r, resumed ? 0 : 2000));
            clearTimeout(timer);
            resume();
        }
        await waitUntil(
            "the new vault started after the old one left",
            async () => (await logs(fresh)).includes("the other Redis has left /data: starting"),
            90_000,
        );
        // Every write the old vault acknowledged, and nothing else: the same dataset.
        await waitUntil("the new vault's dataset", async () => (await fleet.digest("contact", "vault").catch(() => "")) === digest, 60_000);
        expect(await fleet.cli("contact", "vault", ["GET", "before-everything"])).toBe("kept");
        const mounts = (await fleet.docker.getService(fleet.serviceName("contact", "vault")).inspect()).Spec.TaskTemplate.ContainerSpec
            .Mounts;
        expect(mounts.map((m: { Source: string }) => m.Source)).toEqual([`${firstPrefix}-contact-vault-data`]);
        await linkUp("contact");
        expect(changesOf(await fleet.preview())).toEqual([]);
    });

    it("pulumi destroy removes every service, secret, config and the network, and leaves each vault's volume on its node with its data", async () => {
        await rolled();
        const result = await fleet.destroyStack();
        expect(result.retained).toEqual([]);
        expect(await services()).toEqual({});
        expect(await fleet.docker.listSecrets({ filters: JSON.stringify({ label: [`nexus-redis.test-run=${fleet.runId}`] }) })).toEqual([]);
        for (const [env, on] of [
            ["contact", "n2"],
            ["locker", "n1"],
        ]) {
            const volume = `${firstPrefix}-${env}-vault-data`;
            await waitUntil(
                `${env}'s vault gone from ${volume}`,
                async () => {
                    const users = await node(on).docker.listContainers({ filters: JSON.stringify({ volume: [volume] }) });
                    return users.length === 0;
                },
                90_000,
            );
            const files = await inVolume(node(on).docker, fleet.runId, volume, "ls /data/appendonlydir");
            expect(files, `${env}'s volume on ${on}`).toMatch(/appendonly\.aof\.\d+\.base\.rdb/);
        }
    });
});

describe.skipIf(!available)("a Docker stack with data switched to platform swarm on its Swarm's manager", () => {
    it("is no migration, as the README says: containers and network go first, the vaults' Docker volumes stay, and each Swarm vault starts on the volume of its name on its node", async () => {
        const runId = `nrx${fleet.runId.slice(3)}`;
        const values = { ...testStackConfig(runId, ["kb", "locker"], 0), image: SWARM_TEST_IMAGE };
        const docker = new LiveFleet(runId, runId, cluster.manager.docker, { values, secrets: {} });
        try {
            await docker.createAll();
            for (const env of ["kb", "locker"]) {
                await waitUntil(
                    `${env}'s Docker vault`,
                    async () => (await docker.cli(env, "vault", ["SET", "on-docker", env])) === "OK",
                    60_000,
                );
            }
            const swarm = new SwarmFleet(
                cluster,
                runId,
                mergeConfig(docker.config, {
                    config: {
                        platform: "swarm",
                        image: await imageId(cluster.manager, SWARM_TEST_IMAGE),
                        swarmNodes: JSON.stringify({ vault: cluster.manager.id, vaults: { locker: node("n2").id } }),
                    },
                }),
                { state: docker.state },
            );
            try {
                const planned = await swarm.replan();
                const network = planned.steps.find((s) => s.name === "storage-network");
                expect(network).toMatchObject({ op: "replace", deleteFirst: true });
                const result = await swarm.apply(planned);
                expect(result.retained.sort()).toEqual(["kb-vault-data", "locker-vault-data"]);
                expect(result.deleted).toEqual(
                    expect.arrayContaining(["kb-vault", "kb-operational", "locker-vault", "kb-operational-data"]),
                );
                expect(
                    await cluster.manager.docker.listContainers({
                        all: true,
                        filters: JSON.stringify({ label: [`nexus-redis.test-run=${runId}`] }),
                    }),
                ).toEqual([]);
                // kb's vault is pinned to the manager, the engine that held the data: it starts on it.
                await waitUntil(
                    "kb's Swarm vault with the Docker vault's data",
                    async () => (await swarm.cli("kb", "vault", ["GET", "on-docker"])) === "kb",
                    120_000,
                );
                // locker's is pinned to n2: a volume of the same name there, empty; its data stays on n1's volume.
                await waitUntil(
                    "locker's Swarm vault running",
                    async () => (await swarm.cli("locker", "vault", ["PING"])) === "PONG",
                    120_000,
                );
                expect(await swarm.cli("locker", "vault", ["GET", "on-docker"])).toBe("");
                const kept = await inVolume(cluster.manager.docker, runId, `${runId}-locker-vault-data`, "ls /data/appendonlydir");
                expect(kept).toMatch(/appendonly\.aof\.\d+\.base\.rdb/);
            } finally {
                await swarm.destroy();
            }
        } finally {
            await docker.destroy();
        }
    });
});

async function logs(task: { node: SwarmNode; containerId: string }): Promise<string> {
    return (await task.node.docker.getContainer(task.containerId).logs({ stdout: true, stderr: true })).toString();
}
