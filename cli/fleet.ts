/**
 * Checks (and with --fix repairs) every selected environment at once. Each environment has
 * its own deadline, so a dead or silent host costs its own row one timeout and nothing else.
 */
import { performance } from "node:perf_hooks";
import { DiagnosisContext, Problem, diagnose, diagnosisContext, observeEnvironment } from "./check";
import { DEFAULT_SYNC_TIMEOUT_MS, applyFix, planFix } from "./fix";
import { EnvironmentOutput, EnvironmentsOutput } from "./outputs";
import { EnvironmentReport, FleetReport, Measurement, statusOf } from "./report";

export interface CheckOptions {
    /** Each step of each environment (check, repair, re-check) is bounded by this. */
    timeoutMs: number;
    /** With fix: how long to wait for the link after a repair that re-syncs (a full sync takes its time). */
    syncTimeoutMs?: number;
    fix: boolean;
    force: boolean;
}

export async function checkFleet(environments: EnvironmentsOutput, names: string[], options: CheckOptions): Promise<FleetReport> {
    const context = diagnosisContext(environments);
    const results = await Promise.all(names.map((name) => checkEnvironment(name, environments[name], context, options)));
    return {
        environments: results.map((r) => r.report),
        measurements: Object.fromEntries(results.map((r) => [r.report.name, r.measurement])),
    };
}

export async function checkEnvironment(
    name: string,
    env: EnvironmentOutput,
    context: DiagnosisContext,
    options: CheckOptions,
): Promise<{ report: EnvironmentReport; measurement: Measurement }> {
    const started = performance.now();
    let observation = await observeEnvironment(env, options.timeoutMs);
    let diagnosis = diagnose(env, observation, context);
    const changes: string[] = [];
    const extra: Problem[] = [];
    if (options.fix && diagnosis.problems.length > 0) {
        const plan = planFix(env, observation, diagnosis, { force: options.force });
        if (plan.actions.length > 0 && env.kind === "standard") {
            const result = await applyFix(env, plan, { timeoutMs: options.timeoutMs, syncTimeoutMs: options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS });
            if (plan.forced && result.changes.length > 0) changes.push(`--force: re-synced although ${plan.forced}`);
            changes.push(...result.changes);
            extra.push(...result.failures);
            observation = await observeEnvironment(env, options.timeoutMs);
            diagnosis = diagnose(env, observation, context);
        }
        if (diagnosis.problems.length > 0) extra.push(...plan.notFixed.map((message): Problem => ({ code: "not-fixed", message })));
    }
    const problems = [...diagnosis.problems, ...extra];
    const report: EnvironmentReport = {
        name,
        kind: env.kind,
        status: statusOf(problems, changes),
        vault: { container: env.vault.container, endpoint: `${env.vault.host}:${env.vault.port}` },
        operational: env.kind === "standard" ? { container: env.operational.container, endpoint: `${env.operational.host}:${env.operational.port}` } : null,
        replication: diagnosis.replication,
        problems,
        changes,
    };
    return {
        report,
        measurement: {
            lagBytes: diagnosis.lag?.bytes ?? null,
            lagSeconds: diagnosis.lag?.seconds ?? null,
            durationMs: Math.round(performance.now() - started),
        },
    };
}
