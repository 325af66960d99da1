/**
 * A vault never starts empty on data it could load (components/start-redis.sh), proven on
 * the program's own vault container against volumes prepared the ways data reaches a vault:
 * a hand-built vault's RDB, an AOF with an older RDB beside it, Redis 6's single-file AOF,
 * nothing at all, an RDB from a newer Redis, and a kill -9 in the middle of a conversion.
 *
 * Each case plans the `user` environment (a vault alone; `contact` where an operational
 * must follow) on the prepared volume through the `vaultData` config, so the container under
 * test is exactly the plan's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Docker, connectDocker, exec } from "../../harness/docker";
import { type LiveFleet, dockerAvailable, missingKeys, startLiveFleet, waitFor } from "../../harness/fleet";
import { cliIn, createRunVolume, fillDataset, handBuiltClient, logsOf } from "../../harness/handBuilt";
import {
    FIXTURE_PASSWORD,
    inVolume as inVolumeOf,
    newRun,
    plannedFleet,
    preparedVolume as preparedVolumeOf,
    vaultKeys,
} from "../../harness/vaultStart";

const fleets: LiveFleet[] = [];
let docker: Docker;

const preparedVolume = (runId: string, args: string[], fill: (name: string, port: number) => Promise<void>) =>
    preparedVolumeOf(docker, runId, args, fill);
const inVolume = (runId: string, volume: string, script: string) => inVolumeOf(docker, runId, volume, script);

/** The plan's vault (and, for contact, operational) on `volume`, created by the harness. */
async function vaultOn(runId: string, volume: string, environment = "user"): Promise<LiveFleet> {
    const fleet = await plannedFleet(runId, { environment, volume });
    fleets.push(fleet);
    return fleet;
}

describe.skipIf(!dockerAvailable())("a vault's start (start-redis.sh) on the data it finds", () => {
    beforeAll(async () => {
        docker = await connectDocker();
    });
    afterAll(async () => {
        for (const fleet of fleets) await fleet.destroy();
    });

    it("comes up with every key of an RDB-only volume, in every database, turns AOF on, keeps them across a restart, and its operational follows", async () => {
        const runId = await newRun();
        // Redis's default persistence, as the protocol's hand-built vaults have it.
        const before = await preparedVolume(runId, [], async (_name, port) => {
            const client = handBuiltClient(port, FIXTURE_PASSWORD);
            await fillDataset(client, 60_000);
            await client.select(3);
            await fillDataset(client, 5_000, "db3");
            client.disconnect();
        });
        expect(before.keys).toBe(65_000);
        expect(await inVolume(runId, before.volume, "ls -A /data")).toBe("dump.rdb");

        const fleet = await vaultOn(runId, before.volume, "contact");
        expect(await vaultKeys(fleet, "contact")).toBe(65_000);
        expect(await fleet.digest("contact", "vault")).toBe(before.digest);
        expect(await fleet.cli("contact", "vault", ["CONFIG", "GET", "appendonly"])).toBe("appendonly\nyes");
        const log = await logsOf(docker, fleet.containerName("contact", "vault"));
        expect(log).toContain("dump.rdb (written by Redis 7.0.15) and no append-only file: converting with no client port");
        expect(log).toContain("converted: 65000 keys are in the append-only file; starting");
        // The conversion's private folder (its socket) is gone once it is done.
        expect(await exec(docker, fleet.containerName("contact", "vault"), ["ls", "-A", "/data"])).toMatchObject({
            stdout: "appendonlydir\ndump.rdb\n",
        });
        await waitFor("the operational's copy", async () =>
            (await fleet.digest("contact", "operational")) === before.digest ? true : undefined,
        );

        await fleet.container("contact", "vault").restart({ t: 60 });
        expect(await vaultKeys(fleet, "contact")).toBe(65_000);
        expect(await fleet.digest("contact", "vault")).toBe(before.digest);
        expect(await logsOf(docker, fleet.containerName("contact", "vault"))).toContain(
            "starting on the append-only file in /data/appendonlydir",
        );
    });

    it("loads the append-only file, not an older dump.rdb beside it, and does not point to dump.rdb because it is newer", async () => {
        const runId = await newRun();
        const before = await preparedVolume(runId, ["--appendonly", "yes", "--save", ""], async (name, port) => {
            const client = handBuiltClient(port, FIXTURE_PASSWORD);
            await fillDataset(client, 5_000, "old");
            await client.save(); // dump.rdb: the old keys only
            await fillDataset(client, 5_000, "new"); // in the AOF alone
            client.disconnect();
            expect(await cliIn(docker, name, ["DBSIZE"], FIXTURE_PASSWORD)).toBe("10000");
        });
        // A dump.rdb newer than the append-only file, as a graceful stop with save points leaves
        // it: that says nothing about which holds more, and the AOF does here.
        await inVolume(
            runId,
            before.volume,
            "sleep 1 && touch /data/dump.rdb && [ /data/dump.rdb -nt /data/appendonlydir/appendonly.aof.manifest ]",
        );
        const fleet = await vaultOn(runId, before.volume);
        expect(await vaultKeys(fleet)).toBe(10_000);
        expect(await fleet.digest("user", "vault")).toBe(before.digest);
        const log = await logsOf(docker, fleet.containerName("user", "vault"));
        expect(log).not.toContain("converting");
        expect(log).not.toMatch(/newer than the append-only file|move appendonlydir aside/);
        expect(log).toContain("starting on the append-only file in /data/appendonlydir");
    });

    it("treats Redis 6's single-file appendonly.aof as the append-only file, not the older dump.rdb", async () => {
        const runId = await newRun();
        // Redis 6 wrote one appendonly.aof: an RDB preamble, then the commands since. Made here
        // from Redis 7's own RDB (the only Redis on these machines) with 100 SETs appended.
        const before = await preparedVolume(runId, ["--save", ""], async (name, port) => {
            const client = handBuiltClient(port, FIXTURE_PASSWORD);
            await fillDataset(client, 3_000, "rdb");
            await client.save();
            client.disconnect();
            const appended = await exec(docker, name, [
                "sh",
                "-c",
                "cp /data/dump.rdb /data/appendonly.aof && i=0 && while [ $i -lt 100 ]; do " +
                    "printf '*3\\r\\n$3\\r\\nSET\\r\\n$%d\\r\\naof:%d\\r\\n$1\\r\\nv\\r\\n' $((4 + ${#i})) $i >> /data/appendonly.aof; i=$((i+1)); done",
            ]);
            expect(appended.exitCode).toBe(0);
        });
        expect(before.keys).toBe(3_000); // the running server never saw the appended commands
        expect((await inVolume(runId, before.volume, "ls /data")).split(/\s+/).sort()).toEqual(["appendonly.aof", "dump.rdb"]);

        const fleet = await vaultOn(runId, before.volume);
        expect(await vaultKeys(fleet)).toBe(3_100);
        expect(await fleet.cli("user", "vault", ["GET", "aof:99"])).toBe("v");
        expect(await logsOf(docker, fleet.containerName("user", "vault"))).toContain("single-file append-only file (Redis 6 and older)");
        expect(await inVolume(runId, before.volume, "ls /data/appendonlydir")).toContain("appendonly.aof.manifest");
    });

    it("moves an append-only folder without its manifest aside, readable by redis alone, and converts from dump.rdb", async () => {
        const runId = await newRun();
        const before = await preparedVolume(runId, [], async (_name, port) => {
            const client = handBuiltClient(port, FIXTURE_PASSWORD);
            await fillDataset(client, 1_000);
            client.disconnect();
        });
        // What a rewrite cut short leaves, made by a process with umask 0022.
        await inVolume(
            runId,
            before.volume,
            "mkdir -m 0755 /data/appendonlydir && echo partial > /data/appendonlydir/appendonly.aof.1.base.rdb",
        );
        const fleet = await vaultOn(runId, before.volume);
        expect(await vaultKeys(fleet)).toBe(1_000);
        const name = fleet.containerName("user", "vault");
        expect(await logsOf(docker, name)).toMatch(
            /appendonlydir has no manifest .*: moving it aside to appendonlydir\.incomplete-\d{8}T\d{6}Z, not deleting it/,
        );
        const aside = await exec(docker, name, [
            "sh",
            "-c",
            "stat -c '%a %u' /data/appendonlydir.incomplete-*; cat /data/appendonlydir.incomplete-*/appendonly.aof.1.base.rdb",
        ]);
        expect(aside.stdout).toBe("700 999\npartial\n");
    });

    it("starts empty on an empty volume, and keeps what is written from then on", async () => {
        const runId = await newRun();
        const fleet = await startLiveFleet({ name: runId, environments: ["user"] });
        fleets.push(fleet);
        expect(await vaultKeys(fleet)).toBe(0);
        expect(await logsOf(docker, fleet.containerName("user", "vault"))).toContain("/data holds no data: starting empty");
        await fleet.cli("user", "vault", ["SET", "first", "write"]);
        await fleet.container("user", "vault").restart({ t: 60 });
        expect(await vaultKeys(fleet)).toBe(1);
    });

    it("refuses to start on an empty folder when the stack declared existing data there, and says why", async () => {
        const runId = await newRun();
        const volume = await createRunVolume(docker, runId, `${runId}-empty-data`);
        const fleet = await vaultOn(runId, volume);
        const name = fleet.containerName("user", "vault");
        const log = await waitFor("the refusal", async () => {
            const text = await logsOf(docker, name);
            return text.includes("REFUSING TO START") ? text : undefined;
        });
        expect(log).toContain(`/data holds no data, but this vault was declared on existing data (${volume})`);
        expect(log).not.toContain("Ready to accept connections");
        expect(await inVolume(runId, volume, "ls -A /data")).toBe("");
    });

    it("refuses an RDB written by a newer Redis, changing nothing", async () => {
        const runId = await newRun();
        const before = await preparedVolume(runId, [], async (_name, port) => {
            const client = handBuiltClient(port, FIXTURE_PASSWORD);
            await fillDataset(client, 1_000);
            client.disconnect();
        });
        // redis-ver is the first field of the RDB: "REDIS0010", 0xFA, 9, "redis-ver", 6, "7.0.15".
        const sum = await inVolume(
            runId,
            before.volume,
            "printf 9.9.99 | dd of=/data/dump.rdb bs=1 seek=21 conv=notrunc 2>/dev/null && sha256sum /data/dump.rdb",
        );
        const fleet = await vaultOn(runId, before.volume);
        const log = await waitFor("the refusal", async () => {
            const text = await logsOf(docker, fleet.containerName("user", "vault"));
            return text.includes("REFUSING TO START") ? text : undefined;
        });
        expect(log).toContain(
            "dump.rdb was written by Redis 9.9.99, and this image runs Redis 7.0.15: set the stack's image to Redis 9.9.99 or newer",
        );
        expect(log).not.toContain("Ready to accept connections");
        await fleet.container("user", "vault").stop({ t: 5 });
        expect(await inVolume(runId, before.volume, "sha256sum /data/dump.rdb; ls /data")).toBe(`${sum}\ndump.rdb`);
    });

    it("loses nothing when killed with kill -9 while the conversion writes the AOF, acknowledged writes included", async () => {
        const runId = await newRun();
        // Large enough that the conversion takes a moment to catch.
        const before = await preparedVolume(runId, [], async (name) => {
            await cliIn(docker, name, ["DEBUG", "POPULATE", "1500000", "big", "64"], FIXTURE_PASSWORD);
        });
        const fleet = await vaultOn(runId, before.volume);
        const name = fleet.containerName("user", "vault");

        // A writer that keeps trying from the start: every write the vault acknowledges is recorded.
        const acked: string[] = [];
        let writing = true;
        const writer = (async () => {
            const port = fleet.outputs.user.vault.port;
            for (let i = 0; writing; i++) {
                const client = handBuiltClient(port, fleet.outputs.user.vault.password);
                try {
                    await client.connect();
                    if ((await client.set(`acked:${i}`, String(i))) === "OK") acked.push(`acked:${i}`);
                } catch {
                    // Refused while converting or restarting: not acknowledged, so not expected.
                } finally {
                    client.disconnect();
                }
                await new Promise((r) => setTimeout(r, 20));
            }
        })();

        // Kill the container's processes from the host, as a crash would, while the AOF is being
        // written: its folder exists, its manifest does not yet. The conversion's socket is then
        // in its private folder under /data, the redis user's alone.
        const during = await waitFor(
            "the conversion's rewrite",
            async () => {
                const probe = await exec(docker, name, [
                    "sh",
                    "-c",
                    "[ -d /data/appendonlydir ] && [ ! -f /data/appendonlydir/appendonly.aof.manifest ] && stat -c '%a %u %F' /data/.nexus-redis-convert /data/.nexus-redis-convert/redis.sock",
                ]);
                return probe.exitCode === 0 ? probe.stdout : undefined;
            },
            60_000,
            10,
        );
        expect(during).toBe("700 999 directory\n700 999 socket\n");
        const ackedDuringConversion = acked.length;
        const { State } = await fleet.container("user", "vault").inspect();
        process.kill(State.Pid, "SIGKILL");

        // The restart policy starts it again; it must finish (or redo) the conversion.
        expect(await vaultKeys(fleet, "user", 120_000)).toBeGreaterThanOrEqual(1_500_000);
        await waitFor(
            "acknowledged writes after the restart",
            async () => (acked.length >= ackedDuringConversion + 20 ? true : undefined),
            60_000,
        );
        writing = false;
        await writer;
        expect(ackedDuringConversion).toBe(0); // no client could write before the AOF held the data

        const log = await logsOf(docker, name);
        // The folder the kill left without a manifest is moved aside, and the conversion redone.
        expect(log).toMatch(
            /appendonlydir has no manifest \(a conversion or rewrite cut short\): moving it aside to appendonlydir\.incomplete-/,
        );
        expect(log.match(/converting with no client port/g)).toHaveLength(2);
        // The socket's folder, which the kill left, is gone.
        expect((await exec(docker, name, ["ls", "-A", "/data"])).stdout).not.toContain(".nexus-redis-convert");

        // A graceful restart, then every original key and every acknowledged write is there.
        await fleet.container("user", "vault").restart({ t: 60 });
        expect(await vaultKeys(fleet, "user", 120_000)).toBe(1_500_000 + acked.length);
        expect(await missingKeys(fleet.client("user", "vault", "password"), acked)).toEqual([]);
    });
});
