/** What a restore that was killed left (its helper, a staged file, save points turned off, a stopped vault): found and put right. */
import {
    type TemporaryContainer,
    type VaultContainer,
    dataName,
    removeAbandonedScratch,
    removeContainer,
    temporaryContainersOf,
} from "../snapshot/vaultContainer";
import { type Docker, containerLog } from "../docker/client";
import type { EnvironmentOutput } from "../fleet/environment";
import { ownerState } from "../core/owner";
import { type LeftoverHelper, STAGING_FILE, asideFolderOfScript, judgeLeftover } from "./plan";
import type { RestoreDeps } from "./inputs";
import { type RestoreReport, Refusal } from "./report";
import { readSavePoints, setSavePoints, waitForVault } from "./vaultSession";
import { HELPER_ROLE, LABEL_SAVE_POINTS, removeStagedFile, stagedFileExists } from "./helper";

/**
 * What a restore that was killed before it finished left: its helper container (named and
 * labelled for this vault, made by a process that is gone), a staging file, save points it had
 * turned off, a vault it had stopped. Removes and puts back only those (judgeLeftover says
 * what, from the helper's state), says what it found, and refuses while another restore of
 * this vault runs. Whether the vault was started again (it must be looked at anew).
 */
export async function cleanUpAfterKilledRestore(
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
