/** Whether re-syncing an operational from its vault could lose data (check --fix, recover). */
import { type Info, NO_REPLID } from "../redis/replies";
import type { OperationalObservation, VaultObservation } from "./observe";

/**
 * Why re-syncing the operational from its vault could lose data, or undefined when it cannot.
 *
 * Re-pointing (or restoring the credentials of) a replica makes it sync from the vault, and
 * a full sync replaces every key it holds. That loses nothing when the operational's data
 * is an earlier state of the vault's. Redis tells us so through replication ids: a replica
 * holds the history `master_replid` (and, once promoted by REPLICAOF NO ONE or re-pointed
 * before its next sync, the one it followed before as `master_replid2`); the vault has its
 * own `master_replid` and `master_replid2`. The rule:
 *
 * - the operational holds no keys: nothing to lose;
 * - the vault holds no keys while the operational does: the vault lost its data, and the
 *   operational may hold the only copy → refuse;
 * - the two share no replication id: the vault's history is not the one the operational
 *   followed (restarted or rebuilt since, restored from a backup, another server) → refuse.
 *   A vault restart gives it a new id too, so a vault that restarted while its operational
 *   was broken is refused once; the key counts in the message say whether --force is safe.
 */
export function resyncRisk(vault: VaultObservation, operational: OperationalObservation): string | undefined {
    // Keys of every database: an operational whose data is all in database 3 holds data too.
    const operationalKeys = operational.keys;
    if (operationalKeys === undefined) return "the operational's keys could not be counted";
    if (operationalKeys === 0) return undefined;
    if (vault.keys === undefined || !vault.info) return "the vault's data could not be examined";
    const keys = (n: number) => `${n} key${n === 1 ? "" : "s"}`;
    if (vault.keys === 0) {
        return `the vault is empty while the operational holds ${keys(operationalKeys)}: syncing would wipe what may be the only copy`;
    }
    const ids = (info: Info | undefined) =>
        [info?.master_replid, info?.master_replid2].filter((id): id is string => !!id && id !== NO_REPLID);
    const vaultIds = ids(vault.info);
    const operationalIds = ids(operational.info);
    if (!operationalIds.some((id) => vaultIds.includes(id))) {
        return (
            `the vault's replication id (${short(vaultIds[0])}) is not one the operational followed (${operationalIds.map(short).join(", ") || "none"}): ` +
            `the vault was restarted, rebuilt or replaced since; syncing would replace the operational's ${keys(operationalKeys)} with the vault's ${keys(vault.keys)}`
        );
    }
    return undefined;
}

function short(id: string | undefined): string {
    return id ? id.slice(0, 8) : "none";
}
