/**
 * Docker work shared by `backup` and `restore`: what the engine says about a vault's
 * container, and the check every snapshot goes through before it is kept or restored:
 * loaded into a scratch Redis server (a short-lived container of the vault's own image, with
 * no network), which must come up and report its key count and DEBUG DIGEST.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { DATA_DIR, REDIS_UID } from "../../components/redisServer";
import { tarFileStream } from "../docker/archive";
import type { SnapshotContent } from "./manifest";
import { type Docker, containerLog, exec, isNotFound } from "../docker/client";
import { parseKeyspace } from "../redis/keyspace";
import { ownerState, ownerTag } from "../core/owner";

/** Label of the containers backup and restore create for a moment (scratch servers, file helpers). */
export const LABEL_TEMPORARY = "nexus-redis.temporary";

/**
 * Label of those containers naming the process that made them, `host:pid`: a later run
 * removes what a killed one left (its process is gone), never what a running one is using.
 */
export const LABEL_OWNER = "nexus-redis.owner";

/**
 * The program's role label (components/containerSpec.ts's LABEL_ROLE, which a unit test holds
 * this equal to), written out: importing that module would load the Pulumi SDK, seconds of
 * start-up for a command that never uses it.
 */
export const LABEL_ROLE = "nexus-redis.role";

export interface VaultContainer {
    id: string;
    name: string;
    /** The image ID the container runs: scratch servers run exactly the same Redis. */
    image: string;
    labels: Record<string, string>;
    running: boolean;
    /** What is mounted at /data: a volume by name, or a host folder. */
    data: { kind: "volume"; name: string } | { kind: "bind"; source: string } | undefined;
}

export class VaultContainerError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "VaultContainerError";
    }
}

export async function inspectVaultContainer(docker: Docker, name: string): Promise<VaultContainer> {
    let info: Awaited<ReturnType<Docker.Container["inspect"]>>;
    try {
        info = await docker.getContainer(name).inspect();
    } catch (e) {
        if (isNotFound(e))
            throw new VaultContainerError(`the Docker engine has no container ${name} (is the stack deployed on this host?)`);
        throw e;
    }
    const mount = info.Mounts.find((m) => m.Destination === DATA_DIR);
    return {
        id: info.Id,
        name: info.Name.replace(/^\//, ""),
        image: info.Image,
        labels: info.Config.Labels ?? {},
        running: info.State.Running,
        data:
            mount === undefined
                ? undefined
                : mount.Type === "bind"
                  ? { kind: "bind", source: mount.Source }
                  : { kind: "volume", name: mount.Name ?? mount.Source },
    };
}

/**
 * A Swarm vault as backup needs it: the service's image (pinned: an image ID or a digest every
 * node has or pulls) and labels, and its data volume, from the manager. The scratch server then
 * runs on the manager's engine (the vault's task may be on another node): the same Redis.
 */
export async function inspectVaultService(docker: Docker, name: string): Promise<VaultContainer> {
    let spec: {
        ID: string;
        Spec: {
            Name: string;
            Labels?: Record<string, string>;
            TaskTemplate: { ContainerSpec: { Image: string; Mounts?: { Type: string; Source?: string; Target: string }[] } };
        };
    };
    try {
        spec = (await docker.getService(name).inspect()) as typeof spec;
    } catch (e) {
        if (isNotFound(e)) throw new VaultContainerError(`the Swarm has no service ${name} (is the stack deployed on this Swarm?)`);
        throw e;
    }
    const container = spec.Spec.TaskTemplate.ContainerSpec;
    const mount = container.Mounts?.find((m) => m.Target === DATA_DIR && m.Type === "volume");
    return {
        id: spec.ID,
        name: spec.Spec.Name,
        image: container.Image,
        labels: spec.Spec.Labels ?? {},
        running: true,
        data: mount?.Source ? { kind: "volume", name: mount.Source } : undefined,
    };
}

/** How a vault's data is named for people: `volume nexus3-contact-vault-data`, `folder /srv/contact`. */
export function dataName(vault: VaultContainer): string {
    if (!vault.data) return "its /data (not a mount)";
    return vault.data.kind === "volume" ? `volume ${vault.data.name}` : `folder ${vault.data.source}`;
}

/**
 * Labels of a temporary container: the vault's own (so whatever finds the vault's containers
 * by label finds these too), its role replaced by what it does, and LABEL_TEMPORARY.
 */
export function temporaryLabels(vault: VaultContainer, role: string, owner = ownerTag()): Record<string, string> {
    return { ...vault.labels, [LABEL_ROLE]: role, [LABEL_TEMPORARY]: "true", [LABEL_OWNER]: owner };
}

/** A temporary container of a vault, as the engine lists it. */
export interface TemporaryContainer {
    id: string;
    name: string;
    role: string;
    owner: string | undefined;
    /** created (never started), running, exited... */
    state: string;
    /** The container's creation, in seconds since the epoch. */
    created: number;
}

/** The temporary containers backup and restore made for this vault (by its name and their label), whoever made them. */
export async function temporaryContainersOf(docker: Docker, vault: VaultContainer): Promise<TemporaryContainer[]> {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABEL_TEMPORARY}=true`] } });
    return listed
        .map((c) => ({
            id: c.Id,
            name: (c.Names[0] ?? "").replace(/^\//, ""),
            role: c.Labels[LABEL_ROLE] ?? "",
            owner: c.Labels[LABEL_OWNER],
            state: c.State,
            created: c.Created,
        }))
        .filter((c) => isTemporaryNameOf(vault.name, c.name));
}

/** `{vault}-verify-{6 hex digits}` or `{vault}-restore-...`, as temporaryName makes them for this vault. */
export function isTemporaryNameOf(vaultName: string, name: string): boolean {
    return name.startsWith(`${vaultName}-`) && /^(verify|restore)-[0-9a-f]{6}$/.test(name.slice(vaultName.length + 1));
}

/**
 * Removes the scratch servers a killed backup or restore left for this vault (their process
 * is gone), never one a running process uses. Returns the names removed.
 */
export async function removeAbandonedScratch(docker: Docker, vault: VaultContainer): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await temporaryContainersOf(docker, vault)) {
        if (c.role !== SCRATCH_ROLE || ownerState(c.owner) !== "dead") continue;
        await removeContainer(docker, c.id);
        removed.push(c.name);
    }
    return removed;
}

export function temporaryName(vault: VaultContainer, role: string): string {
    return `${vault.name}-${role}-${randomBytes(3).toString("hex")}`;
}

/** Removes a container and its anonymous volumes; gone already is fine. */
export async function removeContainer(docker: Docker, id: string): Promise<void> {
    try {
        await docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
        if (!isNotFound(e) && !/already in progress/.test((e as Error).message)) throw e;
    }
}

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

/** The role label of scratch servers. */
export const SCRATCH_ROLE = "backup-verify";

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
