/**
 * Platform swarm: `swarmNodes` and `swarmPublish`, and the rules that hold only on a Swarm
 * (pinned images, DNS-sized service names, no bind address, no data adopted in place).
 */
import { DEFAULT_BIND_ADDRESS } from "../components/containerSpec";
import type { Platform } from "../components/environmentArgs";
import { describeValue } from "../components/values";
import type { Settings } from "./settings";
import { type ParsedEnvironment, type RawConfig, type Report, SWARM_PUBLISH_ROLES, type SwarmConfig } from "./types";
import { isPlainObject } from "./values";

// Swarm node IDs are 25 characters of lowercase letters and digits (swarmkit's identity.NewID).
const NODE_ID = /^[a-z0-9]{25}$/;

/**
 * An image reference the Docker provider stores on a Swarm service exactly as given: pinned by
 * digest (`redis:7.2@sha256:…`: Docker's client does not rewrite a canonical reference when the
 * provider creates the service with QueryRegistry, moby client/service_create.go
 * `imageWithDigestString`), or an image ID (`sha256:…`: never looked up in a registry, and a
 * node runs it only if it has it, daemon/cluster/executor/container/adapter.go `pullImage`).
 */
export function isPinnedImage(image: string): boolean {
    return /^sha256:[0-9a-f]{64}$/.test(image) || /^[^\s@]+@sha256:[0-9a-f]{64}$/.test(image);
}

/** The rules of platform swarm that concern keys every platform has. */
export function swarmProblems(
    raw: RawConfig,
    settings: Settings,
    environments: ParsedEnvironment[],
    vaultData: Record<string, string>,
    problem: Report,
): void {
    const { image, bindAddress, containerPrefix } = settings;
    if (Object.keys(vaultData).length > 0) {
        // A volume or folder that already exists is on one engine: the adoption path is Docker-only.
        problem(
            "vaultData",
            "adopting existing data in place works on platform docker only; on swarm each vault's volume is created on its node",
        );
    }
    // Service names are DNS labels (63 characters): operationals resolve their vault by it.
    const tooLong = environments
        .map(({ env }) => `${containerPrefix}-${env.name}-${env.kind === "standard" ? "operational" : "vault"}`)
        .filter((name) => name.length > 63);
    if (tooLong.length > 0) {
        problem("containerPrefix", `service names longer than 63 characters on swarm (a DNS label): ${tooLong.join(", ")}`);
    }
    if (raw.image !== undefined && image !== "" && !isPinnedImage(image)) {
        problem(
            "image",
            `"${image}" is not pinned: on swarm give NAME[:TAG]@sha256:DIGEST (a registry's image) or sha256:ID (an image loaded into every node), which \`docker image inspect ${image}\` shows as RepoDigests and Id. The provider pins a bare tag when it creates a service and the next \`pulumi up\` unpins it, restarting every service`,
        );
    }
    if (raw.bindAddress !== undefined && bindAddress !== DEFAULT_BIND_ADDRESS) {
        problem(
            "bindAddress",
            `Swarm cannot publish a port on one address (${bindAddress}): on swarm nothing is published unless swarmPublish says so, and then on every interface of the node`,
        );
    }
}

/**
 * `swarmNodes` (`{"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}`: the node every vault is
 * pinned to, and per environment overrides) and `swarmPublish` (`["vault", "operational"]`).
 * Both apply to platform swarm only.
 */
export function parseSwarm(
    raw: RawConfig,
    platform: Platform,
    environments: ParsedEnvironment[],
    problem: Report,
): SwarmConfig | undefined {
    const nodesText = (raw.swarmNodes ?? "").trim();
    const publish = parsePublish(raw, problem);
    if (platform !== "swarm") {
        if (nodesText !== "") problem("swarmNodes", 'applies to platform swarm only (set platform to "swarm", or unset swarmNodes)');
        if (publish.vault || publish.operational)
            problem("swarmPublish", 'applies to platform swarm only (set platform to "swarm", or unset swarmPublish)');
        return undefined;
    }
    return { vaultNodes: parseVaultNodes(nodesText, environments, problem), publish };
}

function parsePublish(raw: RawConfig, problem: Report): SwarmConfig["publish"] {
    const publishText = (raw.swarmPublish ?? "").trim();
    let publishList: unknown = [];
    try {
        publishList = publishText === "" ? [] : JSON.parse(publishText);
    } catch {
        problem("swarmPublish", `is not a JSON array: ${publishText}`);
    }
    if (!Array.isArray(publishList) || publishList.some((r) => !(SWARM_PUBLISH_ROLES as readonly unknown[]).includes(r))) {
        problem("swarmPublish", `must be an array of ${SWARM_PUBLISH_ROLES.map((r) => `"${r}"`).join(" and ")}, got ${publishText}`);
        publishList = [];
    }
    return {
        vault: (publishList as unknown[]).includes("vault"),
        operational: (publishList as unknown[]).includes("operational"),
    };
}

/** Environment → the node its vault is pinned to, in the stack's order. */
function parseVaultNodes(nodesText: string, environments: ParsedEnvironment[], problem: Report): Record<string, string> {
    const vaultNodes: Record<string, string> = {};
    let parsed: unknown = {};
    try {
        parsed = nodesText === "" ? {} : JSON.parse(nodesText);
    } catch {
        problem("swarmNodes", `is not valid JSON; expected {"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}: ${nodesText}`);
        return vaultNodes;
    }
    if (!isPlainObject(parsed)) {
        problem("swarmNodes", `must be a JSON object {"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}, got ${describeValue(parsed)}`);
        return vaultNodes;
    }
    const nodeId = (value: unknown, key: string): string | undefined => {
        if (typeof value === "string" && NODE_ID.test(value)) return value;
        problem(
            key,
            `${JSON.stringify(value)} is not a Swarm node ID (25 lowercase letters and digits, as \`docker node ls -q\` prints): a vault is pinned to exactly one node, by its ID`,
        );
        return undefined;
    };
    for (const key of Object.keys(parsed).filter((k) => k !== "vault" && k !== "vaults")) {
        problem(`swarmNodes.${key}`, `unknown key "${key}"; the keys are "vault" (every vault's node) and "vaults" (per environment)`);
    }
    const fallback = parsed.vault === undefined ? undefined : nodeId(parsed.vault, "swarmNodes.vault");
    const perEnvironment = parsed.vaults ?? {};
    if (!isPlainObject(perEnvironment)) {
        problem("swarmNodes.vaults", `must be an object {"ENV": "NODE_ID"}, got ${describeValue(perEnvironment)}`);
    } else {
        for (const [name, value] of Object.entries(perEnvironment)) {
            if (!environments.some((e) => e.env.name === name)) {
                problem(`swarmNodes.vaults.${name}`, `"${name}" is not an environment this stack deploys`);
                continue;
            }
            const id = nodeId(value, `swarmNodes.vaults.${name}`);
            if (id) vaultNodes[name] = id;
        }
    }
    const unplaced: string[] = [];
    for (const { env } of environments) {
        if (vaultNodes[env.name] !== undefined) continue;
        if (fallback !== undefined) vaultNodes[env.name] = fallback;
        else if (!isPlainObject(perEnvironment) || !(env.name in perEnvironment)) unplaced.push(env.name);
    }
    if (unplaced.length > 0 && parsed.vault === undefined) {
        problem(
            "swarmNodes",
            `no node for the vault of ${unplaced.join(", ")}: set "vault" (the node every vault runs on) or "vaults"."ENV"; a vault's data lives on one node, so it is never left to the scheduler`,
        );
    }
    // In the stack's order, whatever order the config listed them in.
    return Object.fromEntries(environments.filter(({ env }) => env.name in vaultNodes).map(({ env }) => [env.name, vaultNodes[env.name]]));
}
