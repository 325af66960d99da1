/**
 * One bounded conversation with one server (cli/redis/session.ts) on real sockets: replies and
 * error replies in order, and every way a host can fail said in words, within its bound.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Deadline, ProbeError, type Relay, RedisSession, RelayError } from "../../cli/redis/session";
import { FakeRedis, type Reply } from "./cli-fake-redis";

const fake = new FakeRedis((command): Reply => {
    const name = command[0].toUpperCase();
    if (name === "AUTH") return command[1] === "right" ? { status: "OK" } : { error: "WRONGPASS invalid username-password pair" };
    if (name === "DBSIZE") return 3;
    if (name === "ECHO") return command[1];
    if (name === "ACL") return { error: "NOPERM this user has no permissions to run the 'acl|users' command" };
    if (name === "CONFIG") return ["appendonly", "yes"];
    return { error: `ERR unknown command '${command[0]}'` };
});

/** Servers of one test: each is closed afterwards. */
const servers: net.Server[] = [];
async function listen(onConnection: (socket: net.Socket) => void): Promise<number> {
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as net.AddressInfo).port;
}
const sockets = new Set<net.Socket>();
const keep = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
};

async function closedPort(): Promise<number> {
    const port = await listen(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    return port;
}

beforeAll(async () => {
    await fake.start();
});
afterAll(async () => {
    await fake.stop();
});
afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function session(port: number, timeoutMs = 1000): { session: RedisSession; deadline: Deadline } {
    const deadline = new Deadline(timeoutMs);
    return { session: new RedisSession({ host: "127.0.0.1", port }, deadline), deadline };
}

describe("RedisSession", () => {
    it("settles every command of a batch in order, error replies as failures of their own command only", async () => {
        const { session: s, deadline } = session(fake.port);
        try {
            const settled = await s.callAll([
                ["AUTH", "right"],
                ["ECHO", "clé\r\nwith CRLF"],
                ["ACL", "USERS"],
                ["DBSIZE"],
                ["CONFIG", "GET", "appendonly"],
            ]);
            expect(settled).toEqual([
                { value: "OK" },
                { value: "clé\r\nwith CRLF" },
                {
                    failure: {
                        kind: "denied",
                        command: "ACL USERS",
                        message: "refused ACL USERS: NOPERM this user has no permissions to run the 'acl|users' command",
                    },
                },
                { value: 3 },
                { value: ["appendonly", "yes"] },
            ]);
        } finally {
            deadline.finish();
        }
    });

    it("says a wrong password was rejected, without the password", async () => {
        const { session: s, deadline } = session(fake.port);
        try {
            await expect(s.call("AUTH", "wrong-secret")).rejects.toEqual(
                new ProbeError({ kind: "auth", command: "AUTH", message: "rejected the password" }),
            );
        } finally {
            deadline.finish();
        }
    });

    it("reports another error reply as the command's failure and goes on", async () => {
        const { session: s, deadline } = session(fake.port);
        try {
            await expect(s.call("NOSUCH")).rejects.toThrow("NOSUCH failed: ERR unknown command 'NOSUCH'");
            expect(await s.call("DBSIZE")).toBe(3);
        } finally {
            deadline.finish();
        }
    });

    it("reports a port nothing listens on as refused, for every command of the batch", async () => {
        const { session: s, deadline } = session(await closedPort());
        try {
            const settled = await s.callAll([["AUTH", "right"], ["DBSIZE"]]);
            expect(settled.map((r) => [r.failure?.kind, r.failure?.command])).toEqual([
                ["refused", "AUTH"],
                ["refused", "DBSIZE"],
            ]);
            expect(settled[0].failure?.message).toBe("refused the connection (nothing listens: container stopped?)");
        } finally {
            deadline.finish();
        }
    });

    it("gives up on a host that accepts the connection and never answers after its bound, and closes the connection", async () => {
        let closed = false;
        const port = await listen((socket) => {
            keep(socket);
            // Read (and ignore) what comes, so the client's close is seen.
            socket.resume();
            socket.on("close", () => (closed = true));
        });
        const deadline = new Deadline(5000);
        const s = new RedisSession({ host: "127.0.0.1", port }, deadline, 300);
        const started = performance.now();
        try {
            const [settled] = await s.callAll([["AUTH", "right"]]);
            const elapsed = performance.now() - started;
            expect(settled.failure).toEqual({
                kind: "silent",
                command: "AUTH",
                message: "accepted the connection but did not answer AUTH within 300 ms",
            });
            expect(elapsed).toBeGreaterThanOrEqual(290);
            expect(elapsed).toBeLessThan(2000);
            await expect.poll(() => closed).toBe(true);
            // The connection is gone: a late reply can never answer a later command.
            await expect(s.call("DBSIZE")).rejects.toThrow(ProbeError);
        } finally {
            deadline.finish();
        }
    });

    it("ends with the environment's deadline, and says so with the deadline's bound", async () => {
        const port = await listen(keep);
        const { session: s, deadline } = session(port, 200);
        try {
            const [settled] = await s.callAll([["INFO", "replication"]]);
            expect(settled.failure).toEqual({
                kind: "silent",
                command: "INFO replication",
                message: "accepted the connection but did not answer INFO replication within 200 ms",
            });
        } finally {
            deadline.finish();
        }
    });

    it("reports a server that closes the connection in the middle of a batch as closed", async () => {
        const port = await listen((socket) => {
            keep(socket);
            // Answers the first command, then hangs up.
            socket.once("data", () => socket.end("+OK\r\n"));
        });
        const { session: s, deadline } = session(port);
        try {
            const settled = await s.callAll([["AUTH", "right"], ["DBSIZE"]]);
            expect(settled).toEqual([
                { value: "OK" },
                { failure: { kind: "closed", command: "DBSIZE", message: "closed the connection during DBSIZE" } },
            ]);
        } finally {
            deadline.finish();
        }
    });

    it("reads replies that arrive one byte at a time", async () => {
        const port = await listen((socket) => {
            keep(socket);
            socket.once("data", async () => {
                for (const byte of Buffer.from("+OK\r\n*2\r\n$7\r\ndefault\r\n:5\r\n")) {
                    socket.write(Buffer.from([byte]));
                    await new Promise((resolve) => setTimeout(resolve, 1));
                }
            });
        });
        const { session: s, deadline } = session(port);
        try {
            expect(
                await s.callAll([
                    ["AUTH", "right"],
                    ["ACL", "USERS"],
                ]),
            ).toEqual([{ value: "OK" }, { value: ["default", 5] }]);
        } finally {
            deadline.finish();
        }
    });

    it("stops at a stream that is not Redis instead of misreading it", async () => {
        const port = await listen((socket) => {
            keep(socket);
            socket.once("data", () => socket.write("HTTP/1.1 400 Bad Request\r\n\r\n"));
        });
        const { session: s, deadline } = session(port);
        try {
            const [settled] = await s.callAll([["INFO", "replication"]]);
            expect(settled.failure?.kind).toBe("not-redis");
            expect(settled.failure?.message).toMatch(/^INFO replication failed: not a Redis reply: unexpected reply type byte 0x48/);
        } finally {
            deadline.finish();
        }
    });

    describe("through a relay (a Swarm service this machine cannot reach itself)", () => {
        const relayTo = (port: number, failure?: { kind: "refused"; message: string }): Relay & { opened: string[] } => {
            const opened: string[] = [];
            return {
                opened,
                open: async (target) => {
                    opened.push(`${target.host}:${target.port}`);
                    // The relay takes a moment to give its address: the batch waits for it.
                    await new Promise((resolve) => setTimeout(resolve, 20));
                    return { host: "127.0.0.1", port, failure: () => failure };
                },
            };
        };

        it("sends the batch to the address the relay gives, for the service's own name and port", async () => {
            const relay = relayTo(fake.port);
            const deadline = new Deadline(1000);
            const s = new RedisSession({ host: "nexus3-contact-vault", port: 6379, via: relay }, deadline);
            try {
                expect(await s.callAll([["AUTH", "right"], ["DBSIZE"]])).toEqual([{ value: "OK" }, { value: 3 }]);
                expect(relay.opened).toEqual(["nexus3-contact-vault:6379"]);
            } finally {
                deadline.finish();
            }
        });

        it("reports what the relay knew before connecting (no running task) for every command", async () => {
            const relay: Relay = {
                open: async () => {
                    throw new RelayError("unreachable", "runs no task: its node is down");
                },
            };
            const deadline = new Deadline(1000);
            const s = new RedisSession({ host: "nexus3-contact-vault", port: 6379, via: relay }, deadline);
            try {
                const settled = await s.callAll([["AUTH", "right"], ["DBSIZE"]]);
                expect(settled.map((r) => r.failure)).toEqual([
                    { kind: "unreachable", command: "AUTH", message: "runs no task: its node is down" },
                    { kind: "unreachable", command: "DBSIZE", message: "runs no task: its node is down" },
                ]);
            } finally {
                deadline.finish();
            }
        });

        it("reports the relay's reason when the far end refused, not the local connection's close", async () => {
            const port = await listen((socket) => {
                keep(socket);
                socket.destroy();
            });
            const relay = relayTo(port, { kind: "refused", message: "refused the connection (nothing listens: container stopped?)" });
            const deadline = new Deadline(1000);
            const s = new RedisSession({ host: "nexus3-contact-vault", port: 6379, via: relay }, deadline);
            try {
                const [settled] = await s.callAll([["AUTH", "right"]]);
                expect(settled.failure).toEqual({
                    kind: "refused",
                    command: "AUTH",
                    message: "refused the connection (nothing listens: container stopped?)",
                });
            } finally {
                deadline.finish();
            }
        });
    });
});
