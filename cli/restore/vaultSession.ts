/** Sessions on the vault and the operational: the renewed write pause, save points, the write mark, waiting until the vault answers. */
import type { VaultContainer } from "../snapshot/vaultContainer";
import { type Docker, containerLog } from "../docker/client";
import type { EnvironmentOutput } from "../fleet/environment";
import { parseInfo } from "../redis/replies";
import { pauseRenewalMs } from "./plan";
import { Deadline, RedisSession, type SessionTarget } from "../redis/session";

/**
 * A write pause (CLIENT PAUSE WRITE) that lasts `leaseMs` unless renewed, renewed while this
 * process runs. Redis extends a pause that is asked again (networking.c, pauseClients: the
 * later end wins), so a restore that is killed leaves writes blocked for at most one lease,
 * never for the whole of a long bound.
 */
export class WritePause {
    private timer: NodeJS.Timeout | undefined;
    private renewing: Promise<void> | undefined;

    private constructor(
        private readonly env: EnvironmentOutput,
        readonly leaseMs: number,
    ) {}

    static async begin(env: EnvironmentOutput, leaseMs: number, timeoutMs: number): Promise<WritePause> {
        await withVault(env, Math.min(timeoutMs, 10_000), (s) => s.call("CLIENT", "PAUSE", leaseMs, "WRITE"));
        const pause = new WritePause(env, leaseMs);
        pause.timer = setInterval(() => void pause.renew(), pauseRenewalMs(leaseMs));
        return pause;
    }

    /** Asks for the pause again; one request at a time (while DEBUG DIGEST blocks the vault, they would pile up). */
    renew(): Promise<void> {
        this.renewing ??= withVault(this.env, Math.min(this.leaseMs, 10_000), (s) => s.call("CLIENT", "PAUSE", this.leaseMs, "WRITE"))
            .then(
                () => undefined,
                () => undefined,
            )
            .finally(() => {
                this.renewing = undefined;
            });
        return this.renewing;
    }

    /** No more renewals: the vault is stopped, or the pause is over. */
    stopRenewing(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
    }

    /** Writes resume now. */
    async end(): Promise<void> {
        this.stopRenewing();
        await this.renewing;
        await withVault(this.env, 10_000, (s) => s.call("CLIENT", "UNPAUSE")).catch(() => undefined);
    }
}

/** The vault's `save` setting (its RDB save points), or undefined when it does not answer. */
export async function readSavePoints(env: EnvironmentOutput, timeoutMs: number): Promise<string | undefined> {
    return withVault(env, Math.min(timeoutMs, 10_000), async (session) => {
        const reply = await session.call("CONFIG", "GET", "save");
        return Array.isArray(reply) ? String(reply[1] ?? "") : undefined;
    }).catch(() => undefined);
}

export function setSavePoints(env: EnvironmentOutput, savePoints: string): Promise<void> {
    return withVault(env, 10_000, (s) => s.call("CONFIG", "SET", "save", savePoints)).then(
        () => undefined,
        () => undefined,
    );
}

/** `changes@last save time` of INFO persistence: the same twice means no write in between. */
export async function writeMark(env: EnvironmentOutput, timeoutMs: number): Promise<string> {
    const saves = await withVault(env, Math.min(timeoutMs, 10_000), async (s) => parseInfo(String(await s.call("INFO", "persistence"))));
    return `${saves.rdb_changes_since_last_save}@${saves.rdb_last_save_time}`;
}

/**
 * Runs `body` with a session on `target` (commands bounded by 30 s, the whole by `timeoutMs`);
 * the session and its deadline's timer end with it, so nothing keeps the process alive.
 */
async function withSession<T>(
    // With its tls, when the outputs give one: the session then speaks TLS.
    target: SessionTarget,
    timeoutMs: number,
    body: (session: RedisSession) => Promise<T>,
): Promise<T> {
    const deadline = new Deadline(timeoutMs);
    const session = new RedisSession(target, deadline, Math.min(timeoutMs, 30_000));
    try {
        return await body(session);
    } finally {
        session.close();
        deadline.finish();
    }
}

/**
 * Waits until the vault answers its password and has loaded its data (the conversion runs
 * with no client port first). Fails at once when the container stops or its start script
 * refuses (start-redis.sh says why in its log).
 */
export async function waitForVault(
    env: EnvironmentOutput,
    vault: VaultContainer,
    docker: Docker,
    remaining: () => number,
    logFrom: number,
): Promise<string | undefined> {
    const container = docker.getContainer(vault.id);
    for (;;) {
        const left = remaining();
        const state = (await container.inspect()).State;
        const log = await containerLog(container, logFrom);
        const refusal = log.split("\n").find((line) => line.includes("REFUSING TO START"));
        if (refusal) throw new Error(`${vault.name} refused to start on the snapshot: ${refusal.replace(/^.*REFUSING TO START: /, "")}`);
        if (!state.Running && !state.Restarting)
            throw new Error(`${vault.name} stopped (exit ${state.ExitCode}) instead of starting on the snapshot`);
        const persistence = await withVault(env, Math.min(left, 2_000), async (session) =>
            parseInfo(String(await session.call("INFO", "persistence"))),
        ).catch(() => undefined); // Not answering yet (converting with no client port, or loading): ask again.
        if (persistence?.loading === "0") return persistence.rdb_last_save_time;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}

export function withVault<T>(env: EnvironmentOutput, timeoutMs: number, body: (session: RedisSession) => Promise<T>): Promise<T> {
    return withSession(env.vault, timeoutMs, async (session) => {
        await session.call("AUTH", env.vault.password);
        return body(session);
    });
}

/** The operational's INFO replication, without a password as the protocol's check reads it; undefined while it does not answer. */
export async function operationalReplication(env: EnvironmentOutput): Promise<Record<string, string> | undefined> {
    if (env.kind !== "standard") return undefined;
    const operational = env.operational;
    return withSession(operational, 2_000, async (session) => ({ ...parseInfo(String(await session.call("INFO", "replication"))) })).catch(
        () => undefined,
    );
}

/** What `remaining` says, 0 once it is over (it throws then). */
export function timeLeft(remaining: () => number): number {
    try {
        return remaining();
    } catch {
        return 0;
    }
}
