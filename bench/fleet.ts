/**
 * The benchmarks' fleet: the program's own plan for a test stack, created on the engine by
 * the live harness (harness/fleet.ts), plus the two ways the benchmarks ask whether it
 * is healthy: a cheap poll while timing, and `nexus-redis check` itself, in process
 * (check-cli, in bench/check.ts, runs it as a whole process).
 */
import { performance } from "node:perf_hooks";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { main as nexusRedis } from "../cli/main";
import { type EnvironmentOutput, LiveFleet, testStackConfig } from "../harness/fleet";
import { type PlannedRun, planRun } from "../harness/engineApply";
import type { Plan } from "../plan/plan";
import { BENCH_PORTS, freePortOffset } from "../harness/ports";
import { info, redisCommand } from "../harness/resp";
import { type BenchRun, ROOT, until } from "./resources";

export const PROTOCOL_NAMES = PROTOCOL_ENVIRONMENTS.map((e) => e.name);

/** Host ports the plan publishes. */
export function planPorts(plan: Plan): number[] {
    return plan.resources
        .filter((r) => r.type === "docker:index/container:Container")
        .flatMap((r) => ((r.inputs.ports as { external?: number }[] | undefined) ?? []).map((p) => Number(p.external)));
}

/**
 * Plans the first `pulumi up` of a test stack of `environments` (the same config keys
 * `startLiveFleet` sets), as the engine would plan it (harness/engineApply.ts planRun).
 */
export async function planFleet(name: string, environments: string[]): Promise<PlannedRun> {
    const values = testStackConfig(name, environments, await freePortOffset(environments, BENCH_PORTS));
    return planRun("apply", { resources: [] }, { values, secrets: {} });
}

/**
 * A LiveFleet whose first up is `planned` (so that later ups plan the next state of the same
 * stack). The harness's own `startLiveFleet` plans and creates in one call; the benchmarks
 * need the two apart, to time creation alone.
 */
export function fleetFor(run: BenchRun, name: string, planned: PlannedRun): LiveFleet {
    return new LiveFleet(name, name, run.docker, planned.config, { planned });
}

/** Whether one environment is healthy: its vault answers with its password, its operational reports the link up. */
async function environmentHealthy(env: EnvironmentOutput): Promise<boolean> {
    const pong = await redisCommand(env.vault.port, ["PING"], { password: env.vault.password, timeoutMs: 1_000 });
    if (pong !== "PONG") return false;
    if (env.kind === "secure") return true;
    const replication = await info(env.operational!.port, "replication", { timeoutMs: 1_000 });
    return replication.master_link_status === "up";
}

/** Waits until every environment is healthy (every link up); polls each every 10 ms on fresh connections. */
export async function waitHealthy(fleet: LiveFleet, timeoutMs = 60_000): Promise<void> {
    await Promise.all(
        Object.entries(fleet.outputs).map(([name, env]) =>
            until(`${name} healthy`, async () => ((await environmentHealthy(env)) ? true : undefined), { timeoutMs, intervalMs: 10 }),
        ),
    );
}

export interface CheckRun {
    ms: number;
    exitCode: number;
    /** `nexus-redis check --json`'s document. */
    report: {
        healthy: boolean;
        environments: { name: string; status: string; problems: { code: string; message: string }[] }[];
    };
}

/**
 * `nexus-redis check --json --outputs - --timeout MS` in this process (the CLI's exported
 * `main`, with its stdin and stdout in memory): the command an operator runs, minus node's
 * start-up. `environments` is the stack output, as `pulumi stack output --json` prints it.
 */
export async function runCheck(environments: Record<string, unknown>, timeoutMs: number): Promise<CheckRun> {
    let stdout = "";
    let stderr = "";
    const document = JSON.stringify({ environments });
    const started = performance.now();
    const exitCode = await nexusRedis(["check", "--json", "--outputs", "-", "--timeout", String(timeoutMs)], {
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text) },
        readStdin: async () => document,
        run: async () => {
            throw new Error("the benchmark gives check its outputs: it must not run other programs");
        },
        projectDir: ROOT,
        env: process.env,
    });
    const ms = performance.now() - started;
    return { ms, exitCode, report: checkReport(exitCode, stdout, stderr) };
}

/**
 * The report of a `check --json` run: its document when it judged the fleet (exit 0 or 1);
 * otherwise there is none (stdout is empty), and the error says why from stderr. Pure.
 */
export function checkReport(exitCode: number, stdout: string, stderr: string): CheckRun["report"] {
    if (exitCode !== 0 && exitCode !== 1) {
        const kind = exitCode === 2 ? "usage or configuration error" : exitCode === 3 ? "internal error" : `exit ${exitCode}`;
        throw new Error(`nexus-redis check: ${kind}: ${stderr.trim() || "no message"}`);
    }
    return JSON.parse(stdout) as CheckRun["report"];
}

/** A check that must find the fleet healthy; throws with what it found otherwise. */
export async function expectHealthy(environments: Record<string, unknown>, timeoutMs: number): Promise<CheckRun> {
    const check = await runCheck(environments, timeoutMs);
    if (check.exitCode !== 0) {
        const problems = check.report.environments.flatMap((e) => e.problems.map((p) => `${e.name}: ${p.message}`));
        throw new Error(`nexus-redis check found the fleet unhealthy: ${problems.join("; ")}`);
    }
    return check;
}
