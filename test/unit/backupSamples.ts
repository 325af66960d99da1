/**
 * A backup's manifest as `nexus-redis backup` writes it (a standard environment's vault, keys in
 * databases 0 and 2, verified in a scratch server), shared by the tests of the manifest itself and
 * of backup's report. Not a test file itself.
 */
import { type BackupManifest, MANIFEST_FORMAT } from "../../cli/snapshot/manifest";

export const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    environment: "contact",
    kind: "standard",
    createdAt: "2026-01-26T03:00:00.123Z",
    file: "20260126T030000.123Z.rdb",
    bytes: 2277961,
    sha256: "f0e6288465622490f768e9defade678db4150e906b4693270207a15ce3bcddd8",
    keys: 105000,
    expiringKeys: 16666,
    databases: { "0": { keys: 100000, expiringKeys: 16666 }, "2": { keys: 5000, expiringKeys: 0 } },
    digest: "75dea420a05334c707d0f0fc560ce5e71cae1870",
    redis: {
        redisVersion: "7.0.15",
        rdbVersion: 10,
        replicationId: "1f85e01e8350c57ba4f2e7abaa3f98f1e9a35cf7",
        replicationOffset: 42,
        writtenAt: "2026-01-26T03:00:00.000Z",
        usedMemory: 1146400,
    },
    source: { container: "nexus3-contact-vault", endpoint: "127.0.0.1:6630", user: "backup" },
    verification: { method: "loaded into a scratch redis-server", image: "sha256:0ab796c7c77d", durationMs: 882 },
};
