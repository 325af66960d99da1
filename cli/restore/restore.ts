/**
 * `nexus-redis restore ENV --from FILE|restic:SNAPSHOT`: brings ENV's vault up on exactly a
 * snapshot, with AOF on, and its operational re-synced, without the chance of wiping data.
 *
 *   1. The snapshot is verified before anything stops: its sha256 against its manifest, its
 *      header, and a load into a scratch server of the vault's image (key count, DEBUG
 *      DIGEST, equal to the manifest's). A corrupt or truncated file is refused.
 *   2. What the vault (and the operational) hold is read inside their containers; a vault
 *      whose keys differ from the snapshot is refused unless --force (restore/plan.ts).
 *   3. Writes are paused (CLIENT PAUSE WRITE), the decision re-checked, and the vault's
 *      container stopped: the SAME container, `docker stop`, as Pulumi created it. Pulumi's
 *      state stays true (nothing is re-created, no input changes), so neither `pulumi up`
 *      nor `npm run drift` sees a difference afterwards.
 *   4. A helper container (the vault's image, its /data, no network) moves the vault's AOF
 *      folder and dump.rdb aside into /data/nexus-redis-restore-STAMP (never deleted) and puts
 *      the snapshot in as dump.rdb (uid 999, 0600).
 *   5. The vault's container is started again: start-redis.sh finds dump.rdb and no AOF and
 *      converts (loads it with AOF off, turns AOF on, waits for the rewrite, restarts on the
 *      AOF) before any client can write. Never the "AOF on, RDB only" empty start.
 *   6. Verified under a short write pause: the vault's DEBUG DIGEST against the snapshot's;
 *      once the operational has re-synced, its digest against the vault's at the same offset.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { Transform } from "node:stream";
import { IN_CONTAINER_TLS, REDIS_UID, vaultSettings } from "../../components/redisServer";
import { extract } from "tar-stream";
import { tarFileStream } from "../docker/archive";
import { readHead, sha256File } from "../snapshot/files";
import {
    type BackupManifest,
    MANIFEST_FORMAT_1,
    ManifestError,
    type SnapshotContent,
    manifestKeysOf,
    manifestPathOf,
    parseManifest,
} from "../snapshot/manifest";
import { RdbFormatError, type SnapshotOrigin, parseRdbHeader, snapshotOrigin } from "../snapshot/rdb";
import { lastLine, resticEnv, resticRestoreCommand, resticSnapshotOf, resticVersionCommand } from "../snapshot/restic";
import {
    DEFAULT_DATABASES,
    type ScratchResult,
    SnapshotInvalidError,
    type TemporaryContainer,
    TooManyDatabasesError,
    type VaultContainer,
    VaultContainerError,
    dataName,
    databasesNeeded,
    inspectVaultContainer,
    loadInScratch,
    removeAbandonedScratch,
    removeContainer,
    temporaryContainersOf,
    temporaryLabels,
    temporaryName,
} from "../snapshot/verify";
import { type Docker, containerLog, exec, isNotFound } from "../docker/client";
import { UsageError } from "../core/errors";
import { type Keyspace, KeyspaceError, describeDatabases, parseKeyspace } from "../redis/keyspace";
import type { EnvironmentOutput, StandardEnvironmentOutput } from "../fleet/environment";
import { ownerState, processAlive } from "../core/owner";
import { parseInfo } from "../redis/replies";
import { EXIT_HEALTHY, EXIT_PROBLEMS } from "../core/exit";
import { formatBytes, seconds } from "../core/format";
import {
    type LeftoverHelper,
    type RestoreDecision,
    STAGING_FILE,
    type ServerState,
    type Verification,
    asideFolderName,
    asideFolderOfScript,
    decideRestore,
    describePause,
    judgeLeftover,
    movedFiles,
    pauseLeaseMs,
    pauseRenewalMs,
    restoredFolderName,
    short,
    swapScript,
    vaultDataFiles,
    verifyVault,
    wayBackCommands,
} from "./plan";
import type { CommandRunner } from "../core/runner";
import { Deadline, RedisSession, type SessionTarget } from "../redis/session";

export interface RestoreOptions {
    environment: string;
    from: string;
    force: boolean;
    withoutManifest: boolean;
    json: boolean;
    resticRepo?: string;
    outputs?: string;
    stack?: string;
    timeoutMs: number;
}

export type RestoreStatus = "restored" | "unchanged" | "refused" | "failed";

export interface RestoreReport {
    environment: string;
    status: RestoreStatus;
    /** --from as given. */
    from: string;
    snapshot:
        | (SnapshotContent & { sha256: string; bytes: number; redis: SnapshotOrigin; manifest: boolean; createdAt: string | null })
        | null;
    /** What the vault and the operational held before. */
    before: { vault: ServerState | null; operational: ServerState | null };
    /** Why it went ahead, was refused, or did nothing; and what --force overrode. */
    reasons: string[];
    forced: string[];
    verification: Verification | null;
    /** Where the vault's previous files are: kept, never deleted by restore. */
    aside: { data: string; folder: string; moved: string[] } | null;
    /** What a restore that was killed before it finished had left, and what this one did about it. */
    leftovers: string[];
    error: string | null;
    measurements: {
        durationMs: number;
        /** From the write pause until the vault answered again: what clients saw. */
        writesRefusedMs: number | null;
        stopMs: number | null;
        swapMs: number | null;
        startMs: number | null;
        /** Writes paused again while the digests were taken. */
        verifyPauseMs: number | null;
        /** How long each write pause lasts unless renewed: the bound on writes blocked should restore be killed. */
        pauseLeaseMs: number | null;
        operationalSyncMs: number | null;
    };
}

/**
 * restore stops and restarts a vault's container and swaps its files: a Swarm service's task
 * is Swarm's to stop and replace, so restore is Docker-only. (backup works on Swarm: it reaches
 * the vault through the CLI's probe on the overlay, and verifies in a scratch container of the
 * service's image on the manager.)
 */
export const SWARM_REFUSAL =
    "works on platform docker only: it stops and restarts the vault's container, which on Swarm is the service's task, Swarm's to stop and replace; use check, check --fix, recover and backup there";

export function restoreExitCode(report: RestoreReport): number {
    return report.status === "restored" || report.status === "unchanged" ? EXIT_HEALTHY : EXIT_PROBLEMS;
}

export interface RestoreDeps {
    docker: Docker;
    run: CommandRunner;
    env: Readonly<Record<string, string | undefined>>;
    log(message: string): void;
    now(): Date;
}

/** Where the snapshot to restore is on this machine, and how to clean up after. */
interface LocalSnapshot {
    file: string;
    manifest?: BackupManifest;
    cleanup(): void;
}

class Refusal extends Error {}

/**
 * The whole restore of one environment. Throws UsageError for what is the caller's mistake; everything else ends in the report.
 * The try/catch/finally here covers every step, so the snapshot fetched from restic is removed however it ends.
 */
export async function restore(env: EnvironmentOutput, options: RestoreOptions, deps: RestoreDeps): Promise<RestoreReport> {
    const started = performance.now();
    const deadline = started + options.timeoutMs;
    const remaining = () => {
        const left = Math.round(deadline - performance.now());
        if (left <= 0) throw new Error(`the restore did not finish within ${options.timeoutMs} ms (--timeout)`);
        return left;
    };
    const report = emptyReport(options);
    let local: LocalSnapshot | undefined;
    try {
        for (const folder of removeAbandonedTempFolders()) {
            report.leftovers.push(`removed ${folder}, a snapshot a killed restore had copied out`);
            deps.log(`${options.environment}: ${report.leftovers.at(-1)}`);
        }
        local = await fetchSnapshot(options, deps, remaining);
        if (!local.manifest && !options.withoutManifest) throw new Refusal(noManifestRefusal(options.from));
        // 0. What a restore that was killed left (its helper, a staged file; a vault it stopped).
        let vault = await inspectVault(deps.docker, env);
        if (await cleanUpAfterKilledRestore(env, vault, deps, remaining, report)) vault = await inspectVault(deps.docker, env);
        // 1. The snapshot, verified before anything is touched, in a scratch server with the vault's databases.
        const databases = await vaultDatabases(deps.docker, vault, env.vault.password, remaining());
        const content = await verifySnapshot(local, vault, databases, options, deps, remaining, report);

        // 2. What would be replaced.
        const { vaultBefore, operationalBefore } = await readBefore(env, vault, content, deps, remaining);
        report.before = { vault: publicState(vaultBefore), operational: operationalBefore ? publicState(operationalBefore) : null };
        const decision = decideRestore(content, vaultBefore, operationalBefore, options.force);
        report.reasons = decision.reasons;
        if (decision.action === "refuse") throw new Refusal(refusalMessage(decision.reasons, vault));
        if (decision.action === "unchanged") {
            report.status = "unchanged";
            deps.log(`${options.environment}: ${decision.reasons.join("; ")}: nothing to do`);
            return report;
        }
        report.forced = decision.forced;
        for (const risk of decision.forced) deps.log(`${options.environment}: --force: restoring although ${risk}`);

        // 3-6.
        await replaceVaultData(env, vault, local.file, content, decision, options, deps, remaining, report);
    } catch (e) {
        if (e instanceof UsageError) throw e;
        if (e instanceof Refusal) {
            report.status = "refused";
            report.error = e.message;
        } else {
            report.status = "failed";
            report.error = report.error ?? (e instanceof Error ? e.message : String(e));
        }
        deps.log(`${options.environment}: ${report.status.toUpperCase()}: ${report.error}`);
    } finally {
        local?.cleanup();
        report.measurements.durationMs = Math.round(performance.now() - started);
    }
    return report;
}

/** A report of a restore that has not done anything yet: failed until it says otherwise. */
function emptyReport(options: RestoreOptions): RestoreReport {
    return {
        environment: options.environment,
        status: "failed",
        from: options.from,
        snapshot: null,
        before: { vault: null, operational: null },
        reasons: [],
        forced: [],
        verification: null,
        aside: null,
        leftovers: [],
        error: null,
        measurements: {
            durationMs: 0,
            writesRefusedMs: null,
            stopMs: null,
            swapMs: null,
            startMs: null,
            verifyPauseMs: null,
            pauseLeaseMs: null,
            operationalSyncMs: null,
        },
    };
}

/** The vault's container; none is the caller's to fix (a lost host: `pulumi up` first). */
function inspectVault(docker: Docker, env: EnvironmentOutput): Promise<VaultContainer> {
    return inspectVaultContainer(docker, env.vault.container).catch((e) => {
        if (e instanceof VaultContainerError)
            throw new UsageError(`${e.message}; after a lost host, \`pulumi up\` first (an empty vault), then restore`, "restore");
        throw e;
    });
}

/** What the vault and the operational hold before the restore: what it would replace. */
async function readBefore(
    env: EnvironmentOutput,
    vault: VaultContainer,
    content: SnapshotContent,
    deps: RestoreDeps,
    remaining: () => number,
): Promise<{ vaultBefore: StateRead; operationalBefore: StateRead | undefined }> {
    const vaultBefore = await vaultState(deps.docker, vault, env, content, remaining());
    let operationalBefore = env.kind === "standard" ? await operationalState(deps.docker, env, remaining()) : undefined;
    // A cut-off operational is compared with the vault too: read the vault's digest if it was not needed so far.
    if (
        operationalBefore?.digest !== undefined &&
        (operationalBefore.keys ?? 0) > 0 &&
        operationalBefore.link !== "up" &&
        vaultBefore.digest === undefined &&
        vaultBefore.unavailable === undefined
    ) {
        Object.assign(vaultBefore, await serverState(deps.docker, vault, env.vault.password, undefined, remaining(), () => true));
    }
    if (operationalBefore?.link === "up") operationalBefore = { ...operationalBefore, digest: undefined };
    return { vaultBefore, operationalBefore };
}

/** Why nothing was changed, and what to do when a killed restore left the vault stopped. */
function refusalMessage(reasons: string[], vault: VaultContainer): string {
    const stopped = !vault.running
        ? `. Should ${vault.name} have been stopped by a restore that was killed, start it (docker start ${vault.name}) and run restore again (docs/restore.md, "After a killed restore")`
        : "";
    return `refused, nothing was changed: ${reasons.join("; ")} (--force overrides)${stopped}`;
}

/** The snapshot as a file on this machine: --from FILE as it is, restic:... restored into a private temporary folder. */
async function fetchSnapshot(options: RestoreOptions, deps: RestoreDeps, remaining: () => number): Promise<LocalSnapshot> {
    const snapshot = resticSnapshotOf(options.from);
    if (snapshot === undefined) {
        try {
            if (!fs.statSync(options.from).isFile()) throw new UsageError(`--from ${options.from} is not a file`, "restore");
        } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new UsageError(
                `cannot read --from ${options.from}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
                "restore",
            );
        }
        return { file: options.from, manifest: readManifest(manifestPathOf(options.from), options.environment), cleanup: () => undefined };
    }
    const repository = options.resticRepo!;
    try {
        const version = await deps.run(resticVersionCommand(), { capture: true, timeoutMs: 10_000 });
        if (version.exitCode !== 0) throw new UsageError(`\`restic version\` failed: ${lastLine(version.stderr)}`, "restore");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
            throw new UsageError("restic is not on PATH: install it (Debian: restic)", "restore");
        throw e;
    }
    // Private: the snapshot is a secret. Removed afterwards whatever happens, or by the next
    // restore if this one is killed (the folder names its process).
    const target = fs.mkdtempSync(tempFolderPrefix("restore"));
    const cleanup = () => fs.rmSync(target, { recursive: true, force: true });
    try {
        deps.log(`${options.environment}: fetching restic snapshot ${snapshot} from ${repository}`);
        const result = await deps.run(resticRestoreCommand(repository, options.environment, snapshot, target), {
            capture: true,
            env: resticEnv(deps.env),
            timeoutMs: remaining(),
        });
        if (result.exitCode !== 0)
            throw new UsageError(`restic restore ${snapshot} from ${repository} failed: ${lastLine(result.stderr)}`, "restore");
        const rdbs = findFiles(target, ".rdb");
        if (rdbs.length !== 1)
            throw new UsageError(
                `restic snapshot ${snapshot} holds ${rdbs.length} .rdb files; a nexus-redis backup holds one snapshot and its manifest`,
                "restore",
            );
        const manifest = readManifest(manifestPathOf(rdbs[0]), options.environment);
        if (!manifest)
            throw new UsageError(
                `restic snapshot ${snapshot} holds no manifest beside ${path.basename(rdbs[0])}: not a nexus-redis backup`,
                "restore",
            );
        return { file: rdbs[0], manifest, cleanup };
    } catch (e) {
        cleanup();
        throw e;
    }
}

function findFiles(folder: string, suffix: string): string[] {
    return fs
        .readdirSync(folder, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile() && d.name.endsWith(suffix))
        .map((d) => path.join(d.parentPath, d.name));
}

function readManifest(file: string, environment: string): BackupManifest | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
    let manifest: BackupManifest;
    try {
        manifest = parseManifest(text, file);
    } catch (e) {
        if (e instanceof ManifestError) throw new Refusal(`refused, nothing was changed: ${e.message}`);
        throw e;
    }
    if (manifest.environment !== environment) {
        throw new UsageError(
            `the snapshot is a backup of ${manifest.environment} (${file} says so), not of ${environment}: restore it to ${manifest.environment}`,
            "restore",
        );
    }
    return manifest;
}

/** Why an RDB file without its manifest is refused, and how to go on. */
export function noManifestRefusal(from: string): string {
    return (
        `refused, nothing was changed: ${from} has no manifest beside it (${manifestPathOf(from)}). ` +
        "nexus-redis backup writes the manifest last, so this is a backup that did not finish, or a file from elsewhere. " +
        "Restore a backup that has its manifest; or, for an RDB file you know (a dump.rdb copied by hand), give --without-manifest: it is then checked by loading it only"
    );
}

/** Temporary folders restore makes on this machine: `{tmp}/nexus-redis-{what}-pid{pid}-XXXXXX` (mkdtemp: 0700). */
function tempFolderPrefix(what: "restore" | "aof-base"): string {
    return path.join(os.tmpdir(), `nexus-redis-${what}-pid${process.pid}-`);
}

/** Removes the temporary folders (snapshots: secrets) of restores that were killed (their process is gone); returns them. */
function removeAbandonedTempFolders(): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
        names = fs.readdirSync(os.tmpdir());
    } catch {
        return removed;
    }
    for (const name of names) {
        const pid = /^nexus-redis-(?:restore|aof-base)-pid(\d+)-[A-Za-z0-9]{6}$/.exec(name)?.[1];
        if (pid === undefined || processAlive(Number(pid))) continue;
        const folder = path.join(os.tmpdir(), name);
        try {
            if (fs.statSync(folder).uid !== process.getuid?.()) continue;
            fs.rmSync(folder, { recursive: true, force: true });
            removed.push(folder);
        } catch {
            // Gone already, or not ours to remove.
        }
    }
    return removed;
}

/**
 * The vault's `databases`: a snapshot must load on it. Read from the running vault; a stopped
 * one has what the program declares (it declares none: Redis's default, 16).
 */
async function vaultDatabases(docker: Docker, vault: VaultContainer, password: string, timeoutMs: number): Promise<number> {
    const declared = Number(vaultSettings().databases ?? DEFAULT_DATABASES);
    if (!vault.running) return declared;
    const result = await exec(docker, vault.name, ["sh", "-c", `${IN_CONTAINER_TLS}redis-cli "$@" config get databases`, "databases"], {
        env: [`REDISCLI_AUTH=${password}`],
        timeoutMs: Math.min(timeoutMs, 10_000),
    }).catch(() => undefined);
    const value = Number(result?.stdout.trim().split(/\r?\n/)[1]);
    return result?.exitCode === 0 && Number.isInteger(value) && value > 0 ? value : declared;
}

/**
 * Step 1 of the header: the snapshot checked against its manifest (sha256), loaded in a scratch
 * server with the vault's databases, and its content checked against the manifest again. Any
 * mismatch refuses before anything is touched.
 */
async function verifySnapshot(
    local: LocalSnapshot,
    vault: VaultContainer,
    databases: number,
    options: RestoreOptions,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<ScratchResult> {
    const where = options.from;
    const { sha256, bytes } = await sha256File(local.file);
    if (local.manifest && local.manifest.sha256 !== sha256) {
        throw new Refusal(
            `refused, nothing was changed: ${where}'s sha256 is ${sha256.slice(0, 12)}, its manifest says ${local.manifest.sha256.slice(0, 12)}: the file is corrupt or was changed since the backup`,
        );
    }
    if (!local.manifest) deps.log(`${options.environment}: ${where} has no manifest beside it: checked by loading it only`);
    let origin: SnapshotOrigin;
    let content: ScratchResult;
    try {
        origin = snapshotOrigin(parseRdbHeader(readHead(local.file)));
        deps.log(`${options.environment}: verifying ${where} (${formatBytes(bytes)}) in a scratch server of ${vault.name}'s image`);
        content = await loadInScratch({ docker: deps.docker, vault, file: local.file, timeoutMs: remaining(), databases });
    } catch (e) {
        throw await notLoadable(e, where, local.file, vault, databases, deps, remaining);
    }
    if (local.manifest) manifestAgrees(local.manifest, content, where);
    report.snapshot = {
        ...content,
        sha256,
        bytes,
        redis: origin,
        manifest: !!local.manifest,
        createdAt: local.manifest?.createdAt ?? null,
    };
    deps.log(
        `${options.environment}: the snapshot loads: ${content.keys} keys (${describeDatabases(content.databases ?? {})}; ${content.expiringKeys} with an expiry), DEBUG DIGEST ${short(content.digest)}`,
    );
    return content;
}

/**
 * What to throw when the snapshot did not load: a refusal saying why (more databases than the
 * vault has, and how many it needs; not an RDB; empty), else the error itself.
 */
async function notLoadable(
    e: unknown,
    where: string,
    file: string,
    vault: VaultContainer,
    databases: number,
    deps: RestoreDeps,
    remaining: () => number,
): Promise<unknown> {
    if (e instanceof TooManyDatabasesError) {
        const needed = await databasesNeeded({ docker: deps.docker, vault, file, timeoutMs: remaining() }).catch(() => undefined);
        return new Refusal(
            `refused, nothing was changed: ${where} holds keys in database ${needed === undefined ? `${databases} or above` : needed - 1}, ` +
                `and ${vault.name} has ${databases} databases (databases ${databases}): Redis refuses to load such a file, so the vault would not start on it. ` +
                `Restore it onto a vault with at least ${needed ?? databases + 1} databases, or load it into a Redis server of your own (redis-server --databases ${needed ?? "N"}) and move its keys into databases 0 to ${databases - 1}`,
        );
    }
    if (e instanceof RdbFormatError || e instanceof SnapshotInvalidError)
        return new Refusal(`refused, nothing was changed: ${where} is not a snapshot that loads: ${e.message}`);
    return e;
}

/** Refuses a snapshot whose loaded keys or digest are not what its manifest recorded. */
function manifestAgrees(manifest: BackupManifest, content: ScratchResult, where: string): void {
    const manifestKeys = manifestKeysOf(manifest, content);
    if (manifest.digest !== content.digest || manifest.keys !== manifestKeys) {
        const counted =
            manifest.format === MANIFEST_FORMAT_1 ? ` (${manifestKeys} in database 0, which a ${MANIFEST_FORMAT_1} manifest counts)` : "";
        throw new Refusal(
            `refused, nothing was changed: ${where} loads with ${content.keys} keys${counted} and DEBUG DIGEST ${short(content.digest)}, its manifest says ${manifest.keys} and ${short(manifest.digest)}`,
        );
    }
}

/**
 * A sh -c script that prints INFO keyspace (every database's keys: DBSIZE counts database 0
 * only), memory, replication and persistence, `@@` between them.
 */
const STATE_SCRIPT = `${IN_CONTAINER_TLS}redis-cli "$@" info keyspace && echo @@ && redis-cli "$@" info memory && echo @@ &&
redis-cli "$@" info replication && echo @@ && redis-cli "$@" info persistence`;

/** What a server holds, and (when `digest` says so, given what it holds) its DEBUG DIGEST. */
interface StateRead extends ServerState {
    /** INFO replication's master_link_status (a replica's). */
    link?: string;
    /** Changes since the last save and the last save's time: equal twice means no write in between. */
    writeMark?: string;
    /** rdb_changes_since_last_save: writes since the server started (a restored vault starts at 0) or last saved. */
    changes?: number;
    /** rdb_last_save_time. */
    lastSave?: string;
}

/**
 * What a server holds, read inside its container with redis-cli (loopback: DEBUG is allowed
 * there only; the password through REDISCLI_AUTH, never argv). DEBUG DIGEST blocks the server
 * while it runs (seconds for a million keys), so it is asked only when `digest` needs it, and
 * always when no key is listed (then it costs nothing, and "empty" rests on the digest too).
 */
async function serverState(
    docker: Docker,
    container: VaultContainer | string,
    password: string,
    user: string | undefined,
    timeoutMs: number,
    digest: (state: StateRead) => boolean,
): Promise<StateRead> {
    const name = typeof container === "string" ? container : container.name;
    try {
        const running = typeof container === "string" ? (await docker.getContainer(name).inspect()).State.Running : container.running;
        if (!running) return { unavailable: `container ${name} is not running` };
    } catch (e) {
        if (isNotFound(e)) return { unavailable: `there is no container ${name}` };
        throw e;
    }
    const cli = async (script: string) => {
        const args = user ? ["--user", user] : [];
        return exec(docker, name, ["sh", "-c", script, "state", ...args], { env: [`REDISCLI_AUTH=${password}`], timeoutMs });
    };
    const result = await cli(STATE_SCRIPT);
    const [keyspaceText, memory, replication, persistence] = result.stdout.split(/\r?\n@@\r?\n/).map((p) => p.trim());
    let keyspace: Keyspace | undefined;
    try {
        keyspace = persistence === undefined ? undefined : parseKeyspace(keyspaceText);
    } catch (e) {
        if (!(e instanceof KeyspaceError)) throw e;
    }
    if (result.exitCode !== 0 || keyspace === undefined || !/^# Persistence/m.test(persistence ?? "")) {
        return { unavailable: `redis-cli in ${name} answered ${JSON.stringify(lastLine(result.output)).slice(0, 120)}` };
    }
    const dataset = parseInfo(memory).used_memory_dataset;
    const saves = parseInfo(persistence);
    const state: StateRead = {
        keys: keyspace.keys,
        expiringKeys: keyspace.expiringKeys,
        databases: keyspace.databases,
        datasetBytes: dataset === undefined ? undefined : Number(dataset),
        link: parseInfo(replication).master_link_status,
        writeMark: `${saves.rdb_changes_since_last_save}@${saves.rdb_last_save_time}`,
        changes: Number(saves.rdb_changes_since_last_save),
        lastSave: saves.rdb_last_save_time,
    };
    if (state.keys !== 0 && !digest(state)) return state;
    const digested = await cli(`${IN_CONTAINER_TLS}redis-cli "$@" debug digest`);
    const value = digested.stdout.trim();
    if (digested.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(value)) {
        return { unavailable: `DEBUG DIGEST in ${name} answered ${JSON.stringify(lastLine(digested.output)).slice(0, 120)}` };
    }
    return { ...state, digest: value };
}

/** What restore needs to know of a vault before it decides: its digest only when its key count could be the snapshot's. */
function vaultState(docker: Docker, vault: VaultContainer, env: EnvironmentOutput, snapshot: SnapshotContent, timeoutMs: number) {
    return serverState(docker, vault, env.vault.password, undefined, timeoutMs, (s) => s.keys === snapshot.keys);
}

/**
 * What restore needs to know of an operational: a replica with its link up holds the vault's
 * data (what the vault's answer covers); one that is cut off may hold something else, which
 * only its digest tells.
 */
function operationalState(docker: Docker, env: EnvironmentOutput, timeoutMs: number): Promise<StateRead> {
    if (env.kind !== "standard") throw new Error("a secure environment has no operational");
    return serverState(
        docker,
        env.operational.container,
        env.operational.adminPassword,
        env.operational.adminUser,
        timeoutMs,
        (s) => s.link !== "up",
    );
}

/** The role label of restore's helper containers (the swap; removing a staged file). */
export const HELPER_ROLE = "restore-helper";

/**
 * Label of a helper container: the vault's save points when restore began. Restore turns them
 * off just before it stops the vault (the stop then writes no dump.rdb that is moved aside
 * anyway); a restore killed in between leaves them off, and the next one puts them back.
 */
const LABEL_SAVE_POINTS = "nexus-redis.restore.save";

/**
 * A write pause (CLIENT PAUSE WRITE) that lasts `leaseMs` unless renewed, renewed while this
 * process runs. Redis extends a pause that is asked again (networking.c, pauseClients: the
 * later end wins), so a restore that is killed leaves writes blocked for at most one lease,
 * never for the whole of a long bound.
 */
class WritePause {
    private timer: NodeJS.Timeout | undefined;
    private renewing: Promise<void> | undefined;

    private constructor(
        private readonly env: EnvironmentOutput,
        readonly leaseMs: number,
    ) {}

    static async begin(env: EnvironmentOutput, leaseMs: number, timeoutMs: number): Promise<WritePause> {
        await withVault(env, Math.min(timeoutMs, 10_000), (s) => s.call("CLIENT", "PAUSE", leaseMs, "WRITE"));
        const pause = new WritePause(env, leaseMs);
        pause.timer = setInterval(() => void pause.renew(), pauseRenewalMs(leaseMs));
        return pause;
    }

    /** Asks for the pause again; one request at a time (while DEBUG DIGEST blocks the vault, they would pile up). */
    renew(): Promise<void> {
        this.renewing ??= withVault(this.env, Math.min(this.leaseMs, 10_000), (s) => s.call("CLIENT", "PAUSE", this.leaseMs, "WRITE"))
            .then(
                () => undefined,
                () => undefined,
            )
            .finally(() => {
                this.renewing = undefined;
            });
        return this.renewing;
    }

    /** No more renewals: the vault is stopped, or the pause is over. */
    stopRenewing(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }

    /** Writes resume now. */
    async end(): Promise<void> {
        this.stopRenewing();
        await this.renewing;
        await withVault(this.env, 10_000, (s) => s.call("CLIENT", "UNPAUSE")).catch(() => undefined);
    }
}

/**
 * Only for the live tests of a killed restore: with NEXUS_REDIS_TEST_HANG_AT set to this
 * point, restore says so on stderr and waits there until it is killed.
 */
export type TestHangPoint = "staging" | "save-off" | "verify-pause" | "stopped";

function hangsAt(deps: RestoreDeps, point: TestHangPoint): boolean {
    return deps.env.NEXUS_REDIS_TEST_HANG_AT === point;
}

function hangForTest(point: TestHangPoint): Promise<never> {
    process.stderr.write(`nexus-redis restore: NEXUS_REDIS_TEST_HANG_AT=${point}: waiting here until killed\n`);
    return new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/** One swap under way: what steps 3 to 7 each read, and the report each writes into. */
interface Swap {
    env: EnvironmentOutput;
    vault: VaultContainer;
    /** The vault's own container: stopped and started again, never replaced. */
    container: Docker.Container;
    /** The environment, for the log. */
    name: string;
    /** The folder in /data the vault's previous files are moved into. */
    aside: string;
    leaseMs: number;
    snapshot: ScratchResult;
    deps: RestoreDeps;
    remaining: () => number;
    report: RestoreReport;
}

/**
 * Steps 3 to 7 of the header: the snapshot staged, writes paused and the vault stopped, the
 * files swapped, the same container started on them, then verified. Each step undoes what it
 * began when it fails before the stop (the helper and the staged file removed, writes resumed);
 * after the stop a failure says where the vault's previous files are and how to go back.
 */
async function replaceVaultData(
    env: EnvironmentOutput,
    vault: VaultContainer,
    file: string,
    snapshot: ScratchResult,
    decision: Extract<RestoreDecision, { action: "restore" }>,
    options: RestoreOptions,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<void> {
    const container = deps.docker.getContainer(vault.id);
    const aside = asideFolderName(deps.now());
    const leaseMs = pauseLeaseMs(snapshot.digestMs);
    report.measurements.pauseLeaseMs = leaseMs;
    const s: Swap = { env, vault, container, name: options.environment, aside, leaseMs, snapshot, deps, remaining, report };
    const { helper, discard } = await stageSnapshot(s, file);
    const writesStopped = await stopUnderPause(s, decision, discard);
    await swapFiles(s, helper);
    const { startedSave, ready } = await startOnSnapshot(s, helper);
    report.measurements.writesRefusedMs = Math.round(ready - writesStopped);
    deps.log(`${s.name}: the vault answers again: writes were refused for ${seconds(report.measurements.writesRefusedMs)}`);

    // 7. Verify.
    report.verification = await verifyRestore(env, vault, snapshot, startedSave, ready, leaseMs, deps, remaining, report);
    report.status = report.verification.equal ? "restored" : "failed";
    if (!report.verification.equal) report.error = `verification failed: ${report.verification.problems.join("; ")}`;
}

/**
 * 3. The snapshot is staged in the vault's volume while the vault still runs: copying the
 * whole file is not part of the time writes are refused, and a restore killed here leaves
 * the vault running, untouched. Returns the helper and how to discard it with the staged file.
 */
async function stageSnapshot(s: Swap, file: string) {
    const { env, vault, deps, remaining } = s;
    const bytes = fs.statSync(file).size;
    const savePoints = vault.running ? await readSavePoints(env, remaining()) : undefined;
    const helper = await createHelper(deps.docker, vault, swapScript(s.aside, REDIS_UID, bytes), savePoints);
    const discard = async () => {
        await removeContainer(deps.docker, helper.id);
        await removeStagedFile(deps.docker, vault, Math.max(timeLeft(remaining), 30_000));
    };
    deps.log(`${s.name}: staging the snapshot (${formatBytes(bytes)}) in ${dataName(vault)} as /data/${STAGING_FILE}`);
    try {
        await stage(helper, file, bytes, deps);
    } catch (e) {
        await discard();
        if (/no space left on device/i.test((e as Error).message))
            throw new Error(
                `disk full: ${dataName(vault)} has no room for the snapshot (${formatBytes(bytes)}) beside the vault's files; nothing was changed (${(e as Error).message})`,
            );
        throw e;
    }
    return { helper, discard };
}

/** 4. Pause writes, look again, stop the same container; all undone should any of it fail. Returns when writes stopped. */
async function stopUnderPause(
    s: Swap,
    decision: Extract<RestoreDecision, { action: "restore" }>,
    discard: () => Promise<void>,
): Promise<number> {
    const { env, vault, deps, remaining, report } = s;
    const writesStopped = performance.now();
    let held: Awaited<ReturnType<typeof pauseAndRecheck>> | undefined;
    try {
        held = vault.running ? await pauseAndRecheck(env, vault, s.snapshot, decision, s.leaseMs, deps, remaining, report) : undefined;
    } catch (e) {
        await discard();
        throw e;
    }
    deps.log(
        `${s.name}: writes paused (${describePause(s.leaseMs)}); stopping ${vault.name} (the same container: Pulumi's state stays true)`,
    );
    const stopStarted = performance.now();
    // The container's own stop timeout (the plan's stopTimeout), as `docker stop` would use it: time for Redis to fsync.
    await s.container.stop().catch(async (e) => {
        if ((e as { statusCode?: number }).statusCode === 304) return; // 304: already stopped
        await held?.undo();
        await discard();
        throw e;
    });
    held?.pause.stopRenewing();
    report.measurements.stopMs = Math.round(performance.now() - stopStarted);
    if (hangsAt(deps, "stopped")) await hangForTest("stopped");
    return writesStopped;
}

/** 5. The swap, in the vault's data, while it is stopped; a failure leaves it stopped and says where its files are. */
async function swapFiles(s: Swap, helper: Docker.Container): Promise<void> {
    const { vault, aside, deps, report } = s;
    const swapStarted = performance.now();
    let moved: string[];
    try {
        moved = movedFiles(await runHelper(helper, s.remaining()));
    } catch (e) {
        await removeContainer(deps.docker, helper.id);
        report.error =
            `the vault's files could not be swapped (${(e as Error).message}); ${vault.name} is STOPPED, not started on what may be half of its files. ` +
            `Its previous files are in ${dataName(vault)}: /data/${aside}, or still in /data. ${wayBackAdvice(vault, aside)}`;
        throw e;
    }
    report.measurements.swapMs = Math.round(performance.now() - swapStarted);
    report.aside = moved.length === 0 ? null : { data: dataName(vault), folder: `/data/${aside}`, moved };
    deps.log(
        `${s.name}: ${moved.length === 0 ? "no previous files to move aside" : `moved ${moved.join(", ")} aside into /data/${aside} (${dataName(vault)})`}; starting ${vault.name} on the snapshot`,
    );
}

/**
 * 6. Start the same container; start-redis.sh converts dump.rdb before clients can write.
 * Returns the save points it started with and when it answered.
 */
async function startOnSnapshot(s: Swap, helper: Docker.Container): Promise<{ startedSave: string | undefined; ready: number }> {
    const { env, vault, aside, deps, report } = s;
    // Its log from a second before this start on: an older refusal in it is not this start's.
    const logFrom = Math.floor(Date.now() / 1000) - 1;
    const startStarted = performance.now();
    await s.container.start();
    // Only once the vault runs again: a restore killed before this leaves the helper, which
    // tells the next one that the swap was done and the vault must be started.
    await removeContainer(deps.docker, helper.id);
    let startedSave: string | undefined;
    try {
        startedSave = await waitForVault(env, vault, deps.docker, s.remaining, logFrom);
    } catch (e) {
        report.error = `${(e as Error).message}.${report.aside ? ` The vault's previous files are kept in ${dataName(vault)}, /data/${aside}. ${wayBackAdvice(vault, aside)}` : ""}`;
        throw e;
    }
    const ready = performance.now();
    report.measurements.startMs = Math.round(ready - startStarted);
    return { startedSave, ready };
}

/** The vault's `save` setting (its RDB save points), or undefined when it does not answer. */
async function readSavePoints(env: EnvironmentOutput, timeoutMs: number): Promise<string | undefined> {
    return withVault(env, Math.min(timeoutMs, 10_000), async (session) => {
        const reply = await session.call("CONFIG", "GET", "save");
        return Array.isArray(reply) ? String(reply[1] ?? "") : undefined;
    }).catch(() => undefined);
}

/**
 * Pauses the vault's writes (clients wait; nothing they send now can be acknowledged and then
 * lost with the old files), asks again whether the restore may go ahead, and has Redis skip
 * its RDB save at shutdown (dump.rdb is moved aside anyway; the AOF is fsynced regardless).
 * Undoes all of it when it refuses or fails; `undo` does the same should the stop fail.
 */
async function pauseAndRecheck(
    env: EnvironmentOutput,
    vault: VaultContainer,
    snapshot: SnapshotContent,
    decision: Extract<RestoreDecision, { action: "restore" }>,
    leaseMs: number,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<{ pause: WritePause; undo(): Promise<void> }> {
    const pause = await WritePause.begin(env, leaseMs, remaining());
    let savePoints: string | undefined;
    try {
        if (decision.forced.length === 0) {
            for (let attempt = 1; ; attempt++) {
                // Writes may have landed between the first look and the pause: the same question again.
                const now = await vaultState(deps.docker, vault, env, snapshot, remaining());
                const again = decideRestore(snapshot, now, report.before.operational ?? undefined, false);
                if (again.action !== "restore")
                    throw new Refusal(
                        `refused, nothing was changed: the vault changed while restore was deciding: ${again.reasons.join("; ")} (--force overrides)`,
                    );
                // DEBUG DIGEST blocks the vault, and a pause cannot be renewed while it runs: should it
                // have outlasted the lease, writes got through before the renewal. Renew, then make
                // sure none did (Redis counts every change until a save).
                await pause.renew();
                if ((await writeMark(env, remaining())) === now.writeMark) break;
                if (attempt === 3)
                    throw new Refusal(
                        "refused, nothing was changed: writes kept reaching the vault while restore held them paused (DEBUG DIGEST outlasted the pause); run restore again",
                    );
            }
        }
        await withVault(env, remaining(), async (session) => {
            const reply = await session.call("CONFIG", "GET", "save");
            savePoints = Array.isArray(reply) ? String(reply[1] ?? "") : "";
            await session.call("CONFIG", "SET", "save", "");
        });
        if (hangsAt(deps, "save-off")) await hangForTest("save-off");
    } catch (e) {
        if (savePoints !== undefined) await setSavePoints(env, savePoints);
        await pause.end();
        throw e;
    }
    const restoredSavePoints = savePoints ?? "";
    // Should the stop fail, the vault runs on as it was: its save points back, writes resumed.
    return {
        pause,
        undo: async () => {
            await setSavePoints(env, restoredSavePoints);
            await pause.end();
        },
    };
}

function setSavePoints(env: EnvironmentOutput, savePoints: string): Promise<void> {
    return withVault(env, 10_000, (s) => s.call("CONFIG", "SET", "save", savePoints)).then(
        () => undefined,
        () => undefined,
    );
}

/** `changes@last save time` of INFO persistence: the same twice means no write in between. */
async function writeMark(env: EnvironmentOutput, timeoutMs: number): Promise<string> {
    const saves = await withVault(env, Math.min(timeoutMs, 10_000), async (s) => parseInfo(String(await s.call("INFO", "persistence"))));
    return `${saves.rdb_changes_since_last_save}@${saves.rdb_last_save_time}`;
}

function wayBackAdvice(vault: VaultContainer, aside: string): string {
    return `To go back to them (what the restored vault holds is moved aside too, into /data/${restoredFolderName(aside)}): ${wayBackCommands(vault.name, vault.image, aside).join("; ")}`;
}

/**
 * A helper container for the swap: the vault's image, the vault's volumes (--volumes-from:
 * its /data, whether a volume or a host folder), no network, run as root; created now,
 * started only once the vault is stopped.
 */
function createHelper(docker: Docker, vault: VaultContainer, script: string, savePoints?: string): Promise<Docker.Container> {
    return docker.createContainer({
        name: temporaryName(vault, "restore"),
        Image: vault.image,
        Entrypoint: ["sh", "-c"],
        Cmd: [script],
        User: "0",
        Labels: { ...temporaryLabels(vault, HELPER_ROLE), ...(savePoints === undefined ? {} : { [LABEL_SAVE_POINTS]: savePoints }) },
        HostConfig: { NetworkMode: "none", VolumesFrom: [vault.id] },
    });
}

/** Puts the snapshot into the vault's /data as the staging file (0600, the redis user's), through the helper. */
async function stage(helper: Docker.Container, file: string, bytes: number, deps: RestoreDeps): Promise<void> {
    let archive: NodeJS.ReadableStream = tarFileStream(file, {
        path: `/data/${STAGING_FILE}`,
        mode: 0o600,
        uid: Number(REDIS_UID),
        gid: Number(REDIS_UID),
    });
    if (hangsAt(deps, "staging")) archive = archive.pipe(stallAfter(Math.floor(bytes / 2), () => void hangForTest("staging")));
    await helper.putArchive(archive, { path: "/" });
}

/** For the staging test hook: passes `limit` bytes on, then stops (the upload hangs halfway, as one cut short). */
function stallAfter(limit: number, stalled: () => void): Transform {
    let passed = 0;
    return new Transform({
        transform(chunk: Buffer, _encoding, done) {
            if (passed >= limit) {
                stalled();
                return; // never done: the upload waits here
            }
            passed += chunk.length;
            done(null, chunk);
        },
    });
}

/** Runs a helper to its end (the swap script, or a removal): its output, or why it failed. */
async function runHelper(helper: Docker.Container, timeoutMs: number): Promise<string> {
    await helper.start();
    const waited = await Promise.race([
        helper.wait() as Promise<{ StatusCode: number }>,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref()),
    ]);
    const output = await containerLog(helper);
    if (waited === undefined) throw new Error(`the helper did not finish within ${timeoutMs} ms`);
    if (waited.StatusCode !== 0) throw new Error(`the helper exited ${waited.StatusCode}: ${lastLine(output)}`);
    return output;
}

/** Removes the staging file from the vault's /data (a helper of the vault's image; works whether the vault runs or not). */
async function removeStagedFile(docker: Docker, vault: VaultContainer, timeoutMs: number): Promise<void> {
    const helper = await createHelper(docker, vault, `rm -f /data/${STAGING_FILE}`);
    try {
        await runHelper(helper, timeoutMs);
    } finally {
        await removeContainer(docker, helper.id);
    }
}

/** Whether the vault's /data holds a staging file (the engine's archive API: works on a stopped container too). */
async function stagedFileExists(docker: Docker, vault: VaultContainer): Promise<boolean> {
    try {
        await docker.getContainer(vault.id).infoArchive({ path: `/data/${STAGING_FILE}` });
        return true;
    } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
    }
}

/**
 * What a restore that was killed before it finished left: its helper container (named and
 * labelled for this vault, made by a process that is gone), a staging file, save points it had
 * turned off, a vault it had stopped. Removes and puts back only those (judgeLeftover says
 * what, from the helper's state), says what it found, and refuses while another restore of
 * this vault runs. Whether the vault was started again (it must be looked at anew).
 */
async function cleanUpAfterKilledRestore(
    env: EnvironmentOutput,
    vault: VaultContainer,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<boolean> {
    const note = (text: string) => {
        report.leftovers.push(text);
        deps.log(`${report.environment}: ${text}`);
    };
    for (const scratch of await removeAbandonedScratch(deps.docker, vault))
        note(`removed scratch container ${scratch}, left by a backup or restore that was killed`);
    const helpers = (await temporaryContainersOf(deps.docker, vault)).filter((c) => c.role === HELPER_ROLE);
    refuseWhileAnotherRuns(helpers, report.environment);
    let started = false;
    for (const h of helpers) {
        if (await cleanUpAfterHelper(h, env, vault, deps, remaining, note)) started = true;
    }
    if (helpers.length === 0 && (await stagedFileExists(deps.docker, vault))) {
        await removeStagedFile(deps.docker, vault, remaining());
        note(`removed /data/${STAGING_FILE}, a snapshot a killed restore had begun to stage in ${dataName(vault)}`);
    }
    return started;
}

/** Refuses, before anything is removed, while a helper's restore still runs, here or on another host. */
function refuseWhileAnotherRuns(helpers: TemporaryContainer[], environment: string): void {
    for (const h of helpers) {
        const owner = ownerState(h.owner);
        if (owner === "alive")
            throw new Refusal(
                `refused, nothing was changed: another restore of ${environment} is running on this host (${h.owner}, its helper container ${h.name}): let it finish`,
            );
        if (owner === "elsewhere")
            throw new Refusal(
                `refused, nothing was changed: a restore of ${environment} from another host (${h.owner}) has its helper container ${h.name} here; ` +
                    `if that restore no longer runs, run restore again from that host, which then cleans up after it (see docs/restore.md, "After a killed restore")`,
            );
    }
}

/**
 * One killed restore's helper: judged from its state (judgeLeftover), its staged file discarded
 * or the vault it stopped started again, the save points it turned off put back, then removed.
 * Whether the vault was started again.
 */
async function cleanUpAfterHelper(
    h: TemporaryContainer,
    env: EnvironmentOutput,
    vault: VaultContainer,
    deps: RestoreDeps,
    remaining: () => number,
    note: (text: string) => void,
): Promise<boolean> {
    const info = await settledHelper(deps.docker, h.id, remaining);
    const leftover: LeftoverHelper = {
        name: h.name,
        state: info.State.Status,
        exitCode: info.State.ExitCode,
        createdMs: Date.parse(info.Created),
        aside: asideFolderOfScript((info.Config.Cmd ?? []).join("\n")),
        log: await containerLog(deps.docker.getContainer(h.id)),
    };
    const now = (await deps.docker.getContainer(vault.id).inspect()).State;
    const verdict = judgeLeftover(leftover, { name: vault.name, running: now.Running, finishedMs: Date.parse(now.FinishedAt) });
    note(verdict.note);
    if (verdict.action === "refuse") throw new Refusal(`refused, nothing was changed: ${verdict.note}`);
    if (verdict.action === "discard") await removeStagedFile(deps.docker, vault, remaining());
    await removeContainer(deps.docker, h.id);
    const savePoints = info.Config.Labels?.[LABEL_SAVE_POINTS];
    if (verdict.startVault) {
        const logFrom = Math.floor(Date.now() / 1000) - 1;
        await deps.docker.getContainer(vault.id).start();
        await waitForVault(env, vault, deps.docker, remaining, logFrom);
        note(`${vault.name} answers again`);
        return true;
    }
    if (now.Running && savePoints) {
        // Killed between turning the save points off for the stop and the stop itself.
        if ((await readSavePoints(env, remaining())) === "") {
            await setSavePoints(env, savePoints);
            note(`the vault's RDB save points, which that restore had turned off for its stop, are back ("${savePoints}")`);
        }
    }
    return false;
}

/** The helper's state once it no longer runs (a swap still running is waited for: it is short). */
async function settledHelper(docker: Docker, id: string, remaining: () => number) {
    for (;;) {
        const info = await docker.getContainer(id).inspect();
        if (info.State.Status !== "running" && info.State.Status !== "restarting") return info;
        remaining();
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
}

/**
 * Runs `body` with a session on `target` (commands bounded by 30 s, the whole by `timeoutMs`);
 * the session and its deadline's timer end with it, so nothing keeps the process alive.
 */
async function withSession<T>(
    // With its tls, when the outputs give one: the session then speaks TLS.
    target: SessionTarget,
    timeoutMs: number,
    body: (session: RedisSession) => Promise<T>,
): Promise<T> {
    const deadline = new Deadline(timeoutMs);
    const session = new RedisSession(target, deadline, Math.min(timeoutMs, 30_000));
    try {
        return await body(session);
    } finally {
        session.close();
        deadline.finish();
    }
}

/**
 * Waits until the vault answers its password and has loaded its data (the conversion runs
 * with no client port first). Fails at once when the container stops or its start script
 * refuses (start-redis.sh says why in its log).
 */
async function waitForVault(
    env: EnvironmentOutput,
    vault: VaultContainer,
    docker: Docker,
    remaining: () => number,
    logFrom: number,
): Promise<string | undefined> {
    const container = docker.getContainer(vault.id);
    for (;;) {
        const left = remaining();
        const state = (await container.inspect()).State;
        const log = await containerLog(container, logFrom);
        const refusal = log.split("\n").find((line) => line.includes("REFUSING TO START"));
        if (refusal) throw new Error(`${vault.name} refused to start on the snapshot: ${refusal.replace(/^.*REFUSING TO START: /, "")}`);
        if (!state.Running && !state.Restarting)
            throw new Error(`${vault.name} stopped (exit ${state.ExitCode}) instead of starting on the snapshot`);
        const persistence = await withVault(env, Math.min(left, 2_000), async (session) =>
            parseInfo(String(await session.call("INFO", "persistence"))),
        ).catch(() => undefined); // Not answering yet (converting with no client port, or loading): ask again.
        if (persistence?.loading === "0") return persistence.rdb_last_save_time;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** What a server reports right now: DBSIZE, INFO keyspace's expires, DEBUG DIGEST (inside its container). */
async function contentOf(
    docker: Docker,
    container: string,
    password: string,
    user: string | undefined,
    timeoutMs: number,
): Promise<SnapshotContent & Pick<StateRead, "writeMark" | "changes" | "lastSave">> {
    const state = await serverState(docker, container, password, user, timeoutMs, () => true);
    if (state.unavailable !== undefined) throw new Error(state.unavailable);
    return {
        keys: state.keys!,
        expiringKeys: state.expiringKeys!,
        databases: state.databases,
        digest: state.digest!,
        writeMark: state.writeMark,
        changes: state.changes,
        lastSave: state.lastSave,
    };
}

/** A state as reported: without the internals only restore uses. */
function publicState(state: StateRead): ServerState {
    const { link: _link, writeMark: _mark, changes: _changes, lastSave: _lastSave, ...rest } = state;
    return rest;
}

/** A server's content as restore reads it, with what tells whether clients wrote since. */
type ReadContent = Awaited<ReturnType<typeof contentOf>>;

/** Runs `body` on the vault while its writes are paused, the pause ended however `body` ends. */
type Paused = <T>(body: (session: RedisSession) => Promise<T>) => Promise<T>;

/**
 * The restored vault against the snapshot, then the operational against the vault, each
 * under a short write pause, so that no client write lands between the two sides' digests.
 */
async function verifyRestore(
    env: EnvironmentOutput,
    vault: VaultContainer,
    snapshot: SnapshotContent,
    startedSave: string | undefined,
    readyAt: number,
    leaseMs: number,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<Verification> {
    let pausedMs = 0;
    // Each pause lasts one lease at a time, renewed while this runs (WritePause).
    const paused: Paused = async (body) => {
        const started = performance.now();
        const pause = await WritePause.begin(env, leaseMs, remaining());
        try {
            if (hangsAt(deps, "verify-pause")) await hangForTest("verify-pause");
            return await withVault(env, remaining(), body);
        } finally {
            await pause.end();
            pausedMs += performance.now() - started;
            report.measurements.verifyPauseMs = Math.round(pausedMs);
        }
    };
    const { restored, verification } = await vaultAgainstSnapshot(env, vault, snapshot, startedSave, paused, deps, remaining, report);
    if (env.kind !== "standard") return verification;

    await waitForResync(env, remaining);
    report.measurements.operationalSyncMs = Math.round(performance.now() - readyAt);
    const [atVault, atOperational] = await operationalAgainstVault(env, vault, restored, paused, deps, remaining);
    verification.operational = atOperational.digest;
    if (atOperational.digest !== atVault.digest) {
        verification.equal = false;
        verification.problems.push(
            `the operational holds ${atOperational.keys} keys with DEBUG DIGEST ${short(atOperational.digest)}, the vault ${atVault.keys} with ${short(atVault.digest)}`,
        );
    } else if (atVault.digest !== restored.digest) {
        // Clients wrote between the two pauses: the operational matches the vault as it is now.
        verification.compared += `; the operational against the vault as it is now (${atVault.keys} keys: clients wrote since the restore)`;
    }
    deps.log(
        `${report.environment}: the operational re-synced ${seconds(report.measurements.operationalSyncMs)} after the vault answered: DEBUG DIGEST ${short(atOperational.digest)}, ${atOperational.digest === atVault.digest ? "as the vault" : "NOT as the vault"}`,
    );
    return verification;
}

/** The restored vault's digest, read under a pause, against the snapshot's (its AOF base's when clients wrote first). */
async function vaultAgainstSnapshot(
    env: EnvironmentOutput,
    vault: VaultContainer,
    snapshot: SnapshotContent,
    startedSave: string | undefined,
    paused: Paused,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<{ restored: ReadContent; verification: Verification }> {
    const restored = await paused(() => contentOf(deps.docker, vault.name, env.vault.password, undefined, remaining()));
    let verification: Verification;
    // A restored vault starts with no change since its last save; a client that wrote the moment
    // it answered, before the pause, makes its live digest differ from the snapshot's for a
    // reason that is no fault of the restore. What the vault started from is then read from its
    // AOF base file (the conversion's RDB of the snapshot), loaded into a scratch server.
    const clientsWrote = restored.changes !== 0 || (startedSave !== undefined && restored.lastSave !== startedSave);
    if (!clientsWrote) {
        verification = { ...verifyVault(snapshot, restored), operational: null, aofBase: null };
    } else {
        const base = await aofBaseContent(deps.docker, vault, remaining());
        const fromBase = verifyVault(snapshot, base);
        verification = {
            ...fromBase,
            vault: restored.digest,
            operational: null,
            aofBase: base.digest,
            compared:
                `the vault's AOF base, which it started from (clients made ${restored.changes} change${restored.changes === 1 ? "" : "s"} before the verification paused writes: ` +
                `the vault's own DEBUG DIGEST includes them): ${fromBase.compared}`,
        };
    }
    deps.log(
        `${report.environment}: the vault holds ${restored.keys} keys, DEBUG DIGEST ${short(restored.digest)}: ${verification.equal ? "as the snapshot" : "NOT as the snapshot"} (${verification.compared})`,
    );
    return { restored, verification };
}

/**
 * The operational re-syncs by itself: the restarted vault has a new replication id, so its
 * PSYNC gets a full sync. Wait until it follows the vault's history with the link up. The
 * vault's id is read each time: Redis gives a master a new one when its first replica
 * attaches after a start (it creates its backlog then).
 */
async function waitForResync(env: EnvironmentOutput, remaining: () => number): Promise<void> {
    for (;;) {
        const [master, replica] = await Promise.all([
            withVault(env, Math.min(timeLeft(remaining), 2_000), (s) => s.call("INFO", "replication"))
                .then((text) => parseInfo(String(text)))
                .catch(() => undefined),
            operationalReplication(env),
        ]);
        const synced =
            replica?.master_link_status === "up" &&
            replica.master_sync_in_progress === "0" &&
            replica.master_replid === master?.master_replid;
        if (synced) return;
        if (timeLeft(remaining) < 500) {
            throw new Error(
                `the operational did not re-sync from the restored vault in time: ${replica ? `link ${replica.master_link_status}, following history ${short(replica.master_replid)}, the vault's is ${short(master?.master_replid)}` : "it does not answer"}`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

/** The vault's and the caught-up operational's contents, to compare: without a pause when no write came between, else under one. */
async function operationalAgainstVault(
    env: StandardEnvironmentOutput,
    vault: VaultContainer,
    restored: ReadContent,
    paused: Paused,
    deps: RestoreDeps,
    remaining: () => number,
): Promise<[ReadContent, ReadContent]> {
    // First without pausing the vault: when no write reaches the vault while the operational,
    // caught up, takes its digest (Redis counts every change, an expiry's too, until a save),
    // both hold what the vault's first digest covered.
    const unpaused = await withVault(env, remaining(), async (session) => {
        const mark = async () => {
            const info = parseInfo(String(await session.call("INFO", "persistence", "replication")));
            return { mark: `${info.rdb_changes_since_last_save}@${info.rdb_last_save_time}`, offset: Number(info.master_repl_offset) };
        };
        const before = await mark();
        if (before.mark !== restored.writeMark) return undefined;
        await operationalCaughtUp(env, before.offset, remaining);
        const operational = await contentOf(
            deps.docker,
            env.operational.container,
            env.operational.adminPassword,
            env.operational.adminUser,
            remaining(),
        );
        return (await mark()).mark === before.mark ? operational : undefined;
    });
    if (unpaused) return [restored, unpaused];
    return paused(async (session) => {
        const offset = Number(parseInfo(String(await session.call("INFO", "replication"))).master_repl_offset);
        // Paused: the vault sends nothing more; the operational has everything once its offset is there.
        await operationalCaughtUp(env, offset, remaining);
        // No write since the first digest (Redis counts every change until a save): the vault's
        // digest is still that one, and DEBUG DIGEST, which blocks the vault, need not run again.
        const saves = parseInfo(String(await session.call("INFO", "persistence")));
        const unchanged = `${saves.rdb_changes_since_last_save}@${saves.rdb_last_save_time}` === restored.writeMark;
        return Promise.all([
            unchanged ? restored : contentOf(deps.docker, vault.name, env.vault.password, undefined, remaining()),
            contentOf(deps.docker, env.operational.container, env.operational.adminPassword, env.operational.adminUser, remaining()),
        ]);
    });
}

/** Waits until the operational has received the vault's replication stream up to `offset`. */
async function operationalCaughtUp(env: EnvironmentOutput, offset: number, remaining: () => number): Promise<void> {
    for (;;) {
        remaining();
        const replica = await operationalReplication(env);
        if (Number(replica?.slave_repl_offset ?? -1) >= offset) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

function withVault<T>(env: EnvironmentOutput, timeoutMs: number, body: (session: RedisSession) => Promise<T>): Promise<T> {
    return withSession(env.vault, timeoutMs, async (session) => {
        await session.call("AUTH", env.vault.password);
        return body(session);
    });
}

/** The operational's INFO replication, without a password as the protocol's check reads it; undefined while it does not answer. */
async function operationalReplication(env: EnvironmentOutput): Promise<Record<string, string> | undefined> {
    if (env.kind !== "standard") return undefined;
    const operational = env.operational;
    return withSession(operational, 2_000, async (session) => ({ ...parseInfo(String(await session.call("INFO", "replication"))) })).catch(
        () => undefined,
    );
}

/**
 * What the vault's AOF base file holds (the RDB the vault's start wrote from the snapshot, the
 * first part of its append-only file): copied out of the running container (the engine's
 * archive API; base files are never rewritten in place) and loaded into a scratch server.
 */
async function aofBaseContent(docker: Docker, vault: VaultContainer, timeoutMs: number): Promise<SnapshotContent> {
    const { aofDir, aofFile } = vaultDataFiles();
    const manifest = await exec(docker, vault.name, ["cat", `/data/${aofDir}/${aofFile}.manifest`], { timeoutMs });
    const base = /^file (\S+) seq \d+ type b$/m.exec(manifest.stdout)?.[1];
    if (manifest.exitCode !== 0 || !base || !/^[A-Za-z0-9._-]+$/.test(base))
        throw new Error(`cannot read the vault's AOF manifest: ${lastLine(manifest.output)}`);
    const folder = fs.mkdtempSync(tempFolderPrefix("aof-base"));
    try {
        const file = path.join(folder, base);
        await extractOne(await docker.getContainer(vault.id).getArchive({ path: `/data/${aofDir}/${base}` }), file);
        return await loadInScratch({ docker, vault, file, timeoutMs });
    } finally {
        fs.rmSync(folder, { recursive: true, force: true });
    }
}

/** Writes the one file of a tar stream to `file` (0600). */
function extractOne(archive: NodeJS.ReadableStream, file: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const unpack = extract();
        let written = false;
        unpack.on("entry", (header, stream, next) => {
            if (header.type !== "file" || written) {
                stream.on("end", next);
                stream.resume();
                return;
            }
            written = true;
            const out = fs.createWriteStream(file, { mode: 0o600 });
            stream.pipe(out);
            out.on("finish", next);
            out.on("error", reject);
        });
        unpack.on("finish", () => (written ? resolve() : reject(new Error("the archive holds no file"))));
        unpack.on("error", reject);
        archive.on("error", reject);
        archive.pipe(unpack as unknown as NodeJS.WritableStream);
    });
}

/** What `remaining` says, 0 once it is over (it throws then). */
function timeLeft(remaining: () => number): number {
    try {
        return remaining();
    } catch {
        return 0;
    }
}

/** One JSON document, keys in a fixed order; times apart in `measurements`; never a password. */
export function renderRestoreJson(report: RestoreReport): string {
    const state = (s: ServerState | null) =>
        s && {
            unavailable: s.unavailable ?? null,
            keys: s.keys ?? null,
            expiringKeys: s.expiringKeys ?? null,
            databases: s.databases ?? null,
            digest: s.digest ?? null,
            datasetBytes: s.datasetBytes ?? null,
        };
    const document = {
        environment: report.environment,
        status: report.status,
        from: report.from,
        snapshot: report.snapshot && {
            bytes: report.snapshot.bytes,
            sha256: report.snapshot.sha256,
            keys: report.snapshot.keys,
            expiringKeys: report.snapshot.expiringKeys,
            databases: report.snapshot.databases ?? null,
            digest: report.snapshot.digest,
            manifest: report.snapshot.manifest,
            createdAt: report.snapshot.createdAt,
            redis: {
                redisVersion: report.snapshot.redis.redisVersion,
                replicationId: report.snapshot.redis.replicationId,
                replicationOffset: report.snapshot.redis.replicationOffset,
            },
        },
        before: { vault: state(report.before.vault), operational: state(report.before.operational) },
        reasons: report.reasons,
        forced: report.forced,
        verification: report.verification && {
            equal: report.verification.equal,
            snapshot: report.verification.snapshot,
            vault: report.verification.vault,
            operational: report.verification.operational,
            aofBase: report.verification.aofBase,
            compared: report.verification.compared,
            problems: report.verification.problems,
        },
        aside: report.aside,
        leftovers: report.leftovers,
        error: report.error,
        measurements: report.measurements,
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

/** The end of a restore for people (its progress went to stderr as it happened). */
export function renderRestoreText(report: RestoreReport): string {
    const out: string[] = [];
    const m = report.measurements;
    const v = report.verification;
    switch (report.status) {
        case "restored":
            out.push(`restored ${report.environment} from ${report.from}: ${report.snapshot?.keys} keys`);
            break;
        case "unchanged":
            out.push(`${report.environment} unchanged: ${report.reasons.join("; ")}`);
            break;
        case "refused":
            out.push(`${report.environment} NOT restored: ${report.error}`);
            break;
        case "failed":
            out.push(`${report.environment} restore FAILED: ${report.error}`);
    }
    if (v) {
        const digests = [
            `snapshot ${short(v.snapshot)}`,
            ...(v.aofBase ? [`vault's AOF base ${short(v.aofBase)}`] : []),
            `vault ${short(v.vault ?? undefined)}`,
            ...(v.operational ? [`operational ${short(v.operational)}`] : []),
        ];
        out.push(`  verified: ${v.equal ? "equal" : "NOT EQUAL"}: ${digests.join(", ")}; compared: ${v.compared}`);
        for (const p of v.problems) out.push(`  - ${p}`);
    }
    for (const f of report.forced) out.push(`  --force: replaced although ${f}`);
    if (m.writesRefusedMs !== null) {
        out.push(
            `  writes were refused for ${seconds(m.writesRefusedMs)} (stop ${seconds(m.stopMs)}, swap ${seconds(m.swapMs)}, start and load ${seconds(m.startMs)}), ` +
                `then paused ${seconds(m.verifyPauseMs)} in all while digests were taken`,
        );
    }
    if (m.operationalSyncMs !== null) out.push(`  the operational re-synced ${seconds(m.operationalSyncMs)} after the vault answered`);
    if (report.aside) {
        out.push(
            `  the vault's previous files (${report.aside.moved.join(", ")}) are kept in ${report.aside.data}, ${report.aside.folder}: remove them when no longer needed`,
        );
    }
    for (const leftover of report.leftovers) out.push(`  before it began: ${leftover}`);
    return `${out.join("\n")}\n`;
}
