/**
 * Who Redis runs as, on images laid out differently from the official one, and whatever
 * owner the provider gives the config files (components/start-redis.sh). Each case plans
 * an environment on the test image or one of its variants (scripts/build-test-image.sh: no
 * entrypoint and no gosu, no /tmp, no redis user, no flock), so the containers under test
 * are exactly the plan's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { volumeName } from "../../components/redisServer";
import { type Docker, connectDocker, exec } from "../../harness/docker";
import { type LiveFleet, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { fillDataset, handBuiltClient, logsOf } from "../../harness/handBuilt";
import {
    FIXTURE_PASSWORD,
    IMAGE_VARIANTS,
    type PlannedFleetOptions,
    inVolume,
    logShows,
    newRun,
    plannedFleet,
    preparedVolume,
    vaultKeys,
} from "../../harness/vaultStart";

const fleets: LiveFleet[] = [];
let docker: Docker;

async function planned(runId: string, options: PlannedFleetOptions): Promise<LiveFleet> {
    const fleet = await plannedFleet(runId, options);
    fleets.push(fleet);
    return fleet;
}

/** A volume holding a hand-built vault's dump.rdb: `keys` keys in database 0 and 500 in database 5. */
async function rdbVolume(runId: string, keys: number) {
    return preparedVolume(docker, runId, [], async (_name, port) => {
        const client = handBuiltClient(port, FIXTURE_PASSWORD);
        await fillDataset(client, keys);
        await client.select(5);
        await fillDataset(client, 500, "db5");
        client.disconnect();
    });
}

async function linkUp(fleet: LiveFleet, environment: string): Promise<void> {
    await waitFor(
        `${environment}'s replication link`,
        async () => {
            const info = await fleet.cli(environment, "operational", ["INFO", "replication"]).catch(() => "");
            return parseInfo(info).master_link_status === "up" ? true : undefined;
        },
        60_000,
        250,
    );
}

/** The uid PID 1 (Redis, after the start script's exec) runs as in a container. */
async function pid1User(name: string): Promise<string> {
    return (await exec(docker, name, ["stat", "-c", "%u", "/proc/1"])).stdout.trim();
}

describe.skipIf(!dockerAvailable())("who Redis runs as, on any image layout and with any config owner", () => {
    beforeAll(async () => {
        docker = await connectDocker();
    });
    afterAll(async () => {
        for (const fleet of fleets) await fleet.destroy();
    });

    it("starts and links both roles when the provider left their configs to root:root 0400, handing each to redis, readable by it alone", async () => {
        const runId = await newRun();
        const fleet = await planned(runId, { environment: "contact" });
        await linkUp(fleet, "contact");
        // Both containers re-created as `pulumi up --replace` does, by a provider that ignores `owner`.
        for (const role of ["vault", "operational"] as const) {
            const container = fleet.resourceState("docker:index/container:Container", `contact-${role}`);
            const uploads = container.inputs.uploads as { file: string; owner?: string; group?: string }[];
            for (const u of uploads) if (u.file.endsWith(".conf")) Object.assign(u, { owner: "0", group: "0" });
            await fleet.recreate("contact", role, { volume: false });
        }

        await linkUp(fleet, "contact");
        for (const role of ["vault", "operational"] as const) {
            const name = fleet.containerName("contact", role);
            const file = `/etc/nexus-redis/${role}.conf`;
            expect(await logsOf(docker, name)).toContain(
                `${file} is not owned by the redis user: giving it to redis, readable by it alone`,
            );
            expect((await exec(docker, name, ["stat", "-c", "%a %u %g", file])).stdout.trim()).toBe("400 999 999");
            expect((await exec(docker, name, ["cat", file], { user: "1000" })).exitCode, `another user reads ${file}`).not.toBe(0);
            expect(await pid1User(name)).toBe("999");
        }
        await fleet.cli("contact", "vault", ["SET", "after-the-handover", "1"]);
        await waitFor("the write on the operational", async () =>
            (await fleet.cli("contact", "operational", ["GET", "after-the-handover"])) === "1" ? true : undefined,
        );
    });

    it("runs both roles as the redis user on an image with no entrypoint and no gosu, giving it root's files in the data folder", async () => {
        const runId = await newRun();
        const before = await rdbVolume(runId, 2_000);
        // A file root left there, readable by root alone: Redis can load it only once it is redis's.
        await inVolume(docker, runId, before.volume, "chown 0:0 /data/dump.rdb && chmod 0600 /data/dump.rdb");
        const fleet = await planned(runId, { environment: "contact", volume: before.volume, image: IMAGE_VARIANTS.noEntrypoint });
        expect(await vaultKeys(fleet, "contact")).toBe(2_500);
        expect(await fleet.digest("contact", "vault")).toBe(before.digest);
        await linkUp(fleet, "contact");
        expect(await fleet.digest("contact", "operational")).toBe(before.digest);

        for (const role of ["vault", "operational"] as const) {
            const name = fleet.containerName("contact", role);
            expect(await pid1User(name)).toBe("999");
            expect(await logsOf(docker, name)).toContain("Redis runs as the redis user (uid 999, through /usr/bin/setpriv)");
        }
        // Everything Redis wrote, and what root had left, is redis's and readable by it alone.
        const vault = fleet.containerName("contact", "vault");
        await fleet.cli("contact", "vault", ["BGREWRITEAOF"]);
        await waitFor("the rewrite", async () =>
            parseInfo(await fleet.cli("contact", "vault", ["INFO", "persistence"])).aof_rewrite_in_progress === "0" ? true : undefined,
        );
        await fleet.cli("contact", "vault", ["SAVE"]);
        const strays = await exec(docker, vault, ["sh", "-c", "find /data ! -user 999; find /data -type f ! -perm 600"]);
        expect(strays).toMatchObject({ exitCode: 0, stdout: "" });
    });

    it("converts an RDB-only volume on an image without /tmp, its socket in a private folder of the data folder", async () => {
        const runId = await newRun();
        const before = await rdbVolume(runId, 3_000);
        const fleet = await planned(runId, { volume: before.volume, image: IMAGE_VARIANTS.noTmp });
        expect(await vaultKeys(fleet)).toBe(3_500);
        expect(await fleet.digest("user", "vault")).toBe(before.digest);
        const name = fleet.containerName("user", "vault");
        expect(await logsOf(docker, name)).toContain("converted: 3500 keys are in the append-only file; starting");
        expect((await exec(docker, name, ["ls", "-A", "/data"])).stdout).toBe("appendonlydir\ndump.rdb\n");
        expect((await exec(docker, name, ["ls", "-d", "/tmp"])).exitCode).not.toBe(0);
    });

    it("refuses both roles on an image with no redis user, saying why, and runs no Redis", async () => {
        const runId = await newRun();
        const fleet = await planned(runId, { environment: "contact", image: IMAGE_VARIANTS.noUser });
        for (const role of ["vault", "operational"] as const) {
            const name = fleet.containerName("contact", role);
            const log = await logShows(
                docker,
                name,
                `nexus-redis ${role}: REFUSING TO START: this image has no redis user, so Redis would run as root`,
            );
            expect(log).not.toMatch(/Redis version=|Ready to accept connections/);
        }
        // The restart policy starts the vault again and again; it refuses each time, and its volume stays empty.
        await waitFor("a restart of the vault", async () =>
            (await fleet.container("contact", "vault").inspect()).RestartCount >= 1 ? true : undefined,
        );
        expect(await logsOf(docker, fleet.containerName("contact", "vault"))).not.toMatch(/Redis version=/);
        expect(await inVolume(docker, runId, volumeName(runId, "contact", "vault"), "ls -A /data")).toBe("");
    });

    it("refuses a vault on an image without flock, saying why, and touches nothing in its data folder", async () => {
        const runId = await newRun();
        const fleet = await planned(runId, { image: IMAGE_VARIANTS.noFlock });
        const name = fleet.containerName("user", "vault");
        const log = await logShows(docker, name, "nexus-redis vault: REFUSING TO START: this image has no flock");
        expect(log).not.toMatch(/Redis version=|Ready to accept connections/);
        await fleet.container("user", "vault").stop({ t: 5 });
        expect(await inVolume(docker, runId, volumeName(runId, "user", "vault"), "ls -A /data")).toBe("");
    });
});
