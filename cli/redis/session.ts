/**
 * One bounded conversation with one Redis server. Every failure becomes a `ProbeFailure`
 * that says in words what happened (refused, silent, password rejected...), and nothing
 * outlives its deadline: a host that accepts the connection and never answers costs one
 * timeout, and the connection is always closed.
 */
import * as net from "node:net";
import type * as tls from "node:tls";
import { RedisReplyError, type Reply, ReplyReader, encodeCommand } from "./resp";
import { classifyTlsFailure } from "./tlsFailure";

export type FailureKind =
    /** Nothing listens (container stopped): ECONNREFUSED. */
    | "refused"
    /** The connection itself did not complete in time, or the host is unknown. */
    | "unreachable"
    /** Connected, but no answer within the timeout. */
    | "silent"
    /** The password (or user) was rejected. */
    | "auth"
    /** Authenticated, but the user may not run the command (ACL NOPERM), or NOAUTH. */
    | "denied"
    /** The server closed the connection. */
    | "closed"
    /** What came back is not Redis's protocol: another kind of server listens there. */
    | "not-redis"
    /** TLS failed: a certificate the stack's CA did not sign, for another name, expired; or no TLS where the outputs say TLS. */
    | "tls"
    | "error";

/** What a refused connection says of its cause when nothing else is known (the engine, asked, says more). */
export const NOTHING_LISTENS = "(nothing listens: container stopped?)";

export interface ProbeFailure {
    kind: FailureKind;
    /** The command that failed, without its arguments (never a password): "AUTH", "CONFIG GET". */
    command: string;
    /** What happened, in words, without the server's name (the caller says whose it is). */
    message: string;
}

export class ProbeError extends Error {
    constructor(readonly failure: ProbeFailure) {
        super(failure.message);
        this.name = "ProbeError";
    }
}

/** One command's outcome in a batch: its reply, or how it failed. */
export type Settled = { value: unknown; failure?: undefined } | { failure: ProbeFailure; value?: undefined };

export interface SessionTarget {
    host: string;
    port: number;
    /**
     * A route to the server when this machine cannot connect to it directly (a Swarm
     * service on its overlay network: cli/fleet/swarm.ts). Unset: connect to host:port.
     */
    via?: Relay;
    /** Speak TLS, checking the server's certificate against this CA and for this name (through a relay too). */
    tls?: { serverName: string; ca: string };
}

let tlsModule: typeof tls | undefined;
/** One SecureContext per CA for the whole run: passing `ca` to every connection parses it again each time. */
const contexts = new Map<string, tls.SecureContext>();

/** node:tls, loaded only when a server speaks TLS: a check of a plain fleet does not pay for loading it. */
function tlsApi(): typeof tls {
    tlsModule ??= require("node:tls") as typeof tls;
    return tlsModule;
}

export function secureContext(ca: string): tls.SecureContext {
    let context = contexts.get(ca);
    if (!context) {
        context = tlsApi().createSecureContext({ ca });
        contexts.set(ca, context);
    }
    return context;
}

/**
 * Carries one conversation to a server this machine cannot reach itself. `open` returns a
 * local address that leads there, or rejects with a RelayError when the server cannot be
 * reached at all (no running task); `failure` says, once the conversation has ended, why the
 * far end refused or dropped it (the relay sees that, the local connection does not).
 */
export interface Relay {
    open(target: { host: string; port: number }): Promise<RelayedAddress>;
}

export interface RelayedAddress {
    host: string;
    port: number;
    /** Why the relay could not carry the conversation, once it knows: refused, not found... */
    failure(): { kind: FailureKind; message: string } | undefined;
}

/** The relay knows before connecting that the server cannot be reached. */
export class RelayError extends Error {
    constructor(
        readonly kind: FailureKind,
        message: string,
    ) {
        super(message);
        this.name = "RelayError";
    }
}

/** Cancels every session of one environment at once when its time is up. */
export class Deadline {
    private readonly sessions = new Set<RedisSession>();
    private timer: NodeJS.Timeout | undefined;
    expired = false;

    constructor(readonly timeoutMs: number) {
        this.timer = setTimeout(() => {
            this.expired = true;
            for (const session of this.sessions) session.close();
        }, timeoutMs);
    }

    track(session: RedisSession): void {
        if (this.expired) session.close();
        this.sessions.add(session);
    }

    /** Stops the timer and closes whatever is still open. */
    finish(): void {
        if (this.timer) clearTimeout(this.timer);
        this.timer = undefined;
        for (const session of this.sessions) session.close();
    }
}

/**
 * How a connection failed or ended before a reply came: the socket's error, a timeout, or a
 * close. Not an Error: one is made for every connection that closes, and a stack trace
 * (which nothing reads) was a measurable part of the check's CPU time.
 */
class ConnectionFailure {
    constructor(
        readonly message: string,
        readonly code?: string,
        /** The relay said, before connecting, that the server cannot be reached. */
        readonly relay?: RelayError,
    ) {}
}
const TIMED_OUT = "timed out";
const CLOSED_BY_CLIENT = new ConnectionFailure("closed by the client");

interface Waiting {
    resolve(reply: Reply): void;
    reject(reason: ConnectionFailure): void;
}

export class RedisSession {
    private socket: net.Socket | undefined;
    /** The TCP connection is up (the server, or its relay, accepted it). */
    private connected = false;
    /** Asked for the connection (it may wait for a relay's address). */
    private opened = false;
    /** The batches written before the socket exists (while a relay opens). */
    private unsent = "";
    /** The relay's side of the conversation, when the target has a route. */
    private relayed: RelayedAddress | undefined;
    private readonly reader = new ReplyReader();
    /** Commands sent and not yet answered, oldest first: RESP answers in order. */
    private readonly waiting: Waiting[] = [];
    /** Why the connection ended, once it has: every later command fails with it. */
    private ended: ConnectionFailure | undefined;
    /** Any byte came back. */
    private replied = false;
    /** Over TLS: the server's certificate, once the handshake is done. */
    certificate: { validTo: string; serial: string } | undefined;
    /** Over TLS: the handshake is done. */
    private secured = false;

    constructor(
        readonly target: SessionTarget,
        private readonly deadline: Deadline,
        /** Bound of each batch of commands, its connection included; the deadline's whole bound by default. */
        private readonly commandTimeoutMs = deadline.timeoutMs,
    ) {
        deadline.track(this);
    }

    /** One command; its failure is thrown as a ProbeError. */
    async call(command: string, ...args: (string | number)[]): Promise<unknown> {
        const [settled] = await this.callAll([[command, ...args]]);
        if (settled.failure) throw new ProbeError(settled.failure);
        return settled.value;
    }

    /**
     * Sends every command at once (one round trip: none waits for the previous one's reply)
     * and settles each on its own, in order. A connection failure fails them all alike.
     */
    async callAll(commands: (string | number)[][]): Promise<Settled[]> {
        const names = commands.map(([command, ...args]) => commandName(String(command), args));
        this.open();
        const pending = commands.map(() => new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject })));
        if (this.ended) this.failWaiting(this.ended);
        else {
            // Written at once, even while the connection is still being made (the socket sends it
            // as soon as it is up): the server starts on it while this process opens the others.
            this.send(commands.map(encodeCommand).join(""));
            // A host that does not take the connection, or takes it and does not answer: the batch
            // is bounded, and the connection dropped (a late reply would answer the next command).
            const timer = setTimeout(() => this.end(new ConnectionFailure(TIMED_OUT)), this.commandTimeoutMs);
            Promise.allSettled(pending).then(() => clearTimeout(timer));
        }
        const settled = await Promise.allSettled(pending);
        return settled.map((result, i) => {
            if (result.status === "rejected") return { failure: this.classify(result.reason, names[i], this.connected) };
            return result.value instanceof RedisReplyError
                ? { failure: this.classify(result.value, names[i], true) }
                : { value: result.value };
        });
    }

    close(): void {
        this.end(CLOSED_BY_CLIENT);
    }

    /** Starts the connection, once (through the target's relay, when it has one); what fails it ends the session. */
    private open(): void {
        if (this.opened || this.ended) return;
        this.opened = true;
        const via = this.target.via;
        if (!via) {
            this.connect(this.target);
            return;
        }
        via.open({ host: this.target.host, port: this.target.port }).then(
            (address) => {
                this.relayed = address;
                if (!this.ended) this.connect(address);
            },
            (e) =>
                this.end(
                    e instanceof RelayError
                        ? new ConnectionFailure(e.message, undefined, e)
                        : new ConnectionFailure(e instanceof Error ? e.message : String(e)),
                ),
        );
    }

    private send(payload: string): void {
        if (this.socket) this.socket.write(payload);
        else this.unsent += payload;
    }

    private connect(address: { host: string; port: number }): void {
        const secure = this.target.tls;
        // Over TLS the name checked is the certificate's (the service's or container's), whatever
        // address leads there: a relay's loopback port, or a published port on a node.
        const socket = secure
            ? tlsApi().connect({
                  host: address.host,
                  port: address.port,
                  servername: secure.serverName,
                  secureContext: secureContext(secure.ca),
              })
            : net.connect({ host: address.host, port: address.port });
        this.socket = socket;
        socket.setNoDelay(true);
        socket.once("connect", () => (this.connected = true));
        if (secure) {
            socket.once("secureConnect", () => {
                this.secured = true;
                const peer = (socket as tls.TLSSocket).getPeerCertificate();
                if (peer?.valid_to) this.certificate = { validTo: new Date(peer.valid_to).toISOString(), serial: peer.serialNumber };
            });
        }
        socket.on("data", (chunk: Buffer) => {
            this.replied = true;
            this.received(chunk);
        });
        socket.on("error", (e: NodeJS.ErrnoException) => this.end(new ConnectionFailure(e.message, e.code)));
        socket.on("close", () => this.end(new ConnectionFailure("the connection was closed")));
        if (this.unsent !== "") socket.write(this.unsent);
        this.unsent = "";
    }

    private received(chunk: Buffer): void {
        let replies: Reply[];
        try {
            replies = this.reader.push(chunk);
        } catch (e) {
            this.end(new ConnectionFailure(`not a Redis reply: ${(e as Error).message}`, "EPROTO"));
            return;
        }
        for (const reply of replies) {
            const waiting = this.waiting.shift();
            if (!waiting) {
                this.end(new ConnectionFailure("a reply to no command", "EREPLY"));
                return;
            }
            waiting.resolve(reply);
        }
    }

    /** Ends the connection once, for `reason`: everything still waiting fails with it. */
    private end(reason: ConnectionFailure): void {
        this.ended ??= reason;
        this.failWaiting(this.ended);
        this.socket?.destroy();
    }

    private failWaiting(reason: ConnectionFailure): void {
        for (const waiting of this.waiting.splice(0)) waiting.reject(reason);
    }

    private classify(error: unknown, command: string, connected: boolean): ProbeFailure {
        if (error instanceof ConnectionFailure && error.relay) return { kind: error.relay.kind, command, message: error.relay.message };
        // Through a relay, the local connection only sees it close: the relay says why.
        const relayed = this.relayed?.failure();
        if (relayed && !this.deadline.expired) return { ...relayed, command };
        const message = error instanceof Error || error instanceof ConnectionFailure ? error.message : String(error);
        const code = error instanceof ConnectionFailure ? error.code : undefined;
        const ms = this.deadline.expired ? this.deadline.timeoutMs : this.commandTimeoutMs;
        if (this.deadline.expired || message === TIMED_OUT) {
            // A Redis without TLS reads the ClientHello as the start of an inline command and,
            // for a client that has not authenticated, waits for its end without a word: silent
            // as a hung server, but never past the handshake (hostile review: a vault whose tls
            // was off read as "did not answer AUTH", with nothing about TLS).
            if (connected && this.target.tls && !this.secured && !this.replied) {
                return {
                    kind: "silent",
                    command,
                    message: `accepted the connection but did not finish the TLS handshake within ${ms} ms (a hung or paused server, or one without TLS, which waits for the end of a plain command line: is tls off on the server?)`,
                };
            }
            return connected
                ? { kind: "silent", command, message: `accepted the connection but did not answer ${command} within ${ms} ms` }
                : { kind: "unreachable", command, message: `did not accept a connection within ${ms} ms` };
        }
        if (code === "ECONNREFUSED") return { kind: "refused", command, message: `refused the connection ${NOTHING_LISTENS}` };
        if (code === "ENOTFOUND" || code === "EAI_AGAIN")
            return { kind: "unreachable", command, message: `host ${this.target.host} not found` };
        if (code === "ETIMEDOUT") return { kind: "unreachable", command, message: `did not accept a connection within ${ms} ms` };
        if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return { kind: "unreachable", command, message: `is unreachable (${code})` };
        if (error instanceof RedisReplyError) {
            if (/^WRONGPASS|invalid password|invalid username-password/i.test(message)) {
                return { kind: "auth", command, message: "rejected the password" };
            }
            if (/^NOPERM|^NOAUTH/.test(message)) return { kind: "denied", command, message: `refused ${command}: ${firstLine(message)}` };
            return { kind: "error", command, message: `${command} failed: ${firstLine(message)}` };
        }
        if (error instanceof ConnectionFailure) {
            const tlsFailure = classifyTlsFailure(error, this.target.tls !== undefined, this.replied);
            if (tlsFailure?.kind === "tls") return { ...tlsFailure, command };
            if (tlsFailure) return { kind: "closed", command, message: `closed the connection during ${command} ${tlsFailure.message}` };
        }
        if (code === "EPROTO") return { kind: "not-redis", command, message: `${command} failed: ${message}` };
        if (code === "EREPLY") return { kind: "error", command, message: `${command} failed: ${message}` };
        return { kind: "closed", command, message: `closed the connection during ${command}` };
    }
}

function commandName(command: string, args: (string | number)[]): string {
    const upper = command.toUpperCase();
    // Two-word commands read better with their subcommand; never with further arguments (passwords).
    if (["CONFIG", "CLIENT", "ACL"].includes(upper) && args.length > 0) return `${upper} ${String(args[0]).toUpperCase()}`;
    if (upper === "INFO" && args.length > 0) return `INFO ${String(args[0])}`;
    return upper;
}

function firstLine(message: string): string {
    return message.split("\n")[0];
}
