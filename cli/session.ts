/**
 * One bounded conversation with one Redis server. Every failure becomes a `ProbeFailure`
 * that says in words what happened (refused, silent, password rejected...), and nothing
 * outlives its deadline: a host that accepts the connection and never answers costs one
 * timeout, and the connection is always closed.
 */
import Redis from "ioredis";

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
    | "error";

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
     * service on its overlay network: cli/swarm.ts). Unset: connect to host:port.
     */
    via?: Relay;
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

export class RedisSession {
    private client: Redis | undefined;
    private connected = false;
    private closed = false;
    /** The socket's own error (ECONNREFUSED...): connect() itself only says "Connection is closed". */
    private socketError: Error | undefined;
    /** The relay's side of the conversation, when the target has a route. */
    private relayed: RelayedAddress | undefined;

    constructor(
        readonly target: SessionTarget,
        private readonly deadline: Deadline,
        /** Bound of the connection and of each command; the deadline's whole bound by default. */
        private readonly commandTimeoutMs = deadline.timeoutMs,
    ) {
        deadline.track(this);
    }

    /** Connects (through the target's relay, when it has one); throws what connect() throws. */
    private async connect(): Promise<void> {
        let address: { host: string; port: number } = this.target;
        if (this.target.via) {
            this.relayed = await this.target.via.open({ host: this.target.host, port: this.target.port });
            address = this.relayed;
        }
        if (this.closed) throw new Error("Connection is closed.");
        const timeout = this.commandTimeoutMs;
        this.client = new Redis({
            host: address.host,
            port: address.port,
            lazyConnect: true,
            connectTimeout: timeout,
            commandTimeout: timeout,
            // One attempt: a check reports what it finds, it does not wait for a server to come back.
            retryStrategy: () => null,
            maxRetriesPerRequest: 0,
            enableOfflineQueue: false,
            autoResendUnfulfilledCommands: false,
            // The operational's default user may not run the ready check's INFO (or CLIENT SETINFO);
            // RESP2 keeps replies in the shape the parsers expect and needs no HELLO.
            enableReadyCheck: false,
            disableClientInfo: true,
            protocol: 2,
        });
        // Failures surface through the commands; without a listener ioredis prints them itself.
        this.client.on("error", (e: Error) => (this.socketError ??= e));
        await this.client.connect();
    }

    async call(command: string, ...args: (string | number)[]): Promise<unknown> {
        const name = commandName(command, args);
        if (!this.connected) {
            try {
                await this.connect();
                this.connected = true;
            } catch (e) {
                throw new ProbeError(this.classify(this.socketError ?? e, name, false));
            }
        }
        try {
            return await this.client!.call(command, ...args);
        } catch (e) {
            throw new ProbeError(this.classify(e, name, true));
        }
    }

    /**
     * Sends every command at once (one round trip: none waits for the previous one's reply)
     * and settles each on its own, in order. A connection failure fails them all alike.
     */
    async callAll(commands: (string | number)[][]): Promise<Settled[]> {
        const names = commands.map(([command, ...args]) => commandName(String(command), args));
        if (!this.connected) {
            try {
                await this.connect();
                this.connected = true;
            } catch (e) {
                const failure = this.classify(this.socketError ?? e, names[0] ?? "?", false);
                return names.map((command) => ({ failure: { ...failure, command } }));
            }
        }
        const client = this.client!;
        const pending = commands.map(([command, ...args]) => client.call(String(command), ...args));
        const settled = await Promise.allSettled(pending);
        return settled.map((result, i) =>
            result.status === "fulfilled" ? { value: result.value } : { failure: this.classify(result.reason, names[i], true) },
        );
    }

    close(): void {
        if (this.closed) return;
        this.closed = true;
        this.client?.disconnect();
    }

    private classify(error: unknown, command: string, connected: boolean): ProbeFailure {
        if (error instanceof RelayError) return { kind: error.kind, command, message: error.message };
        // Through a relay, the local connection only sees it close: the relay says why.
        const relayed = this.relayed?.failure();
        if (relayed && !this.deadline.expired) return { ...relayed, command };
        const message = error instanceof Error ? error.message : String(error);
        const code = (error as NodeJS.ErrnoException).code;
        const ms = this.deadline.expired ? this.deadline.timeoutMs : this.commandTimeoutMs;
        if (this.deadline.expired || message === "Command timed out") {
            return connected
                ? { kind: "silent", command, message: `accepted the connection but did not answer ${command} within ${ms} ms` }
                : { kind: "unreachable", command, message: `did not accept a connection within ${ms} ms` };
        }
        if (code === "ECONNREFUSED")
            return { kind: "refused", command, message: "refused the connection (nothing listens: container stopped?)" };
        if (code === "ENOTFOUND" || code === "EAI_AGAIN")
            return { kind: "unreachable", command, message: `host ${this.target.host} not found` };
        if (code === "ETIMEDOUT" || /connect ETIMEDOUT/.test(message)) {
            return { kind: "unreachable", command, message: `did not accept a connection within ${ms} ms` };
        }
        if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return { kind: "unreachable", command, message: `is unreachable (${code})` };
        if (/^WRONGPASS|invalid password|invalid username-password/i.test(message)) {
            return { kind: "auth", command, message: "rejected the password" };
        }
        if (/^NOPERM|^NOAUTH/.test(message)) return { kind: "denied", command, message: `refused ${command}: ${firstLine(message)}` };
        if (code === "ECONNRESET" || /Connection is closed|Stream isn't writeable|EPIPE/.test(message)) {
            return { kind: "closed", command, message: `closed the connection during ${command}` };
        }
        return { kind: "error", command, message: `${command} failed: ${firstLine(message)}` };
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
