/**
 * partial-resync: an operational cut off its network for a while, under a steady write load
 * on its vault. Did it resume with a partial resync (only the bytes it missed, from the
 * vault's backlog) or fall back to a full one (the whole dataset again), and how many bytes
 * did that take against a full sync of the same dataset?
 *
 * Both figures are the same counter, measured the same way: the bytes the vault sent to
 * replicas (`total_net_repl_output_bytes`, INFO stats), which counts a partial resync's
 * backlog, the writes streamed after it and a full sync's RDB alike.
 * - Value: from just before the cut until the operational has caught up (the steady writes
 *   go on meanwhile, and are in it: they are what it had to catch up on).
 * - Baseline: a full sync of the same dataset, right after: `redis-cli --rdb` inside the vault's
 *   container is a replica asking for one (it counts in the vault's sync stats, so those are read first).
 */
import { performance } from "node:perf_hooks";
import { exec } from "../harness/docker";
import type { LiveFleet } from "../harness/fleet";
import { info } from "../harness/resp";
import { type BenchResult, result } from "./results";
import { type BenchRun, sleep, until } from "./resources";

const ENV = "track";

async function offsets(fleet: LiveFleet): Promise<{ vault: number; operational: number; link: string }> {
    const out = fleet.outputs[ENV];
    const [vault, operational] = await Promise.all([
        info(out.vault.port, "replication", { password: out.vault.password }),
        info(out.operational!.port, "replication"),
    ]);
    return {
        vault: Number(vault.master_repl_offset),
        operational: Number(operational.slave_repl_offset),
        link: operational.master_link_status,
    };
}

async function inSync(fleet: LiveFleet, timeoutMs: number): Promise<void> {
    await until(
        `${ENV} operational caught up`,
        async () => {
            const o = await offsets(fleet);
            return o.link === "up" && o.operational === o.vault ? true : undefined;
        },
        { timeoutMs, intervalMs: 20 },
    );
}

async function stats(fleet: LiveFleet): Promise<{ full: number; partialOk: number; partialErr: number; replBytes: number }> {
    const s = await info(fleet.outputs[ENV].vault.port, "stats", { password: fleet.outputs[ENV].vault.password });
    const replBytes = Number(s.total_net_repl_output_bytes);
    if (!Number.isFinite(replBytes))
        throw new Error("the vault's INFO stats has no total_net_repl_output_bytes (Redis 7.0 or later has it)");
    return { full: Number(s.sync_full), partialOk: Number(s.sync_partial_ok), partialErr: Number(s.sync_partial_err), replBytes };
}

export interface PartialResyncOptions {
    keys: number;
    cutSeconds: number;
}

export async function benchPartialResync(run: BenchRun, fleet: LiveFleet, options: PartialResyncOptions): Promise<BenchResult[]> {
    const vault = fleet.client(ENV, "vault", "password");
    run.log(`partial-resync: ${options.keys} keys in ${ENV}, then a ${options.cutSeconds} s network cut of its operational under writes`);
    for (let start = 0; start < options.keys; start += 1_000) {
        const args: string[] = [];
        for (let i = start; i < Math.min(start + 1_000, options.keys); i++) args.push(`key:${i}`, `value-${i}-${"x".repeat(32)}`);
        await vault.mset(...args);
    }
    await inSync(fleet, 60_000);

    const network = fleet.plan.resources.find((r) => r.type === "docker:index/network:Network")!.inputs.name as string;
    const operational = fleet.containerName(ENV, "operational");
    const before = await stats(fleet);

    // The steady load: one small SET every 2 ms, for the whole cut and until the link is back.
    let writing = true;
    let writes = 0;
    const writer = (async () => {
        while (writing) {
            await vault.set(`during-cut:${writes}`, `${Date.now()}-${"y".repeat(24)}`);
            writes++;
            await sleep(2);
        }
    })();

    let resumedMs: number;
    try {
        await fleet.docker.getNetwork(network).disconnect({ Container: operational, Force: true });
        await sleep(options.cutSeconds * 1_000);
        await fleet.docker.getNetwork(network).connect({ Container: operational });
        const reconnected = performance.now();
        await until(`${ENV} link up after the cut`, async () => ((await offsets(fleet)).link === "up" ? true : undefined), {
            timeoutMs: 120_000,
            intervalMs: 10,
        });
        resumedMs = performance.now() - reconnected;
    } finally {
        writing = false;
        await writer;
    }
    await inSync(fleet, 60_000);
    const [vaultDigest, operationalDigest] = await Promise.all([fleet.digest(ENV, "vault"), fleet.digest(ENV, "operational")]);
    if (vaultDigest !== operationalDigest) throw new Error(`${ENV}: the operational's DEBUG DIGEST differs from the vault's after the cut`);
    const after = await stats(fleet);
    const bytesSent = after.replBytes - before.replBytes;

    const rdb = await exec(fleet.docker, fleet.containerName(ENV, "vault"), ["redis-cli", "--rdb", "/tmp/bench-full-sync.rdb"], {
        env: [`REDISCLI_AUTH=${fleet.outputs[ENV].vault.password}`],
    });
    const rdbBytes = Number(/after (\d+) bytes/.exec(rdb.output)?.[1] ?? NaN);
    if (rdb.exitCode !== 0 || !Number.isFinite(rdbBytes)) throw new Error(`redis-cli --rdb in the vault: ${rdb.output.trim()}`);
    const fullSyncBytes = (await stats(fleet)).replBytes - after.replBytes;

    const partial = after.partialOk - before.partialOk;
    const full = after.full - before.full;
    const kind =
        full > 0
            ? `FULL SYNC (sync_full +${full}, sync_partial_ok +${partial}, sync_partial_err +${after.partialErr - before.partialErr})`
            : partial > 0
              ? `partial resync (sync_partial_ok +${partial}, sync_full +0)`
              : "no resync at all (the link survived the cut)";
    const resumedPartially = partial > 0 && full === 0;
    return [
        result({
            name: "partial-resync",
            value: bytesSent,
            unit: "bytes",
            baseline: fullSyncBytes,
            note:
                `${ENV}'s operational disconnected from the fleet's network for ${options.cutSeconds} s while ${writes} SETs went to its vault (${options.keys} keys before); ` +
                `it resumed with a ${kind}, link up ${(resumedMs / 1000).toFixed(2)} s after the network came back, digests equal afterwards; ` +
                `value: bytes the vault sent its replicas (total_net_repl_output_bytes) from the cut until caught up, the writes of the cut included; ` +
                `baseline: the same counter over a full sync of the same dataset right after (redis-cli --rdb in the vault's container, an RDB of ${rdbBytes} bytes); ` +
                `target: resumes with a partial resync: ${resumedPartially ? "met" : "MISSED"}`,
        }),
    ];
}
