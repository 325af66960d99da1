/**
 * How `nexus-redis backup` verifies a snapshot in a scratch redis-server: the keys it counts
 * (every database, never an error read as no key), a vault with more than 16 databases (the
 * scratch server started with enough of them), and why Redis refused a snapshot that does not load.
 */
import { describe, expect, it } from "vitest";
import { databasesRefused, highestSelectedDatabase, parseScratchKeyspace, redisLogReason, scratchCommand } from "../../cli/snapshot/verify";
import { describeDatabases, parseKeyspace } from "../../cli/redis/keyspace";

describe("how many keys a server holds: every database", () => {
    it("counts the keys of every database INFO keyspace lists, not only database 0's", () => {
        const stdout = "# Keyspace\r\ndb0:keys=100000,expires=16666,avg_ttl=86380000\r\ndb3:keys=2,expires=1,avg_ttl=5\r\n";
        expect(parseScratchKeyspace(stdout)).toEqual({
            keys: 100002,
            expiringKeys: 16667,
            databases: { "0": { keys: 100000, expiringKeys: 16666 }, "3": { keys: 2, expiringKeys: 1 } },
        });
    });

    it("counts a vault whose keys are all in database 2 as holding them", () => {
        expect(parseKeyspace("# Keyspace\ndb2:keys=5000,expires=0,avg_ttl=0\n")).toMatchObject({ keys: 5000, expiringKeys: 0 });
    });

    it("reads an empty dataset: the header and no database", () => {
        expect(parseScratchKeyspace("# Keyspace\n")).toEqual({ keys: 0, expiringKeys: 0, databases: {} });
    });

    it.each([
        ["an error", "NOAUTH Authentication required."],
        ["a server still loading", "LOADING Redis is loading the dataset in memory"],
        ["nothing", ""],
        ["a line it does not know", "# Keyspace\ndb0:keys=many\n"],
    ])("never reads %s as no key", (_what, text) => {
        expect(() => parseKeyspace(text)).toThrow();
        expect(() => parseScratchKeyspace(text)).toThrow(/unexpected answer from the scratch server/);
    });

    it("says where the keys are", () => {
        expect(describeDatabases({ "2": { keys: 5000, expiringKeys: 0 }, "0": { keys: 1, expiringKeys: 0 } })).toBe(
            "1 key in db0, 5000 in db2",
        );
        expect(describeDatabases({})).toBe("no key in any database");
    });
});

describe("a snapshot of a vault with more than 16 databases", () => {
    it("starts the scratch server with the databases asked for, 16 unless told", () => {
        expect(scratchCommand().slice(-2)).toEqual(["--databases", "16"]);
        expect(scratchCommand(33).slice(-2)).toEqual(["--databases", "33"]);
        expect(() => scratchCommand(0)).toThrow(/databases must be a count/);
    });

    it("recognises Redis 7.0's refusal to load it, with the number the server had", () => {
        const log =
            "1:M 07 Dec 2026 00:27:11.001 # FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting\n";
        expect(databasesRefused(log)).toBe(16);
        expect(databasesRefused("1:M # Short read or OOM loading DB.")).toBeUndefined();
    });

    it("finds the highest database in redis-check-rdb's output (Redis 7.0.15's, on a file with keys in db3 and db20)", () => {
        const output = [
            "[offset 0] Checking RDB file dump.rdb",
            "[offset 27] AUX FIELD redis-ver = '7.0.15'",
            "[offset 82] Selecting DB ID 3",
            "[offset 92] Selecting DB ID 20",
            "[offset 109] Checksum OK",
            "[offset 109] \\o/ RDB looks OK! \\o/",
        ].join("\n");
        expect(highestSelectedDatabase(output)).toBe(20);
        expect(highestSelectedDatabase("[offset 0] Checking RDB file dump.rdb\n[info] 0 keys read")).toBeUndefined();
    });
});

describe("a snapshot that does not load", () => {
    it("says why Redis 7.0 refused a truncated file, from its log, without the noise", () => {
        const log = [
            "1:C 26 Nov 2026 15:57:03.689 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
            "1:C 26 Nov 2026 15:57:03.689 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=1, just started",
            "1:M 26 Nov 2026 15:57:03.690 # WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition.",
            "1:M 26 Nov 2026 15:57:03.691 * Loading RDB produced by version 7.0.15",
            "1:M 26 Nov 2026 15:57:03.691 # Short read or OOM loading DB. Unrecoverable error, aborting now.",
            "1:M 26 Nov 2026 15:57:03.691 # Internal error in RDB reading offset 0, function at rdb.c:3249 -> Unexpected EOF reading RDB file",
            "--- RDB ERROR DETECTED ---",
            "[offset 10000] Unexpected EOF reading RDB file",
            "[info] 523 keys read",
        ].join("\n");
        expect(redisLogReason(log)).toBe(
            "Short read or OOM loading DB. Unrecoverable error, aborting now.; Internal error in RDB reading offset 0, function at rdb.c:3249 -> Unexpected EOF reading RDB file",
        );
    });
});
