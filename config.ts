/**
 * Stack configuration: read in one place, validated as a whole.
 *
 * `parseFleetConfig` is pure (raw strings in, a plain FleetConfig out) so every rule is
 * tested without Pulumi; `readFleetConfig` is the only code that touches `pulumi.Config`.
 * Defaults live in Pulumi.yaml's `config:` block, applied by the Pulumi CLI (and by the
 * offline plan, which reads the same file), so they are written down exactly once.
 * The rules of each key are in config/, a file per concern.
 */
import * as pulumi from "@pulumi/pulumi";
import { PLATFORMS, type Platform } from "./components/environmentArgs";
import { checkPorts, parseEnvironments } from "./config/environments";
import { parsePasswords } from "./config/passwords";
import { parseSettings } from "./config/settings";
import { parseSwarm, swarmProblems } from "./config/swarm";
import { parseTls } from "./config/tls";
import {
    CONFIG_KEYS,
    CONFIG_NAMESPACE,
    ConfigError,
    type ConfigKey,
    type ConfigProblem,
    type FleetConfig,
    type RawConfig,
} from "./config/types";
import { requiredValue } from "./config/values";
import { parseVaultData } from "./config/vaultData";

export { PLATFORMS, type Platform } from "./components/environmentArgs";
export { isPinnedImage } from "./config/swarm";
export { TLS_VALUES } from "./config/tls";
export {
    CONFIG_KEYS,
    CONFIG_NAMESPACE,
    ConfigError,
    type ConfigKey,
    type ConfigProblem,
    type EnvironmentPasswords,
    type FleetConfig,
    type PlannedEnvironment,
    type RawConfig,
    SWARM_PUBLISH_ROLES,
    type SwarmConfig,
    type SwarmPublishRole,
} from "./config/types";

/**
 * Validates raw configuration strings; throws ConfigError listing every problem.
 * `secretKeys` are the keys the stack holds as secrets (`pulumi config set --secret`).
 */
export function parseFleetConfig(raw: RawConfig, secretKeys: ReadonlySet<ConfigKey> = new Set()): FleetConfig {
    const problems: ConfigProblem[] = [];
    const problem = (key: string, message: string) => problems.push({ key: `${CONFIG_NAMESPACE}:${key}`, message });

    const settings = parseSettings(raw, problem);
    const { portOffset, createNetwork } = settings;
    const environments = parseEnvironments(requiredValue(raw, "environments", problem), portOffset, raw, problem);
    checkPorts(environments, portOffset, problem);
    const passwords = parsePasswords(raw.passwords ?? "", environments, problem);
    if (Object.keys(passwords).length > 0 && !secretKeys.has("passwords")) {
        // A plain value would sit unencrypted in Pulumi.<stack>.yaml, a file that gets committed.
        problem("passwords", "holds passwords but is not a secret: set it with `pulumi config set --secret passwords '<json>'`");
    }

    const vaultData = parseVaultData(raw.vaultData ?? "", environments, problem);

    const platform = requiredValue(raw, "platform", problem) as Platform;
    if (raw.platform !== undefined && !PLATFORMS.includes(platform)) {
        problem("platform", `"${platform}" is not a platform: ${PLATFORMS.join(" or ")}`);
    }
    const swarm = parseSwarm(raw, platform, environments, problem);
    if (platform === "swarm") swarmProblems(raw, settings, environments, vaultData, problem);

    const { tls, encryptedOverlay } = parseTls(raw, platform, createNetwork, vaultData, problem);

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        platform,
        ...(swarm ? { swarm } : {}),
        image: settings.image,
        network: settings.network,
        createNetwork,
        bindAddress: settings.bindAddress,
        containerPrefix: settings.containerPrefix,
        memoryLimitMb: settings.memoryLimitMb,
        environments: environments.map((e) => e.env),
        passwords,
        vaultData,
        tls,
        encryptedOverlay,
    };
}

/** Reads the stack's configuration (the only place that does) and validates it. */
export function readFleetConfig(config: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): FleetConfig {
    const raw: RawConfig = {};
    const secretKeys = new Set<ConfigKey>();
    // The SDK exports isConfigSecret at run time but not in its typings.
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;
    for (const key of CONFIG_KEYS) {
        const value = config.get(key);
        if (value !== undefined) raw[key] = value;
        if (isSecret(`${CONFIG_NAMESPACE}:${key}`)) secretKeys.add(key);
    }
    return parseFleetConfig(raw, secretKeys);
}
