/**
 * Checks (and with --fix repairs) every selected environment at once. Each environment has
 * its own deadline, so a dead or silent host costs its own row one timeout and nothing else.
 */
import { diagnose, diagnosisContext } from "./diagnose";
import type { Diagnosis, DiagnosisContext, Problem } from "./problems";
import { type EnvironmentObservation, observeEnvironment } from "./observe";
import { DEFAULT_SYNC_TIMEOUT_MS } from "../core/defaults";
import { applyFix, planFix } from "./fix";
import type { EnvironmentOutput, EnvironmentsOutput } from "../fleet/environment";
import { type EnvironmentReport, type FleetReport, type Measurement, statusOf } from "./report";

export interface CheckOptions {
    /** Each step of each environment (check, repair, re-check) is bounded by this. */
    timeoutMs: number;
    /** With fix: how long to wait for the link after a repair that re-syncs (a full sync takes its time). */
    syncTimeoutMs?: number;
    fix: boolean;
    force: boolean;
}

export async function checkFleet(environments: EnvironmentsOutput, names: string[], options: CheckOptions): Promise<FleetReport> {
    return buildReport(await checkEnvironments(environments, names, options));
}

/** Each environment's result, in the order given: the report's source, and what --prometheus reads besides. */
export async function checkEnvironments(
    environments: EnvironmentsOutput,
    names: string[],
    options: CheckOptions,
): Promise<EnvironmentResult[]> {
    const context = diagnosisContext(environments);
    return Promise.all(names.map((name) => checkEnvironment(name, environments[name], context, options)));
}

/** What checking one environment came to: the last diagnosis, plus what --fix did and could not do. */
export interface EnvironmentResult {
    name: string;
    env: EnvironmentOutput;
    diagnosis: Diagnosis;
    /** What the servers answered, the diagnosis's source (after --fix's repairs: the last look). */
    observation: EnvironmentObservation;
    /** Problems beyond the diagnosis: repairs that failed, and why problems stay. */
    extra: Problem[];
    /** What --fix changed, in words. */
    changes: string[];
    durationMs: number;
}

/** The report of a fleet from each environment's result, in the order given. Pure. */
export function buildReport(results: EnvironmentResult[]): FleetReport {
    const environments: EnvironmentReport[] = [];
    const measurements: Record<string, Measurement> = {};
    for (const { name, env, diagnosis, extra, changes, durationMs } of results) {
        const problems = [...diagnosis.problems, ...extra];
        environments.push({
            name,
            kind: env.kind,
            status: statusOf(problems, changes),
            vault: { container: env.vault.container, endpoint: `${env.vault.host}:${env.vault.port}` },
            operational:
                env.kind === "standard"
                    ? { container: env.operational.container, endpoint: `${env.operational.host}:${env.operational.port}` }
                    : null,
            replication: diagnosis.replication,
            problems,
            changes,
        });
        measurements[name] = { lagBytes: diagnosis.lag?.bytes ?? null, lagSeconds: diagnosis.lag?.seconds ?? null, durationMs };
    }
    return { environments, measurements };
}

export async function checkEnvironment(
    name: string,
    env: EnvironmentOutput,
    context: DiagnosisContext,
    options: CheckOptions,
): Promise<EnvironmentResult> {
    // Date.now, not performance.now: loading perf_hooks was 2-3 ms of the CLI's start-up.
    const started = Date.now();
    let observation = await observeEnvironment(env, options.timeoutMs);
    let diagnosis = diagnose(env, observation, context);
    const changes: string[] = [];
    const extra: Problem[] = [];
    if (options.fix && diagnosis.problems.length > 0) {
        const plan = planFix(env, observation, diagnosis, { force: options.force });
        if (plan.actions.length > 0 && env.kind === "standard") {
            const result = await applyFix(env, plan, {
                timeoutMs: options.timeoutMs,
                syncTimeoutMs: options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS,
            });
            if (plan.forced && result.changes.length > 0) changes.push(`--force: re-synced although ${plan.forced}`);
            changes.push(...result.changes);
            extra.push(...result.failures);
            observation = await observeEnvironment(env, options.timeoutMs);
            diagnosis = diagnose(env, observation, context);
        }
        if (diagnosis.problems.length > 0) extra.push(...plan.notFixed.map((message): Problem => ({ code: "not-fixed", message })));
    }
    return { name, env, diagnosis, observation, extra, changes, durationMs: Date.now() - started };
}
