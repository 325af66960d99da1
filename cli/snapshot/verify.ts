/**
 * The check every snapshot goes through before backup keeps it or restore uses it: loaded
 * into a scratch Redis server (a short-lived container of the vault's own image, with no
 * network, made as vaultContainer.ts says), which must come up and report its key count and
 * DEBUG DIGEST.
 */
import { performance } from "node:perf_hooks";
import { DATA_DIR, REDIS_UID } from "../../components/redisServer";
import { tarFileStream } from "../docker/archive";
import type { SnapshotContent } from "./manifest";
import { type Docker, containerLog, exec } from "../docker/client";
import { parseKeyspace } from "../redis/keyspace";
import { SCRATCH_ROLE, type VaultContainer, removeContainer, temporaryLabels, temporaryName } from "./vaultContainer";

/** A snapshot that a scratch server could not load: corrupt, truncated, or from a newer Redis. */
export class SnapshotInvalidError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "SnapshotInvalidError";
    }
}

/**
 * The snapshot holds a database numbered at or above the server's `databases`: Redis refuses
 * to load it (rdb.c, rdbLoadRioWithLoadingCtx: "FATAL: Data file was created with a Redis
 * server configured to handle more than %d databases. Exiting").
 */
export class TooManyDatabasesError extends SnapshotInvalidError {
    constructor(
        readonly configured: number,
        message: string,
    ) {
        super(message);
        this.name = "TooManyDatabasesError";
    }
}

/** The `databases` a Redis server has unless told otherwise (Redis's default; the program declares none). */
export const DEFAULT_DATABASES = 16;

export interface ScratchOptions {
    docker: Docker;
    vault: VaultContainer;
    /** The snapshot on this machine. */
    file: string;
    timeoutMs: number;
    /** The scratch server's `databases` (default 16): it must be above every database number the file holds. */
    databases?: number;
}

export interface ScratchResult extends SnapshotContent {
    durationMs: number;
    /** How long DEBUG DIGEST took on the scratch server (through docker exec): what it costs the vault too. */
    digestMs: number;
    /** How it was verified, for the manifest. */
    method: string;
}

/**
 * The scratch server's command. As a replica (of a port nobody listens on), because a master
 * drops keys whose expiry has passed while it loads, and a replica keeps them: the digest is
 * then the file's, whenever it is taken. No persistence, no network, DEBUG from inside only.
 */
export const SCRATCH_COMMAND = [
    "redis-server",
    "--port",
    "6379",
    "--bind",
    "127.0.0.1",
    "--dir",
    DATA_DIR,
    "--dbfilename",
    "dump.rdb",
    "--appendonly",
    "no",
    "--save",
    "",
    "--enable-debug-command",
    "local",
    "--replicaof",
    "127.0.0.1",
    "1",
];

/** The scratch server's command with `databases` databases. */
export function scratchCommand(databases = DEFAULT_DATABASES): string[] {
    if (!Number.isInteger(databases) || databases < 1) throw new Error(`scratchCommand: databases must be a count, got ${databases}`);
    return [...SCRATCH_COMMAND, "--databases", String(databases)];
}

/**
 * Waits for the server to answer (it refuses with LOADING until the dataset is in), then reads
 * how many keys it holds: INFO keyspace, every database (DBSIZE would count database 0 only).
 */
const SCRATCH_SCRIPT = `until [ "$(redis-cli ping 2>/dev/null)" = PONG ]; do sleep 0.05; done
redis-cli info keyspace`;

/** Loads `file` into a scratch server of the vault's image and reports what it holds; the container is always removed. */
export async function loadInScratch(o: ScratchOptions): Promise<ScratchResult> {
    const started = performance.now();
    const databases = o.databases ?? DEFAULT_DATABASES;
    const container = await o.docker.createContainer({
        name: temporaryName(o.vault, "verify"),
        Image: o.vault.image,
        Cmd: scratchCommand(databases),
        Labels: temporaryLabels(o.vault, SCRATCH_ROLE),
        HostConfig: { NetworkMode: "none" },
    });
    try {
        // Owned by the image's redis user, readable by it alone: the snapshot is a secret.
        await container.putArchive(
            tarFileStream(o.file, { path: `${DATA_DIR}/dump.rdb`, mode: 0o600, uid: Number(REDIS_UID), gid: Number(REDIS_UID) }),
            {
                path: "/",
            },
        );
        await container.start();
        const keyspace = await scratchKeyspace(o, container, started);
        const { digest, digestMs } = await scratchDigest(o, container, started);
        return { ...keyspace, digest, digestMs, durationMs: Math.round(performance.now() - started), method: SCRATCH_METHOD };
    } finally {
        await removeContainer(o.docker, container.id);
    }
}

/**
 * The scratch server's keys once it has loaded the file; a file it could not load (too many
 * databases, not an RDB) or did not load in time is told apart from a failure to read it.
 */
async function scratchKeyspace(o: ScratchOptions, container: Docker.Container, started: number) {
    const remaining = Math.max(1, o.timeoutMs - (performance.now() - started));
    let result: Awaited<ReturnType<typeof exec>> | undefined;
    let failure: unknown;
    try {
        result = await exec(o.docker, container.id, ["sh", "-c", SCRATCH_SCRIPT], { timeoutMs: remaining });
    } catch (e) {
        failure = e;
    }
    // Redis exiting ends the exec too, sometimes before the engine reports the container stopped.
    const stopped = await stoppedWithin(container, result?.exitCode === 0 ? 0 : 5_000);
    if (stopped) {
        const log = await containerLog(container);
        const refused = databasesRefused(log);
        if (refused !== undefined)
            throw new TooManyDatabasesError(
                refused,
                `it holds a database numbered ${refused} or above, and a Redis server with databases ${refused} (the number it was started with) refuses to load it`,
            );
        throw new SnapshotInvalidError(`a scratch Redis server could not load it: ${redisLogReason(log)}`);
    }
    if (failure) {
        if (/no end of output after/.test((failure as Error).message))
            throw new SnapshotInvalidError(`a scratch Redis server did not finish loading it within ${o.timeoutMs} ms`);
        throw failure;
    }
    if (result?.exitCode !== 0) throw new Error(`reading the scratch server failed: ${result?.output.trim()}`);
    return parseScratchKeyspace(result.stdout);
}

/**
 * The scratch server's DEBUG DIGEST, timed on its own: DEBUG DIGEST blocks a server while it
 * runs, and restore bounds its write pauses by what it costs on the same data.
 */
async function scratchDigest(
    o: ScratchOptions,
    container: Docker.Container,
    started: number,
): Promise<{ digest: string; digestMs: number }> {
    const digestStarted = performance.now();
    const digested = await exec(o.docker, container.id, ["redis-cli", "debug", "digest"], {
        timeoutMs: Math.max(1, o.timeoutMs - (performance.now() - started)),
    });
    const digestMs = Math.round(performance.now() - digestStarted);
    const digest = digested.stdout.trim();
    if (digested.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(digest))
        throw new Error(`unexpected answer from the scratch server to DEBUG DIGEST: ${JSON.stringify(digested.output.slice(0, 200))}`);
    return { digest, digestMs };
}

/**
 * Loads `file` into a scratch server with enough databases for it: 16 first (Redis's default),
 * and when Redis refuses for a database numbered above that (a vault started with
 * `--databases 32`), again with as many as the file holds (databasesNeeded).
 */
export async function loadWithItsDatabases(o: Omit<ScratchOptions, "databases">): Promise<ScratchResult> {
    const started = performance.now();
    try {
        return await loadInScratch(o);
    } catch (e) {
        if (!(e instanceof TooManyDatabasesError)) throw e;
        const left = () => Math.max(1, Math.round(o.timeoutMs - (performance.now() - started)));
        const databases = await databasesNeeded({ ...o, timeoutMs: left() });
        const loaded = await loadInScratch({ ...o, databases, timeoutMs: left() });
        return { ...loaded, durationMs: Math.round(performance.now() - started) };
    }
}

/**
 * The `databases` a server needs to load `file`: one above the highest database number in it
 * (at least 16), as Redis's own redis-check-rdb reads the file (its "Selecting DB ID N" lines),
 * in a container of the vault's image with no network. One more pass over the file: asked only
 * when a load with 16 was refused.
 */
export async function databasesNeeded(o: Omit<ScratchOptions, "databases">): Promise<number> {
    const container = await o.docker.createContainer({
        name: temporaryName(o.vault, "verify"),
        Image: o.vault.image,
        Cmd: ["redis-check-rdb", `${DATA_DIR}/dump.rdb`],
        Labels: temporaryLabels(o.vault, SCRATCH_ROLE),
        HostConfig: { NetworkMode: "none" },
    });
    try {
        await container.putArchive(
            tarFileStream(o.file, { path: `${DATA_DIR}/dump.rdb`, mode: 0o600, uid: Number(REDIS_UID), gid: Number(REDIS_UID) }),
            { path: "/" },
        );
        await container.start();
        const waited = await Promise.race([
            container.wait() as Promise<{ StatusCode: number }>,
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), o.timeoutMs).unref()),
        ]);
        const log = await containerLog(container);
        if (waited === undefined) throw new SnapshotInvalidError(`redis-check-rdb did not finish reading it within ${o.timeoutMs} ms`);
        const highest = highestSelectedDatabase(log);
        if (waited.StatusCode !== 0 || highest === undefined)
            throw new SnapshotInvalidError(`redis-check-rdb of the vault's image could not read it: ${redisLogReason(log)}`);
        return Math.max(DEFAULT_DATABASES, highest + 1);
    } finally {
        await removeContainer(o.docker, container.id);
    }
}

/** The `databases` number a server that refused a file for holding more databases was started with. */
export function databasesRefused(log: string): number | undefined {
    const match = /configured to handle more than (\d+) databases/.exec(log);
    return match ? Number(match[1]) : undefined;
}

/** The highest database number of redis-check-rdb's "Selecting DB ID N" lines (undefined: it printed none). */
export function highestSelectedDatabase(output: string): number | undefined {
    const ids = [...output.matchAll(/Selecting DB ID (\d+)/g)].map((m) => Number(m[1]));
    return ids.length === 0 ? undefined : Math.max(...ids);
}

/** Whether the container stops within `ms` (0: whether it has stopped). */
async function stoppedWithin(container: Docker.Container, ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    for (;;) {
        if (!(await container.inspect()).State.Running) return true;
        if (performance.now() >= until) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

export const SCRATCH_METHOD =
    "loaded into a scratch redis-server of the vault's image (no network, as a replica: keys past their expiry kept)";

/** The scratch script's output, INFO keyspace: keys and keys with an expiry in every database. */
export function parseScratchKeyspace(stdout: string): Omit<SnapshotContent, "digest"> {
    try {
        const { keys, expiringKeys, databases } = parseKeyspace(stdout);
        return { keys, expiringKeys, databases };
    } catch (e) {
        throw new Error(`unexpected answer from the scratch server: ${(e as Error).message}`);
    }
}

/** Why Redis could not load a file, from its log (without pids and timestamps): its first error lines. */
export function redisLogReason(log: string): string {
    const lines = log
        .split(/\r?\n/)
        .map((line) => line.replace(/^\d+:[A-Z] \d+ \w+ \d{4} [\d:.]+ [#*.-] /, "").trim())
        .filter((line) => line !== "" && !line.startsWith("WARNING") && !line.startsWith("[") && !/^-+ .* -+$/.test(line));
    const reasons = lines.filter((line) =>
        /short read|bad file format|checksum|unexpected eof|can't handle|unrecoverable|error|not supported|unknown|wrong/i.test(line),
    );
    const picked = reasons.length > 0 ? reasons.slice(0, 2) : lines.slice(-2);
    return picked.length > 0 ? picked.join("; ") : "it exited without a log";
}
