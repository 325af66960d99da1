/**
 * The arguments every environment takes (the standard and the secure one alike), and where a
 * client reaches each of its roles: the components' public shapes, declared once.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Where an environment runs: containers on one Docker engine, or single-replica services on a Swarm. */
export type Platform = "docker" | "swarm";
export const PLATFORMS: readonly Platform[] = ["docker", "swarm"];

/** Platform swarm: where the vault runs and which roles publish a port. */
export interface SwarmPlacement {
    /** ID of the one node the vault runs on (its volume lives there); the operational runs on any other. */
    vaultNode: string;
    /** Publish the vault's port in host mode on its node (every interface). Default false. */
    publishVault?: boolean;
    /** Publish the operational's port in host mode on its node (every interface; reads need no password). Default false. */
    publishOperational?: boolean;
}

/** Arguments every environment takes. */
export interface EnvironmentBaseArgs {
    /** Image every container runs: the official `redis` image (7 or newer) or one that behaves like it. */
    image: pulumi.Input<string>;
    /** Name of the Docker network the containers attach to (the protocol's is `nexus-storage-network`). */
    network: pulumi.Input<string>;
    /**
     * Platform swarm: the ID of that network, which services attach by (the provider reads back
     * only the ID). Required on swarm. Give the network resource's output: if the network is
     * replaced, the services that use it must follow.
     */
    networkId?: pulumi.Input<string>;
    /** Host port of the vault. */
    vaultPort: pulumi.Input<number>;
    /** Host address the ports are published on. Default `127.0.0.1`. */
    bindAddress?: pulumi.Input<string>;
    /** Prefix of container and volume names. Default `nexus3` (`nexus3-{env}-vault`). */
    containerPrefix?: pulumi.Input<string>;
    /** Memory limit of each container in MiB; the vault's Redis gets 75% of it as maxmemory. Default: no limit. */
    memoryLimitMb?: pulumi.Input<number>;
    /** The vault's password, to adopt an existing one. Default: generated (32 letters and digits). */
    vaultPassword?: pulumi.Input<string>;
    /** Password of the vault's backup user (`redis-cli --rdb` only). Default: generated. */
    backupPassword?: pulumi.Input<string>;
    /**
     * Where the vault's data already is, to use it in place (an adopted fleet): a Docker volume
     * name, or an absolute host folder (bind-mounted; the image's entrypoint gives its files to
     * the redis user, uid 999). The stack then creates no volume for the vault, never deletes
     * this one, and the vault refuses to start if it finds the folder empty. Default: a volume
     * the stack creates, `{prefix}-{env}-vault-data`, kept when the stack is destroyed.
     * A plain string, not an Input: whether a volume resource exists is decided when the
     * program runs.
     */
    vaultData?: string;
    /**
     * `docker` (default): a container per role on the engine Pulumi talks to. `swarm`: a
     * single-replica Swarm service per role (Pulumi talks to a manager). A plain value, not
     * an Input: it decides which resources exist.
     */
    platform?: Platform;
    /** Platform swarm: the vault's node and the published roles. Required on swarm. */
    swarm?: SwarmPlacement;
    /** Replication and clients over TLS only, each role with a certificate from this CA. Default: plain TCP. */
    tls?: StackTls;
}

/** The stack's CA, which signs a certificate for every role (index.ts creates it once per stack). */
export interface StackTls {
    /** The CA's certificate (PEM): what every server and client trusts. */
    caCertPem: pulumi.Input<string>;
    /** The CA's private key (PEM, a secret): signs each role's certificate. */
    caPrivateKeyPem: pulumi.Input<string>;
    /** Platform swarm: the CA as the stack's one docker.ServiceConfig, which every service mounts. Required on swarm. */
    caConfig?: { id: pulumi.Input<string>; name: pulumi.Input<string> };
    /** Validity of each role's certificate in hours. Default 17520 (two years). */
    certValidityHours?: number;
}

/** Where a client reaches one role. */
export interface Endpoint {
    /** Docker container name; on Swarm the service's name (what the operational replicates from). */
    container: pulumi.Output<string>;
    /** Host address to connect to; on Swarm the service's name on the overlay network. */
    host: pulumi.Output<string>;
    /** Host port; on Swarm Redis's own port on the overlay (6379). */
    port: pulumi.Output<number>;
    /** Swarm only, when published: the host-mode port on the node that runs the task. */
    publishedPort?: pulumi.Output<number>;
    /** With TLS: the name the role's certificate is for, which a client checks (`servername`, `--sni`). */
    tls?: { serverName: pulumi.Output<string> };
}
