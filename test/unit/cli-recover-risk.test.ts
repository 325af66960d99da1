/**
 * What `nexus-redis recover` refuses without --force, on plain observations: replacing the
 * operational deletes its volume, so it must not when that volume may hold the only copy.
 */
import { describe, expect, it } from "vitest";
import { recoveryRisk } from "../../cli/recover/recover";
import { NOTHING_LISTENS, type ProbeFailure } from "../../cli/redis/session";

const stopped: ProbeFailure = { kind: "refused", command: "PING", message: `refused the connection ${NOTHING_LISTENS}` };
const replid = "a".repeat(40);

describe("the data a recovery could lose", () => {
    it("refuses an empty vault while the operational does not answer: its volume may hold the only copy", () => {
        expect(recoveryRisk({ keys: 0, info: { master_replid: replid } }, { failure: stopped })).toBe(
            "the vault is empty and the operational refused the connection (nothing listens: container stopped?), so its keys cannot be counted: its volume, which recover deletes, may hold the only copy of the data",
        );
    });

    it("lets an operational that does not answer be replaced from a vault that holds data (what recover is for)", () => {
        expect(recoveryRisk({ keys: 3, info: { master_replid: replid } }, { failure: stopped })).toBeUndefined();
    });

    it("judges an operational that answers as check --fix does", () => {
        expect(recoveryRisk({ keys: 0, info: { master_replid: replid } }, { keys: 7, info: { master_replid: replid } })).toMatch(
            /^the vault is empty while the operational holds 7 keys/,
        );
        expect(recoveryRisk({ keys: 3, info: { master_replid: replid } }, { keys: 3, info: { master_replid: replid } })).toBeUndefined();
        expect(recoveryRisk({ keys: 0, info: { master_replid: replid } }, { keys: 0, info: { master_replid: replid } })).toBeUndefined();
    });
});
