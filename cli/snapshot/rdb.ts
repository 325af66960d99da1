/**
 * What an RDB file says about itself: the auxiliary fields Redis writes at its start
 * (`redis-ver`, `ctime`, `repl-id`, `repl-offset`, ...). The backup user may only ask for a
 * snapshot (no INFO), so a backup's manifest takes the Redis version and the replication id
 * and offset of the snapshot from the file itself. Pure: tested on hand-made headers.
 *
 * Format (rdb.h): "REDIS" and a four-digit version, then opcodes. Auxiliary fields are
 * 0xFA followed by two strings; they come before the first database (0xFE) or function
 * (0xF5) opcode. A string is a length (2-bit type, then 6, 14, 32 or 64 bits) followed by
 * its bytes, or a special encoding: an 8, 16 or 32-bit little-endian integer, or LZF data.
 */

const OPCODE_AUX = 0xfa;
const ENCODING_INT8 = 0;
const ENCODING_INT16 = 1;
const ENCODING_INT32 = 2;
const ENCODING_LZF = 3;

export class RdbFormatError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RdbFormatError";
    }
}

export interface RdbHeader {
    /** The RDB format version ("REDIS0010" → 10; Redis 7.0 writes 10, 7.2 writes 11). */
    rdbVersion: number;
    /** Every auxiliary field, in file order, values as strings (integers in decimal). */
    aux: Record<string, string>;
}

/**
 * Reads the header of an RDB file from its first bytes (a few hundred are enough; 64 KiB is
 * plenty). Throws RdbFormatError when the bytes are not an RDB file or end inside the header.
 */
export function parseRdbHeader(bytes: Buffer): RdbHeader {
    const magic = bytes.subarray(0, 9).toString("latin1");
    if (!/^REDIS\d{4}$/.test(magic)) {
        throw new RdbFormatError(`not an RDB file: it starts with ${JSON.stringify(magic)}, not "REDIS" and a four-digit version`);
    }
    const reader = new Reader(bytes, 9);
    const aux: Record<string, string> = {};
    while (reader.more() && reader.peek() === OPCODE_AUX) {
        reader.byte();
        const key = reader.string().toString("latin1");
        aux[key] = reader.string().toString("latin1");
    }
    if (!reader.more()) throw new RdbFormatError("the file ends inside its header (truncated?)");
    return { rdbVersion: Number(magic.slice(5)), aux };
}

/** Where a snapshot comes from, as its RDB header says. */
export interface SnapshotOrigin {
    /** `redis-ver` of the server that wrote it. */
    redisVersion: string | null;
    rdbVersion: number;
    /** `repl-id`: the replication history the snapshot belongs to. */
    replicationId: string | null;
    /**
     * `repl-offset`: the point of that history the snapshot holds. 0 for a vault that never
     * had a replica (its history has no bytes yet).
     */
    replicationOffset: number | null;
    /** `ctime`: when the server wrote it (its clock), ISO 8601. */
    writtenAt: string | null;
    /** `used-mem`: the server's memory use when it wrote it, in bytes. */
    usedMemory: number | null;
}

export function snapshotOrigin(header: RdbHeader): SnapshotOrigin {
    const int = (field: string) => (/^-?\d+$/.test(header.aux[field] ?? "") ? Number(header.aux[field]) : null);
    const ctime = int("ctime");
    return {
        redisVersion: header.aux["redis-ver"] ?? null,
        rdbVersion: header.rdbVersion,
        replicationId: header.aux["repl-id"] ?? null,
        replicationOffset: int("repl-offset"),
        writtenAt: ctime === null ? null : new Date(ctime * 1000).toISOString(),
        usedMemory: int("used-mem"),
    };
}

class Reader {
    constructor(
        private readonly bytes: Buffer,
        private pos: number,
    ) {}

    more(): boolean {
        return this.pos < this.bytes.length;
    }

    peek(): number {
        return this.bytes[this.pos];
    }

    byte(): number {
        this.need(1);
        return this.bytes[this.pos++];
    }

    take(n: number): Buffer {
        this.need(n);
        const out = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return out;
    }

    /** A length, or a special encoding's number when the top two bits are 11. */
    length(): { encoded: boolean; value: number } {
        const first = this.byte();
        switch (first >> 6) {
            case 0:
                return { encoded: false, value: first & 0x3f };
            case 1:
                return { encoded: false, value: ((first & 0x3f) << 8) | this.byte() };
            case 2:
                if (first === 0x80) return { encoded: false, value: this.take(4).readUInt32BE(0) };
                if (first === 0x81) {
                    const big = this.take(8).readBigUInt64BE(0);
                    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbFormatError("a length in the header is too large");
                    return { encoded: false, value: Number(big) };
                }
                throw new RdbFormatError(`unknown length encoding 0x${first.toString(16)}`);
            default:
                return { encoded: true, value: first & 0x3f };
        }
    }

    string(): Buffer {
        const { encoded, value } = this.length();
        if (!encoded) return this.take(value);
        switch (value) {
            case ENCODING_INT8:
                return Buffer.from(String(this.take(1).readInt8(0)));
            case ENCODING_INT16:
                return Buffer.from(String(this.take(2).readInt16LE(0)));
            case ENCODING_INT32:
                return Buffer.from(String(this.take(4).readInt32LE(0)));
            case ENCODING_LZF: {
                const compressed = this.length();
                const plain = this.length();
                if (compressed.encoded || plain.encoded) throw new RdbFormatError("malformed LZF string");
                return lzfDecompress(this.take(compressed.value), plain.value);
            }
            default:
                throw new RdbFormatError(`unknown string encoding ${value}`);
        }
    }

    private need(n: number): void {
        if (this.pos + n > this.bytes.length) throw new RdbFormatError("the file ends inside its header (truncated?)");
    }
}

/** LZF (liblzf's lzf_d.c), as Redis compresses strings longer than 20 bytes. */
export function lzfDecompress(input: Buffer, outputLength: number): Buffer {
    const output = Buffer.alloc(outputLength);
    let ip = 0;
    let op = 0;
    while (ip < input.length) {
        const ctrl = input[ip++];
        if (ctrl < 32) {
            // A literal run of ctrl + 1 bytes.
            const run = ctrl + 1;
            if (op + run > outputLength || ip + run > input.length) throw new RdbFormatError("corrupt LZF data");
            input.copy(output, op, ip, ip + run);
            ip += run;
            op += run;
        } else {
            // A back reference: length (3 bits, or 7 + the next byte) + 2, distance 13 bits + 1.
            let len = ctrl >> 5;
            if (len === 7) len += input[ip++];
            const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++];
            len += 2;
            if (ref < 0 || op + len > outputLength || ip > input.length) throw new RdbFormatError("corrupt LZF data");
            // Byte by byte: the reference may overlap what it produces.
            for (let i = 0; i < len; i++) output[op++] = output[ref + i];
        }
    }
    if (op !== outputLength) throw new RdbFormatError("corrupt LZF data");
    return output;
}
