/**
 * The decisions of `nexus-redis restore`, as pure functions: whether a restore may go ahead
 * (it must never wipe data by accident), the shell script that puts the snapshot in place
 * with the vault's old files moved aside, whether the result matches the snapshot, and the
 * report. The I/O is in restore.ts and the files beside it.
 */
import { vaultSettings } from "../../components/redisServer";
import type { SnapshotContent } from "../snapshot/manifest";
import { type DatabaseCount, describeDatabases } from "../redis/keyspace";
import { formatBytes, seconds } from "../core/format";

/** The DEBUG DIGEST of an empty dataset (debug.c: a digest of nothing is 20 zero bytes). */
export const EMPTY_DIGEST = "0".repeat(40);

/** What an environment's server holds, seen from inside its container. */
export interface ServerState {
    /** Why its data could not be read (container stopped, Redis not answering...); the rest is then unknown. */
    unavailable?: string;
    /** Keys in every database (INFO keyspace: DBSIZE would count database 0 only). */
    keys?: number;
    expiringKeys?: number;
    /** The databases that hold keys, with their counts. */
    databases?: Record<string, DatabaseCount>;
    /**
     * DEBUG DIGEST, read only when needed (it blocks the server while it runs): for a vault
     * whose key count is the snapshot's or 0 (never taken for empty on a count alone), for an
     * operational whose replication link is down (one that follows its vault holds the
     * vault's data).
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
 * - the vault is empty (after a mistaken FLUSHALL, a lost volume): go ahead. Empty means no
 *   key in any database AND the empty dataset's DEBUG DIGEST: a count alone never stands in
 *   for the digest;
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
    } else if (vault.keys === 0 && vault.digest === EMPTY_DIGEST) {
        notes.push("the vault is empty (no key in any database, DEBUG DIGEST of the empty dataset): nothing is replaced");
    } else if (vault.digest === snapshot.digest) {
        return {
            action: "unchanged",
            reasons: [`the vault already holds exactly this snapshot (${keys(snapshot.keys)}, DEBUG DIGEST ${short(snapshot.digest)})`],
        };
    } else if (vault.keys === 0) {
        risks.push(
            `the vault lists no key in INFO keyspace, but its DEBUG DIGEST is ${vault.digest === undefined ? "unknown" : short(vault.digest)}, not the empty dataset's (${formatBytes(vault.datasetBytes ?? 0)} of data): restoring could replace data`,
        );
    } else {
        const where = vault.databases ? ` (${describeDatabases(vault.databases)})` : "";
        risks.push(
            `the vault holds ${keys(vault.keys ?? 0)}${where}, ${formatBytes(vault.datasetBytes ?? 0)} of data, and they are not the snapshot's ${keys(snapshot.keys)}: ` +
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
 * network) runs while the vault is stopped. The snapshot was staged beforehand, while the
 * vault still ran; the script first checks it is whole (its size is the snapshot's: a staging
 * cut short never becomes dump.rdb). Then every file the vault would start from (its
 * append-only folder, Redis 6's single-file AOF, dump.rdb) is moved, not copied, into
 * `aside` (a rename: instant, whatever the size; the folder private like its contents, 0700,
 * the redis user's), and the staged snapshot becomes dump.rdb, owned by the redis user and
 * readable by it alone. On the next start, start-redis.sh finds dump.rdb and no AOF and
 * converts: loads it with AOF off, turns AOF on, waits for the rewrite, restarts on the AOF.
 * Prints one `moved NAME` line per file moved.
 */
export function swapScript(aside: string, redisUid: string, stagedBytes: number, dataDir = "/data"): string {
    const { rdb, aofDir, aofFile } = vaultDataFiles();
    checkNames([aside, rdb, aofDir, aofFile], dataDir);
    if (!/^\d+$/.test(redisUid) || !Number.isInteger(stagedBytes) || stagedBytes < 0) throw new Error("swapScript: unsafe uid or size");
    return [
        "set -eu",
        `cd ${dataDir}`,
        `[ -f ${STAGING_FILE} ] || { echo "the staged snapshot is missing" >&2; exit 1; }`,
        `staged=$(($(wc -c < ${STAGING_FILE})))`,
        `[ "$staged" -eq ${stagedBytes} ] || { echo "the staged snapshot is $staged bytes, not ${stagedBytes}: its staging was cut short" >&2; exit 1; }`,
        `mkdir -m 0700 ${aside}`,
        `chown ${redisUid}:${redisUid} ${aside}`,
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

function checkNames(names: string[], dataDir: string): void {
    for (const name of names) {
        if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`unsafe file name ${JSON.stringify(name)}`);
    }
    if (!/^\/[A-Za-z0-9._/-]*$/.test(dataDir)) throw new Error(`unsafe folder ${JSON.stringify(dataDir)}`);
}

/** The aside folder a swap script makes (to find where a killed restore put the vault's files). */
export function asideFolderOfScript(script: string): string | undefined {
    return /^mkdir (?:-m 0700 )?(nexus-redis-restore-[0-9TZ]+)$/m.exec(script)?.[1];
}

/**
 * Where the way back puts what the restored vault holds (the snapshot and every write
 * acknowledged since): `nexus-redis-restored-STAMP`, beside the restore's own aside folder.
 */
export function restoredFolderName(aside: string): string {
    return aside.replace(/^nexus-redis-restore-/, "nexus-redis-restored-");
}

/**
 * The way back to the files a restore moved aside, as a script run in /data while the vault
 * is stopped: what the vault holds now (the restored snapshot and every write since) is moved
 * aside too, into its own private folder, never deleted; then the previous files come back.
 */
export function wayBackScript(aside: string, dataDir = "/data"): string {
    const { rdb, aofDir, aofFile } = vaultDataFiles();
    const restored = restoredFolderName(aside);
    checkNames([aside, restored, rdb, aofDir, aofFile], dataDir);
    return (
        `cd ${dataDir} && mkdir -m 0700 ${restored} && ` +
        `for f in ${aofDir} ${aofFile} ${rdb}; do if [ -e "$f" ]; then mv "$f" ${restored}/; fi; done && ` +
        `mv ${aside}/* . && rmdir ${aside}`
    );
}

/** The commands of the way back, for people: stop the vault, the script in a helper of its image, start it. */
export function wayBackCommands(vaultName: string, image: string, aside: string): string[] {
    return [
        `docker stop ${vaultName}`,
        `docker run --rm --network none --volumes-from ${vaultName} --entrypoint sh ${image} -c '${wayBackScript(aside)}'`,
        `docker start ${vaultName}`,
    ];
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

/**
 * How long a write pause lasts unless restore renews it: what the step under it needs, with a
 * margin. The step's cost is DEBUG DIGEST's, which blocks the vault and cannot be renewed
 * while it runs; `digestMs` is what it took on a scratch server holding the same snapshot.
 * If restore is killed, writes resume by themselves within this bound.
 */
export function pauseLeaseMs(digestMs: number): number {
    return Math.max(MIN_PAUSE_LEASE_MS, Math.ceil(3 * digestMs + 2_000));
}

export const MIN_PAUSE_LEASE_MS = 5_000;

/** How often a held pause is renewed: several times within its lease, and at least every second. */
export function pauseRenewalMs(leaseMs: number): number {
    return Math.min(1_000, Math.floor(leaseMs / 4));
}

/** "for 5.0 s at a time, renewed while restore runs": what a pause means for clients, in words. */
export function describePause(leaseMs: number): string {
    return `CLIENT PAUSE WRITE for ${seconds(leaseMs)} at a time, renewed while restore runs: should it be killed, writes resume within ${seconds(leaseMs)}`;
}

/** A helper container a restore that did not finish left, as the engine shows it. */
export interface LeftoverHelper {
    name: string;
    /** created: never started (killed while staging, or before the swap); running; exited. */
    state: "created" | "running" | "exited" | string;
    exitCode: number;
    /** When it was created, ms since the epoch. */
    createdMs: number;
    /** The aside folder its swap script makes. */
    aside: string | undefined;
    /** Its output (the swap's `moved` lines, or why it failed). */
    log: string;
}

export type LeftoverAction =
    /** The swap never ran: the vault's files are as they were; the helper and the staged file go. */
    | { action: "discard"; startVault: boolean; note: string }
    /** The swap ran: the vault starts on that restore's snapshot; its previous files are aside. */
    | { action: "finish"; startVault: boolean; note: string }
    /** The swap failed midway: nothing is touched, the operator decides. */
    | { action: "refuse"; note: string };

/**
 * What to do with what a killed restore left, from its helper container and the vault's
 * state. The helper runs the swap only while the vault is stopped, so:
 * - never started: the swap never ran, and the vault's own files are untouched. If the vault
 *   stopped after the helper was made, that restore stopped it: it is started again, on its
 *   own files, as it was;
 * - exited 0: the swap ran (the vault's files aside, that restore's snapshot as dump.rdb); a
 *   stopped vault is started, on that snapshot, as that restore would have;
 * - exited otherwise: the swap stopped partway; nothing is started, the operator decides.
 */
export function judgeLeftover(helper: LeftoverHelper, vault: { name: string; running: boolean; finishedMs: number }): LeftoverAction {
    const when = new Date(helper.createdMs).toISOString();
    if (helper.state === "created") {
        const startVault = !vault.running && vault.finishedMs >= helper.createdMs;
        return {
            action: "discard",
            startVault,
            note:
                `a restore started at ${when} was killed before its swap (helper ${helper.name} never ran): the vault's files were not touched; ` +
                `its helper and staged snapshot are removed${startVault ? `, and ${vault.name}, which it had stopped, is started again on its own files` : ""}`,
        };
    }
    if (helper.state === "exited" && helper.exitCode === 0) {
        const moved = movedFiles(helper.log);
        const where =
            helper.aside && moved.length > 0
                ? `its previous files (${moved.join(", ")}) are in /data/${helper.aside}`
                : "it had no previous files";
        return {
            action: "finish",
            startVault: !vault.running,
            note:
                `a restore started at ${when} was killed after its swap: the vault's dump.rdb is that restore's snapshot and ${where}` +
                (!vault.running ? `; ${vault.name} is started on that snapshot, as that restore would have` : ""),
        };
    }
    return {
        action: "refuse",
        note:
            `a restore started at ${when} was killed, and its swap of the vault's files did not finish (helper ${helper.name}, ${helper.state}, exit ${helper.exitCode}: ${lastLog(helper.log)}); ` +
            `nothing was changed now: see where the files are (the vault's /data${helper.aside ? ` and /data/${helper.aside}` : ""}), then remove the helper (docker rm -f ${helper.name})`,
    };
}

function lastLog(log: string): string {
    const lines = log.trim().split(/\r?\n/);
    return lines[lines.length - 1] || "no output";
}
