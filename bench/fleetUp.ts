/**
 * fleet-up: from nothing to all twelve environments healthy (every vault answering with
 * its password, every operational's link up), creating exactly what the stack's first
 * `pulumi up` creates (network, 22 volumes, 22 containers) the way the live harness does,
 * a create step after another.
 *
 * Baseline: the same engine starting the same number of bare Redis containers (the same
 * image, `redis-server` with no arguments, each published on a loopback port) until each
 * answers. A bare server in protected mode answers an outside client with -DENIED: that
 * is an answer, so it counts as up.
 *
 * The plan itself is not timed here (synth-12 measures the program's run): the baseline needs none.
 */
import { performance } from "node:perf_hooks";
import type { PlannedRun } from "../harness/engineApply";
import type { LiveFleet } from "../harness/fleet";
import type { Plan } from "../plan/plan";
import { BENCH_PORTS, freePorts } from "../harness/ports";
import { fleetFor, planPorts, waitHealthy } from "./fleet";
import { replicationDefaults } from "./recovery";
import { redisCommands } from "../harness/resp";
import { type BenchResult, median, result, samplesText } from "./results";
import { type BenchRun, until } from "./resources";

function containerCount(plan: Plan): number {
    return plan.resources.filter((r) => r.type === "docker:index/container:Container").length;
}

/**
 * Starts `count` bare Redis containers and waits until every one answers; returns ms, and
 * Redis's replication defaults read from one of them afterwards (for the recovery baseline).
 * Removes them (untimed).
 */
async function bareBaseline(run: BenchRun, plan: Plan, repetition: number): Promise<{ ms: number; defaults: Record<string, string> }> {
    // Ports chosen before the clock starts, as the plan's are.
    const ports = await freePorts(containerCount(plan), BENCH_PORTS, planPorts(plan));
    const names = ports.map((_, i) => `${run.id}-bare${repetition}-${i}`);
    try {
        const started = performance.now();
        for (const [i, name] of names.entries()) await run.runContainer({ name, publish: true, hostPort: ports[i] });
        await Promise.all(
            ports.map((port) =>
                // Any reply (PONG, or -DENIED from protected mode) means the server is up.
                until(
                    `bare redis on ${port}`,
                    async () => ((await redisCommands(port, [["PING"]], { timeoutMs: 1_000 })).length === 1 ? true : undefined),
                    {
                        timeoutMs: 60_000,
                        intervalMs: 10,
                    },
                ),
            ),
        );
        const ms = performance.now() - started;
        return { ms, defaults: await replicationDefaults(run, names[0]) };
    } finally {
        // Untimed, so all at once.
        await Promise.all(names.map((name) => run.removeContainer(name)));
    }
}

/** Creates the fleet from its plan and waits until healthy; returns ms. */
async function fleetUp(fleet: LiveFleet): Promise<number> {
    const started = performance.now();
    await fleet.createAll();
    await waitHealthy(fleet);
    return performance.now() - started;
}

/**
 * Alternates baseline and fleet `repetitions` times. Every fleet but the last is destroyed;
 * the last one stays up for the benchmarks that need a healthy fleet, and is returned.
 */
export async function benchFleetUp(
    run: BenchRun,
    name: string,
    planned: PlannedRun,
    repetitions: number,
): Promise<{ results: BenchResult[]; fleet: LiveFleet; defaults: Record<string, string> }> {
    const plan = planned.plan;
    const count = containerCount(plan);
    const fleetMs: number[] = [];
    const bareMs: number[] = [];
    let fleet: LiveFleet | undefined;
    let defaults: Record<string, string> = {};
    for (let i = 1; i <= repetitions; i++) {
        run.log(`fleet-up: baseline, ${count} bare Redis containers (${i}/${repetitions})`);
        const bare = await bareBaseline(run, plan, i);
        bareMs.push(bare.ms);
        defaults = bare.defaults;
        run.log(`fleet-up: baseline ${(bareMs[bareMs.length - 1] / 1000).toFixed(2)} s; now the fleet from its plan (${i}/${repetitions})`);
        if (fleet) await fleet.destroy();
        fleet = fleetFor(run, name, planned);
        try {
            fleetMs.push(await fleetUp(fleet));
        } catch (e) {
            await fleet.destroy();
            throw e;
        }
        run.log(`fleet-up: fleet healthy after ${(fleetMs[fleetMs.length - 1] / 1000).toFixed(2)} s`);
        if (i < repetitions) {
            await fleet.destroy();
            fleet = undefined;
        }
    }
    const environments = Object.keys(plan.outputs.environments as object).length;
    return {
        fleet: fleet!,
        defaults,
        results: [
            result({
                name: "fleet-up",
                value: median(fleetMs),
                unit: "ms",
                baseline: median(bareMs),
                note:
                    `${environments === 12 ? "the protocol's 12" : `${environments} of the protocol's 12 (--quick)`} environments (network, ${count} volumes, ${count} containers, created one after another from the plan) until every vault answers and every link is up, ` +
                    `${samplesText(fleetMs)} ms; baseline: ${count} bare redis-server containers of the same image until each answers, ${samplesText(bareMs)} ms; no target in the issue`,
            }),
        ],
    };
}
