/**
 * backup and restore, as an operator runs them (`node bin/nexus-redis.js backup|restore`, a
 * process of its own beside the benchmark's writers), on the `user` vault of the benchmark
 * fleet filled with DEBUG POPULATE (a secure vault: no operational, so a restore's time is
 * the vault's alone).
 *
 * - backup-N: the snapshot as `nexus-redis backup` takes it (redis-cli --rdb as the backup
 *   user, fsync, sha256; its own `snapshotMs`) against a bare `redis-cli --rdb` of the same
 *   vault, the limit. backup-N-verified: the whole backup of the environment (snapshot, load
 *   in a scratch server, manifest; its `durationMs`) against the same baseline.
 * - backup-N-p99: the 99th percentile latency of a steady writer (a SET every 5 ms on one
 *   connection) while the backup runs, against the same writer for as long without a backup.
 * - restore-N: how long in all a writer trying a SET every 10 ms (a fresh connection each,
 *   500 ms bound) sees no write succeed while `nexus-redis restore` runs on the flushed vault
 *   (the stop, the swap, the conversion to AOF, and the verification's DEBUG DIGEST, which
 *   blocks the server), against `docker restart` of the vault holding the same data.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { LiveFleet } from "../harness/fleet";
import { type BenchResult, median, result, round, samplesText } from "./results";
import { type BenchRun, ROOT, sleep } from "./resources";
import { type VaultEndpoint, probingWriter, writable } from "./writer";

export const BACKUP_BENCH_ENV = "user";

export interface SizeOptions {
    /** backup-1m, restore-100k... */
    name: string;
    keys: number;
    repetitions: number;
}

interface ChildRun {
    code: number;
    ms: number;
    document: any;
    stderr: string;
}

/** The CLI as its own process, its stdout parsed as the one JSON document it prints. */
function runCli(args: string[]): Promise<ChildRun> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, [path.join(ROOT, "bin/nexus-redis.js"), ...args], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
        child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
        child.on("error", reject);
        child.on("close", (code) => {
            const ms = performance.now() - started;
            try {
                resolve({ code: code ?? 1, ms, document: JSON.parse(stdout), stderr });
            } catch {
                reject(new Error(`nexus-redis ${args[0]} exited ${code} without its JSON: ${stderr.trim().split("\n").pop()}`));
            }
        });
    });
}

/**
 * The last verified backup benchBackup took, for benchRestore to restore (one backup fewer in
 * the run). Its folder is removed when restore is done with it, or when the process exits.
 */
let lastBackup: { keys: number; file: string; folder: string } | undefined;
process.once("exit", () => {
    if (lastBackup) rmSync(lastBackup.folder, { recursive: true, force: true });
});

/** `nexus-redis backup` of the `user` vault into the workspace's backups/, as its own process. */
function backupUserVault(work: { dir: string; outputs: string }): Promise<ChildRun> {
    return runCli(["backup", "--env", BACKUP_BENCH_ENV, "--to", path.join(work.dir, "backups"), "--json", "--outputs", work.outputs]);
}

/** Throws with backup's own error unless the run succeeded. */
function expectBackedUp(backup: ChildRun): void {
    if (backup.code !== 0) throw new Error(`nexus-redis backup exited ${backup.code}: ${JSON.stringify(backup.document.backups[0].error)}`);
}

/** A private folder with the fleet's outputs (passwords: 0600), for the CLI's --outputs; removed by `done`. */
function workspace(fleet: LiveFleet): { dir: string; outputs: string; done(): void } {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-bench-backup-"));
    const outputs = path.join(dir, "outputs.json");
    writeFileSync(outputs, JSON.stringify({ environments: fleet.outputs }), { mode: 0o600 });
    chmodSync(outputs, 0o600);
    return { dir, outputs, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function populate(run: BenchRun, fleet: LiveFleet, keys: number): Promise<void> {
    run.log(`DEBUG POPULATE ${keys} in ${BACKUP_BENCH_ENV}'s vault`);
    await fleet.cli(BACKUP_BENCH_ENV, "vault", ["FLUSHALL"]);
    await fleet.cli(BACKUP_BENCH_ENV, "vault", ["DEBUG", "POPULATE", String(keys), "key", "40"]);
}

/** A bare `redis-cli --rdb` of the vault as its backup user: the limit of any snapshot over the network. */
function redisCliRdb(fleet: LiveFleet, file: string): Promise<number> {
    const out = fleet.outputs[BACKUP_BENCH_ENV];
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn("redis-cli", ["-h", out.vault.host, "-p", String(out.vault.port), "--user", out.backup.user, "--rdb", file], {
            env: { ...process.env, REDISCLI_AUTH: out.backup.password },
            stdio: "ignore",
        });
        child.on("error", reject);
        child.on("close", (code) =>
            code === 0 ? resolve(performance.now() - started) : reject(new Error(`redis-cli --rdb exited ${code}`)),
        );
    });
}

/** A steady writer: one SET every `periodMs` on one connection, each latency recorded, until stopped. */
function steadyWriter(fleet: LiveFleet, periodMs = 5): { stop(): Promise<number[]> } {
    const client = fleet.client(BACKUP_BENCH_ENV, "vault", "password");
    const latencies: number[] = [];
    let running = true;
    const loop = (async () => {
        let next = performance.now();
        for (let i = 0; running; i++) {
            const started = performance.now();
            await client.set(`writer:${i % 1000}`, String(i));
            latencies.push(performance.now() - started);
            next += periodMs;
            await sleep(Math.max(0, next - performance.now()));
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            client.disconnect();
            return latencies;
        },
    };
}

/** Moves the backup out of the workspace (removed with it) into a folder of its own for benchRestore. */
function keepForRestore(keys: number, file: string, folder: string): void {
    if (lastBackup) rmSync(lastBackup.folder, { recursive: true, force: true });
    const kept = mkdtempSync(path.join(tmpdir(), "nexus-redis-bench-kept-"));
    const moved = path.join(kept, "backups");
    renameSync(folder, moved);
    lastBackup = { keys, file: path.join(moved, path.relative(folder, file)), folder: kept };
}

function percentile(values: number[], p: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function benchBackup(run: BenchRun, fleet: LiveFleet, size: SizeOptions): Promise<BenchResult[]> {
    await populate(run, fleet, size.keys);
    const work = workspace(fleet);
    try {
        const bare: number[] = [];
        const snapshot: number[] = [];
        const whole: number[] = [];
        const p99Quiet: number[] = [];
        const p99Backup: number[] = [];
        let bytes = 0;
        let writes = 0;
        for (let i = 1; i <= size.repetitions; i++) {
            bare.push(await redisCliRdb(fleet, path.join(work.dir, `bare-${i}.rdb`)));
            rmSync(path.join(work.dir, `bare-${i}.rdb`), { force: true });

            const writer = steadyWriter(fleet);
            const backup = await backupUserVault(work);
            const during = await writer.stop();
            expectBackedUp(backup);
            const measured = backup.document.measurements[BACKUP_BENCH_ENV];
            snapshot.push(measured.snapshotMs);
            whole.push(measured.durationMs);
            bytes = backup.document.backups[0].snapshot.bytes;
            if (i < size.repetitions) rmSync(path.join(work.dir, "backups"), { recursive: true, force: true });
            else keepForRestore(size.keys, backup.document.backups[0].snapshot.file, path.join(work.dir, "backups"));

            // The same writer for as long, without a backup.
            const quiet = steadyWriter(fleet);
            await sleep(backup.ms);
            const without = await quiet.stop();
            p99Backup.push(percentile(during, 99));
            p99Quiet.push(percentile(without, 99));
            writes = during.length;
            run.log(
                `${size.name} (${i}/${size.repetitions}): redis-cli --rdb ${Math.round(bare[i - 1])} ms; backup's snapshot ${snapshot[i - 1]} ms, ` +
                    `whole backup ${whole[i - 1]} ms; writer p99 ${p99Backup[i - 1].toFixed(2)} ms during, ${p99Quiet[i - 1].toFixed(2)} ms without`,
            );
        }
        const data = `${size.keys} keys (DEBUG POPULATE, a ${(bytes / 1024 / 1024).toFixed(1)} MiB RDB) in ${BACKUP_BENCH_ENV}'s vault`;
        return [
            result({
                name: size.name,
                value: Math.round(median(snapshot)),
                unit: "ms",
                baseline: Math.round(median(bare)),
                note:
                    `${data}: the snapshot as nexus-redis backup takes it (redis-cli --rdb as the backup user into a private temporary file, fsync, sha256), ` +
                    `${samplesText(snapshot)} ms; baseline: a bare redis-cli --rdb of the same vault as the same user, the limit, ${samplesText(bare)} ms`,
            }),
            result({
                name: `${size.name}-verified`,
                value: Math.round(median(whole)),
                unit: "ms",
                baseline: Math.round(median(bare)),
                note:
                    `${data}: the whole backup of the environment (snapshot, then loaded into a scratch redis-server of the vault's image for its keys in every database and DEBUG DIGEST, ` +
                    `manifest written, both renamed into place), ${samplesText(whole)} ms; baseline: the bare redis-cli --rdb above`,
            }),
            result({
                name: `${size.name}-p99`,
                value: round(median(p99Backup), 2),
                unit: "ms",
                baseline: round(median(p99Quiet), 2),
                note:
                    `${data}: 99th percentile latency of a steady writer (one SET every 5 ms on one connection, about ${writes} writes a run) while ` +
                    `nexus-redis backup ran as its own process (fork for the snapshot, the scratch load on the same 2 cores), ${samplesText(p99Backup, 2)} ms; ` +
                    `baseline: the same writer for as long without a backup, ${samplesText(p99Quiet, 2)} ms`,
            }),
        ];
    } finally {
        work.done();
    }
}

/** The `user` vault as the benchmark's writers reach it. */
function userVault(fleet: LiveFleet): VaultEndpoint {
    return { port: fleet.outputs[BACKUP_BENCH_ENV].vault.port, password: () => fleet.outputs[BACKUP_BENCH_ENV].vault.password };
}

export async function benchRestore(run: BenchRun, fleet: LiveFleet, size: SizeOptions): Promise<BenchResult[]> {
    const work = workspace(fleet);
    try {
        let file: string;
        if (lastBackup?.keys === size.keys) {
            run.log(`${size.name}: restoring the backup the backup benchmark took`);
            file = lastBackup.file;
        } else {
            await populate(run, fleet, size.keys);
            const backup = await backupUserVault(work);
            expectBackedUp(backup);
            file = backup.document.backups[0].snapshot.file as string;
        }
        const gaps: number[] = [];
        const longest: number[] = [];
        const refused: number[] = [];
        const verifyPause: number[] = [];
        const restarts: number[] = [];
        for (let i = 1; i <= size.repetitions; i++) {
            // The restore's case: the vault flushed by mistake, the snapshot put back. --force: the probing
            // writer's key makes the flushed vault hold data the snapshot lacks, which restore rightly refuses.
            await fleet.cli(BACKUP_BENCH_ENV, "vault", ["FLUSHALL"]);
            let writer = probingWriter(userVault(fleet));
            await sleep(100);
            const restored = await runCli(["restore", BACKUP_BENCH_ENV, "--from", file, "--force", "--json", "--outputs", work.outputs]);
            await writable(userVault(fleet), `${BACKUP_BENCH_ENV}'s vault`);
            await sleep(100);
            const outage = await writer.stop();
            gaps.push(outage.totalMs);
            longest.push(outage.longestMs);
            if (restored.code !== 0) throw new Error(`nexus-redis restore exited ${restored.code}: ${restored.document.error}`);
            refused.push(restored.document.measurements.writesRefusedMs);
            verifyPause.push(restored.document.measurements.verifyPauseMs);

            // The baseline: the same container restarted, on the same data.
            writer = probingWriter(userVault(fleet));
            await sleep(100);
            await fleet.container(BACKUP_BENCH_ENV, "vault").restart({ t: 60 });
            await writable(userVault(fleet), `${BACKUP_BENCH_ENV}'s vault`);
            await sleep(100);
            restarts.push((await writer.stop()).totalMs);
            run.log(
                `${size.name} (${i}/${size.repetitions}): writes failed for ${Math.round(gaps[i - 1])} ms in all (longest ${Math.round(longest[i - 1])} ms) during the restore ` +
                    `(its own count: refused ${refused[i - 1]} ms, then paused ${verifyPause[i - 1]} ms for DEBUG DIGEST), ${Math.round(restarts[i - 1])} ms during docker restart`,
            );
        }
        return [
            result({
                name: size.name,
                value: Math.round(median(gaps)),
                unit: "ms",
                baseline: Math.round(median(restarts)),
                note:
                    `${size.keys} keys (DEBUG POPULATE) in ${BACKUP_BENCH_ENV}'s vault, flushed, then nexus-redis restore --force from its backup: how long in all a writer ` +
                    `(a SET every 10 ms, fresh connection, 500 ms bound) saw no write succeed, ${samplesText(gaps)} ms (the longest stretch ${samplesText(longest)} ms: ` +
                    `a write can get through between the vault answering and the verification's pause); restore's own figures: writes refused ` +
                    `(pause, stop, swap, conversion to AOF, start) ${samplesText(refused)} ms, then paused while DEBUG DIGEST ran on the vault ${samplesText(verifyPause)} ms; ` +
                    `baseline: docker restart of the same vault on the same data (RDB save and AOF fsync at shutdown, AOF load), ${samplesText(restarts)} ms`,
            }),
        ];
    } finally {
        work.done();
        if (lastBackup) rmSync(lastBackup.folder, { recursive: true, force: true });
        lastBackup = undefined;
    }
}
