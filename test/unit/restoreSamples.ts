/**
 * The snapshot `nexus-redis restore`'s tests restore (1000 keys, none expiring) and the DEBUG
 * DIGESTs they compare it with: another dataset's and the empty dataset's. Shared by the tests of
 * restore's decisions and of its report. Not a test file itself.
 */
import type { SnapshotContent } from "../../cli/snapshot/manifest";

export const SNAPSHOT: SnapshotContent = { keys: 1000, expiringKeys: 0, digest: "75dea420a05334c707d0f0fc560ce5e71cae1870" };
export const OTHER = "524a51f698518afb2f855a61e565a355e0e7e0fb";
export const EMPTY = "0000000000000000000000000000000000000000";
