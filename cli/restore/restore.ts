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
import { performance } from "node:perf_hooks";
import type { SnapshotContent } from "../snapshot/manifest";
import { type VaultContainer, VaultContainerError, inspectVaultContainer } from "../snapshot/vaultContainer";
import type { Docker } from "../docker/client";
import { UsageError } from "../core/errors";
import type { EnvironmentOutput } from "../fleet/environment";
import { EXIT_HEALTHY, EXIT_PROBLEMS } from "../core/exit";
import { decideRestore } from "./plan";
import type { RestoreOptions, RestoreDeps, LocalSnapshot } from "./inputs";
import { type RestoreReport, Refusal } from "./report";
import { fetchSnapshot, noManifestRefusal, removeAbandonedTempFolders } from "./source";
import { vaultDatabases, verifySnapshot } from "./verifySnapshot";
import { type StateRead, serverState, vaultState, operationalState, publicState } from "./serverState";
import { replaceVaultData } from "./swap";
import { cleanUpAfterKilledRestore } from "./leftovers";
import { LockRefusal, lockName, takeVaultLock } from "../snapshot/vaultLock";
import { checkVaultContainer, checkVaultServer, waitUntilStarted } from "./vaultChecks";

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
    let release: (() => Promise<void>) | undefined;
    try {
        for (const folder of removeAbandonedTempFolders()) {
            report.leftovers.push(`removed ${folder}, a snapshot a killed restore had copied out`);
            deps.log(`${options.environment}: ${report.leftovers.at(-1)}`);
        }
        local = await fetchSnapshot(options, deps, remaining);
        if (!local.manifest && !options.withoutManifest) throw new Refusal(noManifestRefusal(options.from));
        // 0. The vault, proven before anything changes: its container not paused and started
        // through the program's start script; its start finished (a conversion is waited for);
        // the server behind host:port the one in that container (a stopped one publishes that
        // port), on AOF. Else refused.
        let vault = await inspectVault(deps.docker, env);
        await checkVaultContainer(deps.docker, vault);
        await waitUntilStarted(deps.docker, env, vault, remaining, (text) => deps.log(`${options.environment}: ${text}`));
        await checkVaultServer(deps.docker, env, vault, remaining());
        // One restore (or adopt) of this vault at a time, from here on: what follows takes what
        // it finds (a helper, a staged file) for a killed restore's.
        release = await takeVaultLock(
            deps.docker,
            { vaultName: vault.name, image: vault.image, labels: vault.labels, environment: options.environment },
            "restore",
            (text) => {
                report.leftovers.push(text);
                deps.log(`${options.environment}: ${text}`);
            },
        );
        // What a restore that was killed left (its helper, a staged file; a vault it stopped).
        if (await cleanUpAfterKilledRestore(env, vault, deps, remaining, report)) {
            vault = await inspectVault(deps.docker, env);
            await checkVaultServer(deps.docker, env, vault, remaining());
        }
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
        // Said in the log only once the vault is about to stop (swap.ts): the staging can still refuse.
        report.forced = decision.forced;

        // 3-6.
        await replaceVaultData(env, vault, local.file, content, decision, options, deps, remaining, report);
    } catch (e) {
        if (e instanceof UsageError) throw e;
        if (e instanceof Refusal || e instanceof LockRefusal) {
            report.status = "refused";
            report.error = e.message;
        } else {
            report.status = "failed";
            report.error = report.error ?? (e instanceof Error ? e.message : String(e));
        }
        deps.log(`${options.environment}: ${report.status.toUpperCase()}: ${report.error}`);
    } finally {
        local?.cleanup();
        await release?.().catch((e: Error) =>
            deps.log(
                `${options.environment}: the vault's lock could not be removed (${e.message}): \`docker rm ${lockName(env.vault.container)}\``,
            ),
        );
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
