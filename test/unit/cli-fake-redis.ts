/**
 * A tiny RESP2 server for the CLI's unit tests: answers each command with what `handle`
 * returns, and records every command and every batch the client sent (the commands that
 * arrived together, before any reply: one round trip). Not a test file itself.
 */
import * as net from "node:net";

export type Reply = string | number | null | Reply[] | { error: string } | { status: string };

export class FakeRedis {
    readonly commands: string[][] = [];
    /** Commands that arrived in one read, i.e. were sent before the client saw any reply. */
    readonly batches: string[][][] = [];
    private readonly server: net.Server;
    private readonly sockets = new Set<net.Socket>();
    port = 0;

    constructor(private readonly handle: (command: string[]) => Reply) {
        this.server = net.createServer((socket) => {
            this.sockets.add(socket);
            socket.on("close", () => this.sockets.delete(socket));
            let buffer = Buffer.alloc(0);
            socket.on("data", (chunk) => {
                buffer = Buffer.concat([buffer, chunk]);
                const batch: string[][] = [];
                for (;;) {
                    const parsed = parseCommand(buffer);
                    if (!parsed) break;
                    buffer = buffer.subarray(parsed.length);
                    batch.push(parsed.command);
                }
                if (batch.length === 0) return;
                this.batches.push(batch);
                for (const command of batch) {
                    this.commands.push(command);
                    socket.write(encode(this.handle(command)));
                }
            });
        });
    }

    async start(): Promise<this> {
        await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
        this.port = (this.server.address() as net.AddressInfo).port;
        return this;
    }

    async stop(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        await new Promise((resolve) => this.server.close(resolve));
    }
}

function parseCommand(buffer: Buffer): { command: string[]; length: number } | undefined {
    if (buffer.length === 0 || buffer[0] !== 0x2a /* * */) return undefined;
    let offset = 0;
    const line = (): string | undefined => {
        const end = buffer.indexOf("\r\n", offset);
        if (end < 0) return undefined;
        const text = buffer.subarray(offset, end).toString();
        offset = end + 2;
        return text;
    };
    const header = line();
    if (header === undefined) return undefined;
    const count = Number(header.slice(1));
    const command: string[] = [];
    for (let i = 0; i < count; i++) {
        const size = line();
        if (size === undefined) return undefined;
        const n = Number(size.slice(1));
        if (buffer.length < offset + n + 2) return undefined;
        command.push(buffer.subarray(offset, offset + n).toString());
        offset += n + 2;
    }
    return { command, length: offset };
}

function encode(reply: Reply): string {
    if (reply === null) return "$-1\r\n";
    if (typeof reply === "number") return `:${reply}\r\n`;
    if (typeof reply === "string") return `$${Buffer.byteLength(reply)}\r\n${reply}\r\n`;
    if (Array.isArray(reply)) return `*${reply.length}\r\n${reply.map(encode).join("")}`;
    if ("error" in reply) return `-${reply.error}\r\n`;
    return `+${reply.status}\r\n`;
}
