/**
 * The decisions of `nexus-redis restore`, as pure functions: whether a restore may go ahead
 * (it must never wipe data by accident), the shell script that puts the snapshot in place
 * with the vault's old files moved aside, whether the result matches the snapshot, and the
 * report. The I/O is in restore.ts.
 */
import { vaultSettings } from "../components/redisServer";
import type { SnapshotContent } from "./backupManifest";
import { formatBytes } from "./report";

/** What an environment's server holds, seen from inside its container. */
export interface ServerState {
    /** Why its data could not be read (container stopped, Redis not answering...); the rest is then unknown. */
    unavailable?: string;
    keys?: number;
    expiringKeys?: number;
    /**
     * DEBUG DIGEST, read only when needed (it blocks the server while it runs): for a vault
     * whose key count is the snapshot's, for an operational whose replication link is down
     * (one that follows its vault holds the vault's data).
     */
    digest?: string;
    /** INFO memory used_memory_dataset: the data's share of the server's memory. */
    datasetBytes?: number;
}

export type RestoreDecision =
    /** Go ahead; `forced` lists what --force overrode (empty when nothing needed it). */
    | { action: "restore"; reasons: string[]; forced: string[] }
    /** The vault holds exactly the snapshot already. */
    | { action: "unchanged"; reasons: string[] }
    | { action: "refuse"; reasons: string[] };

const keys = (n: number) => `${n} key${n === 1 ? "" : "s"}`;

/**
 * Whether restoring `snapshot` onto this vault (and its operational, which re-syncs from it)
 * could lose data, and what --force would override:
 *
 * - the vault's data cannot be read: refused, nobody knows what would be replaced;
 * - the vault is empty (after a mistaken FLUSHALL, a lost volume): go ahead;
 * - the vault holds exactly the snapshot (equal DEBUG DIGEST): nothing to do;
 * - the vault holds keys that differ from the snapshot (newer writes, another dataset):
 *   refused, saying what would be replaced;
 * - the operational holds keys that are neither the vault's nor the snapshot's (its link is
 *   broken, and it may hold the newest copy): refused, since its re-sync replaces them.
 *   An operational that does not answer holds nothing restore could read: it re-syncs when
 *   it comes back, as it would after any vault restart.
 */
export function decideRestore(
    snapshot: SnapshotContent,
    vault: ServerState,
    operational: ServerState | undefined,
    force: boolean,
): RestoreDecision {
    const risks: string[] = [];
    const notes: string[] = [];
    if (vault.unavailable !== undefined) {
        risks.push(`the vault's data cannot be examined (${vault.unavailable}): nobody knows what the restore would replace`);
    } else if (vault.keys === 0) {
        notes.push("the vault is empty: nothing is replaced");
    } else if (vault.digest === snapshot.digest) {
        return {
            action: "unchanged",
            reasons: [`the vault already holds exactly this snapshot (${keys(snapshot.keys)}, DEBUG DIGEST ${short(snapshot.digest)})`],
        };
    } else {
        risks.push(
            `the vault holds ${keys(vault.keys ?? 0)} (${formatBytes(vault.datasetBytes ?? 0)} of data), and they are not the snapshot's ${keys(snapshot.keys)}: ` +
                "restoring would replace every one of them (back them up first: nexus-redis backup --env ENV)",
        );
    }
    // An operational's digest is read only when its link is down: one that follows the vault holds the vault's data.
    if (operational && operational.unavailable === undefined && (operational.keys ?? 0) > 0 && operational.digest !== undefined) {
        if (operational.digest !== vault.digest && operational.digest !== snapshot.digest) {
            risks.push(
                `the operational holds ${keys(operational.keys ?? 0)} that ${operational.keys === 1 ? "is" : "are"} neither the vault's nor the snapshot's (its replication is broken, and it may hold the newest copy): its re-sync would replace them`,
            );
        }
    }
    if (risks.length > 0 && !force) return { action: "refuse", reasons: risks };
    return { action: "restore", reasons: notes, forced: risks };
}

/** Folder in the vault's /data that keeps its previous files: `nexus-redis-restore-20260126T143005Z`. */
export function asideFolderName(date: Date): string {
    return `nexus-redis-restore-${date
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z")}`;
}

/** Where the snapshot is put before the swap, in /data, beside the vault's files. */
export const STAGING_FILE = ".nexus-redis-restore.rdb";

/** The vault's persistence files, by the names the program declares (start-redis.sh reads the same). */
export function vaultDataFiles(): { rdb: string; aofDir: string; aofFile: string } {
    const s = vaultSettings();
    return { rdb: s.dbfilename, aofDir: s.appenddirname, aofFile: s.appendfilename };
}

/**
 * The shell script a helper container (the vault's image, the vault's /data mounted, no
 * network) runs while the vault is stopped: every file the vault would start from (its
 * append-only folder, Redis 6's single-file AOF, dump.rdb) is moved, not copied, into
 * `aside` (a rename: instant, whatever the size), then the staged snapshot becomes dump.rdb,
 * owned by the redis user and readable by it alone. On the next start, start-redis.sh finds
 * dump.rdb and no AOF and converts: loads it with AOF off, turns AOF on, waits for the
 * rewrite, restarts on the AOF. Prints one `moved NAME` line per file moved.
 */
export function swapScript(aside: string, redisUid: string, dataDir = "/data"): string {
    const { rdb, aofDir, aofFile } = vaultDataFiles();
    for (const name of [aside, rdb, aofDir, aofFile]) {
        if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`swapScript: unsafe file name ${JSON.stringify(name)}`);
    }
    if (!/^\/[A-Za-z0-9._/-]*$/.test(dataDir) || !/^\d+$/.test(redisUid)) throw new Error("swapScript: unsafe folder or uid");
    return [
        "set -eu",
        `cd ${dataDir}`,
        `[ -f ${STAGING_FILE} ] || { echo "the staged snapshot is missing" >&2; exit 1; }`,
        `mkdir ${aside}`,
        `for f in ${aofDir} ${aofFile} ${rdb}; do`,
        `    if [ -e "$f" ]; then mv "$f" ${aside}/ && echo "moved $f"; fi`,
        "done",
        `rmdir ${aside} 2>/dev/null || true`,
        `mv ${STAGING_FILE} ${rdb}`,
        `chown ${redisUid}:${redisUid} ${rdb}`,
        `chmod 0600 ${rdb}`,
        "sync",
    ].join("\n");
}

/** The `moved NAME` lines of the swap script's output. */
export function movedFiles(output: string): string[] {
    return [...output.matchAll(/^moved (\S+)$/gm)].map((m) => m[1]);
}

/** What restore compared after the vault came up, and whether it matched. */
export interface Verification {
    snapshot: string;
    vault: string | null;
    operational: string | null;
    /** The vault's AOF base file's digest, when clients wrote before the vault's own could be compared (else null). */
    aofBase: string | null;
    /** Every comparison that could be made agreed. */
    equal: boolean;
    /** What was compared, in words (datasets with expiring keys are compared differently). */
    compared: string;
    problems: string[];
}

/**
 * The restored vault against its snapshot.
 *
 * DEBUG DIGEST covers every key's name, type and value, and whether it has an expiry (not the
 * expiry time). The snapshot's digest counts every key in the file. A vault loading the file
 * drops keys whose expiry has passed (a master does), so:
 * - a snapshot without expiring keys must come back with an equal digest;
 * - one with expiring keys too, as long as none of them expired before the vault loaded it
 *   (equal key counts);
 * - otherwise digests cannot match, by design: the keys without an expiry must all be there
 *   (their count compared) and the vault may hold fewer expiring keys, never more.
 */
export function verifyVault(snapshot: SnapshotContent, vault: SnapshotContent): Omit<Verification, "operational" | "aofBase"> {
    const problems: string[] = [];
    let compared: string;
    const persistent = (c: SnapshotContent) => c.keys - c.expiringKeys;
    if (snapshot.expiringKeys === 0 || vault.keys === snapshot.keys) {
        compared =
            snapshot.expiringKeys === 0
                ? "DEBUG DIGEST of the whole dataset (no key has an expiry)"
                : `DEBUG DIGEST of the whole dataset (none of the snapshot's ${keys(snapshot.expiringKeys)} with an expiry had expired when the vault loaded it)`;
        if (vault.digest !== snapshot.digest || vault.keys !== snapshot.keys) {
            problems.push(
                `the vault holds ${keys(vault.keys)} with DEBUG DIGEST ${short(vault.digest)}, the snapshot ${keys(snapshot.keys)} with ${short(snapshot.digest)}`,
            );
        }
    } else {
        const expired = snapshot.keys - vault.keys;
        compared =
            `key counts: ${expired} of the snapshot's ${keys(snapshot.expiringKeys)} with an expiry had expired when the vault loaded it (Redis drops them), ` +
            `so digests cannot match; the ${keys(persistent(snapshot))} without an expiry are compared by count, not content`;
        if (persistent(vault) !== persistent(snapshot))
            problems.push(`the vault holds ${keys(persistent(vault))} without an expiry, the snapshot ${keys(persistent(snapshot))}`);
        if (vault.expiringKeys > snapshot.expiringKeys)
            problems.push(`the vault holds ${keys(vault.expiringKeys)} with an expiry, more than the snapshot's ${snapshot.expiringKeys}`);
    }
    return { snapshot: snapshot.digest, vault: vault.digest, equal: problems.length === 0, compared, problems };
}

export function short(digest: string | undefined): string {
    return digest ? digest.slice(0, 12) : "?";
}
