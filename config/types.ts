/**
 * The stack configuration's shapes: the keys Pulumi.yaml declares, the FleetConfig the program
 * is built from, and the error that lists every problem found (config.ts reads and validates).
 */
import type { Platform } from "../components/environmentArgs";
import type { EnvironmentDefinition } from "../components/protocol";
import type { PasswordRole } from "../components/redisServer";

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

/** Records one problem under its key (without the namespace); every parser reports through it. */
export type Report = (key: string, message: string) => void;

/** An environment as parsed, with the key its ports came from. */
export interface ParsedEnvironment {
    env: PlannedEnvironment;
    /** Config key the ports came from: the item that overrode them, or portOffset. */
    portKey: string;
}
