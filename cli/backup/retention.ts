/**
 * backup's retention: after the run's backups, `restic forget --prune` once for the environments
 * backed up (--keep-*), and never while a backup of the run failed.
 */
import type { CommandRunner } from "../core/runner";
import { type RetentionPolicy, lastLine, parseForgetOutput, resticEnv, resticForgetCommand } from "../snapshot/restic";
import type { BackupResult, RetentionResult } from "./report";

/**
 * What retention reads of backup's options and dependencies (BackupOptions and BackupDeps,
 * which backup.ts passes): named here, as backup.ts imports this file.
 */
interface RetentionOptions {
    retention: RetentionPolicy;
    timeoutMs: number;
}
interface RetentionDeps {
    run: CommandRunner;
    env: Readonly<Record<string, string | undefined>>;
    log(message: string): void;
}

/**
 * Why retention must not run after these backups, or undefined: older backups are never thinned
 * out while new ones fail (a vault that stopped backing up keeps what it had).
 */
export function retentionBlocked(backups: BackupResult[]): string | undefined {
    const failed = backups.filter((b) => b.status === "failed").map((b) => b.environment);
    return failed.length > 0 ? `a backup failed (${failed.join(", ")}): nothing is pruned while backups fail` : undefined;
}

/** `restic forget --prune` once for the environments backed up, unless retentionBlocked. */
export async function applyRetention(
    repository: string,
    names: string[],
    options: RetentionOptions,
    deps: RetentionDeps,
    backups: BackupResult[],
): Promise<RetentionResult> {
    const result: RetentionResult = { policy: options.retention, status: "skipped", kept: null, removed: null, error: null };
    const blocked = retentionBlocked(backups);
    if (blocked) {
        result.error = blocked;
        deps.log(`retention not applied: ${result.error}`);
        return result;
    }
    deps.log(`applying retention (restic forget --prune) to ${names.length} environment${names.length === 1 ? "" : "s"}`);
    try {
        const run = await deps.run(resticForgetCommand(repository, names, options.retention), {
            capture: true,
            env: resticEnv(deps.env),
            timeoutMs: options.timeoutMs,
        });
        if (run.timedOut) throw new Error(`restic forget --prune did not finish within ${options.timeoutMs} ms (--timeout)`);
        if (run.exitCode !== 0) throw new Error(`restic forget --prune failed: ${lastLine(run.stderr)}`);
        const outcome = parseForgetOutput(run.stdout);
        return { ...result, status: "applied", kept: outcome.kept, removed: outcome.removed };
    } catch (e) {
        return { ...result, status: "failed", error: (e as Error).message };
    }
}
