/**
 * check-healthy and check-3-dead: `nexus-redis check` over the whole fleet, healthy and
 * with three environments unreachable, against the protocol's own approach: its script
 * runs `redis-cli -p {port} INFO replication` for one environment after another.
 *
 * The dead environments are the stack output pointed elsewhere, so the fleet itself is
 * untouched: one at a closed loopback port (refuses connections, as a stopped container
 * does), two at servers that accept connections and never answer (a hung host). The
 * sequential baseline gets the same bound per host as check's --timeout: Debian's
 * redis-cli 7.0 has no timeout option (-t came in 7.2), so it is killed when the bound is up.
 */
import { execFile } from "node:child_process";
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import type { EnvironmentOutput, LiveFleet } from "../harness/fleet";
import { freePort } from "../harness/ports";
import { type CheckRun, runCheck } from "./fleet";
import { type BenchResult, type Target, median, result, round, samplesText } from "./results";
import type { BenchRun } from "./resources";

export const CHECK_HEALTHY_TARGET: Target = { maxRatio: 0.2, text: "healthy check under 0.2 of the sequential baseline" };
/** "Bounded by the timeout, not by their number": the dead hosts cost one timeout together, plus a little. */
export const CHECK_DEAD_TARGET: Target = { maxRatio: 1.25, text: "check with dead hosts bounded by the timeout (at most 1.25x --timeout)" };

type Environments = Record<string, EnvironmentOutput>;

/** The protocol's check: `redis-cli -p PORT INFO replication` per environment, one after another, each killed after `timeoutMs`. */
export async function sequentialCheck(environments: Environments, timeoutMs: number): Promise<{ ms: number; answered: number }> {
    let answered = 0;
    const started = performance.now();
    for (const env of Object.values(environments)) {
        // A standard environment is checked on its operational (no password); a secure one has only its vault.
        const target = env.kind === "standard" ? env.operational! : env.vault;
        const auth = env.kind === "standard" ? {} : { REDISCLI_AUTH: env.vault.password };
        const output = await new Promise<string>((resolve) => {
            execFile(
                "redis-cli",
                ["-h", target.host, "-p", String(target.port), "INFO", "replication"],
                { env: { ...process.env, ...auth }, timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
                (_error, stdout) => resolve(stdout ?? ""),
            );
        });
        if (/^role:/m.test(output)) answered++;
    }
    return { ms: performance.now() - started, answered };
}

/** Servers that accept connections and never answer; closed by `close()`. */
class SilentServers {
    private readonly servers: net.Server[] = [];
    private readonly sockets = new Set<net.Socket>();

    async open(): Promise<number> {
        const server = net.createServer((socket) => {
            this.sockets.add(socket);
            socket.on("error", () => undefined);
            socket.on("close", () => this.sockets.delete(socket));
        });
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", resolve);
        });
        return (server.address() as net.AddressInfo).port;
    }

    async close(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
}

/** The stack output with `refused` environments at a closed port and `silent` ones at silent servers. */
async function withDeadEnvironments(
    environments: Environments,
    refused: string[],
    silent: string[],
    servers: SilentServers,
): Promise<Environments> {
    const copy = JSON.parse(JSON.stringify(environments)) as Environments;
    const point = (name: string, port: number) => {
        copy[name].vault.port = port;
        if (copy[name].operational) copy[name].operational!.port = port;
    };
    for (const name of refused) point(name, await freePort());
    for (const name of silent) point(name, await servers.open());
    return copy;
}

/** The check must have found exactly the dead environments, and nothing else, unreachable. */
function expectDead(check: CheckRun, dead: string[]): void {
    const wrong = check.report.environments.filter((e) => (e.status === "problem") !== dead.includes(e.name));
    if (check.exitCode !== 1 || wrong.length > 0) {
        throw new Error(
            `nexus-redis check with ${dead.join(", ")} dead: exit ${check.exitCode}, unexpected status of ${wrong.map((e) => `${e.name} (${e.status}: ${e.problems[0]?.message ?? "no problem"})`).join(", ") || "none"}`,
        );
    }
}

export interface CheckBenchOptions {
    timeoutMs: number;
    /** Environments pointed at a closed port (refusing connections). */
    refused: string[];
    /** Environments pointed at servers that accept connections and never answer. */
    silent: string[];
    healthyRepetitions: number;
    deadRepetitions: number;
    /** Also time a check with a single dead environment, to show the cost does not grow with their number. */
    compareOneDead: boolean;
}

export async function benchCheck(run: BenchRun, fleet: LiveFleet, options: CheckBenchOptions): Promise<BenchResult[]> {
    const environments = fleet.outputs;
    const count = Object.keys(environments).length;
    const { timeoutMs } = options;

    const checkMs: number[] = [];
    const sequentialMs: number[] = [];
    run.log(
        `check-healthy: ${options.healthyRepetitions} x nexus-redis check and ${options.healthyRepetitions} x sequential redis-cli, alternating`,
    );
    for (let i = 0; i < options.healthyRepetitions; i++) {
        const check = await runCheck(environments as Record<string, unknown>, timeoutMs);
        if (check.exitCode !== 0)
            throw new Error(
                `nexus-redis check found the healthy fleet unhealthy: ${JSON.stringify(check.report.environments.filter((e) => e.status !== "ok"))}`,
            );
        checkMs.push(check.ms);
        const sequential = await sequentialCheck(environments, timeoutMs);
        if (sequential.answered !== count)
            throw new Error(`the sequential baseline got ${sequential.answered} answers from ${count} healthy environments`);
        sequentialMs.push(sequential.ms);
    }

    const { refused, silent } = options;
    const dead = [...refused, ...silent];
    if (refused.length !== 1 || silent.length !== 2) throw new Error("check-3-dead takes one refusing environment and two silent ones");
    const servers = new SilentServers();
    const deadMs: number[] = [];
    const deadSequentialMs: number[] = [];
    const oneDeadMs: number[] = [];
    try {
        const deadEnvironments = await withDeadEnvironments(environments, refused, silent, servers);
        run.log(
            `check-3-dead: ${refused.join(", ")} refusing, ${silent.join(", ")} silent, --timeout ${timeoutMs} ms (${options.deadRepetitions} x each)`,
        );
        for (let i = 0; i < options.deadRepetitions; i++) {
            const check = await runCheck(deadEnvironments as Record<string, unknown>, timeoutMs);
            expectDead(check, dead);
            deadMs.push(check.ms);
            const sequential = await sequentialCheck(deadEnvironments, timeoutMs);
            if (sequential.answered !== count - dead.length)
                throw new Error(`the sequential baseline got ${sequential.answered} answers, expected ${count - dead.length}`);
            deadSequentialMs.push(sequential.ms);
        }
        if (options.compareOneDead) {
            const oneDead = await withDeadEnvironments(environments, [], [silent[0]], servers);
            run.log(`check-3-dead: the same check with only ${silent[0]} silent, for comparison`);
            for (let i = 0; i < options.deadRepetitions; i++) {
                const check = await runCheck(oneDead as Record<string, unknown>, timeoutMs);
                expectDead(check, [silent[0]]);
                oneDeadMs.push(check.ms);
            }
        }
    } finally {
        await servers.close();
    }

    const dead3 = Math.round(median(deadMs));
    const oneDeadText =
        oneDeadMs.length > 0
            ? `; with 1 silent environment instead of 3 dead: ${Math.round(median(oneDeadMs))} ms (3 dead / 1 dead = ${round(dead3 / median(oneDeadMs), 2)})`
            : "";
    const how = `nexus-redis check --json (the CLI's main() in process, outputs on stdin, --timeout ${timeoutMs} ms) over all ${count} environments`;
    const baseline = `baseline: the protocol's approach, redis-cli -p PORT INFO replication per environment one after another (operational port; a secure environment's vault with REDISCLI_AUTH), each killed after ${timeoutMs} ms`;
    return [
        result({
            name: "check-healthy",
            value: Math.round(median(checkMs)),
            unit: "ms",
            baseline: Math.round(median(sequentialMs)),
            note: `${how}, healthy fleet, ${samplesText(checkMs)} ms; ${baseline}, ${samplesText(sequentialMs)} ms`,
            target: CHECK_HEALTHY_TARGET,
        }),
        result({
            name: "check-3-dead",
            value: dead3,
            unit: "ms",
            baseline: Math.round(median(deadSequentialMs)),
            note: `${how}, with ${refused.join(", ")} refusing connections and ${silent.join(", ")} accepting and never answering, ${samplesText(deadMs)} ms; ${baseline} (the silent ones cost the whole bound each), ${samplesText(deadSequentialMs)} ms`,
        }),
        result({
            name: "check-3-dead-vs-timeout",
            value: dead3,
            unit: "ms",
            baseline: timeoutMs,
            note: `check-3-dead against the per-environment --timeout (${timeoutMs} ms)${oneDeadText}`,
            target: CHECK_DEAD_TARGET,
        }),
    ];
}
