/**
 * Docker work shared by `backup` and `restore`: what the engine says about a vault's
 * container, and the check every snapshot goes through before it is kept or restored:
 * loaded into a scratch Redis server (a short-lived container of the vault's own image, with
 * no network), which must come up and report its key count and DEBUG DIGEST.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { DATA_DIR, REDIS_UID } from "../components/redisServer";
import { tarFileStream } from "./archive";
import type { SnapshotContent } from "./backupManifest";
import { type Docker, containerLog, exec, isNotFound } from "./docker";

/** Label of the containers backup and restore create for a moment (scratch servers, file helpers). */
export const LABEL_TEMPORARY = "nexus-redis.temporary";

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

/** How a vault's data is named for people: `volume nexus3-contact-vault-data`, `folder /srv/contact`. */
export function dataName(vault: VaultContainer): string {
    if (!vault.data) return "its /data (not a mount)";
    return vault.data.kind === "volume" ? `volume ${vault.data.name}` : `folder ${vault.data.source}`;
}

/**
 * Labels of a temporary container: the vault's own (so whatever finds the vault's containers
 * by label finds these too), its role replaced by what it does, and LABEL_TEMPORARY.
 */
export function temporaryLabels(vault: VaultContainer, role: string): Record<string, string> {
    return { ...vault.labels, [LABEL_ROLE]: role, [LABEL_TEMPORARY]: "true" };
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

export interface ScratchOptions {
    docker: Docker;
    vault: VaultContainer;
    /** The snapshot on this machine. */
    file: string;
    timeoutMs: number;
}

export interface ScratchResult extends SnapshotContent {
    durationMs: number;
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

/** Waits for the server to answer (it refuses with LOADING until the dataset is in), then reads what it holds. */
const SCRATCH_SCRIPT = `until [ "$(redis-cli ping 2>/dev/null)" = PONG ]; do sleep 0.05; done
redis-cli info keyspace && echo @@ && redis-cli dbsize && echo @@ && redis-cli debug digest`;

/** Loads `file` into a scratch server of the vault's image and reports what it holds; the container is always removed. */
export async function loadInScratch(o: ScratchOptions): Promise<ScratchResult> {
    const started = performance.now();
    const container = await o.docker.createContainer({
        name: temporaryName(o.vault, "verify"),
        Image: o.vault.image,
        Cmd: SCRATCH_COMMAND,
        Labels: temporaryLabels(o.vault, "backup-verify"),
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
            throw new SnapshotInvalidError(`a scratch Redis server could not load it: ${redisLogReason(await containerLog(container))}`);
        }
        if (failure) {
            if (/no end of output after/.test((failure as Error).message))
                throw new SnapshotInvalidError(`a scratch Redis server did not finish loading it within ${o.timeoutMs} ms`);
            throw failure;
        }
        if (result?.exitCode !== 0) throw new Error(`reading the scratch server failed: ${result?.output.trim()}`);
        return { ...parseScratchOutput(result.stdout), durationMs: Math.round(performance.now() - started), method: SCRATCH_METHOD };
    } finally {
        await removeContainer(o.docker, container.id);
    }
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

/** The script's output: INFO keyspace, DBSIZE, DEBUG DIGEST, separated by `@@` lines. */
export function parseScratchOutput(stdout: string): SnapshotContent {
    const [keyspace, dbsize, digest] = stdout.split(/\r?\n@@\r?\n/).map((part) => part.trim());
    let expiringKeys = 0;
    for (const match of (keyspace ?? "").matchAll(/^db\d+:keys=\d+,expires=(\d+)/gm)) expiringKeys += Number(match[1]);
    if (!/^\d+$/.test(dbsize ?? "") || !/^[0-9a-f]{40}$/.test(digest ?? ""))
        throw new Error(`unexpected answer from the scratch server: ${JSON.stringify(stdout.slice(0, 200))}`);
    return { keys: Number(dbsize), expiringKeys, digest };
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
