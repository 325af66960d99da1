/**
 * `nexus-redis adopt`, the health gate: whether the new vault serves the old one's data, is
 * still on its way, or has failed (and the old containers must come back). Pure: adopt.ts
 * observes the container (Docker's State) and the vault (one authenticated batch) and asks
 * `gateVerdict` after each observation.
 */
import { type Keyspace, describeKeyspace, keyspaceShortfall, parseKeyspace } from "./settings";
import type { Info } from "../redis/replies";

/**
 * How long a new vault may stay without answering, neither serving nor loading, once `pulumi
 * up` has returned. A normal start (the container started, the start script, Redis opening its
 * AOF) is about a second here (test/live/adopt.test.ts prints it); the rest is margin for a
 * busy host. A vault that is loading is waited for up to --timeout instead: its loading takes
 * as long as its data needs.
 */
export const START_BOUND_MS = 30_000;

/**
 * How long the new vault is watched once it serves, for a stop or a restart (and until `check`
 * reports the environment healthy, if that takes longer): a vault that crashes as its first
 * clients arrive must not be kept.
 */
export const STABLE_MS = 5_000;

/** Docker's view of the new vault's container (`docker inspect`'s State). */
export interface ContainerState {
    /** State.Status: created, running, restarting, exited, dead, paused. */
    status: string;
    restartCount: number;
    exitCode: number;
    oomKilled: boolean;
    /** State.StartedAt: when its process last started. */
    startedAt?: string;
}

/** What one authenticated batch on the new vault returned: `AUTH`, INFO persistence, replication and keyspace, then a write. */
export interface VaultAnswer {
    /** Why it did not answer, or refused the password. */
    failure?: { kind: string; message: string };
    info?: Info;
    /** The write (`DEL` of a key that does not exist) failed: MISCONF, OOM, READONLY... */
    writeRefused?: string;
}

export interface GateObservation {
    /** Undefined: no such container (yet). */
    container?: ContainerState;
    vault: VaultAnswer;
}

export interface GateContext {
    /** The old vault's keyspace just before its stop: what the new one must hold. */
    expected: Keyspace;
    /** `pulumi up` has returned: the container must exist from now on. */
    applied: boolean;
    /** Since `pulumi up` returned (0 before). */
    sinceAppliedMs: number;
    /** The vault has been seen loading: it is waited for up to `timeoutMs`, not `startBoundMs`. */
    loadingSeen: boolean;
    startBoundMs: number;
    timeoutMs: number;
    /** Container name, for the messages. */
    name: string;
}

export type GateVerdict =
    | { verdict: "wait"; loading: boolean; why: string }
    | { verdict: "serving"; keyspace: Keyspace }
    | { verdict: "failed"; reason: string };

/**
 * Whether the container has stopped or been restarted since it was created: a vault that crashes
 * is not kept. Docker resets State.ExitCode to 0 when it starts the process again, so a container
 * seen running after a restart has no exit code worth naming (measured: `running`, RestartCount 1,
 * ExitCode 0 between two exits with code 1).
 */
export function containerFailure(name: string, c: ContainerState): string | undefined {
    const exit = `exit code ${c.exitCode}${c.oomKilled ? ", killed for memory" : ""}`;
    if (c.restartCount > 0) {
        const times = `${c.restartCount} time${c.restartCount === 1 ? "" : "s"}`;
        if (c.status === "running") return `the new ${name} stopped and Docker restarted it ${times}; it runs again for now`;
        return `the new ${name} stopped (${exit}) and Docker restarted it ${times}`;
    }
    if (c.status === "restarting") return `the new ${name} stopped (${exit}) and Docker is restarting it`;
    if (c.status === "exited" || c.status === "dead") return `the new ${name} stopped (${exit})`;
    return undefined;
}

/** The gate's verdict on one observation of the new vault. */
export function gateVerdict(o: GateObservation, ctx: GateContext): GateVerdict {
    const wait = (why: string, loading = false): GateVerdict => {
        const bound = ctx.loadingSeen || loading ? ctx.timeoutMs : ctx.startBoundMs;
        if (ctx.applied && ctx.sinceAppliedMs > bound)
            return {
                verdict: "failed",
                reason: `the new ${ctx.name} did not serve its data within ${Math.round(bound / 1000)} s of pulumi up (${why})`,
            };
        return { verdict: "wait", loading, why };
    };
    if (!o.container)
        return ctx.applied ? { verdict: "failed", reason: `pulumi up created no container ${ctx.name}` } : wait("not created yet");
    const stopped = containerFailure(ctx.name, o.container);
    if (stopped) return { verdict: "failed", reason: stopped };
    const v = o.vault;
    if (v.failure?.kind === "auth")
        return {
            verdict: "failed",
            reason: `the new ${ctx.name} refused the vault's password (${v.failure.message}): its clients would be refused`,
        };
    if (v.failure || !v.info) return wait(v.failure?.message ?? "no answer");
    if (v.info.loading === "1") return wait(`loading, ${v.info.loading_loaded_perc ?? "?"} %`, true);
    if (v.info.role !== "master")
        return { verdict: "failed", reason: `the new ${ctx.name} is a replica (role:${v.info.role ?? "?"}), not a vault` };
    const keyspace = parseKeyspace(v.info);
    const short = keyspaceShortfall(ctx.expected, keyspace);
    if (short)
        return {
            verdict: "failed",
            reason: `the new ${ctx.name} does not hold the old vault's data: ${short} (the old one had ${describeKeyspace(ctx.expected) || "no key"})`,
        };
    if (v.writeRefused) return wait(`it refuses writes: ${v.writeRefused}`);
    return { verdict: "serving", keyspace };
}
