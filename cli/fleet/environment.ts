/**
 * An environment as the operator CLI sees it: the stack output `environments` (where each
 * server is reached, with which credentials), and what the CLI attaches to it at run time
 * (the Swarm manager's view of where its tasks run, the engine it asks about a container).
 * Types only: parsing and loading are in fleet/outputs.ts.
 */
import type { ContainerSource } from "../core/io";
import type { Relay } from "../redis/session";

/** Where a client on the Docker host reaches one container (on Swarm: one service, on its overlay). */
export interface EndpointOutput {
    /** Docker container name (operationals replicate from the vault's); on Swarm the service's name. */
    container: string;
    /** Host address to connect to from here; on Swarm the service's name on the overlay. */
    host: string;
    /** Host port; on Swarm Redis's port on the overlay (6379). */
    port: number;
    /** Swarm only, when published: the host-mode port on the node that runs the task. */
    publishedPort?: number;
    /** Not in the outputs: set by the CLI when the server is reached through a relay (Swarm). */
    via?: Relay;
    /**
     * With TLS: the name the server's certificate is for (the output's `tls.serverName`) and the
     * stack's CA (the top-level output `tls.ca`, joined here by the parser).
     */
    tls?: EndpointTls;
}

/** How a client checks one server over TLS. */
export interface EndpointTls {
    /** The name to ask for (SNI) and to find in the certificate. */
    serverName: string;
    /** The stack's CA certificate, PEM. */
    ca: string;
}

/** A Swarm deployment's facts the CLI needs (the stack output's `platform: "swarm"` and `swarm`). */
export interface SwarmOutput {
    /** The attachable overlay network the services are on. */
    network: string;
    /** The Redis image they run: the CLI's probe runs it on the overlay too. */
    image: string;
    /** The node the vault is pinned to. */
    vaultNode: string;
}

/** What every environment output has besides its servers: where it runs. */
export interface PlatformOutput {
    /** Set on a Swarm deployment; absent on Docker. */
    platform?: "swarm";
    swarm?: SwarmOutput;
    /** Not in the outputs: set by the CLI on Swarm, where each role's task runs (or why none does). */
    placement?: PlacementSource;
    /** Not in the outputs: set by the CLI on Docker, the engine it asks about a container whose server does not answer. */
    engine?: ContainerSource;
}

export interface VaultOutput extends EndpointOutput {
    password: string;
}

export interface OperationalOutput extends EndpointOutput {
    adminUser: string;
    adminPassword: string;
}

/** An ACL user and its password. */
export interface CredentialsOutput {
    user: string;
    password: string;
}

export interface StandardEnvironmentOutput extends PlatformOutput {
    kind: "standard";
    vault: VaultOutput;
    replication: CredentialsOutput;
    operational: OperationalOutput;
    /** The vault's backup user (`redis-cli --rdb` only). */
    backup: CredentialsOutput;
}

export interface SecureEnvironmentOutput extends PlatformOutput {
    kind: "secure";
    vault: VaultOutput;
    /** The vault's backup user (`redis-cli --rdb` only). */
    backup: CredentialsOutput;
}

export type EnvironmentOutput = StandardEnvironmentOutput | SecureEnvironmentOutput;

/** The `environments` stack output, by environment name, in the stack's order. */
export type EnvironmentsOutput = Record<string, EnvironmentOutput>;

/** A Swarm node as the manager sees it. */
export interface NodeFacts {
    id: string;
    hostname: string;
    /** "ready", "down", "disconnected", "unknown". */
    state: string;
}

/** Where a role's Swarm task runs, or why none does. */
export interface TaskPlacement {
    /** false: the manager has no such service. */
    exists: boolean;
    /** The node of the task that runs now. */
    node?: NodeFacts;
    /** No task runs: the newest task's state and the scheduler's or the container's message. */
    waiting?: { state: string; message: string };
}

/** What the Swarm manager says about an environment's services: for the diagnosis. */
export interface SwarmObservation {
    vault: TaskPlacement;
    /** Standard environments only. */
    operational?: TaskPlacement;
    /** The node the vault is pinned to; undefined when the Swarm has no node with that ID. */
    vaultNode?: NodeFacts;
    /** Ready nodes other than the vault's: where the operational may run. */
    otherReadyNodes: number;
}

/** Asks the Swarm manager where an environment's tasks run (cli/fleet/swarm.ts). */
export interface PlacementSource {
    observe(env: EnvironmentOutput): Promise<SwarmObservation>;
}
