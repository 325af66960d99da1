/**
 * What restore proves about the vault before it changes anything (no pause, no CONFIG SET, no
 * stop): that its container is not paused, that it starts through the program's start script
 * (which converts the snapshot into an AOF at start), that the server behind the outputs'
 * host:port is the one inside that container, and that it runs with AOF on. A vault its start
 * script is still converting (or Redis still loading) is waited for first, within --timeout:
 * it answers nobody yet, and would otherwise be refused as a server that cannot be proven to
 * be the outputs'. The decisions are
 * pure functions over what the engine and Redis said; the reads are at the end.
 */
import { performance } from "node:perf_hooks";
import { CONVERT_FOLDER, DATA_DIR, IN_CONTAINER_TLS, START_SCRIPT_FILE, STOP_GRACE_SECONDS } from "../../components/redisServer";
import { seconds } from "../core/format";
import { type Docker, exec } from "../docker/client";
import type { EnvironmentOutput } from "../fleet/environment";
import { parseInfo } from "../redis/replies";
import { lastLine } from "../snapshot/restic";
import type { VaultContainer } from "../snapshot/vaultContainer";
import { Refusal } from "./report";
import { timeLeft, withVault } from "./vaultSession";

const NOTHING_CHANGED = "refused, nothing was changed";

/** A paused container answers nothing and cannot be stopped (the engine says 409): restore refuses it up front. */
export function pausedRefusal(name: string): string {
    return `${NOTHING_CHANGED}: the vault container is paused: docker unpause ${name}, then run restore again`;
}

/**
 * Whether a container's command (its entrypoint, then its command, as `docker inspect` shows
 * them) runs the program's start script for the vault role: `sh /etc/nexus-redis/start-redis.sh
 * vault CONFIG` (components/redisServer.ts vaultCommand), behind the image's entrypoint when it
 * has one (the official image's passes a command that is not `redis-server` on unchanged) or
 * without one. The script is what turns the dump.rdb restore puts in into an AOF at start; a
 * plain `redis-server --appendonly yes` would start empty beside it.
 */
export function startsThroughStartScript(
    entrypoint: readonly string[] | null | undefined,
    cmd: readonly string[] | null | undefined,
): boolean {
    const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
    const at = argv.indexOf(START_SCRIPT_FILE);
    return at >= 0 && argv[at + 1] === "vault";
}

export function startScriptRefusal(
    name: string,
    entrypoint: readonly string[] | null | undefined,
    cmd: readonly string[] | null | undefined,
): string {
    const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
    return (
        `${NOTHING_CHANGED}: ${name} does not start through the program's start script (its command is ${JSON.stringify(argv.join(" "))}, not "sh ${START_SCRIPT_FILE} vault ..."). ` +
        "Restore puts the snapshot in as dump.rdb and relies on that script to load it into an AOF at start; a vault started otherwise with AOF on would come back EMPTY beside it. " +
        "Restore needs a vault the program runs: adopt this one first (docs/adopt.md), then restore"
    );
}

/**
 * How far a running vault's start has got: its start script converting dump.rdb into an AOF
 * (no client port yet), Redis loading its data, Redis answering with its data loaded, or
 * unknown (it does not answer inside its container for another reason: the checks that
 * follow say what).
 */
export type StartPhase = "converting" | "loading" | "answering" | "unknown";

/**
 * The probe run in the vault's container (REDISCLI_AUTH in its environment): whether a process
 * there is start-redis.sh's converting server, then Redis's INFO persistence. That server is
 * known by its socket in the conversion folder, in its process title (Redis 7 retitles itself
 * `redis-server unixsocket:PATH`) or its arguments; the folder alone could be one a killed
 * conversion left. The pattern is quoted apart so that this shell's own arguments, which hold
 * it, never match it.
 */
export function startPhaseScript(): string {
    const socket = `${DATA_DIR}/${CONVERT_FOLDER}`;
    return (
        `for f in /proc/[0-9]*/cmdline; do case "$(tr '\\0' ' ' < "$f" 2>/dev/null)" in *"${socket}"/*) echo phase:converting; exit 0 ;; esac; done; ` +
        `${IN_CONTAINER_TLS}redis-cli "$@" info persistence`
    );
}

export function startPhase(probe: { exitCode: number; stdout: string }): StartPhase {
    if (/^phase:converting$/m.test(probe.stdout)) return "converting";
    if (probe.exitCode !== 0) return "unknown";
    const loading = parseInfo(probe.stdout).loading;
    return loading === "1" ? "loading" : loading === "0" ? "answering" : "unknown";
}

/** How often restore looks again at a vault that is still starting. */
export const START_POLL_MS = 500;

/**
 * What --timeout must still leave for the restore itself when restore stops waiting for a
 * vault's start: the same budget then covers the checks, the staging, the stop (the vault's
 * stop timeout), the swap and the start. Waiting into it would leave a restore that stops the
 * vault with no time to start it again.
 */
export const START_WAIT_RESERVE_MS = 120_000;

/** How long a vault that was converting may not answer before the checks judge it: Redis opens its port within moments of starting. */
export const CONVERSION_HANDOVER_MS = 5_000;

const STARTING: Record<"converting" | "loading", { doing: string; done: string }> = {
    converting: {
        doing: "converting its data into an append-only file (its start script loads dump.rdb with no client port open, then starts Redis on the AOF)",
        done: '"nexus-redis vault: converted: ... starting", then "Ready to accept connections"',
    },
    loading: { doing: "loading its data", done: '"Ready to accept connections"' },
};

/**
 * Whether restore checks the vault now, waits for its start to finish, or gives up: a vault
 * that is converting or loading (right after `pulumi up` on a dump.rdb, or after a previous
 * restore) is waited for while --timeout leaves time; nothing is changed while it waits.
 */
export function judgeStart(
    name: string,
    phase: StartPhase,
    waitedMs: number,
    leftMs: number,
    sinceStartingMs?: number,
): { action: "check" } | { action: "wait"; note: string } | { action: "refuse"; message: string } {
    // The conversion's server is gone and Redis is not listening yet: an instant between the two,
    // waited out briefly; a vault that still does not answer after that is the checks' to judge.
    const canWait = leftMs - START_POLL_MS > START_WAIT_RESERVE_MS;
    if (phase === "unknown" && sinceStartingMs !== undefined && sinceStartingMs < CONVERSION_HANDOVER_MS && canWait)
        return { action: "wait", note: `${name} has finished converting its data: waiting for Redis to start on it` };
    if (phase === "answering" || phase === "unknown") return { action: "check" };
    const { doing, done } = STARTING[phase];
    if (canWait) return { action: "wait", note: `${name} is ${doing}: waiting for it (within --timeout); nothing is changed before then` };
    return {
        action: "refuse",
        message:
            `${NOTHING_CHANGED}: ${name} was still ${doing} after restore had waited ${seconds(waitedMs)}, and --timeout leaves too little ` +
            `for the restore itself (it keeps ${seconds(START_WAIT_RESERVE_MS)} for the stop, the swap and the start). ` +
            `Run restore again once \`docker logs ${name}\` shows ${done}, or with a longer --timeout`,
    };
}

/** What the vault's start after the swap needs of --timeout beyond its stop: the swap (a rename) and `docker start`. */
export const AFTER_STOP_MS = 30_000;

/**
 * Whether --timeout still leaves what the stop (the vault's stop timeout, the program's
 * STOP_GRACE_SECONDS, which Redis may use to fsync), the swap and the start need. Asked with
 * writes paused, just before the stop: a budget that ran out after the stop left the vault
 * stopped, so a restore short of time refuses there, writes resumed and nothing changed.
 */
export function stopBudgetRefusal(leftMs: number): string | undefined {
    const needed = STOP_GRACE_SECONDS * 1000 + AFTER_STOP_MS;
    if (leftMs >= needed) return undefined;
    return (
        `${NOTHING_CHANGED}: --timeout leaves ${seconds(Math.floor(leftMs / 100) * 100)}, less than the ${seconds(needed)} that stopping the vault ` +
        `(up to ${STOP_GRACE_SECONDS} s), swapping its files and starting it again may take; run restore again with a longer --timeout`
    );
}

/** What was read of one server's identity: its INFO server run_id, or why it could not be read. */
export type RunIdRead = { runId: string } | { error: string };

/**
 * Whether the server behind the outputs' host:port is the one inside the container they name.
 * Restore stops the container and swaps its files, but pauses, reads and verifies through the
 * port: two different servers would have one environment's snapshot put into another's vault.
 * Redis gives each start a new random run_id, so equal run_ids mean the same process.
 */
export function identityRefusal(container: string, endpoint: string, overPort: RunIdRead, inside: RunIdRead): string | undefined {
    if ("runId" in overPort && "runId" in inside && overPort.runId === inside.runId) return undefined;
    const port = "runId" in overPort ? `run_id ${overPort.runId}` : `no answer with the vault's password (${overPort.error})`;
    const within = "runId" in inside ? `run_id ${inside.runId}` : `no answer with the vault's password (${inside.error})`;
    return (
        `${NOTHING_CHANGED}: the vault's host:port ${endpoint} and its container ${container} ${"runId" in overPort && "runId" in inside ? "are not" : "could not be proven to be"} the same Redis server ` +
        `(${endpoint}: ${port}; inside ${container}: ${within}). Restore would stop one and verify through the other, ` +
        "putting the snapshot into the wrong environment's vault: correct the outputs (vault.container and vault.port), then run restore again"
    );
}

/**
 * For a stopped container, whose server cannot be asked: whether it publishes the outputs' port
 * (the program publishes the vault's 6379 on it). `bindings` is HostConfig.PortBindings.
 */
export function stoppedIdentityRefusal(
    container: string,
    port: number,
    bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null | undefined,
): string | undefined {
    const published = Object.values(bindings ?? {}).flatMap((b) => (b ?? []).map((x) => Number(x.HostPort)));
    if (published.includes(port)) return undefined;
    return (
        `${NOTHING_CHANGED}: ${container} is stopped and does not publish the vault's port ${port} (it publishes ${published.length > 0 ? published.join(", ") : "none"}): ` +
        "it is not the server the outputs name at that port; correct the outputs (vault.container and vault.port), then run restore again"
    );
}

/**
 * The program's vault always runs with AOF on. Restore turns RDB save points off before the stop
 * (dump.rdb is moved aside anyway; the AOF is fsynced at shutdown), so on a vault without AOF the
 * files kept aside would be its last save, not what it held: every write since would be lost.
 */
export function appendonlyRefusal(name: string, appendonly: string): string | undefined {
    if (appendonly === "yes") return undefined;
    return (
        `${NOTHING_CHANGED}: ${name} runs with appendonly ${appendonly || "(unknown)"}: the files restore would keep aside would not hold what it holds now. ` +
        "The program's vault always has AOF on: this one is not run by the program (or was changed by hand: CONFIG SET appendonly yes, or adopt it first: docs/adopt.md)"
    );
}

/**
 * Why the operational cannot re-sync, from its container's state, or undefined while it may:
 * a stopped, dead or paused container never will on its own, so restore stops waiting.
 */
export function operationalNotRunning(state: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
}): string | undefined {
    if (state.Paused) return "paused";
    if (state.Running || state.Restarting) return undefined;
    return state.Status || "not running";
}

/** The refusals of a paused vault, or one that does not start through the start script: from its inspect alone. */
export async function checkVaultContainer(docker: Docker, vault: VaultContainer): Promise<void> {
    const info = await docker.getContainer(vault.id).inspect();
    if (info.State.Paused) throw new Refusal(pausedRefusal(vault.name));
    if (!startsThroughStartScript(info.Config.Entrypoint as string[] | null, info.Config.Cmd))
        throw new Refusal(startScriptRefusal(vault.name, info.Config.Entrypoint as string[] | null, info.Config.Cmd));
}

/**
 * Waits, within --timeout, while the vault's start script converts its data or Redis loads it
 * (a stopped vault is not waited for: the checks judge it). Only reads: nothing is changed.
 */
export async function waitUntilStarted(
    docker: Docker,
    env: EnvironmentOutput,
    vault: VaultContainer,
    remaining: () => number,
    log: (text: string) => void,
): Promise<void> {
    const began = performance.now();
    let said: string | undefined;
    let lastStarting: number | undefined;
    for (;;) {
        if (!(await docker.getContainer(vault.id).inspect()).State.Running) return;
        const probe = await exec(docker, vault.id, ["sh", "-c", startPhaseScript(), "start-phase"], {
            env: [`REDISCLI_AUTH=${env.vault.password}`],
            timeoutMs: Math.max(1_000, Math.min(timeLeft(remaining), 10_000)),
        }).catch(() => ({ exitCode: -1, stdout: "" }));
        const phase = startPhase(probe);
        if (phase === "converting" || phase === "loading") lastStarting = performance.now();
        const since = lastStarting === undefined ? undefined : performance.now() - lastStarting;
        const verdict = judgeStart(vault.name, phase, performance.now() - began, timeLeft(remaining), since);
        if (verdict.action === "check") return;
        if (verdict.action === "refuse") throw new Refusal(verdict.message);
        if (verdict.note !== said) log(verdict.note);
        said = verdict.note;
        await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
    }
}

/**
 * The vault's server: the same behind host:port as inside its container, and on AOF. Read
 * with the vault's password: over the port by the CLI's session, inside by redis-cli with
 * REDISCLI_AUTH in the exec's environment (never on a command line).
 */
export async function checkVaultServer(docker: Docker, env: EnvironmentOutput, vault: VaultContainer, timeoutMs: number): Promise<void> {
    const endpoint = `${env.vault.host}:${env.vault.port}`;
    const info = await docker.getContainer(vault.id).inspect();
    if (!info.State.Running) {
        const refusal = stoppedIdentityRefusal(vault.name, env.vault.port, info.HostConfig.PortBindings as never);
        if (refusal) throw new Refusal(refusal);
        return;
    }
    const overPort: RunIdRead & { appendonly?: string } = await withVault(env, Math.min(timeoutMs, 10_000), async (session) => {
        const server = parseInfo(String(await session.call("INFO", "server")));
        const reply = await session.call("CONFIG", "GET", "appendonly");
        return { runId: server.run_id ?? "", appendonly: Array.isArray(reply) ? String(reply[1] ?? "") : "" };
    }).catch((e) => ({ error: (e as Error).message }));
    const result = await exec(docker, vault.id, ["sh", "-c", `${IN_CONTAINER_TLS}redis-cli "$@" info server`, "identity"], {
        env: [`REDISCLI_AUTH=${env.vault.password}`],
        timeoutMs: Math.min(timeoutMs, 30_000),
    }).catch((e) => ({ exitCode: -1, stdout: "", output: (e as Error).message }));
    const runId = parseInfo(result.stdout).run_id;
    const inside: RunIdRead = result.exitCode === 0 && runId ? { runId } : { error: lastLine(result.output) || `exit ${result.exitCode}` };
    const refusal = identityRefusal(vault.name, endpoint, overPort, inside);
    if (refusal) throw new Refusal(refusal);
    const aof = appendonlyRefusal(vault.name, "appendonly" in overPort ? (overPort.appendonly ?? "") : "");
    if (aof) throw new Refusal(aof);
}
