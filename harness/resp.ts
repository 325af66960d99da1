/**
 * A minimal RESP2 client for the live tests' and benchmarks' polling: one fresh TCP connection per call,
 * every command pipelined, closed after the last reply.
 *
 * Why not ioredis: a drill polls a container that is being removed and re-created every
 * few milliseconds, and what matters is when the server itself first says "link up". A
 * client library reconnecting, queueing and retrying on its own schedule would add its
 * backoff to the measurement.
 */
import * as net from "node:net";
import { parseInfo } from "../cli/redisReplies";

export type Reply = string | number | null | Error | Reply[];

/** Sends `commands` on a new connection to host:port and resolves with one reply per command (server errors as Error values). */
export function redisCommands(port: number, commands: string[][], opts: { host?: string; timeoutMs?: number } = {}): Promise<Reply[]> {
    const host = opts.host ?? "127.0.0.1";
    const timeoutMs = opts.timeoutMs ?? 2_000;
    const payload = commands.map(encode).join("");
    return new Promise((resolve, reject) => {
        let buffer = Buffer.alloc(0);
        const socket = net.connect(port, host, () => socket.write(payload));
        const timer = setTimeout(() => socket.destroy(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
        let settled = false;
        const finish = (error: Error | undefined, replies?: Reply[]) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            socket.destroy();
            if (error) reject(error);
            else resolve(replies!);
        };
        socket.on("data", (chunk: Buffer) => {
            buffer = Buffer.concat([buffer, chunk]);
            const replies: Reply[] = [];
            let offset = 0;
            try {
                while (replies.length < commands.length) {
                    const parsed = parse(buffer, offset);
                    if (!parsed) return; // Incomplete: wait for more data.
                    replies.push(parsed.reply);
                    offset = parsed.next;
                }
            } catch (e) {
                return finish(e as Error);
            }
            finish(undefined, replies);
        });
        socket.on("error", (e) => finish(e));
        socket.on("close", () => finish(new Error(`${host}:${port} closed the connection`)));
    });
}

/** One command; a server error is thrown. */
export async function redisCommand(
    port: number,
    command: string[],
    opts: { host?: string; timeoutMs?: number; password?: string } = {},
): Promise<Reply> {
    const commands = opts.password === undefined ? [command] : [["AUTH", opts.password], command];
    const replies = await redisCommands(port, commands, opts);
    for (const reply of replies) if (reply instanceof Error) throw reply;
    return replies[replies.length - 1];
}

/** `INFO section` as fields. */
export async function info(
    port: number,
    section: string,
    opts: { host?: string; password?: string; timeoutMs?: number } = {},
): Promise<Record<string, string>> {
    return parseInfo(String(await redisCommand(port, ["INFO", section], opts)));
}

function encode(args: string[]): string {
    return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

function parse(buffer: Buffer, offset: number): { reply: Reply; next: number } | undefined {
    const end = buffer.indexOf("\r\n", offset);
    if (end < 0) return undefined;
    const type = String.fromCharCode(buffer[offset]);
    const line = buffer.toString("utf8", offset + 1, end);
    const next = end + 2;
    switch (type) {
        case "+":
            return { reply: line, next };
        case "-":
            return { reply: new Error(line), next };
        case ":":
            return { reply: Number(line), next };
        case "$": {
            const length = Number(line);
            if (length < 0) return { reply: null, next };
            if (buffer.length < next + length + 2) return undefined;
            return { reply: buffer.toString("utf8", next, next + length), next: next + length + 2 };
        }
        case "*": {
            const count = Number(line);
            if (count < 0) return { reply: null, next };
            const items: Reply[] = [];
            let at = next;
            for (let i = 0; i < count; i++) {
                const item = parse(buffer, at);
                if (!item) return undefined;
                items.push(item.reply);
                at = item.next;
            }
            return { reply: items, next: at };
        }
        default:
            throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
    }
}
