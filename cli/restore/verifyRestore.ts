/**
 * Step 7 of restore.ts's header: the restored vault against the snapshot (or its AOF base when clients
 * wrote first), then the re-synced operational against the vault, each under a short write pause.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { extract } from "tar-stream";
import type { SnapshotContent } from "../snapshot/manifest";
import { lastLine } from "../snapshot/restic";
import type { VaultContainer } from "../snapshot/vaultContainer";
import { loadInScratch } from "../snapshot/verify";
import { type Docker, exec, isNotFound } from "../docker/client";
import type { EnvironmentOutput, StandardEnvironmentOutput } from "../fleet/environment";
import { parseInfo } from "../redis/replies";
import { seconds } from "../core/format";
import { type Verification, short, vaultDataFiles, verifyVault } from "./plan";
import type { RedisSession } from "../redis/session";
import type { RestoreDeps } from "./inputs";
import type { RestoreReport } from "./report";
import { tempFolderPrefix } from "./source";
import { contentOf, type ReadContent } from "./serverState";
import { WritePause, withVault, operationalReplication, timeLeft } from "./vaultSession";
import { hangsAt, hangForTest } from "./testHooks";
import { operationalNotRunning } from "./vaultChecks";

/** Runs `body` on the vault while its writes are paused, the pause ended however `body` ends. */
type Paused = <T>(body: (session: RedisSession) => Promise<T>) => Promise<T>;

/**
 * The restored vault against the snapshot, then the operational against the vault, each
 * under a short write pause, so that no client write lands between the two sides' digests.
 */
export async function verifyRestore(
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

    // Should the operational turn out not to be running, the vault's half stays in the report.
    report.verification = verification;
    const stopped = (state: string) =>
        new Error(
            `the vault holds the snapshot and is ${verification.equal ? "verified" : "NOT verified"} (${verification.compared}), ` +
                `but the operational ${env.operational.container} is ${state}, so it has not re-synced from it: ` +
                (state === OPERATIONAL_GONE
                    ? "create it again (pulumi up), then run nexus-redis check; it syncs from the vault by itself"
                    : `start it (docker ${state === "paused" ? "unpause" : "start"} ${env.operational.container}), then run nexus-redis check; it re-syncs from the vault by itself`),
        );
    await waitForResync(env, deps.docker, remaining, stopped);
    report.measurements.operationalSyncMs = Math.round(performance.now() - readyAt);
    const [atVault, atOperational] = await operationalAgainstVault(env, vault, restored, paused, deps, remaining, stopped);
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
async function waitForResync(
    env: StandardEnvironmentOutput,
    docker: Docker,
    remaining: () => number,
    stopped: (state: string) => Error,
): Promise<void> {
    const notRunning = operationalWatch(env, docker);
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
        const state = await notRunning();
        if (state) throw stopped(state);
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
    stopped: (state: string) => Error,
): Promise<[ReadContent, ReadContent]> {
    const caughtUp = (offset: number) => operationalCaughtUp(env, offset, remaining, operationalWatch(env, deps.docker), stopped);
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
        await caughtUp(before.offset);
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
        await caughtUp(offset);
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
async function operationalCaughtUp(
    env: EnvironmentOutput,
    offset: number,
    remaining: () => number,
    notRunning: () => Promise<string | undefined>,
    stopped: (state: string) => Error,
): Promise<void> {
    for (;;) {
        remaining();
        const replica = await operationalReplication(env);
        if (Number(replica?.slave_repl_offset ?? -1) >= offset) return;
        const state = await notRunning();
        if (state) throw stopped(state);
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

/** The operational's state when the engine no longer has its container (removed): `pulumi up` makes it again. */
const OPERATIONAL_GONE = "gone (the engine has no such container)";

/**
 * Whether the operational's container is not running (exited, dead, paused: it cannot re-sync
 * until someone starts it), asked of the engine at most once a second: waiting on for the whole
 * --timeout would only end in a failure that hides that the vault was restored.
 */
function operationalWatch(env: StandardEnvironmentOutput, docker: Docker): () => Promise<string | undefined> {
    let last = 0;
    return async () => {
        if (performance.now() - last < 1_000) return undefined;
        last = performance.now();
        try {
            return operationalNotRunning((await docker.getContainer(env.operational.container).inspect()).State);
        } catch (e) {
            if (isNotFound(e)) return OPERATIONAL_GONE;
            return undefined; // The engine did not answer this time: ask again, as for Redis.
        }
    };
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
