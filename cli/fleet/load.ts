/**
 * The stack's environments, as a command that talks to the servers needs them. On a Swarm
 * deployment (cli/fleet/swarm.ts; dockerode is loaded only then) each server is reached through a
 * probe on the overlay and each task's placement is read from the manager; `check` and
 * `recover` work there, other commands are Docker-only. On Docker, `check` and `recover` ask
 * the engine why a server does not answer (cli/docker/engine.ts).
 */
import { UsageError } from "../core/errors";
import type { CliIo, Closeable } from "../core/io";
import { type OutputsSource, loadOutputs } from "./outputs";
import type { EnvironmentsOutput } from "./environment";

export async function loadFleet(
    command: string,
    source: OutputsSource,
    io: CliIo,
    opened: Closeable[],
    lifetimeSeconds: number,
): Promise<EnvironmentsOutput> {
    const environments = await loadOutputs(source, io);
    if (!Object.values(environments).some((e) => e.platform === "swarm")) {
        // Asked only about a container whose server does not answer (cli/docker/engine.ts).
        if (io.engine && (command === "check" || command === "recover")) {
            for (const env of Object.values(environments)) env.engine = io.engine;
        }
        return environments;
    }
    if (command !== "check" && command !== "recover") {
        throw new UsageError(`${command} works on platform docker only; on a Swarm deployment use check, check --fix and recover`);
    }
    // Imported here: a check of a Docker deployment runs none of it.
    const { attachSwarmRoute } = await import("./swarm.js");
    const route = await attachSwarmRoute(environments, io.env, lifetimeSeconds);
    if (route) opened.push(route);
    return environments;
}
