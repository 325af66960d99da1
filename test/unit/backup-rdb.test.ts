import { describe, expect, it } from "vitest";
import { RdbFormatError, lzfDecompress, parseRdbHeader, snapshotOrigin } from "../../cli/snapshot/rdb";

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

/**
 * The first bytes of `redis-cli --rdb` snapshots taken with the backup user from Redis 7.0.15
 * vaults of a test fleet: a standard vault (its operational attached, offset 42) and a
 * secure vault that never had a replica (offset 0). Everything up to the first key.
 */
const STANDARD_VAULT = hex(`52 45 44 49 53 30 30 31 30 fa 09 72 65 64 69 73 2d 76 65 72 06 37 2e 30 2e 31 35 fa 0a 72 65 64 69 73 2d 62 69
    74 73 c0 40 fa 05 63 74 69 6d 65 c2 eb 4a 08 6b fa 08 75 73 65 64 2d 6d 65 6d c2 20 7e 11 00 fa 0e 72 65 70 6c 2d 73 74 72 65 61 6d 2d
    64 62 c0 00 fa 07 72 65 70 6c 2d 69 64 28 31 66 38 35 65 30 31 65 38 33 35 30 63 35 37 62 61 34 66 32 65 37 61 62 61 61 33 66 39 38 66
    31 65 39 61 33 35 63 66 37 fa 0b 72 65 70 6c 2d 6f 66 66 73 65 74 c0 2a fa 08 61 6f 66 2d 62 61 73 65 c0 00 fe 00 fb 43 e8 00 00 07 6b
    65 79 3a 37 39 36 09 76`);
const NEVER_REPLICATED_VAULT = hex(`52 45 44 49 53 30 30 31 30 fa 09 72 65 64 69 73 2d 76 65 72 06 37 2e 30 2e 31 35 fa 0a 72 65 64 69 73
    2d 62 69 74 73 c0 40 fa 05 63 74 69 6d 65 c2 eb 4a 08 6b fa 08 75 73 65 64 2d 6d 65 6d c2 d0 c4 0f 00 fa 0e 72 65 70 6c 2d 73 74 72 65
    61 6d 2d 64 62 c0 00 fa 07 72 65 70 6c 2d 69 64 28 65 62 61 62 66 64 33 38 63 63 65 65 39 65 30 62 37 39 66 39 63 30 62 36 39 61 63 63
    36 34 64 35 32 31 33 32 39 36 61 64 fa 0b 72 65 70 6c 2d 6f 66 66 73 65 74 c0 00 fa 08 61 6f 66 2d 62 61 73 65 c0 00 fe 00 fb 41 f4 00
    00 07 6b 65 79 3a 34 33 32 09 76`);

/** An RDB header written field by field, for the encodings the samples do not show. */
function header(fields: Buffer[], version = "0010"): Buffer {
    return Buffer.concat([Buffer.from(`REDIS${version}`), ...fields, Buffer.from([0xfe, 0x00])]);
}
const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, "latin1")]);
const aux = (key: string, value: Buffer) => Buffer.concat([Buffer.from([0xfa]), str(key), value]);

describe("an RDB file's header", () => {
    it("gives the Redis version, replication id and offset of a snapshot taken from a standard vault", () => {
        const parsed = parseRdbHeader(STANDARD_VAULT);
        expect(parsed.rdbVersion).toBe(10);
        expect(parsed.aux).toEqual({
            "redis-ver": "7.0.15",
            "redis-bits": "64",
            ctime: String(0x6b084aeb),
            "used-mem": String(0x117e20),
            "repl-stream-db": "0",
            "repl-id": "1f85e01e8350c57ba4f2e7abaa3f98f1e9a35cf7",
            "repl-offset": "42",
            "aof-base": "0",
        });
        expect(snapshotOrigin(parsed)).toEqual({
            redisVersion: "7.0.15",
            rdbVersion: 10,
            replicationId: "1f85e01e8350c57ba4f2e7abaa3f98f1e9a35cf7",
            replicationOffset: 42,
            writtenAt: new Date(0x6b084aeb * 1000).toISOString(),
            usedMemory: 0x117e20,
        });
    });

    it("reports offset 0 for a vault that never had a replica", () => {
        const origin = snapshotOrigin(parseRdbHeader(NEVER_REPLICATED_VAULT));
        expect(origin.replicationOffset).toBe(0);
        expect(origin.replicationId).toBe("ebabfd38ccee9e0b79f9c0b69acc64d5213296ad");
    });

    it("reports no replication fields for an RDB written by SAVE on a server that never replicated (Redis writes none)", () => {
        const origin = snapshotOrigin(parseRdbHeader(header([aux("redis-ver", str("7.0.15")), aux("aof-base", hex("c0 00"))])));
        expect(origin).toMatchObject({ redisVersion: "7.0.15", replicationId: null, replicationOffset: null, writtenAt: null });
    });

    it.each([
        ["an 8-bit integer", hex("c0 fe"), "-2"],
        ["a 16-bit integer", hex("c1 39 30"), "12345"],
        ["a 32-bit integer", hex("c2 15 cd 5b 07"), "123456789"],
        ["a 14-bit length", Buffer.concat([hex("40 41"), Buffer.alloc(0x41, "x")]), "x".repeat(0x41)],
        ["a 32-bit length", Buffer.concat([hex("80 00 00 00 03"), Buffer.from("abc")]), "abc"],
        ["an offset larger than 32 bits, as Redis writes it (digits)", str("12345678901"), "12345678901"],
    ])("reads a value stored as %s", (_what, encoded, expected) => {
        expect(parseRdbHeader(header([aux("repl-offset", encoded)])).aux["repl-offset"]).toBe(expected);
    });

    it("reads an LZF-compressed value (bytes as Redis 7.0 compressed a 102-byte string)", () => {
        const compressed = hex("c3 18 40 66 03 61 62 63 61 e0 1a 02 02 58 59 5a e0 1b 26 e0 03 23 e0 01 32 01 62 63");
        const plain = "abcabcabcabcabcabcabcabcabcabcabcabcabcXYZabcabcabc".repeat(2);
        expect(parseRdbHeader(header([aux("repl-id", compressed)])).aux["repl-id"]).toBe(plain);
    });

    it("reads Redis 7.2's format version", () => {
        expect(parseRdbHeader(header([aux("redis-ver", str("7.2.4"))], "0011")).rdbVersion).toBe(11);
    });

    it.each([
        ["a file that is not an RDB", Buffer.from("*1\r\n$4\r\nPING\r\n"), /not an RDB file: it starts with "\*1\\r\\n\$4\\r\\nP"/],
        ["an empty file", Buffer.alloc(0), /not an RDB file/],
        ["a file cut inside an auxiliary field", STANDARD_VAULT.subarray(0, 60), /ends inside its header/],
        ["a file cut right after its auxiliary fields", STANDARD_VAULT.subarray(0, STANDARD_VAULT.indexOf(0xfe)), /ends inside its header/],
        ["an unknown string encoding", header([aux("x", hex("c5"))]), /unknown string encoding 5/],
    ])("refuses %s", (_what, bytes, message) => {
        expect(() => parseRdbHeader(bytes)).toThrow(RdbFormatError);
        expect(() => parseRdbHeader(bytes)).toThrow(message);
    });

    it("refuses LZF data that does not decompress to the length it announces", () => {
        expect(() => lzfDecompress(hex("03 61 62 63 61"), 5)).toThrow(/corrupt LZF/);
        expect(() => lzfDecompress(hex("e0 ff 01"), 10)).toThrow(/corrupt LZF/);
    });
});
