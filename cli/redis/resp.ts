/**
 * RESP2, the Redis protocol, as far as the CLI and the test harness speak it: commands
 * encoded as arrays of bulk strings, replies parsed from a byte stream that may arrive in any
 * number of pieces. Pure, no I/O; `session.ts` puts it on a socket.
 *
 * Why not a client library: the CLI sends each server one batch of commands and reads the
 * replies, nothing more, and ioredis alone took 60–110 ms of the check's start-up here (its
 * command table, cluster support and dependencies load whatever one asks of it).
 */

/** A reply as the CLI reads it: simple and bulk strings as text, integers as numbers, nil as null, errors as values. */
export type Reply = string | number | null | RedisReplyError | Reply[];

/** An error reply (`-ERR ...`, `-NOPERM ...`, `-WRONGPASS ...`): the server's answer, not a failure of the connection. */
export class RedisReplyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RedisReplyError";
    }
}

/** A command as RESP2 sends it: an array of bulk strings (lengths in bytes, so any text is safe). */
export function encodeCommand(args: readonly (string | number)[]): string {
    let out = `*${args.length}\r\n`;
    for (const arg of args) {
        const text = String(arg);
        out += `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
    }
    return out;
}

/** A malformed stream: the peer does not speak RESP2 (or the stream is corrupt). Nothing after it can be read. */
export class RespProtocolError extends Error {}

/**
 * Reads replies out of a byte stream. `push` each chunk as it arrives; it returns every
 * reply completed by it, in order, and keeps an incomplete one for the next chunk.
 */
export class ReplyReader {
    private buffer: Buffer = Buffer.alloc(0);

    push(chunk: Buffer): Reply[] {
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
        const replies: Reply[] = [];
        let offset = 0;
        for (;;) {
            const parsed = parseReply(this.buffer, offset);
            if (parsed === undefined) break;
            replies.push(parsed.reply);
            offset = parsed.next;
        }
        this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
        return replies;
    }

    /** Bytes received that do not yet make a whole reply. */
    get pending(): number {
        return this.buffer.length;
    }
}

/** One reply starting at `offset`, and where the next begins; undefined when the buffer ends before it does. */
export function parseReply(buffer: Buffer, offset: number): { reply: Reply; next: number } | undefined {
    if (offset >= buffer.length) return undefined;
    const end = buffer.indexOf("\r\n", offset);
    if (end < 0) return undefined;
    const type = buffer[offset];
    const next = end + 2;
    switch (type) {
        case 0x2b: // +
            return { reply: buffer.toString("utf8", offset + 1, end), next };
        case 0x2d: // -
            return { reply: new RedisReplyError(buffer.toString("utf8", offset + 1, end)), next };
        case 0x3a: // :
            return { reply: integer(buffer, offset + 1, end), next };
        case 0x24: {
            // $
            const length = integer(buffer, offset + 1, end);
            if (length < 0) return { reply: null, next };
            if (buffer.length < next + length + 2) return undefined;
            if (buffer[next + length] !== 0x0d || buffer[next + length + 1] !== 0x0a)
                throw new RespProtocolError(`a bulk string of ${length} bytes is not followed by CRLF`);
            return { reply: buffer.toString("utf8", next, next + length), next: next + length + 2 };
        }
        case 0x2a: {
            // *
            const count = integer(buffer, offset + 1, end);
            if (count < 0) return { reply: null, next };
            const items: Reply[] = [];
            let at = next;
            for (let i = 0; i < count; i++) {
                const item = parseReply(buffer, at);
                if (item === undefined) return undefined;
                items.push(item.reply);
                at = item.next;
            }
            return { reply: items, next: at };
        }
        default:
            // The byte as a character too when it is printable: an HTTP server's answer reads as "H".
            throw new RespProtocolError(
                `unexpected reply type byte 0x${type.toString(16).padStart(2, "0")}${type >= 0x20 && type < 0x7f ? ` ("${String.fromCharCode(type)}")` : ""}`,
            );
    }
}

/** The integer written in buffer[start, end), read from its bytes: most replies are mostly lengths and counts. */
function integer(buffer: Buffer, start: number, end: number): number {
    const negative = buffer[start] === 0x2d;
    let value = 0;
    let at = negative ? start + 1 : start;
    if (at === end)
        throw new RespProtocolError(
            `expected an integer, got ${JSON.stringify(buffer.toString("latin1", start, Math.min(end, start + 20)))}`,
        );
    for (; at < end; at++) {
        const digit = buffer[at] - 0x30;
        if (digit < 0 || digit > 9)
            throw new RespProtocolError(
                `expected an integer, got ${JSON.stringify(buffer.toString("latin1", start, Math.min(end, start + 20)))}`,
            );
        value = value * 10 + digit;
    }
    return negative ? -value : value;
}
