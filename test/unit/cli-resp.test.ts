/**
 * The CLI's RESP2 reader and encoder: every reply type the checks meet, in any number of
 * pieces, and a stream that is not Redis stops the reading instead of being misread.
 */
import { describe, expect, it } from "vitest";
import { RedisReplyError, ReplyReader, RespProtocolError, encodeCommand, parseReply } from "../../cli/redis/resp";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("encodeCommand", () => {
    it("sends each argument as a bulk string whose length counts bytes, not characters", () => {
        expect(encodeCommand(["SET", "clé", 42])).toBe("*3\r\n$3\r\nSET\r\n$4\r\nclé\r\n$2\r\n42\r\n");
    });

    it("keeps spaces, CRLF and empty arguments inside their argument", () => {
        expect(encodeCommand(["AUTH", "a b\r\nc", ""])).toBe("*3\r\n$4\r\nAUTH\r\n$6\r\na b\r\nc\r\n$0\r\n\r\n");
    });
});

describe("parseReply", () => {
    it.each([
        ["a simple string", "+OK\r\n", "OK"],
        ["an integer", ":-12\r\n", -12],
        ["a bulk string with CRLF inside", "$7\r\nab\r\ncde\r\n", "ab\r\ncde"],
        ["an empty bulk string", "$0\r\n\r\n", ""],
        ["a nil bulk string", "$-1\r\n", null],
        ["a nil array", "*-1\r\n", null],
        ["an empty array", "*0\r\n", []],
        ["a multi-byte bulk string (length in bytes)", "$4\r\nclé\r\n", "clé"],
        [
            "nested arrays, as ACL GETUSER answers",
            "*4\r\n$5\r\nflags\r\n*1\r\n$2\r\non\r\n$9\r\nselectors\r\n*0\r\n",
            ["flags", ["on"], "selectors", []],
        ],
    ])("reads %s", (_, text, expected) => {
        const parsed = parseReply(bytes(text), 0);
        expect(parsed).toEqual({ reply: expected, next: Buffer.byteLength(text) });
    });

    it("reads an error reply as a RedisReplyError value, with the server's message", () => {
        const parsed = parseReply(bytes("-NOPERM this user has no permissions\r\n"), 0);
        expect(parsed?.reply).toBeInstanceOf(RedisReplyError);
        expect(parsed === undefined ? undefined : (parsed.reply as Error).message).toBe("NOPERM this user has no permissions");
    });

    it("waits for more bytes when a reply is incomplete, at every cut", () => {
        const text = "*2\r\n$5\r\nhello\r\n:7\r\n";
        for (let cut = 0; cut < text.length; cut++) expect(parseReply(bytes(text.slice(0, cut)), 0), `cut at ${cut}`).toBeUndefined();
        expect(parseReply(bytes(text), 0)?.reply).toEqual(["hello", 7]);
    });

    it.each([
        ["an unknown type byte", "!oops\r\n", /unexpected reply type byte 0x21 \("!"\)/],
        ["a length that is not a number", "$x\r\nab\r\n", /expected an integer/],
        ["an empty length", "$\r\n", /expected an integer, got ""/],
        ["a lone minus", ":-\r\n", /expected an integer, got "-"/],
        ["digits followed by a letter", "*12a\r\n", /expected an integer, got "12a"/],
        ["a bulk string longer than its length", "$2\r\nabc\r\n", /not followed by CRLF/],
    ])("refuses %s", (_, text, message) => {
        expect(() => parseReply(bytes(text), 0)).toThrow(RespProtocolError);
        expect(() => parseReply(bytes(text), 0)).toThrow(message);
    });
});

describe("ReplyReader", () => {
    const stream = "+OK\r\n$11\r\nrole:master\r\n:3\r\n*2\r\n$7\r\ndefault\r\n$10\r\nreplicator\r\n-ERR unknown\r\n";
    const expected = ["OK", "role:master", 3, ["default", "replicator"], new RedisReplyError("ERR unknown")];

    it("returns the replies in order when they arrive at once", () => {
        const reader = new ReplyReader();
        expect(reader.push(bytes(stream))).toEqual(expected);
        expect(reader.pending).toBe(0);
    });

    it("returns the same replies when the stream arrives one byte at a time", () => {
        const reader = new ReplyReader();
        const replies = [...bytes(stream)].flatMap((byte) => reader.push(Buffer.from([byte])));
        expect(replies).toEqual(expected);
        expect(reader.pending).toBe(0);
    });

    it("keeps a partial reply for the next chunk and returns only whole ones", () => {
        const reader = new ReplyReader();
        expect(reader.push(bytes("+OK\r\n$11\r\nrole:"))).toEqual(["OK"]);
        expect(reader.pending).toBe(Buffer.byteLength("$11\r\nrole:"));
        expect(reader.push(bytes("master\r\n"))).toEqual(["role:master"]);
    });
});
