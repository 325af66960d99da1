/**
 * A vault on a volume that fills up (a 32 MB ext4 volume on a loop device, as the vault's
 * host-folder data): every state in which it refuses writes or cannot save is reported by
 * `nexus-redis check` (which only reads), and a graceful stop of a vault whose volume is full
 * ends by itself. The program's own vault container, on the official-like test image.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { containerLog } from "../../cli/docker/client";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { connectOutcome } from "../../harness/ports";
import { SmallVolume, smallVolumesAvailable } from "../../harness/smallVolume";
import { cli } from "../unit/cliRun";

const live = dockerAvailable() && disksAvailable();
const RUN = `nrt${randomBytes(4).toString("hex")}`;
const KEYS = 3000;

let fleet: LiveFleet;
let volume: SmallVolume;
let vault: Redis;

function disksAvailable(): boolean {
    if (smallVolumesAvailable()) return true;
    const why = "not root, or no truncate, mkfs.ext4, losetup, mount or findmnt (Debian's coreutils, e2fsprogs, mount, util-linux)";
    if (process.env.CI === "true") throw new Error(`the full-disk tests cannot run under CI: ${why}`);
    process.stderr.write(`\n*** SKIPPING THE FULL-DISK TESTS: ${why} ***\n\n`);
    return false;
}

/** `nexus-redis check` of contact, in-process, outputs on stdin: the exit code and the JSON document, or the table. */
async function check(json = true): Promise<{ code: number; document: any; table: string }> {
    const run = await cli(["check", ...(json ? ["--json"] : []), "--outputs", "-", "--env", "contact", "--timeout", "2000"], {
        stdin: JSON.stringify({ environments: fleet.outputs }),
    });
    return { code: run.code, document: json ? JSON.parse(run.stdout) : undefined, table: run.stdout };
}

/** check --wait: until contact is healthy (the operational in sync again), or fails. */
async function waitHealthy(): Promise<void> {
    const run = await cli(["check", "--outputs", "-", "--env", "contact", "--wait", "60000"], {
        stdin: JSON.stringify({ environments: fleet.outputs }),
    });
    expect(run.code, run.stdout).toBe(0);
}

const problemsOf = (document: any) => document.environments[0].problems as { code: string; message: string }[];
const codesOf = (document: any) => problemsOf(document).map((p) => p.code);

async function persistence(): Promise<Record<string, string>> {
    return parseInfo(await vault.info("persistence"));
}

/** Changes the vault has taken since it started (Redis's dirty counter): a check that wrote would move it. */
async function changes(): Promise<string> {
    return (await persistence()).rdb_changes_since_last_save;
}

/** Waits until the vault's published port accepts connections again. */
function waitForPort(): Promise<true> {
    const { host, port } = fleet.outputs.contact.vault;
    return waitFor("the vault's port to open", async () => ((await connectOutcome(host, port)) === "open" ? true : undefined), 60_000);
}

beforeAll(async () => {
    if (!live) return;
    volume = SmallVolume.create(RUN, 32);
    // vaultData must hold data (the vault refuses an empty one): an empty RDB, which the start
    // script converts to the AOF. "REDIS0009", EOF, and a zero checksum (Redis skips checking it).
    fs.writeFileSync(`${volume.folder}/dump.rdb`, Buffer.concat([Buffer.from("REDIS0009"), Buffer.from([0xff]), Buffer.alloc(8)]));
    fleet = await startLiveFleet({
        name: RUN,
        environments: ["contact"],
        config: { vaultData: JSON.stringify({ contact: volume.folder }) },
    });
    vault = fleet.client("contact", "vault", "password");
    for (let at = 0; at < KEYS; at += 500) {
        const batch = vault.pipeline();
        for (let i = at; i < at + 500; i++) batch.set(`contact:${i}`, "v".repeat(1000));
        await batch.exec();
    }
    // Into the AOF's base file, so that every snapshot and reload handles megabytes.
    await vault.bgrewriteaof();
    await waitFor("the AOF rewrite", async () => ((await persistence()).aof_rewrite_in_progress === "0" ? true : undefined));
    await waitHealthy();
}, 180_000);

afterAll(async () => {
    await fleet?.destroy();
    volume?.destroy();
}, 120_000);

describe.skipIf(!live)("a vault on a volume that fills up", () => {
    it("takes no RDB snapshot of its own: save and stop-writes-on-bgsave-error read back as declared", async () => {
        expect(await vault.config("GET", "save")).toEqual(["save", ""]);
        expect(await vault.config("GET", "stop-writes-on-bgsave-error")).toEqual(["stop-writes-on-bgsave-error", "no"]);
        expect((await check()).code).toBe(0);
    });

    describe("after save points were set by hand, as Redis's defaults have them, and a snapshot failed", () => {
        /** What the vault started with, put back afterwards: the tests below run on it. */
        const started: Record<string, string> = {};

        beforeAll(async () => {
            if (!live) return;
            for (const setting of ["save", "stop-writes-on-bgsave-error"])
                started[setting] = ((await vault.config("GET", setting)) as string[])[1];
            await vault.config("SET", "save", "3600 1");
            await vault.config("SET", "stop-writes-on-bgsave-error", "yes");
            volume.fill();
            // SCHEDULE: an AOF rewrite Redis started by itself (auto-aof-rewrite-percentage) refuses
            // a plain BGSAVE ("Another child process is active"); scheduled, it runs once that ends.
            await vault.bgsave("SCHEDULE");
            await waitFor("the snapshot to fail", async () => ((await persistence()).rdb_last_bgsave_status === "err" ? true : undefined));
        });

        afterAll(async () => {
            if (!live) return;
            volume.free();
            await vault.bgsave("SCHEDULE");
            await waitFor("a snapshot to succeed", async () => ((await persistence()).rdb_last_bgsave_status === "ok" ? true : undefined));
            for (const [setting, value] of Object.entries(started)) await vault.config("SET", setting, value);
        });

        it("refuses every write (MISCONF), and check says so, exits 1, and writes nothing", async () => {
            await expect(vault.set("contact:refused", "1")).rejects.toThrow(/^MISCONF .*unable to persist to disk/);
            const before = await changes();
            const { code, document } = await check();
            expect(code).toBe(1);
            expect(codesOf(document)).toEqual(["snapshot-failing", "vault-drift", "vault-drift"]);
            expect(problemsOf(document)[0].message).toBe(
                `the vault's last RDB snapshot failed (rdb_last_bgsave_status:err; a full or failing disk?) while it has save points (save "3600 1"): it refuses every write (MISCONF, stop-writes-on-bgsave-error yes) until a snapshot succeeds, and a graceful stop cannot finish while they fail (Redis saves one more before it exits)`,
            );
            expect(
                problemsOf(document)
                    .slice(1)
                    .map((p) => p.message),
            ).toEqual(['vault setting save is "3600 1", declared ""', 'vault setting stop-writes-on-bgsave-error is "yes", declared "no"']);
            expect(await changes()).toBe(before);
            const { table } = await check(false);
            // The LAG column varies; columns are two spaces apart.
            expect(table).toMatch(/^contact\s+standard\s+PROBLEM\s+\S.*?\s{2}the vault's last RDB snapshot failed .*\(\+2 more\)$/m);
        });
    });

    describe("whose append-only file can no longer be written", () => {
        const last = "contact:acknowledged-last";

        beforeAll(async () => {
            if (!live) return;
            volume.fill();
            // Acknowledged before the vault finds out, when it writes it to its AOF, that the disk is full.
            await vault.set(last, "x".repeat(200_000)).catch(() => undefined);
            await waitFor("the AOF write to fail", async () => ((await persistence()).aof_last_write_status === "err" ? true : undefined));
        });

        it("refuses every write (MISCONF), and check says so, exits 1, and writes nothing", async () => {
            await expect(vault.set("contact:refused", "1")).rejects.toThrow(
                /^MISCONF Errors writing to the AOF file: No space left on device/,
            );
            const before = await changes();
            const { code, document } = await check();
            expect(code).toBe(1);
            expect(problemsOf(document)).toEqual([
                {
                    code: "persistence-failing",
                    message:
                        "the vault cannot write its append-only file (aof_last_write_status:err; a full or failing disk?): it refuses every write (MISCONF) until a write succeeds again (Redis retries every second)",
                },
            ]);
            expect(await changes()).toBe(before);
        });

        it("stops gracefully all the same, within its grace period: exit 0, not a kill", async () => {
            const container = fleet.container("contact", "vault");
            const logFrom = Math.floor(Date.now() / 1000) - 1;
            const started = Date.now();
            // No `t`: the container's own stop timeout (60 s), as `docker stop` and a Pulumi replacement use it.
            await container.stop();
            const seconds = (Date.now() - started) / 1000;
            const state = (await container.inspect()).State;
            const log = await containerLog(container, logFrom);
            expect(log).not.toMatch(/can't exit/);
            expect(log).toMatch(/ready to exit, bye bye/);
            // 137 would be the engine's SIGKILL at the end of the grace period.
            expect(state.ExitCode, `stopped after ${seconds.toFixed(1)} s:\n${log}`).toBe(0);
            process.stderr.write(`full-disk vault: graceful stop took ${seconds.toFixed(1)} s (grace period 60 s)\n`);
        });

        it("starts again once the volume has room, with every key but the write acknowledged as the disk filled (Redis's limit)", async () => {
            volume.free();
            await fleet.container("contact", "vault").start();
            await waitForPort();
            await waitHealthy();
            // A client of its own: the old one may have given up reconnecting while the vault was stopped.
            vault = fleet.client("contact", "vault", "password");
            expect(await vault.dbsize()).toBe(KEYS);
            // It was acknowledged, then its AOF write came short: with appendfsync everysec Redis
            // keeps it in memory only and retries, and a stop (or crash) before the disk has room loses it.
            expect(await vault.exists(last)).toBe(0);
        });
    });

    describe("while it loads its data", () => {
        let reload: Promise<string> | undefined;

        beforeAll(async () => {
            if (!live) return;
            // Redis's own test settings, at run time only: 3 ms a key, and clients served every 1 KB loaded.
            await vault.config("SET", "key-load-delay", "3000");
            await vault.config("SET", "loading-process-events-interval-bytes", "1024");
            reload = fleet.cli("contact", "vault", ["DEBUG", "LOADAOF"]);
            await waitFor("the vault to load", async () => ((await persistence()).loading === "1" ? true : undefined), 10_000, 20);
        });

        afterAll(async () => {
            if (!live) return;
            await reload;
            await vault.config("SET", "key-load-delay", "0");
            await vault.config("SET", "loading-process-events-interval-bytes", String(2 * 1024 * 1024));
        });

        it("is reported as loading (it refuses writes and reads meanwhile), not as an error, and check exits 1", async () => {
            await expect(vault.get("contact:1")).rejects.toThrow(/^LOADING/);
            const { code, document } = await check();
            expect((await persistence()).loading, "still loading after the check").toBe("1");
            expect(code).toBe(1);
            // The operational may or may not have noticed yet: the vault's own problems, exactly.
            expect(problemsOf(document).filter((p) => p.code.startsWith("vault") || p.code.includes("persistence"))).toEqual([
                {
                    code: "vault-loading",
                    message:
                        "the vault is loading its data into memory (loading:1): until it is done it refuses every write and read (LOADING)",
                },
            ]);
        });
    });

    describe("at its maxmemory under noeviction", () => {
        beforeAll(async () => {
            if (!live) return;
            // The operational lost its link while the vault loaded: healthy again first.
            await waitHealthy();
            await vault.config("SET", "maxmemory-policy", "noeviction");
            await vault.config("SET", "maxmemory", String(1024 * 1024));
        });

        afterAll(async () => {
            if (!live) return;
            await vault.config("SET", "maxmemory", "0");
        });

        it("refuses writes (OOM), and check says so and exits 1", async () => {
            await expect(vault.set("contact:refused", "1")).rejects.toThrow(/^OOM /);
            const { code, document } = await check();
            expect(code).toBe(1);
            expect(problemsOf(document)).toEqual([
                {
                    code: "vault-memory-full",
                    message:
                        "the vault holds as much as its maxmemory allows (maxmemory 1048576 bytes, noeviction): it refuses every write that needs memory (OOM) until keys are deleted or the limit is raised",
                },
            ]);
        });
    });

    it("is healthy again once nothing refuses writes", async () => {
        const { code, document } = await check();
        expect(problemsOf(document)).toEqual([]);
        expect(code).toBe(0);
    });
});
