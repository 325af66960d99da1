/**
 * `nexus-redis adopt`, what the takeover (adopt/takeover.ts) and the way back (adopt/putBack.ts)
 * share: what a takeover is given and ends in, the failure that ends a step, and the probes of
 * Redis and Docker both run (a bounded batch, INFO, the write probe, a container's state and log).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { ContainerState, GateObservation } from "./gate";
import { type Docker, containerLog, inspectOrUndefined } from "../docker/client";
import { type Info, parseInfo } from "../redis/replies";
import type { CommandRunner, RunResult } from "../core/runner";
import { Deadline, RedisSession, type Settled } from "../redis/session";

/** `docker stop -t`: Redis fsyncs its AOF and saves its RDB before it exits; a big dataset takes a while. */
export const STOP_SECONDS = 300;
export const PROBE_TIMEOUT_MS = 3_000;

export interface TakeoverIo {
    run: CommandRunner;
    projectDir: string;
    log(message: string): void;
    now(): number;
    sleep(ms: number): Promise<void>;
}

export interface TakeoverOptions {
    stack?: string;
    timeoutMs: number;
}

export type TakeoverOutcome =
    | { status: "adopted"; writesRefusedMs: number; kept: string[] }
    /** The new vault serves, but check does not report the environment healthy: the old containers are kept aside. */
    | { status: "failed"; message: string; writesRefusedMs?: number }
    /** Failed, and everything was put back by adopt itself. */
    | { status: "rolled back"; message: string; writesRefusedMs?: number };

/** A failure of the takeover: what was done is in the journal. */
export class StepFailure extends Error {}

export type Target = { host: string; port: number };

export function endpointOf(endpoint: string): Target {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

/** One bounded batch on a server; the first command is usually AUTH. */
export async function ask(target: Target, commands: (string | number)[][], timeoutMs = PROBE_TIMEOUT_MS): Promise<Settled[]> {
    const deadline = new Deadline(timeoutMs);
    try {
        return await new RedisSession(target, deadline).callAll(commands);
    } finally {
        deadline.finish();
    }
}

/** INFO sections of a vault, asked with its password; undefined when it does not answer or refuses. */
export async function infoOf(target: Target, password: string, sections: string[], extra: (string | number)[][] = []) {
    const [auth, ...replies] = await ask(target, [["AUTH", password], ...sections.map((s) => ["INFO", s]), ...extra]);
    const infos = replies.slice(0, sections.length);
    if (auth.failure || infos.some((r) => r.failure)) return undefined;
    return { info: Object.assign({}, ...infos.map((r) => parseInfo(String(r.value)))) as Info, rest: replies.slice(sections.length) };
}

/**
 * Writes (a `DEL` of a key that does not exist: nothing changes, nothing is replicated) in a
 * loop until the server stops accepting them: the time of the last one accepted is when writes
 * stopped, which is when "writes refused" starts. Redis stops taking writes as its shutdown
 * begins, which is some time after `docker stop` is called.
 */
export class WriteProbe {
    lastAccepted: number | undefined;
    private stopped = false;
    private readonly done: Promise<void>;
    readonly first: Promise<void>;
    private firstDone!: () => void;

    constructor(
        target: Target,
        password: string,
        private readonly sleep: (ms: number) => Promise<void>,
    ) {
        this.first = new Promise((resolve) => {
            this.firstDone = resolve;
        });
        this.done = this.loop(target, password).finally(() => this.firstDone());
    }

    private async loop(target: Target, password: string): Promise<void> {
        const deadline = new Deadline((STOP_SECONDS + 60) * 1000);
        const key = `nexus-redis:adopt-probe:${randomBytes(8).toString("hex")}`;
        try {
            // A write paused by the shutdown gets no answer: 2 s ends the session.
            const session = new RedisSession(target, deadline, 2_000);
            const [auth] = await session.callAll([["AUTH", password]]);
            if (auth.failure) return;
            while (!this.stopped) {
                const [reply] = await session.callAll([["DEL", key]]);
                if (reply.failure) return;
                this.lastAccepted = performance.now();
                this.firstDone();
                await this.sleep(10);
            }
        } finally {
            deadline.finish();
        }
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }
}

export function stateOf(c: Docker.ContainerInspectInfo): ContainerState {
    return {
        status: c.State?.Status ?? "unknown",
        restartCount: c.RestartCount ?? 0,
        exitCode: c.State?.ExitCode ?? 0,
        oomKilled: c.State?.OOMKilled ?? false,
        ...(c.State?.StartedAt ? { startedAt: c.State.StartedAt } : {}),
    };
}

/** The last lines a container logged (what a crash-looping Redis says), for a message. */
export async function lastLog(docker: Docker, name: string, lines = 4): Promise<string> {
    try {
        const log = (await containerLog(docker.getContainer(name))).trim().split("\n").slice(-lines);
        return log.length > 0 && log[0] !== "" ? `; its log ends: ${log.map((l) => l.trim()).join(" | ")}` : "";
    } catch {
        return "";
    }
}

/** One observation of the new vault: Docker's state, and one authenticated batch ending in a write. */
export async function observeNewVault(
    docker: Docker,
    name: string,
    target: Target,
    password: string,
    probeKey: string,
): Promise<GateObservation> {
    const inspected = await inspectOrUndefined(docker, name);
    if (!inspected) return { vault: { failure: { kind: "absent", message: "no container" } } };
    const [auth, persistence, replication, keyspace, write] = await ask(target, [
        ["AUTH", password],
        ["INFO", "persistence"],
        ["INFO", "replication"],
        ["INFO", "keyspace"],
        ["DEL", probeKey],
    ]);
    const container = stateOf(inspected);
    if (auth.failure) return { container, vault: { failure: { kind: auth.failure.kind, message: auth.failure.message } } };
    const failed = [persistence, replication, keyspace].find((r) => r.failure);
    if (failed?.failure) return { container, vault: { failure: { kind: failed.failure.kind, message: failed.failure.message } } };
    const info = { ...parseInfo(String(persistence.value)), ...parseInfo(String(replication.value)), ...parseInfo(String(keyspace.value)) };
    return { container, vault: { info, ...(write.failure ? { writeRefused: write.failure.message } : {}) } };
}

/** What a command said on stderr, when it was captured (a stand-in runner's); Pulumi's own goes straight to ours. */
export function said(r: RunResult): string {
    return r.stderr.trim() ? `: ${r.stderr.trim()}` : "";
}
