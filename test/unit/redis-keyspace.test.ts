/**
 * INFO keyspace has one reader (cli/redis/keyspace.ts) for every command that counts keys:
 * backup's and restore's strict parseKeyspace, check's and adopt's readKeyspace over INFO's
 * fields, and adopt's journal shape. Every database counts, not DBSIZE's database 0.
 */
import { describe, expect, it } from "vitest";
import { parseKeyspace as adoptKeyspace, totalKeys } from "../../cli/adopt/settings";
import { KeyspaceError, parseKeyspace, readKeyspace } from "../../cli/redis/keyspace";
import { parseInfo } from "../../cli/redis/replies";

// Redis 7.2's reply for keys in database 0 and in database 15, the last of the 16 a default
// server has (`databases 16`); 7.4 adds `subexpiry`, after `expires`.
const REPLY = "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=9000\r\ndb15:keys=10,expires=2,avg_ttl=0,subexpiry=0\r\n";

describe("INFO keyspace", () => {
    it("counts the keys of db15 with db0's, in the reply and in INFO's fields alike", () => {
        const expected = {
            keys: 13,
            expiringKeys: 3,
            databases: { "0": { keys: 3, expiringKeys: 1 }, "15": { keys: 10, expiringKeys: 2 } },
        };
        expect(parseKeyspace(REPLY)).toEqual(expected);
        expect(readKeyspace(parseInfo(REPLY))).toEqual(expected);
    });

    it("gives adopt db15 in its journal's shape, counted in its total", () => {
        const keyspace = adoptKeyspace(parseInfo(REPLY));
        expect(keyspace).toEqual({ 0: { keys: 3, expires: 1 }, 15: { keys: 10, expires: 2 } });
        expect(totalKeys(keyspace)).toBe(13);
    });

    it("refuses a reply without the section, where INFO's fields without it read as no key", () => {
        expect(() => parseKeyspace("NOAUTH Authentication required.")).toThrow(KeyspaceError);
        expect(readKeyspace(parseInfo("# Server\r\nredis_version:7.2.4\r\n"))).toEqual({ keys: 0, expiringKeys: 0, databases: {} });
    });

    it("ignores INFO's other fields, and refuses a line of the section that is no database", () => {
        expect(readKeyspace(parseInfo(`redis_version:7.2.4\r\ndbx:keys=7\r\n${REPLY}`)).keys).toBe(13);
        expect(() => parseKeyspace(`${REPLY}dbx:keys=7\r\n`)).toThrow(/unexpected line in INFO keyspace: "dbx:keys=7"/);
    });
});
