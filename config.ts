/**
 * Stack configuration: read in one place, validated as a whole.
 *
 * `parseFleetConfig` is pure (raw strings in, a plain FleetConfig out) so every rule is
 * tested without Pulumi; `readFleetConfig` is the only code that touches `pulumi.Config`.
 * Defaults live in Pulumi.yaml's `config:` block, applied by the Pulumi CLI (and by the
 * offline plan, which reads the same file), so they are written down exactly once.
 */
import * as pulumi from "@pulumi/pulumi";
import { isIP } from "node:net";
import { type EnvironmentDefinition, PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "./components/protocol";
import { PASSWORD_ROLES, type PasswordRole, isValidPassword } from "./components/redisServer";
import { describeValue, kindOf } from "./components/values";

/** The configuration namespace: the project name. */
export const CONFIG_NAMESPACE = "nexus-redis";

/** Every key the program reads, as declared in Pulumi.yaml. */
export const CONFIG_KEYS = [
    "image",
    "network",
    "createNetwork",
    "bindAddress",
    "containerPrefix",
    "portOffset",
    "environments",
    "memoryLimitMb",
    "passwords",
    "vaultData",
    "platform",
    "swarmNodes",
    "swarmPublish",
    "tls",
    "encryptedOverlay",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type RawConfig = Partial<Record<ConfigKey, string>>;

/** Passwords supplied by the stack (to adopt ones that already exist); the rest are generated. */
export type EnvironmentPasswords = Partial<Record<PasswordRole, string>>;

/** An environment as this stack deploys it: host ports with the offset applied. */
export type PlannedEnvironment = EnvironmentDefinition;

/** Where the fleet runs: containers on one Docker engine, or services on a Docker Swarm. */
export type Platform = "docker" | "swarm";
export const PLATFORMS: readonly Platform[] = ["docker", "swarm"];

/** Roles whose port a Swarm deployment may publish (host mode, every interface of the node). */
export const SWARM_PUBLISH_ROLES = ["vault", "operational"] as const;
export type SwarmPublishRole = (typeof SWARM_PUBLISH_ROLES)[number];

/** How a Swarm deployment places and exposes each environment. */
export interface SwarmConfig {
    /** Environment → ID of the one node its vault runs on (its data volume lives there). */
    vaultNodes: Record<string, string>;
    /** Roles published in host mode on the node that runs them; none by default. */
    publish: { vault: boolean; operational: boolean };
}

export interface FleetConfig {
    platform: Platform;
    /** Set when `platform` is `swarm`. */
    swarm?: SwarmConfig;
    image: string;
    network: string;
    createNetwork: boolean;
    bindAddress: string;
    containerPrefix: string;
    memoryLimitMb: number;
    environments: PlannedEnvironment[];
    passwords: Record<string, EnvironmentPasswords>;
    /** Environment → existing volume name or absolute host folder holding its vault's data. */
    vaultData: Record<string, string>;
    /**
     * Replication and clients over TLS only (`port 0`, `tls-port 6379`), with certificates from
     * a CA the stack creates. `tls: auto` (Pulumi.yaml's default) is on for swarm, off for docker.
     */
    tls: boolean;
    /** Swarm with createNetwork only: the overlay created with Docker's `encrypted` option (IPsec). Untested here. */
    encryptedOverlay: boolean;
}

export interface ConfigProblem {
    /** The offending key, e.g. `nexus-redis:environments[2]`. */
    key: string;
    message: string;
}

/** Invalid configuration: thrown before any resource is registered, listing every problem. */
export class ConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            `invalid nexus-redis configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

// Docker's own rule for container, volume and network names.
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Environment names become part of container names and stack output keys: keep them plain.
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const ENVIRONMENT_ITEM = /^([^=]*)(?:=(\d+)(?:\/(\d+))?)?$/;
// Redis does not count the 64 MiB replication backlog, client buffers or a fork's
// copy-on-write against maxmemory: below this, a busy vault is killed by the limit.
const MIN_MEMORY_MB = 256;

/**
 * Validates raw configuration strings; throws ConfigError listing every problem.
 * `secretKeys` are the keys the stack holds as secrets (`pulumi config set --secret`).
 */
export function parseFleetConfig(raw: RawConfig, secretKeys: ReadonlySet<ConfigKey> = new Set()): FleetConfig {
    const problems: ConfigProblem[] = [];
    const problem = (key: string, message: string) => problems.push({ key: `${CONFIG_NAMESPACE}:${key}`, message });
    const required = (key: ConfigKey): string => {
        const value = raw[key];
        if (value === undefined) {
            problem(key, "is not set (Pulumi.yaml declares its default: is this project's Pulumi.yaml in use?)");
            return "";
        }
        return value;
    };

    const image = required("image");
    if (raw.image !== undefined && (image === "" || /\s/.test(image))) problem("image", `"${image}" is not an image reference`);

    const network = required("network");
    if (raw.network !== undefined && !DOCKER_NAME.test(network)) problem("network", `"${network}" is not a valid Docker network name`);

    const createNetwork = parseBoolean(required("createNetwork"), "createNetwork", raw, problem);

    const bindAddress = required("bindAddress");
    if (raw.bindAddress !== undefined && isIP(bindAddress) === 0) problem("bindAddress", `"${bindAddress}" is not an IPv4 or IPv6 address`);

    const containerPrefix = required("containerPrefix");
    if (raw.containerPrefix !== undefined && !DOCKER_NAME.test(containerPrefix)) {
        problem(
            "containerPrefix",
            `"${containerPrefix}" is not valid in a Docker container name (letters, digits, _ . -, not starting with a symbol)`,
        );
    }

    const portOffset = parseInteger(required("portOffset"), "portOffset", raw, problem) ?? 0;
    const memoryLimitMb = parseInteger(required("memoryLimitMb"), "memoryLimitMb", raw, problem) ?? 0;
    if (memoryLimitMb !== 0 && memoryLimitMb < MIN_MEMORY_MB) {
        problem("memoryLimitMb", `${memoryLimitMb} is too small: 0 (no limit) or at least ${MIN_MEMORY_MB}`);
    }

    const environments = parseEnvironments(required("environments"), portOffset, raw, problem);
    checkPorts(environments, portOffset, problem);
    const passwords = parsePasswords(raw.passwords ?? "", environments, problem);
    if (Object.keys(passwords).length > 0 && !secretKeys.has("passwords")) {
        // A plain value would sit unencrypted in Pulumi.<stack>.yaml, a file that gets committed.
        problem("passwords", "holds passwords but is not a secret: set it with `pulumi config set --secret passwords '<json>'`");
    }

    const vaultData = parseVaultData(raw.vaultData ?? "", environments, problem);

    const platform = required("platform") as Platform;
    if (raw.platform !== undefined && !PLATFORMS.includes(platform)) {
        problem("platform", `"${platform}" is not a platform: ${PLATFORMS.join(" or ")}`);
    }
    const swarm = parseSwarm(raw, platform, environments, problem);
    if (platform === "swarm") {
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

    const { tls, encryptedOverlay } = parseTls(raw, platform, createNetwork, vaultData, problem);

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        platform,
        ...(swarm ? { swarm } : {}),
        image,
        network,
        createNetwork,
        bindAddress,
        containerPrefix,
        memoryLimitMb,
        environments: environments.map((e) => e.env),
        passwords,
        vaultData,
        tls,
        encryptedOverlay,
    };
}

/** The values `tls` takes: `auto` is on for swarm (traffic crosses hosts), off for docker (one host's bridge). */
export const TLS_VALUES = ["auto", "true", "false"] as const;

/** `tls` and `encryptedOverlay`, each with the rules that tie it to the platform. */
function parseTls(
    raw: RawConfig,
    platform: Platform,
    createNetwork: boolean,
    vaultData: Record<string, string>,
    problem: Report,
): { tls: boolean; encryptedOverlay: boolean } {
    const tlsText = (raw.tls ?? "auto").trim();
    let tls = platform === "swarm";
    if (tlsText === "true") tls = true;
    else if (tlsText === "false") tls = false;
    else if (tlsText !== "auto") problem("tls", `"${tlsText}" is not one of ${TLS_VALUES.join(", ")} (auto: on for swarm, off for docker)`);
    if (tls && Object.keys(vaultData).length > 0) {
        // An adopted fleet's clients speak plain TCP today: turning TLS on as it is adopted would
        // cut every one of them off at the first `pulumi up`. Adopt first, then turn TLS on.
        problem(
            "tls",
            `is on while vaultData adopts existing vaults (${Object.keys(vaultData).join(", ")}): adopt with tls false first, move the clients to TLS, then set tls true`,
        );
    }
    const encryptedOverlay = parseBoolean(raw.encryptedOverlay ?? "false", "encryptedOverlay", raw, problem);
    if (encryptedOverlay && platform !== "swarm") {
        problem(
            "encryptedOverlay",
            'applies to platform swarm only (an overlay network); set platform to "swarm" or unset encryptedOverlay',
        );
    } else if (encryptedOverlay && !createNetwork) {
        problem(
            "encryptedOverlay",
            "needs createNetwork true: the stack can only choose the options of a network it creates (an existing network keeps its own)",
        );
    }
    return { tls, encryptedOverlay };
}

type Report = (key: string, message: string) => void;

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

function parseBoolean(value: string, key: ConfigKey, raw: RawConfig, problem: Report): boolean {
    if (value === "true") return true;
    if (value === "false") return false;
    if (raw[key] !== undefined) problem(key, `"${value}" is not a boolean (true or false)`);
    return false;
}

function parseInteger(value: string, key: ConfigKey, raw: RawConfig, problem: Report): number | undefined {
    if (/^-?\d+$/.test(value.trim())) return Number(value.trim());
    if (raw[key] !== undefined) problem(key, `"${value}" is not an integer`);
    return undefined;
}

interface ParsedEnvironment {
    env: PlannedEnvironment;
    /** Config key the ports came from: the item that overrode them, or portOffset. */
    portKey: string;
}

function parseEnvironments(value: string, portOffset: number, raw: RawConfig, problem: Report): ParsedEnvironment[] {
    let items: unknown;
    try {
        items = value === "" ? [] : JSON.parse(value);
    } catch {
        if (raw.environments !== undefined) problem("environments", `is not a JSON array of strings: ${value}`);
        return [];
    }
    if (!Array.isArray(items)) {
        problem(
            "environments",
            `must be an array of environment names (NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT]), got ${describeValue(items)}`,
        );
        return [];
    }
    // Empty means the whole protocol table, so a new environment in the table is deployed without a config change.
    const selected: unknown[] = items.length === 0 ? PROTOCOL_ENVIRONMENTS.map((e) => e.name) : items;
    const parsed: ParsedEnvironment[] = [];
    const seen = new Set<string>();
    selected.forEach((item, index) => {
        const key = `environments[${index}]`;
        const match = typeof item === "string" ? ENVIRONMENT_ITEM.exec(item.trim()) : null;
        if (!match) {
            problem(key, `${JSON.stringify(item)} is not NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT]`);
            return;
        }
        const [, name, vault, operational] = match;
        if (!ENVIRONMENT_NAME.test(name)) {
            problem(key, `"${name}" is not a valid environment name (lowercase letters, digits and -, starting with a letter, at most 32)`);
            return;
        }
        if (seen.has(name)) {
            problem(key, `environment "${name}" is listed more than once`);
            return;
        }
        seen.add(name);
        const known = findProtocolEnvironment(name);
        if (vault === undefined) {
            if (!known) {
                problem(
                    key,
                    `unknown environment "${name}"; the protocol's are ${PROTOCOL_ENVIRONMENTS.map((e) => e.name).join(", ")} (define another as NAME=VAULT_PORT[/OPERATIONAL_PORT])`,
                );
                return;
            }
            parsed.push({ env: withOffset(known, portOffset), portKey: "portOffset" });
            return;
        }
        if (known?.kind === "secure" && operational !== undefined) {
            problem(key, `"${name}" is a secure environment of the protocol: it has no operational, so it takes no operational port`);
            return;
        }
        if (known?.kind === "standard" && operational === undefined) {
            problem(key, `"${name}" is a standard environment of the protocol: give both ports, ${name}=VAULT_PORT/OPERATIONAL_PORT`);
            return;
        }
        const env: PlannedEnvironment =
            operational === undefined
                ? { name, kind: "secure", vaultPort: Number(vault) }
                : { name, kind: "standard", vaultPort: Number(vault), operationalPort: Number(operational) };
        parsed.push({ env: withOffset(env, portOffset), portKey: key });
    });
    return parsed;
}

function withOffset(env: EnvironmentDefinition, offset: number): PlannedEnvironment {
    return {
        ...env,
        vaultPort: env.vaultPort + offset,
        ...(env.operationalPort === undefined ? {} : { operationalPort: env.operationalPort + offset }),
    };
}

function checkPorts(environments: ParsedEnvironment[], portOffset: number, problem: Report): void {
    const owners = new Map<number, string>();
    for (const { env, portKey } of environments) {
        const ports: [string, number | undefined][] = [
            ["vault", env.vaultPort],
            ["operational", env.operationalPort],
        ];
        for (const [role, port] of ports) {
            if (port === undefined) continue;
            const where = portKey === "portOffset" && portOffset !== 0 ? ` (offset ${portOffset})` : "";
            if (port < 1 || port > 65535) {
                problem(portKey, `${env.name}'s ${role} host port ${port}${where} is outside 1-65535`);
                continue;
            }
            const owner = owners.get(port);
            if (owner) problem(portKey, `host port ${port} is used by both ${owner} and ${env.name} ${role}`);
            else owners.set(port, `${env.name} ${role}`);
        }
    }
}

function parsePasswords(value: string, environments: ParsedEnvironment[], problem: Report): Record<string, EnvironmentPasswords> {
    if (value.trim() === "") return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        // Never echo the value: it holds passwords.
        problem("passwords", 'is not valid JSON; expected {"ENV": {"vault": "...", "replication": "...", "operationalAdmin": "..."}}');
        return {};
    }
    if (!isPlainObject(parsed)) {
        // Its kind only, never the value: it holds passwords.
        problem("passwords", `must be a JSON object {"ENV": {"vault": "...", ...}}, got ${kindOf(parsed)}`);
        return {};
    }
    const result: Record<string, EnvironmentPasswords> = {};
    for (const [name, roles] of Object.entries(parsed)) {
        const env = environments.find((e) => e.env.name === name)?.env;
        if (!env) {
            problem(`passwords.${name}`, `"${name}" is not an environment this stack deploys`);
            continue;
        }
        if (!isPlainObject(roles)) {
            problem(`passwords.${name}`, `must be an object with any of ${PASSWORD_ROLES.join(", ")}, got ${kindOf(roles)}`);
            continue;
        }
        result[name] = {};
        for (const [role, password] of Object.entries(roles)) {
            const key = `passwords.${name}.${role}`;
            if (!(PASSWORD_ROLES as readonly string[]).includes(role)) {
                problem(key, `unknown password role "${role}"; the roles are ${PASSWORD_ROLES.join(", ")}`);
            } else if (env.kind === "secure" && role !== "vault" && role !== "backup") {
                problem(key, `"${name}" is a secure environment: it has only a vault and a backup password`);
            } else if (typeof password !== "string" || !isValidPassword(password)) {
                const got =
                    typeof password === "string" && password !== "" ? "a string with a space or control character" : kindOf(password);
                problem(key, `must be a non-empty string without spaces or control characters, got ${got}`);
            } else {
                result[name][role as PasswordRole] = password;
            }
        }
    }
    return result;
}

// A host folder is bind-mounted as "folder:/data": no colon, no spaces, no "..", absolute.
const HOST_FOLDER = /^\/[^\s:]*$/;

function parseVaultData(value: string, environments: ParsedEnvironment[], problem: Report): Record<string, string> {
    if (value.trim() === "") return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        problem("vaultData", `is not valid JSON; expected {"ENV": "VOLUME_NAME or /host/folder"}: ${value}`);
        return {};
    }
    if (!isPlainObject(parsed)) {
        problem("vaultData", `must be a JSON object {"ENV": "VOLUME_NAME or /host/folder"}, got ${describeValue(parsed)}`);
        return {};
    }
    const result: Record<string, string> = {};
    const owners = new Map<string, string>();
    for (const [name, data] of Object.entries(parsed)) {
        const key = `vaultData.${name}`;
        if (!environments.some((e) => e.env.name === name)) {
            problem(key, `"${name}" is not an environment this stack deploys`);
        } else if (typeof data !== "string" || data === "") {
            problem(key, `must be a Docker volume name or an absolute host folder, got ${kindOf(data)}`);
        } else if (data.startsWith("/") ? !HOST_FOLDER.test(data) || data.split("/").includes("..") : !DOCKER_NAME.test(data)) {
            problem(
                key,
                `"${data}" is neither a Docker volume name nor an absolute host folder without spaces, colons or ".." (folders start with /)`,
            );
        } else if (owners.has(data)) {
            problem(
                key,
                `"${data}" already holds the vault of ${owners.get(data)}: two vaults on one data folder would overwrite each other`,
            );
        } else {
            owners.set(data, name);
            result[name] = data;
        }
    }
    return result;
}

// Swarm node IDs are 25 characters of lowercase letters and digits (swarmkit's identity.NewID).
const NODE_ID = /^[a-z0-9]{25}$/;
const DEFAULT_BIND_ADDRESS = "127.0.0.1";

/**
 * `swarmNodes` (`{"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}`: the node every vault is
 * pinned to, and per environment overrides) and `swarmPublish` (`["vault", "operational"]`).
 * Both apply to platform swarm only.
 */
function parseSwarm(raw: RawConfig, platform: Platform, environments: ParsedEnvironment[], problem: Report): SwarmConfig | undefined {
    const nodesText = (raw.swarmNodes ?? "").trim();
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
    const publish = {
        vault: (publishList as unknown[]).includes("vault"),
        operational: (publishList as unknown[]).includes("operational"),
    };
    if (platform !== "swarm") {
        if (nodesText !== "") problem("swarmNodes", 'applies to platform swarm only (set platform to "swarm", or unset swarmNodes)');
        if (publish.vault || publish.operational)
            problem("swarmPublish", 'applies to platform swarm only (set platform to "swarm", or unset swarmPublish)');
        return undefined;
    }

    const vaultNodes: Record<string, string> = {};
    let parsed: unknown = {};
    try {
        parsed = nodesText === "" ? {} : JSON.parse(nodesText);
    } catch {
        problem("swarmNodes", `is not valid JSON; expected {"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}: ${nodesText}`);
        return { vaultNodes, publish };
    }
    if (!isPlainObject(parsed)) {
        problem("swarmNodes", `must be a JSON object {"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}, got ${describeValue(parsed)}`);
        return { vaultNodes, publish };
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
    const ordered = Object.fromEntries(
        environments.filter(({ env }) => env.name in vaultNodes).map(({ env }) => [env.name, vaultNodes[env.name]]),
    );
    return { vaultNodes: ordered, publish };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
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
