/** A server that did not answer, in words: what its port did, and what its container does. */
import type { ContainerFacts } from "../core/io";
import type { EnvironmentOutput, StandardEnvironmentOutput } from "../fleet/environment";
import { NOTHING_LISTENS, type ProbeFailure } from "../redis/session";
import type { EnvironmentObservation } from "./observe";

export type Containers = EnvironmentObservation["containers"];

/**
 * What a server that did not answer is, in words: what its port did and, when the engine said,
 * what its container is doing, which the port alone cannot tell (a stopped container and a
 * running one cut off its network both refuse).
 */
export function unansweredMessage(
    env: EnvironmentOutput,
    role: "vault" | "operational",
    where: string,
    failure: ProbeFailure,
    containers: Containers,
): string {
    const name = role === "vault" ? env.vault.container : (env as StandardEnvironmentOutput).operational.container;
    const other = role === "vault" ? containers?.operational : containers?.vault;
    const explanation = containerExplanation(name, containers?.[role], failure, other?.networks[0]);
    if (!explanation) return `${where} ${failure.message}`;
    // The engine's answer replaces the port's guess at the cause.
    const port = failure.message.endsWith(` ${NOTHING_LISTENS}`) ? failure.message.slice(0, -NOTHING_LISTENS.length - 1) : failure.message;
    return `${where} ${port}: ${explanation}`;
}

/**
 * Why a container's server does not answer, from the engine's facts; undefined when they
 * explain nothing the port did not say already. `network`: the one its partner is on, to name
 * in the repair. Pure.
 */
export function containerExplanation(
    name: string,
    facts: ContainerFacts | undefined,
    failure: ProbeFailure,
    network: string | undefined,
): string | undefined {
    if (!facts) return undefined;
    if (!facts.exists) return `container ${name} does not exist (removed by hand? \`pulumi up\` creates it again)`;
    const exit = `exit code ${facts.exitCode ?? "?"}${facts.oomKilled ? ", killed by the kernel for lack of memory" : ""}`;
    switch (facts.status) {
        case "exited":
        case "dead":
            return `container ${name} is stopped (${exit}; \`docker logs ${name}\` says why): \`docker start ${name}\``;
        case "created":
            return `container ${name} was created and never started: \`docker start ${name}\``;
        case "restarting":
            return `container ${name} is restarting: it keeps exiting as it starts (last ${exit}; \`docker logs ${name}\` says why)`;
        case "paused":
            return `container ${name} is paused: \`docker unpause ${name}\``;
        case "removing":
            return `container ${name} is being removed`;
        case "running":
            if (facts.networks.length === 0)
                return (
                    `container ${name} runs, but is attached to no network (docker network disconnect?), so its published port is closed ` +
                    `and it cannot reach the other server: \`docker network connect ${network ?? "NETWORK"} ${name}\``
                );
            if (failure.kind === "refused")
                return `container ${name} runs, but nothing listens in it yet (Redis starting, or a vault converting its data with no port open: \`docker logs ${name}\`)`;
            return undefined;
        default:
            return undefined;
    }
}
