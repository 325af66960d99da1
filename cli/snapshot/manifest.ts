/**
 * Where backups are written, what their manifest says, and how restore reads it back. Pure
 * (names and documents); the files themselves are written by backup.ts.
 *
 * Layout: `{folder}/{env}/{stamp}.rdb` with `{folder}/{env}/{stamp}.json` next to it, where
 * `stamp` is the UTC time the backup started, `20260126T143005.123Z` (sorts by time, no colons).
 * Both are written under temporary dot names first and renamed into place only once the
 * snapshot is verified and its manifest written: the snapshot first, its manifest last. A
 * snapshot without its manifest is one a backup did not finish, and restore refuses it.
 */
import { JsonSyntaxError, parseJson } from "../core/json";
import * as path from "node:path";
import type { EnvironmentKind } from "../../components/protocol";
import type { SnapshotOrigin } from "./rdb";
import type { DatabaseCount } from "../redis/keyspace";
import { safeHostName } from "../core/owner";

/**
 * Format 2: `keys` counts every database, and `databases` says which hold keys. Format 1
 * (written before) counted database 0 only in `keys` (DBSIZE); restore still reads it.
 */
export const MANIFEST_FORMAT = "nexus-redis-backup/2";
export const MANIFEST_FORMAT_1 = "nexus-redis-backup/1";

/** What a snapshot holds, as a scratch Redis server that loaded it reports. */
export interface SnapshotContent {
    /** Keys in every database (INFO keyspace). */
    keys: number;
    /** Keys with an expiry, in every database (INFO keyspace `expires`). */
    expiringKeys: number;
    /** The databases that hold keys, by number, with their counts (INFO keyspace); absent in format 1 manifests. */
    databases?: Record<string, DatabaseCount>;
    /**
     * DEBUG DIGEST of the loaded dataset: names, types and values of every key and whether it
     * has an expiry (not the expiry time). The scratch server loads as a replica, which keeps
     * keys whose expiry has passed, so the same file always gives the same digest.
     */
    digest: string;
}

export interface BackupManifest extends SnapshotContent {
    /** MANIFEST_FORMAT when written; a format 1 manifest read back says so here. */
    format: typeof MANIFEST_FORMAT | typeof MANIFEST_FORMAT_1;
    environment: string;
    kind: EnvironmentKind;
    /** When the backup started, ISO 8601 UTC. */
    createdAt: string;
    /** The snapshot's file name, in the manifest's folder. */
    file: string;
    bytes: number;
    sha256: string;
    /** From the RDB's own header: the backup user may not run INFO. */
    redis: SnapshotOrigin;
    /** Where the snapshot was taken from. */
    source: { container: string; endpoint: string; user: string };
    /** How the snapshot was verified. */
    verification: { method: string; image: string; durationMs: number };
}

/** The file-name stamp of a backup started at `date`: `20260126T143005.123Z`. */
export function snapshotStamp(date: Date): string {
    return date.toISOString().replace(/[-:]/g, "");
}

export interface SnapshotPaths {
    /** `{folder}/{env}`, created 0700. */
    folder: string;
    rdb: string;
    manifest: string;
    /** Written first, renamed to `rdb` once complete and verified. */
    rdbTemp: string;
    manifestTemp: string;
    /** With TLS: the stack's CA for redis-cli while it takes the snapshot (public; a temporary file like the others). */
    caFile: string;
}

/**
 * Where a backup started at `stamp` by `owner` (`host:pid`, backupVerify's ownerTag) writes.
 * The temporary files are dot files (never mistaken for a finished backup by a glob on *.rdb)
 * named for the process writing them, so a later run can tell one a killed backup left from
 * one a running backup is writing.
 */
export function snapshotPaths(root: string, environment: string, stamp: string, owner: string): SnapshotPaths {
    const folder = path.join(root, environment);
    const rdb = path.join(folder, `${stamp}.rdb`);
    const manifest = manifestPathOf(rdb);
    const tag = temporaryTag(owner);
    return {
        folder,
        rdb,
        manifest,
        rdbTemp: path.join(folder, `.${stamp}.${tag}.rdb.partial`),
        manifestTemp: path.join(folder, `.${stamp}.${tag}.json.partial`),
        caFile: path.join(folder, `.${stamp}.${tag}.ca.partial`),
    };
}

/** `host:pid` as it goes into a file name: `pid1234@host`. */
function temporaryTag(owner: string): string {
    const match = /^(.+):(\d+)$/.exec(owner);
    if (!match) throw new Error(`snapshotPaths: owner must be host:pid, got ${JSON.stringify(owner)}`);
    return `pid${match[2]}@${safeHostName(match[1])}`;
}

/** The process (`host:pid`) a temporary backup file names, or undefined for any other name. */
export function temporaryFileOwner(name: string): string | undefined {
    const match = /^\.\d{8}T\d{6}\.\d{3}Z\.pid(\d+)@([A-Za-z0-9.-]+)\.(rdb|json)\.partial$/.exec(name);
    return match ? `${match[2]}:${match[1]}` : undefined;
}

/** The manifest next to a snapshot: `x.rdb` → `x.json`. */
export function manifestPathOf(rdb: string): string {
    return rdb.endsWith(".rdb") ? `${rdb.slice(0, -4)}.json` : `${rdb}.json`;
}

/** The manifest as written: keys in a fixed order, one document. */
export function renderManifest(m: BackupManifest): string {
    const document: BackupManifest = {
        format: m.format,
        environment: m.environment,
        kind: m.kind,
        createdAt: m.createdAt,
        file: m.file,
        bytes: m.bytes,
        sha256: m.sha256,
        keys: m.keys,
        expiringKeys: m.expiringKeys,
        databases: Object.fromEntries(
            Object.entries(m.databases ?? {})
                .sort(([a], [b]) => Number(a) - Number(b))
                .map(([db, c]) => [db, { keys: c.keys, expiringKeys: c.expiringKeys }]),
        ),
        digest: m.digest,
        redis: {
            redisVersion: m.redis.redisVersion,
            rdbVersion: m.redis.rdbVersion,
            replicationId: m.redis.replicationId,
            replicationOffset: m.redis.replicationOffset,
            writtenAt: m.redis.writtenAt,
            usedMemory: m.redis.usedMemory,
        },
        source: { container: m.source.container, endpoint: m.source.endpoint, user: m.source.user },
        verification: { method: m.verification.method, image: m.verification.image, durationMs: m.verification.durationMs },
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

export class ManifestError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ManifestError";
    }
}

const SHA256 = /^[0-9a-f]{64}$/;
const DIGEST = /^[0-9a-f]{40}$/;

/** Reads a manifest back, checking every field restore relies on. */
export function parseManifest(text: string, source: string): BackupManifest {
    let document: unknown;
    try {
        document = parseJson(text);
    } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        throw new ManifestError(`${source} is not JSON: ${e.message}`);
    }
    const m = document as Partial<BackupManifest> | null;
    const problems: string[] = [];
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ManifestError(`${source} is not a backup manifest`);
    if (m.format !== MANIFEST_FORMAT && m.format !== MANIFEST_FORMAT_1)
        problems.push(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}" (or "${MANIFEST_FORMAT_1}")`);
    if (typeof m.environment !== "string" || m.environment === "") problems.push("environment is missing");
    if (m.kind !== "standard" && m.kind !== "secure") problems.push(`kind is ${JSON.stringify(m.kind)}`);
    if (typeof m.file !== "string" || m.file === "") problems.push("file is missing");
    if (typeof m.sha256 !== "string" || !SHA256.test(m.sha256)) problems.push("sha256 is not 64 hex digits");
    if (typeof m.digest !== "string" || !DIGEST.test(m.digest)) problems.push("digest is not 40 hex digits");
    for (const field of ["bytes", "keys", "expiringKeys"] as const) {
        if (!Number.isInteger(m[field]) || (m[field] as number) < 0) problems.push(`${field} is not a count`);
    }
    if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) problems.push("createdAt is not a time");
    if (m.format === MANIFEST_FORMAT) problems.push(...databaseProblems(m));
    if (problems.length > 0) throw new ManifestError(`${source} is not a valid backup manifest: ${problems.join("; ")}`);
    return m as BackupManifest;
}

/** What is wrong with a format 2 manifest's `databases`: each a count, and together `keys` and `expiringKeys`. */
function databaseProblems(m: Partial<BackupManifest>): string[] {
    const databases = m.databases as unknown;
    if (typeof databases !== "object" || databases === null || Array.isArray(databases)) return ["databases is missing"];
    const problems: string[] = [];
    let keys = 0;
    let expiring = 0;
    for (const [db, count] of Object.entries(databases as Record<string, Partial<DatabaseCount>>)) {
        if (!/^\d+$/.test(db)) problems.push(`databases has ${JSON.stringify(db)}, not a database number`);
        else if (!Number.isInteger(count?.keys) || !Number.isInteger(count?.expiringKeys))
            problems.push(`databases.${db} is not a count of keys and expiringKeys`);
        else {
            keys += count.keys as number;
            expiring += count.expiringKeys as number;
        }
    }
    if (problems.length === 0 && (keys !== m.keys || expiring !== m.expiringKeys))
        problems.push(`databases hold ${keys} keys (${expiring} with an expiry), but keys is ${m.keys} (expiringKeys ${m.expiringKeys})`);
    return problems;
}

/**
 * The key count a manifest's `keys` stands for, in what a scratch server reports: every
 * database's in format 2, database 0's in format 1 (which counted with DBSIZE).
 */
export function manifestKeysOf(manifest: Pick<BackupManifest, "format">, content: SnapshotContent): number {
    if (manifest.format === MANIFEST_FORMAT_1) return content.databases?.["0"]?.keys ?? 0;
    return content.keys;
}
