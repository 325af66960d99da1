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
import { resticPasswordGiven, resticSnapshotOf, validSnapshotId } from "../snapshot/restic";
import { type VaultContainer, VaultContainerError, inspectVaultContainer } from "../snapshot/vaultContainer";
import { type Docker, connectDockerFor } from "../docker/client";
import { UsageError, parseCommandLine, parseMs } from "../core/errors";
import type { CliIo } from "../core/io";
import { loadOutputs } from "../fleet/outputs";
import type { EnvironmentOutput } from "../fleet/environment";
import { EXIT_HEALTHY, EXIT_PROBLEMS } from "../core/exit";
import { decideRestore } from "./plan";
import type { RestoreOptions, RestoreDeps, LocalSnapshot } from "./inputs";
import { type RestoreReport, Refusal, renderRestoreJson, renderRestoreText } from "./report";
import { fetchSnapshot, noManifestRefusal, removeAbandonedTempFolders } from "./source";
import { vaultDatabases, verifySnapshot } from "./verifySnapshot";
import { type StateRead, serverState, vaultState, operationalState, publicState } from "./serverState";
import { replaceVaultData } from "./swap";
import { cleanUpAfterKilledRestore } from "./leftovers";

export const DEFAULT_RESTORE_TIMEOUT_MS = 600_000;

export const RESTORE_HELP = `Usage:
  nexus-redis restore ENV --from FILE|restic:SNAPSHOT [--force] [--without-manifest] [--json]
                      [--restic-repo URL] [--outputs FILE|-] [--stack NAME] [--timeout MS]

Brings ENV's vault up on exactly the snapshot, with AOF on, and waits until its operational
has re-synced from it. Before anything stops, the snapshot is verified (sha256 against its
manifest, and loaded into a scratch Redis server of the vault's image), and restore refuses
to replace data that differs from it (every database counts). The snapshot is staged in the
vault's volume, writes are paused, the vault's container stopped (the same container:
Pulumi's state stays true), its files moved aside into /data/nexus-redis-restore-STAMP
(kept, 0700), the snapshot put in as dump.rdb, the container started again; then the
snapshot's, the vault's and the operational's DEBUG DIGEST are compared.

A write pause lasts a few seconds at a time and is renewed while restore runs: if restore is
killed, writes resume by themselves. The next restore of the environment removes what a
killed one left (its helper container, a staged snapshot) and, if that one had stopped the
vault, starts it again; it says what it found.

Options:
  --from FILE          a snapshot written by \`nexus-redis backup\`, with its manifest beside it
                       (FILE with .json for .rdb): a snapshot without one is refused, since a
                       backup writes its manifest last (see --without-manifest)
  --from restic:ID     restic snapshot ID from \`restic snapshots\`, or restic:latest for ENV's
                       latest; needs --restic-repo and RESTIC_PASSWORD_FILE
  --force              replace what the vault holds even when it differs from the snapshot
                       (or cannot be read); its files are kept aside all the same
  --without-manifest   restore an RDB file that has no manifest (a dump.rdb copied by hand):
                       it is then checked by loading it only
  --json               print one JSON document on stdout, nothing on stderr
  --restic-repo URL    the restic repository of --from restic:...
  --timeout MS         bound of the whole restore, the vault's start and the operational's
                       re-sync included (default ${DEFAULT_RESTORE_TIMEOUT_MS})
  --outputs FILE       the stack's outputs (see nexus-redis --help); - for stdin
  --stack NAME         the Pulumi stack
  -h, --help           this text

Examples:
  ./bin/nexus-redis.js restore contact --from /var/backups/nexus-redis/contact/20260126T030000.000Z.rdb
  RESTIC_PASSWORD_FILE=/etc/nexus-redis/restic.pw ./bin/nexus-redis.js restore locker \\
      --from restic:latest --restic-repo sftp:backup@vault-store:/srv/restic/nexus-redis

Exit codes:
  0  the vault holds the snapshot and every digest agrees (or it held it already)
  1  refused (the snapshot is corrupt or has no manifest, or the vault holds other data and no
     --force; nothing was changed), or the restore or its verification failed (the report says
     where things are)
  2  usage or configuration error (bad option, unknown environment, unreadable file, a
     snapshot of another environment, no Docker engine or restic)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr)`;

const OPTIONS = {
    from: { type: "string" },
    force: { type: "boolean" },
    "without-manifest": { type: "boolean" },
    json: { type: "boolean" },
    "restic-repo": { type: "string" },
    outputs: { type: "string" },
    stack: { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

export function parseRestoreArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): RestoreOptions | "help" {
    const parsed = parseCommandLine(argv, OPTIONS, "restore");
    const { values, positionals } = parsed;
    if (values.help) return "help";
    if (positionals.length !== 1)
        throw new UsageError(
            `restore takes exactly one environment, got ${positionals.length === 0 ? "none" : `"${positionals.join(" ")}"`}`,
            "restore",
        );
    if (!values.from) throw new UsageError("--from FILE or --from restic:SNAPSHOT is required: which snapshot to restore", "restore");
    const snapshot = resticSnapshotOf(values.from);
    if (snapshot !== undefined) {
        if (!validSnapshotId(snapshot))
            throw new UsageError(
                `--from restic:${snapshot}: give a snapshot ID (8 to 64 hex digits, from \`restic snapshots\`) or restic:latest`,
                "restore",
            );
        if (!values["restic-repo"]) throw new UsageError("--from restic:... needs --restic-repo URL", "restore");
        if (!resticPasswordGiven(env))
            throw new UsageError("--from restic:... needs the repository's password: set RESTIC_PASSWORD_FILE", "restore");
    } else if (values["restic-repo"] !== undefined) {
        throw new UsageError("--restic-repo only applies to --from restic:SNAPSHOT", "restore");
    }
    const timeoutMs = parseMs("--timeout", values.timeout, DEFAULT_RESTORE_TIMEOUT_MS, "restore");
    return {
        environment: positionals[0],
        from: values.from,
        force: values.force ?? false,
        withoutManifest: values["without-manifest"] ?? false,
        json: values.json ?? false,
        resticRepo: values["restic-repo"],
        outputs: values.outputs,
        stack: values.stack,
        timeoutMs,
    };
}

/**
 * restore stops and restarts a vault's container and swaps its files: a Swarm service's task
 * is Swarm's to stop and replace, so restore is Docker-only. (backup works on Swarm: it reaches
 * the vault through the CLI's probe on the overlay, and verifies in a scratch container of the
 * service's image on the manager.)
 */
const SWARM_REFUSAL =
    "works on platform docker only: it stops and restarts the vault's container, which on Swarm is the service's task, Swarm's to stop and replace; use check, check --fix, recover and backup there";

/** `nexus-redis restore ARGS`: the exit code. */
export async function restoreCommand(argv: string[], io: CliIo): Promise<number> {
    const options = parseRestoreArgs(argv, io.env);
    if (options === "help") {
        io.stdout.write(`${RESTORE_HELP}\n`);
        return 0;
    }
    const environments = await loadOutputs({ file: options.outputs, stack: options.stack }, io);
    if (Object.values(environments).some((e) => e.platform === "swarm")) throw new UsageError(SWARM_REFUSAL, "restore");
    const env = environments[options.environment];
    if (!env)
        throw new UsageError(
            `unknown environment "${options.environment}"; the stack's are ${Object.keys(environments).join(", ")}`,
            "restore",
        );
    const docker = await connectDockerFor("restore", "restore works on the vault's container (DOCKER_HOST, else /var/run/docker.sock)");
    const log = (message: string) => {
        if (!options.json) io.stderr.write(`${message}\n`);
    };
    const report = await restore(env, options, { docker, run: io.run, env: io.env, log, now: () => new Date() });
    io.stdout.write(options.json ? renderRestoreJson(report) : renderRestoreText(report));
    return restoreExitCode(report);
}

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
