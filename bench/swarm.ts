/**
 * The Swarm benchmarks, on a real three-node Swarm built on this machine (harness/swarm.ts),
 * the plan applied through the Engine API (harness/swarmFleet.ts):
 *
 * - swarm-fleet-up: from nothing to the whole table healthy (every vault answering with its
 *   password, every operational's link up), creating exactly what the plan declares (overlay,
 *   secrets, configs, services), against the same number of bare single-replica services of
 *   the same image (`redis-server`, one published port each) until each answers.
 * - swarm-operational-failover: from the loss of the node that runs operationals (n3, which
 *   holds no vault) to every operational that ran there healthy again on another node, with
 *   nobody doing anything; against the one-host equivalent: `nexus-redis recover` of the same
 *   environments on one Docker host, which is `pulumi up --replace` of each operational's
 *   container and volume, measured as the live harness's `recreate` of each, one after the
 *   other as an operator would run them, until each link is up (no Pulumi CLI runs here).
 *
 * The cluster's nodes are the machine's own namespaces on 2 shared cores: absolute times are
 * this machine's; most of a failover is Swarm noticing the node is down (its heartbeat).
 */
import { performance } from "node:perf_hooks";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { TEST_IMAGE } from "../harness/fleet";
import { info, redisCommand, redisCommands } from "../harness/resp";
import { SwarmCluster, type SwarmNode } from "../harness/swarm";
import { type SwarmFleet, startSwarmFleet } from "../harness/swarmFleet";
import { fleetFor, planFleet, waitHealthy } from "./fleet";
import { type BenchResult, median, result, samplesText } from "./results";
import { type BenchRun, until } from "./resources";

/** Vaults on n1 and n2 only: n3 runs operationals alone, so losing it loses no vault. */
const ON_N2 = ["session", "transcripts", "web", "chrono", "locker"];

export interface SwarmBenchOptions {
    /** Repetitions of swarm-fleet-up (fleet and baseline alternate). */
    repetitions: number;
    environments?: string[];
}

/** Whether an environment of a Swarm fleet is healthy, asked through its published ports on the nodes that run it. */
async function healthy(fleet: SwarmFleet, env: string): Promise<boolean> {
    const out = fleet.outputs[env];
    const vaultTask = await fleet.running(env, "vault");
    if (!vaultTask) return false;
    const pong = await redisCommand(out.vault.publishedPort!, ["PING"], {
        host: vaultTask.node.address,
        password: out.vault.password,
        timeoutMs: 1_000,
    });
    if (pong !== "PONG") return false;
    if (out.kind === "secure") return true;
    const operationalTask = await fleet.running(env, "operational");
    if (!operationalTask) return false;
    const replication = await info(out.operational!.publishedPort!, "replication", {
        host: operationalTask.node.address,
        timeoutMs: 1_000,
    });
    return replication.master_link_status === "up";
}

async function waitSwarmHealthy(fleet: SwarmFleet, environments: string[], timeoutMs = 300_000): Promise<void> {
    await Promise.all(
        environments.map((env) =>
            until(`${env} healthy on the Swarm`, async () => ((await healthy(fleet, env).catch(() => false)) ? true : undefined), {
                timeoutMs,
                intervalMs: 100,
            }),
        ),
    );
}

/** `count` bare single-replica services (`redis-server`, a host-mode port each) until each answers; removed afterwards, untimed. */
async function bareServices(run: BenchRun, cluster: SwarmCluster, count: number, repetition: number): Promise<number> {
    const docker = cluster.manager.docker;
    const network = `${run.id}-bare${repetition}`;
    await docker.createNetwork({ Name: network, Driver: "overlay", Attachable: true, Labels: { "nexus-redis.bench": run.id } });
    const names = Array.from({ length: count }, (_, i) => `${run.id}-bare${repetition}-${i}`);
    const ids: string[] = [];
    try {
        const started = performance.now();
        for (const [i, name] of names.entries()) {
            const created = await docker.createService({
                Name: name,
                TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Args: ["redis-server"] }, Networks: [{ Target: network }] },
                Mode: { Replicated: { Replicas: 1 } },
                EndpointSpec: {
                    Mode: "dnsrr",
                    Ports: [{ Protocol: "tcp", TargetPort: 6379, PublishedPort: 17000 + i, PublishMode: "host" }],
                },
            } as any);
            ids.push(created.id);
        }
        await Promise.all(
            names.map((name, i) =>
                until(
                    `bare service ${name} answering`,
                    async () => {
                        const tasks = await docker.listTasks({
                            filters: JSON.stringify({ service: [name], "desired-state": ["running"] }),
                        });
                        const task = tasks.find((t: any) => t.Status?.State === "running");
                        if (!task) return undefined;
                        // Any reply (-DENIED from protected mode too) means the server is up.
                        const replies = await redisCommands(17000 + i, [["PING"]], {
                            host: cluster.node(task.NodeID).address,
                            timeoutMs: 1_000,
                        });
                        return replies.length === 1 ? true : undefined;
                    },
                    { timeoutMs: 300_000, intervalMs: 100 },
                ),
            ),
        );
        return performance.now() - started;
    } finally {
        for (const name of names)
            await docker
                .getService(name)
                .remove()
                .catch(() => undefined);
        // The network goes once the tasks are gone (a removed service's name no longer filters them).
        await until(
            "the bare services' tasks to be gone",
            async () => ((await docker.listTasks()).some((t: any) => ids.includes(t.ServiceID)) ? undefined : true),
            { timeoutMs: 120_000, intervalMs: 250 },
        ).catch(() => undefined);
        await docker
            .getNetwork(network)
            .remove()
            .catch(() => undefined);
    }
}

export async function benchSwarm(run: BenchRun, options: SwarmBenchOptions): Promise<BenchResult[]> {
    const environments = options.environments ?? PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    run.log(`swarm: building a three-node Swarm (untimed)`);
    const cluster = await SwarmCluster.start({ images: [TEST_IMAGE], log: (m) => run.log(m) });
    try {
        const { fleet, result: fleetUp } = await timeFleetUp(run, cluster, environments, options.repetitions);
        const { moved, failoverMs, downMs } = await timeFailover(run, cluster, fleet, environments);
        await fleet.destroy();
        const recoverMs = await timeOneHostRecover(run, moved);
        return [
            fleetUp,
            result({
                name: "swarm-operational-failover",
                value: Math.round(failoverMs),
                unit: "ms",
                baseline: Math.round(recoverMs),
                note:
                    `losing the Swarm node that runs ${moved.length} operationals until each is healthy on another node, by itself: ${Math.round(failoverMs)} ms, of which ${Math.round(downMs)} ms until the manager marked the node down (its heartbeat); ` +
                    `baseline: the one-host equivalent, \`nexus-redis recover\` of the same ${moved.length} environments one after another, measured as the harness's recreate of each operational's container and volume (what recover's \`pulumi up --replace\` does) until its link is up, without the Pulumi CLI's own time; one sample each; no target in the issue`,
            }),
        ];
    } finally {
        await cluster.destroy();
    }
}

/** swarm-fleet-up: the table from its plan until healthy, alternated with as many bare services; the last fleet is left up. */
async function timeFleetUp(
    run: BenchRun,
    cluster: SwarmCluster,
    environments: string[],
    repetitions: number,
): Promise<{ fleet: SwarmFleet; result: BenchResult }> {
    const vaultNodes = Object.fromEntries(ON_N2.filter((env) => environments.includes(env)).map((env) => [env, "n2"]));
    const fleetMs: number[] = [];
    const bareMs: number[] = [];
    let fleet: SwarmFleet | undefined;
    let services = 0;
    for (let i = 1; i <= repetitions; i++) {
        if (fleet) {
            await fleet.destroy();
            fleet = undefined;
        }
        const next = await startSwarmFleet(cluster, { environments, vaultNodes, create: false });
        services = next.plan.resources.filter((r) => r.type === "docker:index/service:Service").length;
        run.log(`swarm-fleet-up: baseline, ${services} bare services (${i}/${repetitions})`);
        bareMs.push(await bareServices(run, cluster, services, i));
        run.log(`swarm-fleet-up: baseline ${(bareMs[i - 1] / 1000).toFixed(1)} s; now the table from its plan`);
        const started = performance.now();
        await next.createAll();
        fleet = next;
        await waitSwarmHealthy(next, environments);
        fleetMs.push(performance.now() - started);
        run.log(`swarm-fleet-up: the table healthy after ${(fleetMs[i - 1] / 1000).toFixed(1)} s`);
    }
    return {
        fleet: fleet!,
        result: result({
            name: "swarm-fleet-up",
            value: Math.round(median(fleetMs)),
            unit: "ms",
            baseline: Math.round(median(bareMs)),
            note:
                `${environments.length} environments on three Swarm nodes (overlay, a secret per role, a config per vault, ${services} services, created one after another from the plan through the Engine API) until every vault answers and every link is up, ${samplesText(fleetMs)} ms; ` +
                `baseline: ${services} bare single-replica services of the same image until each answers, ${samplesText(bareMs)} ms; no target in the issue`,
        }),
    };
}

/** swarm-operational-failover: the node that runs operationals (and no vault) is lost, until each is healthy elsewhere. */
async function timeFailover(
    run: BenchRun,
    cluster: SwarmCluster,
    swarmFleet: SwarmFleet,
    environments: string[],
): Promise<{ moved: string[]; failoverMs: number; downMs: number }> {
    const n3 = cluster.nodes.find((n) => n.name === "n3") as SwarmNode;
    const moved: string[] = [];
    for (const env of environments) {
        if (swarmFleet.outputs[env].kind === "standard" && (await swarmFleet.running(env, "operational"))?.node === n3) moved.push(env);
    }
    if (moved.length === 0) throw new Error("the scheduler put no operational on n3: nothing to fail over");
    run.log(`swarm-operational-failover: losing n3, which runs ${moved.length} operationals (${moved.join(", ")})`);
    const lost = performance.now();
    await cluster.stopNode(n3);
    let failoverMs: number;
    let downMs: number;
    try {
        downMs = await cluster.waitNode(n3, "down");
        await Promise.all(
            moved.map((env) =>
                until(
                    `${env}'s operational healthy off n3`,
                    async () => {
                        const task = await swarmFleet.running(env, "operational");
                        return task && task.node !== n3 && (await healthy(swarmFleet, env).catch(() => false)) ? true : undefined;
                    },
                    { timeoutMs: 300_000, intervalMs: 100 },
                ),
            ),
        );
        failoverMs = performance.now() - lost;
    } finally {
        await cluster.startStoppedNodes();
    }
    run.log(
        `swarm-operational-failover: healthy again after ${(failoverMs / 1000).toFixed(1)} s (node seen down after ${(downMs / 1000).toFixed(1)} s)`,
    );
    return { moved, failoverMs, downMs };
}

/** The baseline: the same environments on one host, each operational replaced as `recover` does, one after another. */
async function timeOneHostRecover(run: BenchRun, moved: string[]): Promise<number> {
    const name = run.fleetName("swarm-baseline");
    const oneHost = fleetFor(run, name, await planFleet(name, moved));
    try {
        await oneHost.createAll();
        await waitHealthy(oneHost);
        const started = performance.now();
        for (const env of moved) {
            await oneHost.recreate(env, "operational");
            await until(
                `${env} synced on one host`,
                async () =>
                    (await info(oneHost.outputs[env].operational!.port, "replication", { timeoutMs: 1_000 })).master_link_status === "up"
                        ? true
                        : undefined,
                { timeoutMs: 120_000 },
            );
        }
        return performance.now() - started;
    } finally {
        await oneHost.destroy();
    }
}
