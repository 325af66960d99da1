/** On Swarm, what the manager says about where each role's task runs, added to a diagnosis. */
import type { EnvironmentOutput, SwarmObservation } from "../fleet/environment";
import type { Diagnosis, Problem, ProblemCode } from "./problems";

const UNANSWERED: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
    "vault-unreachable",
    "vault-error",
    "operational-unreachable",
    "operational-error",
]);

/**
 * On Swarm, what the manager says about each role's task: a server that does not answer
 * because its service runs no task is reported as that, with the cause (its node down, no
 * node it may run on, its container failing), and a task on a node it must not be on is
 * reported too. Pure, like the rest.
 */
export function withPlacement(env: EnvironmentOutput, swarm: SwarmObservation, diagnosis: Diagnosis): Diagnosis {
    const problems: Problem[] = [];
    const vaultNodeId = env.swarm?.vaultNode ?? "";
    const pinned = swarm.vaultNode ? `${swarm.vaultNode.hostname} (${swarm.vaultNode.id})` : vaultNodeId;
    const vaultDown = !swarm.vault.node;
    const operationalDown = swarm.operational !== undefined && !swarm.operational.node;
    for (const problem of diagnosis.problems) {
        const role = problem.code.startsWith("vault") ? "vault" : "operational";
        // Replaced by the cause: the service runs no task.
        if (UNANSWERED.has(problem.code) && (role === "vault" ? vaultDown : operationalDown)) continue;
        problems.push(problem);
    }
    const notRunning: Problem[] = [];
    if (vaultDown) {
        const service = env.vault.container;
        const v = swarm.vault;
        let cause: string;
        if (!v.exists) cause = "the service does not exist on the Swarm (removed by hand? `pulumi up` creates it again)";
        else if (!swarm.vaultNode)
            cause = `it is pinned to node ${vaultNodeId}, which is not in the Swarm: a vault runs only on the node that holds its data`;
        else if (swarm.vaultNode.state !== "ready")
            cause = `its node ${pinned} is ${swarm.vaultNode.state}; the vault is never started on another node (its data is in a volume on ${swarm.vaultNode.hostname}): bring ${swarm.vaultNode.hostname} back`;
        else cause = `its task on ${pinned} is ${v.waiting ? `${v.waiting.state}: ${v.waiting.message}` : "not running"}`;
        notRunning.push({ code: "vault-not-running", message: `the vault's service ${service} runs no task: ${cause}` });
    } else if (swarm.vault.node && vaultNodeId !== "" && swarm.vault.node.id !== vaultNodeId) {
        problems.push({
            code: "vault-misplaced",
            message: `the vault runs on node ${swarm.vault.node.hostname} (${swarm.vault.node.id}), not on ${pinned}, the node that holds its data (constraint changed by hand?)`,
        });
    }
    if (env.kind === "standard" && swarm.operational) {
        const o = swarm.operational;
        const service = env.operational.container;
        if (operationalDown) {
            let cause: string;
            if (!o.exists) cause = "the service does not exist on the Swarm (removed by hand? `pulumi up` creates it again)";
            else if (swarm.otherReadyNodes === 0)
                cause = `it runs on any node but its vault's (${pinned}), and no other node is up: reads wait until one is`;
            else cause = o.waiting ? `${o.waiting.state}: ${o.waiting.message}` : "not running";
            notRunning.push({ code: "operational-not-running", message: `the operational's service ${service} runs no task: ${cause}` });
        } else if (o.node && o.node.id === vaultNodeId) {
            problems.push({
                code: "operational-misplaced",
                message: `the operational runs on its vault's node ${pinned}: losing that one node loses both (constraint changed by hand?)`,
            });
        }
    }
    return { ...diagnosis, problems: [...notRunning, ...problems] };
}
