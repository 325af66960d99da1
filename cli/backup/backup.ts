/**
 * `nexus-redis backup`: a verified, point-in-time snapshot of every vault, taken over the
 * network with the vault's backup user while it keeps taking writes.
 *
 * Per environment, all at once, each within its own `--timeout`:
 *   1. `redis-cli --rdb` as the backup user (`-@all +sync +replconf`; its password through
 *      REDISCLI_AUTH, never argv): Redis forks and streams a snapshot of that instant, as it
 *      does for a replica, into a temporary file (0600) next to its final name;
 *   2. fsync and sha256 of the file; the Redis version and replication id and offset from the
 *      RDB's own header (the backup user may not run INFO);
 *   3. verification: loaded into a scratch Redis server of the vault's own image, with no
 *      network, which reports its keys and DEBUG DIGEST. A file that does not load is deleted
 *      and reported, never kept;
 *   4. renamed to `{to}/{env}/{UTC stamp}.rdb`, then the manifest written beside it the same
 *      way (temporary file, fsync, rename, fsync of the folder);
 *   5. with --restic-repo, stored in restic (encrypted, deduplicated, off the host).
 * Then, with --keep-*, `restic forget --prune` once for the environments backed up.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { EnvironmentKind } from "../../components/protocol";
import {
    createPrivateFolder,
    diskFullMessage,
    fsyncPath,
    isDiskFull,
    readHead,
    removeAbandonedFiles,
    removeQuietly,
    sha256File,
    spaceOf,
    writeFileDurably,
} from "../snapshot/files";
import { MANIFEST_FORMAT, type SnapshotPaths, renderManifest, snapshotPaths, snapshotStamp } from "../snapshot/manifest";
import { parseRdbHeader, snapshotOrigin } from "../snapshot/rdb";
import { type BackupReport, type BackupResult, type RetentionResult, backupExitCode, renderBackupJson, renderBackupTable } from "./report";
import { type RetentionPolicy, hasRetention, lastLine, parseBackupSummary, resticBackupCommand, resticEnv } from "../snapshot/restic";
import { type VaultContainer, inspectVaultContainer, inspectVaultService, removeAbandonedScratch } from "../snapshot/vaultContainer";
import { type ScratchResult, SnapshotInvalidError, loadWithItsDatabases } from "../snapshot/verify";
import { type Docker, connectDockerFor } from "../docker/client";
import { UsageError } from "../core/errors";
import { DiskFull, Timeout, describeFailure, redisCliRanOutOfSpace, snapshotTimeout } from "./failures";
import { publishBackupMetrics } from "./metrics";
import { applyRetention } from "./retention";
import { describeDatabases } from "../redis/keyspace";
import type { CliIo } from "../core/io";
import { ownerTag } from "../core/owner";
import type { EnvironmentOutput, EnvironmentsOutput } from "../fleet/environment";
import { formatBytes, seconds } from "../core/format";
import type { CommandRunner } from "../core/runner";

export interface BackupOptions {
    environments: string[];
    to: string;
    json: boolean;
    timeoutMs: number;
    resticRepo?: string;
    retention: RetentionPolicy;
    /** --prometheus: the metrics file. */
    prometheus?: string;
    outputs?: string;
    stack?: string;
}

export async function backupWithRoute(
    environments: EnvironmentsOutput,
    options: BackupOptions & { json: boolean },
    io: CliIo,
    manager: (() => Promise<Docker>) | undefined,
): Promise<number> {
    const unknown = options.environments.filter((n) => !(n in environments));
    if (unknown.length > 0)
        throw new UsageError(
            `unknown environment${unknown.length === 1 ? "" : "s"} ${unknown.map((n) => `"${n}"`).join(", ")} in --env; the stack's are ${Object.keys(environments).join(", ")}`,
            "backup",
        );
    const names = Object.keys(environments).filter((n) => options.environments.length === 0 || options.environments.includes(n));

    const missing = await missingTools(io.run, options);
    if (missing) throw new UsageError(missing, "backup");
    const docker = manager
        ? await manager()
        : await connectDockerFor(
              "backup",
              "backup verifies each snapshot in a scratch container of the vault's image, on the fleet's engine (DOCKER_HOST, else /var/run/docker.sock)",
          );
    const log = (message: string) => {
        if (!options.json) io.stderr.write(`${message}\n`);
    };
    log(
        `backing up ${names.length} environment${names.length === 1 ? "" : "s"} to ${options.to}${options.resticRepo ? ` and restic ${options.resticRepo}` : ""}...`,
    );
    const report = await backupFleet(environments, names, options, { run: io.run, docker, env: io.env, log, now: () => new Date() });
    io.stdout.write(options.json ? renderBackupJson(report) : renderBackupTable(report));
    if (options.prometheus === undefined) return backupExitCode(report);
    return publishBackupMetrics(options.prometheus, report, Object.keys(environments), io, backupExitCode(report));
}

/** What this machine lacks to run the backup, in words; undefined when nothing. */
async function missingTools(run: CommandRunner, options: BackupOptions): Promise<string | undefined> {
    const tools: [string[], string][] = [
        [["redis-cli", "--version"], "redis-cli is not on PATH: install Redis's command line tools (Debian: redis-tools)"],
    ];
    if (options.resticRepo) tools.push([["restic", "version"], "restic is not on PATH: install it (Debian: restic) for --restic-repo"]);
    for (const [command, message] of tools) {
        try {
            const result = await run(command, { capture: true, timeoutMs: 10_000 });
            if (result.exitCode !== 0) return `\`${command.join(" ")}\` failed (exit ${result.exitCode}): ${lastLine(result.stderr)}`;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") return message;
            throw e;
        }
    }
    return undefined;
}

export interface BackupDeps {
    run: CommandRunner;
    docker: Docker;
    env: Readonly<Record<string, string | undefined>>;
    /** Progress, for people. */
    log(message: string): void;
    now(): Date;
}

/** Backs up `names` at once, then applies retention; never throws for one environment's failure. */
export async function backupFleet(
    environments: EnvironmentsOutput,
    names: string[],
    options: BackupOptions,
    deps: BackupDeps,
): Promise<BackupReport> {
    const backups = await Promise.all(names.map((name) => backupEnvironment(name, environments[name], options, deps)));
    let retention: RetentionResult | null = null;
    if (options.resticRepo && hasRetention(options.retention)) {
        retention = await applyRetention(options.resticRepo, names, options, deps, backups);
    }
    return { backups, retention };
}

/** One environment's backup under way: what each step reads, and what its failure path must know. */
interface BackupRun {
    name: string;
    env: EnvironmentOutput;
    options: BackupOptions;
    deps: BackupDeps;
    paths: SnapshotPaths;
    result: BackupResult;
    /** Milliseconds left of --timeout; throws Timeout when none are. */
    remaining(): number;
    /** What is being written, for the message of a full disk. */
    writing: string;
    snapshotBytes?: number;
    /** The final names this run made: removed again unless the whole backup is there. */
    placed: string[];
    kept: boolean;
}

/** What the snapshot file is, once taken: checked to be a whole file. */
interface Taken {
    endpoint: string;
    bytes: number;
    sha256: string;
    origin: ReturnType<typeof snapshotOrigin>;
}

/**
 * One environment's backup, in the steps of this file's header: taken, verified, placed under
 * its final names, stored in restic. The try/catch/finally stays here, around every step, so
 * one failure anywhere is reported and leaves nothing under a final name and no temporary.
 */
export async function backupEnvironment(
    name: string,
    env: EnvironmentOutput,
    options: BackupOptions,
    deps: BackupDeps,
): Promise<BackupResult> {
    const started = performance.now();
    const deadline = started + options.timeoutMs;
    const createdAt = deps.now();
    const r: BackupRun = {
        name,
        env,
        options,
        deps,
        paths: snapshotPaths(options.to, name, snapshotStamp(createdAt), ownerTag()),
        result: {
            environment: name,
            kind: env.kind as EnvironmentKind,
            status: "failed",
            snapshot: null,
            restic: null,
            error: null,
            measurements: { durationMs: 0, snapshotMs: null, verifyMs: null, resticMs: null },
        },
        remaining: () => {
            const left = Math.round(deadline - performance.now());
            if (left <= 0) throw new Timeout(`did not finish within ${options.timeoutMs} ms (--timeout)`);
            return left;
        },
        writing: "the snapshot",
        placed: [],
        kept: false,
    };
    const { paths, result } = r;
    try {
        createPrivateFolder(options.to, paths.folder);
        for (const file of removeAbandonedFiles(paths.folder))
            deps.log(`${name}: removed ${path.join(paths.folder, file)}, left by a backup that was killed before it finished`);
        // Created empty and private before redis-cli opens it: the snapshot is never readable by others, even half written.
        fs.closeSync(fs.openSync(paths.rdbTemp, "wx", 0o600));
        const taken = await takeSnapshot(r);
        const { vault, content } = await verifyInScratch(r);
        placeDurably(r, createdAt, taken, vault, content);
        if (options.resticRepo) await storeInRestic(r, options.resticRepo);
        result.status = "ok";
    } catch (e) {
        result.error = isDiskFull(e)
            ? `${diskFullMessage({ folder: paths.folder, writing: r.writing, space: spaceOf(paths.folder), snapshotBytes: r.snapshotBytes })} (${(e as Error).message})`
            : describeFailure(e);
        deps.log(`${name}: FAILED: ${result.error}`);
    } finally {
        if (!r.kept) {
            // Nothing under a final name unless the whole backup is there; no temporary left.
            for (const file of [...r.placed, paths.rdbTemp, paths.manifestTemp]) removeQuietly(file);
            if (r.placed.length > 0) fsyncQuietly(paths.folder);
        }
        result.measurements.durationMs = Math.round(performance.now() - started);
    }
    return result;
}

/** Step 1 and 2: the snapshot streamed into its temporary file, made durable, hashed, and its RDB header read. */
async function takeSnapshot(r: BackupRun): Promise<Taken> {
    const { name, env, deps, paths, result } = r;
    const snapshotStarted = performance.now();
    const endpoint = `${env.vault.host}:${env.vault.port}`;
    await redisCliRdb(r, endpoint);
    fsyncPath(paths.rdbTemp);
    const { bytes, sha256 } = await sha256File(paths.rdbTemp);
    r.snapshotBytes = bytes;
    result.measurements.snapshotMs = Math.round(performance.now() - snapshotStarted);
    if (bytes === 0) throw new SnapshotInvalidError("redis-cli wrote an empty file");
    const origin = snapshotOrigin(parseRdbHeader(readHead(paths.rdbTemp)));
    deps.log(`${name}: snapshot of ${formatBytes(bytes)} in ${seconds(result.measurements.snapshotMs)}; verifying`);
    return { endpoint, bytes, sha256, origin };
}

/** `redis-cli --rdb` into the temporary file; a full disk, a timeout and any other failure each told apart. */
async function redisCliRdb(r: BackupRun, endpoint: string): Promise<void> {
    const { env, options, deps, paths } = r;
    // On Swarm, a loopback port the probe carries to the vault's task (one connection: redis-cli's).
    const reached = env.vault.via ? await env.vault.via.open({ host: env.vault.host, port: env.vault.port }) : env.vault;
    const command = [
        "redis-cli",
        "-h",
        reached.host,
        "-p",
        String(reached.port),
        // Over TLS with the stack's CA (a file beside the snapshot, public); redis-cli checks the
        // chain, not the name (F1 of issue 23's spike), and --sni asks for the vault's name.
        ...(env.vault.tls ? ["--tls", "--cacert", paths.caFile, "--sni", env.vault.tls.serverName] : []),
        "--user",
        env.backup.user,
        "--rdb",
        paths.rdbTemp,
    ];
    if (env.vault.tls) fs.writeFileSync(paths.caFile, env.vault.tls.ca, { mode: 0o600 });
    let taken: Awaited<ReturnType<typeof deps.run>>;
    try {
        taken = await deps.run(command, { capture: true, env: { REDISCLI_AUTH: env.backup.password }, timeoutMs: r.remaining() });
    } finally {
        if (env.vault.tls) fs.rmSync(paths.caFile, { force: true });
    }
    if (taken.timedOut) throw snapshotTimeout(r.name, endpoint, options.timeoutMs, Boolean(env.vault.tls) && !sizeOf(paths.rdbTemp));
    if (taken.exitCode !== 0) {
        const message = lastLine(taken.stderr || taken.stdout);
        const space = spaceOf(paths.folder);
        if (redisCliRanOutOfSpace(message, space)) {
            throw new DiskFull(
                diskFullMessage({ folder: paths.folder, writing: r.writing, space, snapshotBytes: sizeOf(paths.rdbTemp) }) +
                    ` (redis-cli: ${message})`,
            );
        }
        throw new Error(`redis-cli --rdb from vault ${endpoint} as user ${env.backup.user} failed: ${message}`);
    }
}

/** Step 3: the snapshot loaded in a scratch server of the vault's own image, after any scratch a killed run left. */
async function verifyInScratch({ name, env, deps, paths, result, remaining }: BackupRun) {
    const vault =
        env.platform === "swarm"
            ? await inspectVaultService(deps.docker, env.vault.container)
            : await inspectVaultContainer(deps.docker, env.vault.container);
    for (const scratch of await removeAbandonedScratch(deps.docker, vault))
        deps.log(`${name}: removed scratch container ${scratch}, left by a backup or restore that was killed`);
    const content = await loadWithItsDatabases({ docker: deps.docker, vault, file: paths.rdbTemp, timeoutMs: remaining() });
    result.measurements.verifyMs = content.durationMs;
    return { vault, content };
}

/**
 * Step 4: whole and durable under temporary names first; renamed into place only then, the
 * manifest last: a snapshot under its final name always has its manifest.
 */
function placeDurably(r: BackupRun, createdAt: Date, taken: Taken, vault: VaultContainer, content: ScratchResult): void {
    const { name, env, deps, paths, result } = r;
    // What the manifest and this run's result both say of the snapshot.
    const facts = {
        createdAt: createdAt.toISOString(),
        bytes: taken.bytes,
        sha256: taken.sha256,
        keys: content.keys,
        expiringKeys: content.expiringKeys,
        databases: content.databases ?? {},
        digest: content.digest,
        redis: taken.origin,
    };
    r.writing = "the manifest";
    writeFileDurably(
        paths.manifestTemp,
        renderManifest({
            format: MANIFEST_FORMAT,
            environment: name,
            kind: env.kind,
            file: path.basename(paths.rdb),
            ...facts,
            source: { container: env.vault.container, endpoint: taken.endpoint, user: env.backup.user },
            verification: { method: content.method, image: vault.image, durationMs: content.durationMs },
        }),
    );
    r.writing = "renaming the snapshot and its manifest into place";
    fs.renameSync(paths.rdbTemp, paths.rdb);
    r.placed.push(paths.rdb);
    fs.renameSync(paths.manifestTemp, paths.manifest);
    r.placed.push(paths.manifest);
    fsyncPath(paths.folder);
    r.kept = true;
    result.snapshot = { file: paths.rdb, manifest: paths.manifest, ...facts };
    deps.log(
        `${name}: verified, ${content.keys} keys (${describeDatabases(facts.databases)}; digest ${content.digest.slice(0, 12)}), written to ${paths.rdb}`,
    );
}

/** Step 5: the snapshot and its manifest stored in restic, off the host. */
async function storeInRestic({ name, options, deps, paths, result, remaining }: BackupRun, repo: string): Promise<void> {
    const resticStarted = performance.now();
    const stored = await deps.run(resticBackupCommand(repo, name, [path.resolve(paths.rdb), path.resolve(paths.manifest)]), {
        capture: true,
        env: resticEnv(deps.env),
        timeoutMs: remaining(),
    });
    result.measurements.resticMs = Math.round(performance.now() - resticStarted);
    if (stored.timedOut) throw new Timeout(`restic backup did not finish within ${options.timeoutMs} ms (--timeout)`);
    if (stored.exitCode !== 0) throw new Error(`restic backup to ${repo} failed: ${lastLine(stored.stderr)}`);
    result.restic = { snapshot: parseBackupSummary(stored.stdout) };
    deps.log(`${name}: stored in restic as snapshot ${result.restic.snapshot}`);
}

function sizeOf(file: string): number | undefined {
    try {
        return fs.statSync(file).size;
    } catch {
        return undefined;
    }
}

function fsyncQuietly(folder: string): void {
    try {
        fsyncPath(folder);
    } catch {
        // The removals stand; only their durability is left to the file system.
    }
}
