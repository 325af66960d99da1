/**
 * `nexus-redis check --fix`: repairs what can be repaired safely, as the operational's admin
 * user. It never writes to a vault: the vault is the source of truth, and a repair that
 * guessed wrong there would lose data instead of a copy of it.
 *
 * `planFix` is pure (what to change, and why something stays); `applyFix` sends it.
 */
import { REDIS_INTERNAL_PORT } from "../../components/protocol";
import { operationalDefaultUserRules } from "../../components/redisServer";
import { type Diagnosis, type Problem, VAULT_PROBLEMS } from "./problems";
import { resyncRisk } from "./resync";
import { declaredOperationalSettings, declaredTlsPaths } from "../fleet/declared";
import type { EnvironmentObservation } from "./observe";
import type { EnvironmentOutput, StandardEnvironmentOutput } from "../fleet/environment";
import { type Info, parseInfo } from "../redis/replies";
import { Deadline, ProbeError, RedisSession } from "../redis/session";

export interface FixAction {
    /** What it does, for the report; never a password. */
    description: string;
    /** The command sent as the admin user (may hold a password: never printed). */
    command: string[];
    /** Whether it makes the operational (re)sync from the vault, replacing its data. */
    resyncs: boolean;
}

export interface FixPlan {
    actions: FixAction[];
    /** Why problems stay, in words: each becomes a "not-fixed" problem in the report. */
    notFixed: string[];
    /** The data-loss risk --force overrode, for the record. */
    forced?: string;
}

export interface FixOptions {
    /** Re-sync even when `resyncRisk` says data could be lost. */
    force: boolean;
}

/**
 * What --fix does for one environment, and why the rest stays. It refuses first (a vault's
 * problems, a secure environment, an operational that cannot be logged into), then plans the
 * repairs that keep the operational's data, then those that re-sync it, behind the resync gate.
 */
export function planFix(env: EnvironmentOutput, observation: EnvironmentObservation, diagnosis: Diagnosis, options: FixOptions): FixPlan {
    const notFixed: string[] = [];
    const codes = new Set(diagnosis.problems.map((p) => p.code));
    const vaultSide = diagnosis.problems.filter((p) => VAULT_PROBLEMS.has(p.code));
    if (vaultSide.length > 0) {
        notFixed.push(
            `--fix never writes to a vault: ${describeProblems(vaultSide)} stay${vaultSide.length === 1 ? "s" : ""} for an operator`,
        );
    }
    if (env.kind === "secure") return { actions: [], notFixed };

    const operational = observation.operational ?? {};
    if (operational.failure) {
        notFixed.push(`the operational is not answering: nothing could be repaired (\`nexus-redis recover\` replaces it)`);
        return { actions: [], notFixed };
    }
    if (operational.adminFailure || !operational.config || !operational.info) {
        if (diagnosis.problems.some((p) => !VAULT_PROBLEMS.has(p.code) && !p.code.startsWith("vault-"))) {
            notFixed.push(`the operational's admin user cannot log in or run CONFIG: nothing could be repaired`);
        }
        return { actions: [], notFixed };
    }

    // An operational that may hold the only copy of some data keeps its persistence until that
    // is settled: turning save points off there would lose that copy at its next restart.
    const onlyCopy = options.force ? undefined : resyncRisk(observation.vault, operational);
    const drift = driftRepairs(env, diagnosis, operational.config, onlyCopy);
    const actions = drift.actions;
    notFixed.push(...drift.notFixed);
    const resync = resyncRepairs(env, codes, operational.config, operational.info);
    let forced: string | undefined;
    if (resync.length > 0) {
        const blocked = resyncBlocked(observation, codes, options);
        if (blocked) {
            notFixed.push(
                `${resync.map((a) => a.command.slice(0, a.command[0] === "CONFIG" ? 3 : 1).join(" ")).join(", ")} not done: ${blocked}`,
            );
        } else {
            actions.push(...resync);
            forced = resyncRisk(observation.vault, operational);
        }
    } else if (codes.has("link-down") && observation.vault.failure) {
        notFixed.push("the replication link stays down until the vault answers again");
    }
    return forced ? { actions, notFixed, forced } : { actions, notFixed };
}

/** Settings that decide whether the operational's data survives its restart. */
const PERSISTENCE_SETTINGS = new Set(["save", "appendonly"]);

/**
 * Repairs that keep the operational's data: drifted settings put back (its persistence only
 * when it holds no data of its own, `onlyCopy` undefined), the default user's ACL reset.
 */
function driftRepairs(
    env: StandardEnvironmentOutput,
    diagnosis: Diagnosis,
    config: Record<string, string>,
    onlyCopy: string | undefined,
): { actions: FixAction[]; notFixed: string[] } {
    const actions: FixAction[] = [];
    const notFixed: string[] = [];
    const declared = declaredOperationalSettings(env.vault.container, declaredTlsPaths(env));
    for (const problem of diagnosis.problems) {
        if (problem.code === "operational-drift" && problem.setting && onlyCopy && PERSISTENCE_SETTINGS.has(problem.setting)) {
            notFixed.push(`${problem.setting} stays as it is: ${onlyCopy}, and its persistence keeps that copy across a restart`);
        } else if (problem.code === "operational-drift" && problem.setting) {
            const value = declared[problem.setting];
            actions.push({
                description: `CONFIG SET ${problem.setting} ${JSON.stringify(value)} (was ${JSON.stringify(config[problem.setting] ?? "")})`,
                command: ["CONFIG", "SET", problem.setting, value],
                resyncs: false,
            });
        }
    }
    // Only the default user: it is what every client without a password gets. The admin
    // user (the one --fix logs in as) and users nobody declared stay for a person.
    const defaultDrift = diagnosis.problems.some((p) => p.code === "operational-acl-drift" && p.user === "default");
    if (defaultDrift && env.operational.adminUser === "default") {
        notFixed.push(
            "the default user's ACL stays: the outputs name default as the operational's admin user, the one --fix logs in as, and resetting it would take away the rights the repair runs with (give the operational an admin user of its own, as the program declares)",
        );
    } else if (defaultDrift) {
        actions.push({
            description: `ACL SETUSER default reset, then its declared rules: ${operationalDefaultUserRules().join(" ")}`,
            command: ["ACL", "SETUSER", "default", "reset", ...operationalDefaultUserRules()],
            resyncs: false,
        });
    }
    const others = diagnosis.problems.filter((p) => p.code === "operational-acl-drift" && p.user !== "default");
    if (others.length > 0) {
        notFixed.push(
            `--fix restores only the default user's ACL: ${[...new Set(others.map((p) => p.user))].join(", ")} stay${others.length === 1 ? "s" : ""} for an operator`,
        );
    }
    return { actions, notFixed };
}

/** Repairs of the replication link (masteruser, masterauth, REPLICAOF): each makes the operational re-sync. */
function resyncRepairs(env: StandardEnvironmentOutput, codes: Set<string>, config: Record<string, string>, info: Info): FixAction[] {
    const resync: FixAction[] = [];
    if (codes.has("masteruser-drift")) {
        resync.push({
            description: `CONFIG SET masteruser ${env.replication.user} (was ${JSON.stringify(config.masteruser ?? "")})`,
            command: ["CONFIG", "SET", "masteruser", env.replication.user],
            resyncs: true,
        });
    }
    if (codes.has("masterauth-drift")) {
        resync.push({
            description: "CONFIG SET masterauth to the stack's replication password",
            command: ["CONFIG", "SET", "masterauth", env.replication.password],
            resyncs: true,
        });
    }
    if (codes.has("not-replica") || codes.has("wrong-master")) {
        const was = info.role === "slave" ? `${info.master_host} ${info.master_port}` : "NO ONE";
        resync.push({
            description: `REPLICAOF ${env.vault.container} ${REDIS_INTERNAL_PORT} (was ${was})`,
            command: ["REPLICAOF", env.vault.container, String(REDIS_INTERNAL_PORT)],
            resyncs: true,
        });
    }
    return resync;
}

function resyncBlocked(observation: EnvironmentObservation, codes: Set<string>, options: FixOptions): string | undefined {
    const vault = observation.vault;
    if (vault.failure) {
        return vault.failure.kind === "auth"
            ? "the vault rejects the stack's password, so whether syncing is safe cannot be checked"
            : "the vault is not answering: there is nothing to sync from";
    }
    if (codes.has("vault-not-master")) return "the vault is itself a replica; following it would follow whatever it follows";
    const risk = resyncRisk(vault, observation.operational ?? {});
    if (risk && !options.force) return `refused, ${risk} (--force overrides)`;
    return undefined;
}

function describeProblems(problems: Problem[]): string {
    const names = problems.map((p) => (p.setting ? `${p.code} (${p.setting})` : p.code));
    return [...new Set(names)].join(", ");
}

export interface FixResult {
    /** What was changed, in words. */
    changes: string[];
    /** Actions that failed. */
    failures: Problem[];
}

export { DEFAULT_SYNC_TIMEOUT_MS } from "../core/defaults";

export interface ApplyTimeouts {
    /** Bound of the repair's own conversation (and of each INFO while waiting). */
    timeoutMs: number;
    /**
     * How long to wait for the link to come up after a repair that re-syncs. A full sync of
     * a real dataset takes far longer than one command: its own bound (`--sync-timeout`).
     */
    syncTimeoutMs: number;
}

/**
 * Sends the plan's actions as the admin user, then, when any of them re-syncs, waits
 * (bounded by `syncTimeoutMs`) until the link is up. The caller checks the environment again.
 */
export async function applyFix(
    env: StandardEnvironmentOutput,
    plan: FixPlan,
    { timeoutMs, syncTimeoutMs }: ApplyTimeouts,
): Promise<FixResult> {
    const changes: string[] = [];
    const failures: Problem[] = [];
    if (plan.actions.length === 0) return { changes, failures };
    const deadline = new Deadline(timeoutMs);
    const session = new RedisSession(env.operational, deadline);
    try {
        await session.call("AUTH", env.operational.adminUser, env.operational.adminPassword);
        for (const action of plan.actions) {
            try {
                await session.call(action.command[0], ...action.command.slice(1));
                changes.push(action.description);
            } catch (e) {
                const message = e instanceof ProbeError ? e.failure.message : String(e);
                failures.push({ code: "fix-failed", message: `${action.description} failed: ${message}` });
                if (e instanceof ProbeError && e.failure.kind !== "error" && e.failure.kind !== "denied") break;
            }
        }
    } catch (e) {
        const message = e instanceof ProbeError ? e.failure.message : String(e);
        failures.push({ code: "fix-failed", message: `could not log in to the operational as ${env.operational.adminUser}: ${message}` });
    } finally {
        deadline.finish();
    }
    if (plan.actions.some((a) => a.resyncs) && changes.length > 0) await waitForLink(env, syncTimeoutMs, timeoutMs);
    return { changes, failures };
}

/**
 * Polls INFO replication until master_link_status:up or `syncTimeoutMs` have passed; each
 * INFO is bounded by `commandTimeoutMs`, so an operational that stops answering ends the
 * wait at once instead of holding it. The re-check reports how it ended.
 */
export async function waitForLink(
    env: StandardEnvironmentOutput,
    syncTimeoutMs: number,
    commandTimeoutMs = syncTimeoutMs,
): Promise<boolean> {
    const deadline = new Deadline(syncTimeoutMs);
    const session = new RedisSession(env.operational, deadline, Math.min(commandTimeoutMs, syncTimeoutMs));
    try {
        while (!deadline.expired) {
            const info = parseInfo(String(await session.call("INFO", "replication")));
            if (info.master_link_status === "up") return true;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return false;
    } catch {
        return false;
    } finally {
        deadline.finish();
    }
}
