/**
 * Where backups are written, what their manifest says, and how restore reads it back. Pure
 * (names and documents); the files themselves are written by backup.ts.
 *
 * Layout: `{folder}/{env}/{stamp}.rdb` with `{folder}/{env}/{stamp}.json` next to it, where
 * `stamp` is the UTC time the backup started, `20260126T143005.123Z` (sorts by time, no colons).
 * The manifest is written after the snapshot has been verified and renamed into place: a
 * snapshot without its manifest is one a backup did not finish.
 */
import * as path from "node:path";
import type { EnvironmentKind } from "../components/protocol";
import type { SnapshotOrigin } from "./backupRdb";

export const MANIFEST_FORMAT = "nexus-redis-backup/1";

/** What a snapshot holds, as a scratch Redis server that loaded it reports. */
export interface SnapshotContent {
    /** DBSIZE over every database. */
    keys: number;
    /** Keys with an expiry (INFO keyspace `expires`). */
    expiringKeys: number;
    /**
     * DEBUG DIGEST of the loaded dataset: names, types and values of every key and whether it
     * has an expiry (not the expiry time). The scratch server loads as a replica, which keeps
     * keys whose expiry has passed, so the same file always gives the same digest.
     */
    digest: string;
}

export interface BackupManifest extends SnapshotContent {
    format: typeof MANIFEST_FORMAT;
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
}

export function snapshotPaths(root: string, environment: string, stamp: string): SnapshotPaths {
    const folder = path.join(root, environment);
    const rdb = path.join(folder, `${stamp}.rdb`);
    const manifest = manifestPathOf(rdb);
    // Dot files: never mistaken for a finished backup by a glob on *.rdb.
    return {
        folder,
        rdb,
        manifest,
        rdbTemp: path.join(folder, `.${stamp}.rdb.partial`),
        manifestTemp: path.join(folder, `.${stamp}.json.partial`),
    };
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
        document = JSON.parse(text);
    } catch (e) {
        throw new ManifestError(`${source} is not JSON: ${(e as Error).message}`);
    }
    const m = document as Partial<BackupManifest> | null;
    const problems: string[] = [];
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ManifestError(`${source} is not a backup manifest`);
    if (m.format !== MANIFEST_FORMAT) problems.push(`format is ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
    if (typeof m.environment !== "string" || m.environment === "") problems.push("environment is missing");
    if (m.kind !== "standard" && m.kind !== "secure") problems.push(`kind is ${JSON.stringify(m.kind)}`);
    if (typeof m.file !== "string" || m.file === "") problems.push("file is missing");
    if (typeof m.sha256 !== "string" || !SHA256.test(m.sha256)) problems.push("sha256 is not 64 hex digits");
    if (typeof m.digest !== "string" || !DIGEST.test(m.digest)) problems.push("digest is not 40 hex digits");
    for (const field of ["bytes", "keys", "expiringKeys"] as const) {
        if (!Number.isInteger(m[field]) || (m[field] as number) < 0) problems.push(`${field} is not a count`);
    }
    if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) problems.push("createdAt is not a time");
    if (problems.length > 0) throw new ManifestError(`${source} is not a valid backup manifest: ${problems.join("; ")}`);
    return m as BackupManifest;
}
