/**
 * Where `nexus-redis backup` writes a snapshot and its manifest (names sortable by time, the
 * temporary dot names that say which process writes them), and the manifest itself: what it
 * holds, in which order, what makes one unreadable, and how a format 1 manifest is still read.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    type BackupManifest,
    MANIFEST_FORMAT_1,
    manifestKeysOf,
    manifestPathOf,
    parseManifest,
    renderManifest,
    snapshotPaths,
    snapshotStamp,
    temporaryFileOwner,
} from "../../cli/snapshot/manifest";
import { ownerTag } from "../../cli/core/owner";
import { manifest } from "./backupSamples";

describe("where a backup is written", () => {
    it("names it by the UTC time it started, sortable and without colons", () => {
        expect(snapshotStamp(new Date("2026-01-26T03:00:05.123Z"))).toBe("20260126T030005.123Z");
    });

    it("puts the snapshot and its manifest in the environment's folder, and writes both under dot names naming the process first", () => {
        expect(snapshotPaths("/var/backups/nexus-redis", "locker", "20260126T030005.123Z", "backup-host:4242")).toEqual({
            folder: "/var/backups/nexus-redis/locker",
            rdb: "/var/backups/nexus-redis/locker/20260126T030005.123Z.rdb",
            manifest: "/var/backups/nexus-redis/locker/20260126T030005.123Z.json",
            rdbTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.rdb.partial",
            manifestTemp: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.json.partial",
            caFile: "/var/backups/nexus-redis/locker/.20260126T030005.123Z.pid4242@backup-host.ca.partial",
        });
    });

    it("reads the process back from a temporary file's name, and from no other name", () => {
        const paths = snapshotPaths("/b", "locker", "20260126T030005.123Z", ownerTag("ops.example.org", 31337));
        expect(temporaryFileOwner(path.basename(paths.rdbTemp))).toBe("ops.example.org:31337");
        expect(temporaryFileOwner(path.basename(paths.manifestTemp))).toBe("ops.example.org:31337");
        for (const other of ["20260126T030005.123Z.rdb", ".20260126T030005.123Z.rdb.partial", "notes.txt", ".pid1@h.rdb.partial"])
            expect(temporaryFileOwner(other)).toBeUndefined();
    });

    it("finds a snapshot's manifest next to it", () => {
        expect(manifestPathOf("backups/contact/20260126T030005.123Z.rdb")).toBe("backups/contact/20260126T030005.123Z.json");
        expect(manifestPathOf("/tmp/dump")).toBe("/tmp/dump.json");
    });
});

describe("a backup's manifest", () => {
    it("reads back what was written", () => {
        expect(parseManifest(renderManifest(manifest), "m.json")).toEqual(manifest);
    });

    it("is written with its keys in a fixed order, whatever order they came in", () => {
        const shuffled = Object.fromEntries(Object.entries(manifest).reverse()) as unknown as BackupManifest;
        expect(renderManifest(shuffled)).toBe(renderManifest(manifest));
        expect(Object.keys(JSON.parse(renderManifest(manifest)))).toEqual([
            "format",
            "environment",
            "kind",
            "createdAt",
            "file",
            "bytes",
            "sha256",
            "keys",
            "expiringKeys",
            "databases",
            "digest",
            "redis",
            "source",
            "verification",
        ]);
    });

    it.each<[string, (m: Record<string, unknown>) => void, RegExp]>([
        ["another format", (m) => (m.format = "nexus-redis-backup/9"), /format is "nexus-redis-backup\/9"/],
        ["no environment", (m) => delete m.environment, /environment is missing/],
        ["a short sha256", (m) => (m.sha256 = "abc"), /sha256 is not 64 hex digits/],
        ["a digest that is not DEBUG DIGEST's", (m) => (m.digest = "zz"), /digest is not 40 hex digits/],
        ["a negative key count", (m) => (m.keys = -1), /keys is not a count/],
        ["no time", (m) => (m.createdAt = "yesterday"), /createdAt is not a time/],
        ["no databases", (m) => delete m.databases, /databases is missing/],
        [
            "databases that do not add up to keys",
            (m) => ((m.databases as Record<string, { keys: number }>)["2"].keys = 4999),
            /databases hold 104999 keys \(16666 with an expiry\), but keys is 105000/,
        ],
        [
            "a database that is not a number",
            (m) => ((m.databases as Record<string, unknown>).x = { keys: 0, expiringKeys: 0 }),
            /databases has "x"/,
        ],
    ])("is refused with %s", (_what, change, message) => {
        const m = JSON.parse(renderManifest(manifest));
        change(m);
        expect(() => parseManifest(JSON.stringify(m), "m.json")).toThrow(message);
    });

    it("is refused when it is not JSON at all", () => {
        expect(() => parseManifest("REDIS0010", "x.json")).toThrow(/x\.json is not JSON/);
    });

    it("counts every database in keys (format 2); a format 1 manifest, which counted database 0, is still read as such", () => {
        const content = { keys: 105000, expiringKeys: 16666, digest: manifest.digest, databases: manifest.databases };
        expect(manifestKeysOf(manifest, content)).toBe(105000);
        const { databases: _none, ...old } = { ...manifest, format: MANIFEST_FORMAT_1, keys: 100000 };
        const read = parseManifest(JSON.stringify(old), "old.json");
        expect(read.format).toBe(MANIFEST_FORMAT_1);
        expect(manifestKeysOf(read, content)).toBe(100000);
    });
});
