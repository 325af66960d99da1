/**
 * Never two Redis processes on one data folder (components/start-redis.sh): a second
 * container of a vault on the same volume, made the way an operator re-creating it by hand
 * would make it (the same image, command, files and data), waits while the first runs, and
 * takes over only when the first has gone, with every write the first acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../harness/cleanup";
import { type Docker, connectDocker, exec } from "../../harness/docker";
import { type LiveFleet, dockerAvailable, waitFor } from "../../harness/fleet";
import { cliIn, logsOf } from "../../harness/handBuilt";
import { logShows, newRun, openPaths, plannedFleet, processes, vaultKeys, vaultTwin } from "../../harness/vaultStart";

const WAITING = "another Redis has /data (a second container or task of this vault on the same volume, or one still stopping)";
const fleets: LiveFleet[] = [];
let docker: Docker;

async function userVault(): Promise<LiveFleet> {
    const fleet = await plannedFleet(await newRun());
    fleets.push(fleet);
    expect(await vaultKeys(fleet)).toBe(0);
    return fleet;
}

/**
 * Writes `acked:N` keys to the vault until stopped; `acked` holds every key the vault answered
 * OK to, `unanswered` those whose SET failed (refused, or cut off as the vault stopped: such a
 * write may have been applied all the same, its reply lost with the connection).
 */
function writer(fleet: LiveFleet) {
    const acked: string[] = [];
    const unanswered = new Set<string>();
    let writing = true;
    const client = fleet.client("user", "vault", "password", { retryStrategy: () => null });
    const done = (async () => {
        for (let i = 0; writing; i++) {
            try {
                if ((await client.set(`acked:${i}`, String(i))) === "OK") acked.push(`acked:${i}`);
            } catch {
                // Refused or cut off as the vault stops: not acknowledged, so not owed.
                unanswered.add(`acked:${i}`);
                await sleep(50);
            }
            await sleep(5);
        }
    })();
    return {
        acked,
        unanswered,
        stop: async () => {
            writing = false;
            await done;
        },
    };
}

/** Every key of a container's vault matching `pattern`, read inside it (the vault's password through the environment). */
async function keysIn(name: string, password: string, pattern: string): Promise<Set<string>> {
    const result = await exec(docker, name, ["redis-cli", "--scan", "--pattern", pattern], { env: [`REDISCLI_AUTH=${password}`] });
    expect(result.exitCode).toBe(0);
    return new Set(result.stdout.split("\n").filter((k) => k !== ""));
}

/** The append-only folder's files with their inode numbers: a second Redis on it would add or replace files. */
async function aofFiles(name: string): Promise<string> {
    return (await exec(docker, name, ["sh", "-c", "cd /data/appendonlydir && ls -i | sort -k2"])).stdout;
}

describe.skipIf(!dockerAvailable())("two containers of one vault on one data folder", () => {
    beforeAll(async () => {
        docker = await connectDocker();
    });
    afterAll(async () => {
        for (const fleet of fleets) await fleet.destroy();
    });

    it("keeps the second waiting, saying why, while the first runs under writes, then starts it with every acknowledged write once the first has stopped", async () => {
        const fleet = await userVault();
        const first = fleet.containerName("user", "vault");
        // The running vault holds the lock on its folder: no one else can take it.
        expect((await exec(docker, first, ["flock", "-n", "/data", "true"])).exitCode).toBe(1);

        const writes = writer(fleet);
        await waitFor("acknowledged writes", async () => (writes.acked.length >= 50 ? true : undefined));
        const filesBefore = await aofFiles(first);
        const twin = await vaultTwin(fleet, "user", "twin");
        await docker.getContainer(twin).start();
        await logShows(docker, twin, WAITING);
        const ackedAtTwinStart = writes.acked.length;

        // Over half a minute of the first taking writes: the second runs no Redis and has
        // nothing under /data open but the folder itself (the lock it waits for).
        const until = Date.now() + 32_000;
        while (Date.now() < until) {
            expect((await processes(docker, twin)).filter((p) => p.includes("redis-server"))).toEqual([]);
            const underData = (await openPaths(docker, twin)).filter((p) => p.startsWith("/data"));
            expect(underData.filter((p) => p !== "/data")).toEqual([]);
            await sleep(1000);
        }
        const waitingLog = await logsOf(docker, twin);
        expect(waitingLog.split(WAITING)).toHaveLength(2); // said once...
        expect(waitingLog).toMatch(/still waiting for the other Redis to leave \/data \(3\ds\)/); // ...and again after 30 s
        expect(waitingLog).not.toMatch(/Redis version=|starting on the append-only file/);
        expect(await aofFiles(first)).toBe(filesBefore);
        expect(writes.acked.length).toBeGreaterThan(ackedAtTwinStart + 100);

        // The first stops as `docker stop` stops it; its last writes are acknowledged before.
        await fleet.container("user", "vault").stop({ t: 60 });
        await writes.stop();
        const log = await logShows(docker, twin, "Ready to accept connections", 60_000);
        expect(log).toContain("the other Redis has left /data: starting");
        expect(log).toContain("starting on the append-only file in /data/appendonlydir");
        const password = fleet.outputs.user.vault.password;
        const keys = await keysIn(twin, password, "acked:*");
        expect(writes.acked.filter((k) => !keys.has(k))).toEqual([]);
        // Nothing else: any key beyond the acknowledged ones is a write whose reply was lost.
        expect([...keys].filter((k) => !writes.acked.includes(k) && !writes.unanswered.has(k))).toEqual([]);
        expect(await cliIn(docker, twin, ["CONFIG", "GET", "appendonly"], password)).toBe("appendonly\nyes");
    });

    it("ends a waiting container at once when it is stopped, and lets the next one start when the first is killed with SIGKILL", async () => {
        const fleet = await userVault();
        const password = fleet.outputs.user.vault.password;
        await fleet.cli("user", "vault", ["SET", "before-the-kill", "kept"]);
        const twin = await vaultTwin(fleet, "user", "twin");
        const handle = docker.getContainer(twin);

        // A stop while it waits: SIGTERM ends it (143), well before the 60 s after which the
        // engine would kill it (137); it read and wrote nothing.
        await handle.start();
        await logShows(docker, twin, WAITING);
        await handle.stop({ t: 60 });
        expect((await handle.inspect()).State.ExitCode).toBe(143);
        expect(await logsOf(docker, twin)).toContain("stopped while waiting for /data; nothing in it was read or written");

        // Waiting again; the first is killed outright (no graceful stop, no restart: `docker
        // kill`): the kernel drops its lock, and the second starts with its data.
        await handle.start();
        await waitFor("the second waiting again", async () =>
            (await logsOf(docker, twin)).split(WAITING).length === 3 ? true : undefined,
        );
        await fleet.container("user", "vault").kill({ signal: "SIGKILL" });
        await logShows(docker, twin, "Ready to accept connections", 60_000);
        expect(await cliIn(docker, twin, ["GET", "before-the-kill"], password)).toBe("kept");
        expect((await processes(docker, twin)).filter((p) => p.startsWith("redis-server"))).toHaveLength(1);
        // Redis as PID 1 holds the lock for the rest of its life.
        expect((await exec(docker, twin, ["flock", "-n", "/data", "true"])).exitCode).toBe(1);
    });
});
