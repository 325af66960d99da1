/**
 * A minimal RESP2 client for the live tests' and benchmarks' polling: one fresh TCP connection per call,
 * every command pipelined, closed after the last reply. The protocol itself is the CLI's (cli/redis/resp.ts).
 *
 * Why not ioredis: a drill polls a container that is being removed and re-created every
 * few milliseconds, and what matters is when the server itself first says "link up". A
 * client library reconnecting, queueing and retrying on its own schedule would add its
 * backoff to the measurement.
 */
import * as net from "node:net";
import { parseInfo } from "../cli/redis/replies";
import { type Reply, encodeCommand, parseReply } from "../cli/redis/resp";

export type { Reply };

/** Sends `commands` on a new connection to host:port and resolves with one reply per command (server errors as Error values). */
export function redisCommands(port: number, commands: string[][], opts: { host?: string; timeoutMs?: number } = {}): Promise<Reply[]> {
    const host = opts.host ?? "127.0.0.1";
    const timeoutMs = opts.timeoutMs ?? 2_000;
    const payload = commands.map(encodeCommand).join("");
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
                    const parsed = parseReply(buffer, offset);
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
