/** Steps 3 to 7 of restore.ts's header: the snapshot staged, writes paused, the vault stopped, its files swapped, started again, verified. */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { REDIS_UID } from "../../components/redisServer";
import type { SnapshotContent } from "../snapshot/manifest";
import { type VaultContainer, dataName, removeContainer } from "../snapshot/vaultContainer";
import type { ScratchResult } from "../snapshot/verify";
import type { Docker } from "../docker/client";
import type { EnvironmentOutput } from "../fleet/environment";
import { formatBytes, seconds } from "../core/format";
import {
    type RestoreDecision,
    STAGING_FILE,
    asideFolderName,
    decideRestore,
    describePause,
    movedFiles,
    pauseLeaseMs,
    restoredFolderName,
    swapScript,
    wayBackCommands,
} from "./plan";
import type { RestoreOptions, RestoreDeps } from "./inputs";
import { type RestoreReport, Refusal, forcedProgress, stagingDiskFullRefusal } from "./report";
import { vaultState } from "./serverState";
import { WritePause, readSavePoints, setSavePoints, writeMark, waitForVault, withVault, timeLeft } from "./vaultSession";
import { hangsAt, hangForTest } from "./testHooks";
import { stopBudgetRefusal } from "./vaultChecks";
import { createHelper, stage, runHelper, removeStagedFile } from "./helper";
import { verifyRestore } from "./verifyRestore";

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
export async function replaceVaultData(
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
            throw new Refusal(stagingDiskFullRefusal(dataName(vault), formatBytes(bytes), (e as Error).message));
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
    const shortOfTime = stopBudgetRefusal(timeLeft(remaining));
    if (shortOfTime) {
        await held?.undo();
        await discard();
        throw new Refusal(shortOfTime);
    }
    // What --force overrides is said here, once nothing is left that could still refuse (the
    // staging's disk, the pause, the time left): said earlier, a refusal after it read as a contradiction.
    for (const line of forcedProgress(decision.forced)) deps.log(`${s.name}: ${line}`);
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

function wayBackAdvice(vault: VaultContainer, aside: string): string {
    return `To go back to them (what the restored vault holds is moved aside too, into /data/${restoredFolderName(aside)}): ${wayBackCommands(vault.name, vault.image, aside).join("; ")}`;
}
