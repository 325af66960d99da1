/**
 * The benchmarks' fleet: the program's own plan for a test stack, created on the engine by
 * the live harness (harness/fleet.ts), plus the two ways the benchmarks ask whether it
 * is healthy: a cheap poll while timing, and `nexus-redis check` itself, in process.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { main as nexusRedis } from "../cli/nexus-redis";
import { type EnvironmentOutput, LiveFleet } from "../harness/fleet";
import type { Plan } from "../plan/plan";
import { info, redisCommand } from "../harness/resp";
import { ROOT, until } from "./resources";
import { type SynthRun, runSynth, testStackConfig } from "./synth";

export const PROTOCOL_NAMES = PROTOCOL_ENVIRONMENTS.map((e) => e.name);

export function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/**
 * Host ports the benchmarks publish on: above the kernel's ephemeral range (32768-60999
 * by default) and above every offset the live tests' harness picks (up to 56520), so a
 * test run or an outgoing connection starting meanwhile cannot take one between the
 * moment it is chosen and the moment a container binds it.
 */
export const BENCH_PORTS = { first: 61_000, last: 65_535 } as const;

function tablePorts(environments: string[]): number[] {
    return PROTOCOL_ENVIRONMENTS.filter((e) => environments.includes(e.name)).flatMap((e) =>
        e.operationalPort === undefined ? [e.vaultPort] : [e.vaultPort, e.operationalPort],
    );
}

/** A port offset that puts every port of the environments' rows in BENCH_PORTS, on free loopback ports. */
async function freePortOffset(environments: string[]): Promise<number> {
    const ports = tablePorts(environments);
    const lowest = BENCH_PORTS.first - Math.min(...ports);
    const highest = BENCH_PORTS.last - Math.max(...ports);
    for (let attempt = 0; attempt < 50; attempt++) {
        const offset = lowest + Math.floor(Math.random() * (highest - lowest + 1));
        if ((await Promise.all(ports.map((p) => portFree(p + offset)))).every(Boolean)) return offset;
    }
    throw new Error(`no free range of loopback ports in ${BENCH_PORTS.first}-${BENCH_PORTS.last} for the benchmark fleet`);
}

/** `count` free loopback ports in BENCH_PORTS, none of them in `taken`. */
export async function freeBenchPorts(count: number, taken: number[]): Promise<number[]> {
    const ports: number[] = [];
    const start = BENCH_PORTS.first + Math.floor(Math.random() * (BENCH_PORTS.last - BENCH_PORTS.first));
    const size = BENCH_PORTS.last - BENCH_PORTS.first + 1;
    for (let i = 0; i < size && ports.length < count; i++) {
        const port = BENCH_PORTS.first + ((start - BENCH_PORTS.first + i) % size);
        if (!taken.includes(port) && (await portFree(port))) ports.push(port);
    }
    if (ports.length < count) throw new Error(`only ${ports.length} free loopback ports in ${BENCH_PORTS.first}-${BENCH_PORTS.last}`);
    return ports;
}

/** A free loopback port chosen by the kernel, for a port nothing will listen on. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Host ports the plan publishes. */
export function planPorts(plan: Plan): number[] {
    return plan.resources
        .filter((r) => r.type === "docker:index/container:Container")
        .flatMap((r) => ((r.inputs.ports as { external?: number }[] | undefined) ?? []).map((p) => Number(p.external)));
}

/**
 * Plans a test stack of `environments` (the same config keys `startLiveFleet` sets), timing
 * the plan: with the protocol's 12 environments it is also a sample of synth-12.
 */
export async function planFleet(name: string, environments: string[]): Promise<{ plan: Plan; synth: SynthRun }> {
    const synth = await runSynth(testStackConfig(name, environments, await freePortOffset(environments)), { showSecrets: true });
    return { plan: synth.plan, synth };
}

/**
 * A LiveFleet over an existing plan. The harness's own `startLiveFleet` plans and creates
 * in one call; the benchmarks need the two apart, to time creation alone.
 */
export function fleetFor(name: string, plan: Plan): LiveFleet {
    return new LiveFleet(name, plan, name);
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
    if (exitCode === 2) throw new Error(`nexus-redis check: usage error: ${stderr.trim()}`);
    return { ms, exitCode, report: JSON.parse(stdout) as CheckRun["report"] };
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
