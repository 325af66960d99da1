/**
 * How one environment's backup failed, in words for its report: the errors the steps throw and
 * the one message each failure gets.
 */
import { RdbFormatError } from "../snapshot/rdb";
import { VaultContainerError } from "../snapshot/vaultContainer";
import { SnapshotInvalidError } from "../snapshot/verify";

/** A step that ran past --timeout. */
export class Timeout extends Error {}

/** A backup that ran out of disk space: its message says so, with the folder and the sizes. */
export class DiskFull extends Error {}

/**
 * Whether redis-cli --rdb failed because its file system is full. redis-cli reports a write
 * that wrote less than it was given as "short write" (redis-cli.c, getRDB: "Error writing data
 * to file: %s", strerror(errno) or "short write"): that is a full disk (or quota) when the
 * file system has next to nothing left.
 */
export function redisCliRanOutOfSpace(message: string, space: { free: number } | undefined): boolean {
    if (!/Error writing data to file/i.test(message)) return false;
    if (/No space left on device|Disk quota exceeded/i.test(message)) return true;
    return /short write/i.test(message) && space !== undefined && space.free < 1024 * 1024;
}

/**
 * The snapshot that ran past --timeout. Over TLS with nothing received, the likely cause comes
 * with it: redis-cli --tls against a vault whose TLS is off waits for a handshake that never
 * comes, for the whole --timeout (5 min by default), and says nothing of why; check tells it at
 * once. (A snapshot that had begun to arrive was only slow: no hint.)
 */
export function snapshotTimeout(environment: string, endpoint: string, timeoutMs: number, tlsAndNothingReceived: boolean): Timeout {
    const hint = tlsAndNothingReceived
        ? `; the outputs say the vault speaks TLS: a vault with TLS off never finishes the handshake (\`nexus-redis check --env ${environment}\` tells)`
        : "";
    return new Timeout(`the snapshot from vault ${endpoint} did not finish within ${timeoutMs} ms (--timeout)${hint}`);
}

/** The failure of one environment's backup, for its report. */
export function describeFailure(e: unknown): string {
    if (e instanceof SnapshotInvalidError || e instanceof RdbFormatError)
        return `the snapshot failed verification and was deleted: ${e.message}`;
    if (e instanceof Timeout || e instanceof VaultContainerError || e instanceof DiskFull) return e.message;
    const error = (e ?? {}) as NodeJS.ErrnoException;
    // mkdir of --to (or of its environment's folder) where a file is: not a race, a wrong --to.
    if ((error.code === "EEXIST" || error.code === "ENOTDIR") && error.syscall === "mkdir")
        return `cannot write the backup: ${error.path ?? "--to"} or a folder above it is a file, not a folder (${error.message}); give --to the folder the backups go in`;
    if (error.code === "EEXIST") return `a backup with the same time stamp is being written (${error.message})`;
    if (error.code && error.syscall) return `cannot write the backup: ${(e as Error).message}`;
    return e instanceof Error ? e.message : String(e);
}
