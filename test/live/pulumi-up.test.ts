/**
 * What users do to a deployed Docker stack, each planned as the engine plans it from the state
 * the last up left and applied on the real engine as the Docker provider applies it
 * (harness/engineApply.ts): a second up, a new image, memoryLimitMb added, raised, lowered
 * and removed, an environment added and removed, a vault re-created by hand, and `pulumi
 * destroy`. One stack for the file; each test leaves it whole for the next. (Rotating each
 * password is test/live/rotate.test.ts, through `nexus-redis rotate`.)
 */
import { spawnSync } from "node:child_process";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
    type LiveFleet,
    TEST_IMAGE,
    changesOf,
    dockerAvailable,
    missingKeys,
    parseInfo,
    startLiveFleet,
    waitFor,
} from "../../harness/fleet";
import { inVolume } from "../../harness/vaultStart";

const live = dockerAvailable();
const MIB = 1024 * 1024;
let fleet: LiveFleet;
let nextImage: string;

/** Each container of the stack on the engine: its ID and when it started (a container touched shows a new one). */
async function containers(): Promise<Record<string, { id: string; started: string; image: string; memory: number; swap: number }>> {
    const found: Record<string, { id: string; started: string; image: string; memory: number; swap: number }> = {};
    for (const c of await fleet.docker.listContainers({ all: true, filters: { label: [fleet.label] } })) {
        const inspected = await fleet.docker.getContainer(c.Id).inspect();
        found[inspected.Name.slice(1)] = {
            id: inspected.Id,
            started: inspected.State.StartedAt,
            image: inspected.Image,
            memory: inspected.HostConfig.Memory ?? 0,
            swap: inspected.HostConfig.MemorySwap ?? 0,
        };
    }
    return found;
}

async function volumes(): Promise<string[]> {
    return ((await fleet.docker.listVolumes({ filters: { label: [fleet.label] } })).Volumes ?? []).map((v) => v.Name).sort();
}

async function linkUp(env: string): Promise<void> {
    await waitFor(
        `${env}'s link up`,
        async () =>
            parseInfo(await fleet.cli(env, "operational", ["INFO", "replication"])).master_link_status === "up" ? true : undefined,
        60_000,
        200,
    );
}

/** A client writing to a vault until stopped; `acked` holds every key it answered OK to. */
function writer(env: string) {
    const acked: string[] = [];
    let writing = true;
    const client: Redis = fleet.client(env, "vault", "password", {
        retryStrategy: () => 100,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
    });
    const done = (async () => {
        for (let i = 0; writing; i++) {
            try {
                if ((await client.set(`w:${env}:${i}`, String(i))) === "OK") acked.push(`w:${env}:${i}`);
            } catch {
                // The vault is being replaced: not acknowledged, so it may be lost.
                await new Promise((r) => setTimeout(r, 50));
            }
        }
    })();
    return {
        acked,
        async stop() {
            writing = false;
            await done;
            client.disconnect();
        },
    };
}

/** Every key acknowledged is on the vault, and its operational holds what the vault holds. */
async function nothingLost(env: string, acked: string[]): Promise<void> {
    expect(acked.length, `${env}: no write was acknowledged`).toBeGreaterThan(0);
    expect(await missingKeys(fleet.client(env, "vault", "password"), acked)).toEqual([]);
    await linkUp(env);
    await waitFor("the operational equal to its vault", async () =>
        (await fleet.digest(env, "operational")) === (await fleet.digest(env, "vault")) ? true : undefined,
    );
}

/** The key written before everything is on the vault, once it has loaded its data. */
async function keptThere(env: string): Promise<void> {
    // A vault just started may not run yet (the exec fails: asked again) or still load (LOADING).
    const value = await waitFor(`${env}'s vault to answer with its data loaded`, async () => {
        const reply = await fleet.cli(env, "vault", ["GET", "before-everything"]);
        return /^LOADING/.test(reply) ? undefined : reply;
    });
    expect(value).toBe("kept");
}

beforeAll(async () => {
    if (!live) return;
    fleet = await startLiveFleet({ environments: ["contact", "locker"] });
    await linkUp("contact");
    await fleet.cli("contact", "vault", ["SET", "before-everything", "kept"]);
    await fleet.cli("locker", "vault", ["SET", "before-everything", "kept"]);
}, 120_000);

afterAll(async () => {
    await fleet?.destroy();
    if (nextImage) spawnSync("docker", ["image", "rm", nextImage], { stdio: "ignore" });
});

describe.skipIf(!live)("pulumi up on a Docker stack, planned as the engine plans it and applied on the engine", () => {
    it("a second up with no change plans nothing, and applying it touches no container, volume or network", async () => {
        expect(changesOf(await fleet.preview())).toEqual([]);
        const before = { containers: await containers(), volumes: await volumes() };
        const network = (await fleet.docker.getNetwork(String(fleet.config.values.network)).inspect()).Id;
        const result = await fleet.up();
        expect(result.steps.filter((s) => s.op !== "same")).toEqual([]);
        expect(await containers()).toEqual(before.containers);
        expect(await volumes()).toEqual(before.volumes);
        expect((await fleet.docker.getNetwork(String(fleet.config.values.network)).inspect()).Id).toBe(network);
    });

    it("a new image replaces every container onto it with no acknowledged write lost; the next up plans nothing", async () => {
        nextImage = `${TEST_IMAGE}-up-${fleet.runId}`;
        const built = spawnSync("docker", ["build", "-q", "-t", nextImage, "-"], {
            input: `FROM ${TEST_IMAGE}\nLABEL nexus-redis.test-up="${fleet.runId}"\n`,
            env: { ...process.env, DOCKER_BUILDKIT: "0" },
            encoding: "utf8",
        });
        expect(built.status, built.stderr).toBe(0);
        const imageId = built.stdout.trim();
        const w = writer("contact");
        await waitFor("the writer's first writes", async () => (w.acked.length > 20 ? true : undefined));
        const result = await fleet.up({ config: { image: nextImage } });
        await new Promise((r) => setTimeout(r, 500));
        await w.stop();
        expect(result.replaced.sort()).toEqual(["contact-operational", "contact-vault", "locker-vault", "redis-image"]);
        expect([...result.created, ...result.updated, ...result.deleted]).toEqual([]);
        for (const c of Object.values(await containers())) expect(c.image).toBe(imageId);
        await nothingLost("contact", w.acked);
        await keptThere("locker");
        expect(changesOf(await fleet.preview())).toEqual([]);
    });

    describe("memoryLimitMb", () => {
        const limits = async () =>
            Object.fromEntries(
                Object.entries(await containers()).map(([name, c]) => [
                    name.replace(`${fleet.prefix}-`, ""),
                    [c.memory / MIB, c.swap / MIB],
                ]),
            );

        it("added: every container replaced with memory and swap limit set together; the next up plans nothing", async () => {
            const result = await fleet.up({ config: { memoryLimitMb: "256" } });
            expect(result.replaced.sort()).toEqual(["contact-operational", "contact-vault", "locker-vault"]);
            expect(await limits()).toEqual({ "contact-vault": [256, 256], "contact-operational": [256, 256], "locker-vault": [256, 256] });
            expect(changesOf(await fleet.preview())).toEqual([]);
        });

        it.each([
            // Above twice the old limit: what Docker stores as the swap limit when none is sent.
            ["raised", "1024"],
            ["lowered", "512"],
        ])(
            "%s: the vaults replaced, the operational updated in place (the same container, never stopped); the next up plans nothing",
            async (_what, limit) => {
                const before = (await containers())[fleet.containerName("contact", "operational")];
                const result = await fleet.up({ config: { memoryLimitMb: limit } });
                expect(result.replaced.sort()).toEqual(["contact-vault", "locker-vault"]);
                expect(result.updated).toEqual(["contact-operational"]);
                const after = (await containers())[fleet.containerName("contact", "operational")];
                expect({ id: after.id, started: after.started }).toEqual({ id: before.id, started: before.started });
                const mb = Number(limit);
                expect(await limits()).toEqual({ "contact-vault": [mb, mb], "contact-operational": [mb, mb], "locker-vault": [mb, mb] });
                expect(changesOf(await fleet.preview())).toEqual([]);
            },
        );

        it("removed: every container replaced with no limit; the next up plans nothing, and the data is all there", async () => {
            const result = await fleet.up({ config: { memoryLimitMb: "0" } });
            expect(result.replaced.sort()).toEqual(["contact-operational", "contact-vault", "locker-vault"]);
            expect(await limits()).toEqual({ "contact-vault": [0, 0], "contact-operational": [0, 0], "locker-vault": [0, 0] });
            expect(changesOf(await fleet.preview())).toEqual([]);
            for (const env of ["contact", "locker"]) await keptThere(env);
            await linkUp("contact");
        });
    });

    it("adding an environment creates its resources alone, and removing it deletes them alone, its vault's volume kept", async () => {
        const before = await containers();
        const added = await fleet.up({ config: { environments: JSON.stringify(["contact", "locker", "links"]) } });
        expect([...added.updated, ...added.replaced, ...added.deleted]).toEqual([]);
        expect(
            added.created.every((name) => name.startsWith("links-")),
            added.created.join(", "),
        ).toBe(true);
        const withLinks = await containers();
        for (const [name, c] of Object.entries(before)) expect(withLinks[name], name).toEqual(c);
        await linkUp("links");
        await fleet.cli("links", "vault", ["SET", "links-data", "kept"]);

        const removed = await fleet.up({ config: { environments: JSON.stringify(["contact", "locker"]) } });
        expect([...removed.created, ...removed.updated, ...removed.replaced]).toEqual([]);
        expect(removed.deleted.every((name) => name.startsWith("links-"))).toBe(true);
        expect(removed.retained).toEqual(["links-vault-data"]);
        expect(await containers()).toEqual(before);
        expect(await volumes()).toContain(`${fleet.prefix}-links-vault-data`);
        expect(await volumes()).not.toContain(`${fleet.prefix}-links-operational-data`);
        expect(changesOf(await fleet.preview())).toEqual([]);
    });

    it("a vault re-created by hand leaves the state on refresh, pulumi up then fails on its name, and the README's way back brings it under the stack with its data", async () => {
        const vault = fleet.resourceState("docker:index/container:Container", "contact-vault");
        const name = String(vault.inputs.name);
        const volume = `${fleet.prefix}-contact-vault-data`;
        // By hand: the vault stopped and removed, and another one run under its name on its volume.
        await fleet.provider.deleteContainer(vault);
        const byHand = await fleet.docker.createContainer({
            name,
            Image: nextImage,
            Cmd: ["redis-server", "--appendonly", "yes"],
            Labels: { "nexus-redis.test-run": fleet.runId },
            HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/data" }] },
        });
        await byHand.start();
        await waitFor("the hand-made vault's data", async () => {
            const r = spawnSync("docker", ["exec", name, "redis-cli", "GET", "before-everything"], { encoding: "utf8" });
            return r.stdout.trim() === "kept" ? true : undefined;
        });

        await fleet.refresh();
        expect(changesOf(await fleet.preview())).toEqual(["create contact-vault"]);
        await expect(fleet.up()).rejects.toThrow(/already in use/);

        // The way back: its data is on the stack's volume; stop it gracefully, remove it, pulumi up.
        const mounts = (await byHand.inspect()).Mounts.map((m) => m.Name);
        expect(mounts).toEqual([volume]);
        await byHand.stop({ t: 60 });
        await byHand.remove();
        const result = await fleet.up();
        expect(result.created).toEqual(["contact-vault"]);
        expect([...result.updated, ...result.replaced, ...result.deleted]).toEqual([]);
        await keptThere("contact");
        await linkUp("contact");
        expect(changesOf(await fleet.preview())).toEqual([]);
    });

    it("pulumi destroy removes every container, the network and the operationals' volumes, and leaves every vault's volume with its data", async () => {
        const result = await fleet.destroyStack();
        expect(result.retained.sort()).toEqual(["contact-vault-data", "locker-vault-data"]);
        expect(Object.keys(await containers())).toEqual([]);
        expect(await volumes()).toEqual([
            `${fleet.prefix}-contact-vault-data`,
            `${fleet.prefix}-links-vault-data`,
            `${fleet.prefix}-locker-vault-data`,
        ]);
        await expect(fleet.docker.getNetwork(String(fleet.config.values.network)).inspect()).rejects.toThrow();
        for (const env of ["contact", "links", "locker"]) {
            const files = await inVolume(fleet.docker, fleet.runId, `${fleet.prefix}-${env}-vault-data`, "ls /data/appendonlydir");
            expect(files, env).toMatch(/appendonly\.aof\.\d+\.base\.rdb/);
        }
    });
});
