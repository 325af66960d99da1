/**
 * adopt-ENV, adopt-total: how long `nexus-redis adopt` refuses writes while it takes over a
 * fleet built by hand by the protocol's steps (every environment of the table, `keys` keys
 * of several types per vault), per environment and in total.
 *
 * Writes are refused from the moment the old vault is stopped until the new vault accepts
 * an authenticated command with its data loaded (adopt measures it itself and reports it in
 * `--json`'s measurements). The takeover's `pulumi up` is the harness's: the program planned
 * under the mock runtime with exactly the configuration adopt set, then applied through the
 * Docker Engine API (harness/adoption.ts); a real `pulumi up` spends its own time on top
 * (starting the CLI and its plugins, the program under ts-node, the provider's calls).
 *
 * Baseline, in the same run on the same vaults just before: `docker restart` of each vault,
 * timed the same way (from the restart to an authenticated answer with loading:0): the least
 * a takeover, which must replace the container, can cost.
 */
import { performance } from "node:perf_hooks";
import { main as nexusRedis } from "../cli/main";
import { adoptionStack } from "../harness/adoption";
import { createRunVolume } from "../harness/handBuilt";
import { type HandBuiltEnvironment, buildProtocolFleet, createRunNetwork, fillEnvironment, linkUp } from "../harness/handBuiltFleet";
import { BENCH_PORTS, freePortOffset } from "../harness/ports";
import { redisCommands } from "../harness/resp";
import { type BenchResult, result, round } from "./results";
import { type BenchRun, ROOT, until } from "./resources";

export interface AdoptSettings {
    environments: string[];
    keys: number;
}

/** Result names of the group: one per environment, then the total. */
export function adoptResultNames(environments: string[]): string[] {
    return [...environments.map((e) => `adopt-${e}`), "adopt-total"];
}

/** Until the vault on `port` accepts `password` and has its data loaded; polled every 10 ms on fresh connections. */
async function answering(port: number, password: string): Promise<void> {
    await until(
        "the vault answering with its data loaded",
        async () => {
            try {
                const [auth, persistence] = await redisCommands(
                    port,
                    [
                        ["AUTH", password],
                        ["INFO", "persistence"],
                    ],
                    { timeoutMs: 1_000 },
                );
                return auth === "OK" && typeof persistence === "string" && /\bloading:0\b/.test(persistence) ? true : undefined;
            } catch {
                return undefined;
            }
        },
        { timeoutMs: 300_000, intervalMs: 10 },
    );
}

/** `docker restart` of one vault: from the restart to writes accepted again. */
async function restartMs(run: BenchRun, env: HandBuiltEnvironment): Promise<number> {
    const started = performance.now();
    await run.docker.getContainer(env.vault.name).restart({ t: 60 });
    await answering(env.vault.port, env.password);
    return performance.now() - started;
}

export async function benchAdopt(run: BenchRun, settings: AdoptSettings): Promise<BenchResult[]> {
    const name = run.fleetName("adopt");
    const docker = run.docker;
    const network = await createRunNetwork(docker, name, `${name}-storage-network`);
    const portOffset = await freePortOffset(settings.environments, BENCH_PORTS);
    run.log(`adopt: building ${settings.environments.length} environments by the protocol's steps, ${settings.keys} keys per vault`);
    const specs = [];
    for (const env of settings.environments) {
        specs.push({
            name: env,
            // Labelled volumes (the run's removal finds them); the kind of data does not change the takeover's steps.
            data: { kind: "volume" as const, name: await createRunVolume(docker, name, `${name}-${env}-vault-data`) },
            operationalData: { kind: "volume" as const, name: await createRunVolume(docker, name, `${name}-${env}-hand-operational`) },
        });
    }
    const built = await buildProtocolFleet(docker, { runId: name, prefix: name, network, portOffset, environments: specs });
    // Two at a time: the machine's two cores.
    for (let i = 0; i < built.length; i += 2) await Promise.all(built.slice(i, i + 2).map((e) => fillEnvironment(e, settings.keys)));

    run.log("adopt: baseline, docker restart of each vault");
    const restart: Record<string, number> = {};
    for (const env of built) {
        restart[env.name] = await restartMs(run, env);
        // adopt refuses a full sync in progress: let the operational finish its own.
        await linkUp(env, 300_000);
    }

    run.log("adopt: nexus-redis adopt of the whole fleet");
    const stack = adoptionStack(docker, { runId: name, prefix: name, portOffset });
    let stdout = "";
    let stderr = "";
    const started = performance.now();
    const code = await nexusRedis(["adopt", "--json"], {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => "",
        run: stack.pulumi.runner,
        projectDir: ROOT,
        env: process.env,
    });
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`nexus-redis adopt exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
    const report = JSON.parse(stdout) as { measurements: Record<string, { writesRefusedMs: number }> };
    const applyMs = stack.applied.map((a) => a.ms);
    await stack.fleet.destroy();

    const results: BenchResult[] = [];
    for (const [i, env] of built.entries()) {
        const refused = report.measurements[env.name]?.writesRefusedMs;
        if (refused === undefined) throw new Error(`adopt reported no measurement for ${env.name}`);
        results.push(
            result({
                name: `adopt-${env.name}`,
                value: Math.round(refused),
                unit: "ms",
                baseline: Math.round(restart[env.name]),
                note: `writes refused while adopt took ${env.name} over (${settings.keys} keys; of which the harness's plan and apply of the stack ${round(applyMs[i] / 1000, 1)} s) vs. docker restart of the same vault`,
            }),
        );
    }
    const total = results.reduce((sum, r) => sum + (r.value ?? 0), 0);
    const restartTotal = Object.values(restart).reduce((sum, ms) => sum + ms, 0);
    results.push(
        result({
            name: "adopt-total",
            value: Math.round(total),
            unit: "ms",
            baseline: Math.round(restartTotal),
            note: `writes refused, summed over the ${built.length} environments (each environment is taken over alone; the whole adoption took ${round(wallMs / 1000, 1)} s) vs. docker restart of every vault one after the other`,
        }),
    );
    return results;
}
