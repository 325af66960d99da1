/**
 * What a standard and a secure environment share: passwords (given or generated) and the
 * vault itself, its volume and its container.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PROTOCOL_CONTAINER_PREFIX } from "./protocol";
import { DEFAULT_BIND_ADDRESS, clientHost, containerArgs, labels } from "./containerSpec";
import { type Role, containerName, vaultCommand, volumeName } from "./redisServer";

/** Arguments every environment takes. */
export interface EnvironmentBaseArgs {
    /** Image every container runs: a Redis 7 image reference or image ID. */
    image: pulumi.Input<string>;
    /** Name of the Docker network the containers attach to (the protocol's is `nexus-storage-network`). */
    network: pulumi.Input<string>;
    /** Host port of the vault. */
    vaultPort: pulumi.Input<number>;
    /** Host address the ports are published on. Default `127.0.0.1`. */
    bindAddress?: pulumi.Input<string>;
    /** Prefix of container and volume names. Default `nexus3` (`nexus3-{env}-vault`). */
    containerPrefix?: pulumi.Input<string>;
    /** Memory limit of each container in MiB; Redis gets 75% of it as maxmemory. Default: no limit. */
    memoryLimitMb?: pulumi.Input<number>;
    /** The vault's password, to adopt an existing one. Default: generated (32 letters and digits). */
    vaultPassword?: pulumi.Input<string>;
}

/** Where a client on the Docker host reaches one container. */
export interface Endpoint {
    /** Docker container name. */
    container: pulumi.Output<string>;
    /** Host address to connect to. */
    host: pulumi.Output<string>;
    /** Host port. */
    port: pulumi.Output<number>;
}

/** A password input as given, or a generated one; a secret either way. */
export function passwordOrGenerated(
    given: pulumi.Input<string> | undefined,
    resourceName: string,
    parent: pulumi.Resource,
): pulumi.Output<string> {
    if (given !== undefined) return pulumi.secret(given);
    // Letters and digits only: the password appears in redis-server's argv and in ACL
    // rules, where quoting rules differ between tools; 32 of them are ~190 bits.
    const generated = new random.RandomPassword(resourceName, { length: 32, special: false }, { parent });
    return pulumi.secret(generated.result);
}

export interface RedisNode {
    endpoint: Endpoint;
    container: docker.Container;
}

export interface RedisNodeArgs {
    role: Role;
    command: pulumi.Input<string[]>;
    hostPort: pulumi.Input<number>;
    /** Keep the volume (and its data) when the resource is deleted or replaced. */
    retainVolume: boolean;
    dependsOn?: pulumi.Resource[];
}

/** Creates one container of an environment and its volume, as children of `parent`. */
export function createRedisNode(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    node: RedisNodeArgs,
): RedisNode {
    const prefix = pulumi.output(args.containerPrefix ?? PROTOCOL_CONTAINER_PREFIX);
    const bindAddress = pulumi.output(args.bindAddress ?? DEFAULT_BIND_ADDRESS);
    const volume = new docker.Volume(
        `${environment}-${node.role}-data`,
        { name: prefix.apply((p) => volumeName(p, environment, node.role)), labels: labels(environment, node.role) },
        // Fixed names: a replacement must remove the old one before creating the new one.
        // A retained volume also keeps the name it was created with: renaming it (a new
        // containerPrefix) would otherwise orphan the data and start the vault empty.
        {
            parent,
            deleteBeforeReplace: true,
            retainOnDelete: node.retainVolume,
            ignoreChanges: node.retainVolume ? ["name"] : undefined,
        },
    );
    const container = new docker.Container(
        `${environment}-${node.role}`,
        containerArgs({
            containerName: prefix.apply((p) => containerName(p, environment, node.role)),
            image: args.image,
            command: node.command,
            network: args.network,
            volumeName: volume.name,
            hostPort: node.hostPort,
            bindAddress,
            environment,
            role: node.role,
            memoryLimitMb: args.memoryLimitMb,
        }),
        { parent, deleteBeforeReplace: true, dependsOn: node.dependsOn },
    );
    return {
        container,
        endpoint: { container: container.name, host: bindAddress.apply(clientHost), port: pulumi.output(node.hostPort) },
    };
}

/** Creates the vault's volume and container as children of `parent`. */
export function createVault(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    password: pulumi.Output<string>,
    replicationPassword: pulumi.Output<string> | undefined,
): RedisNode {
    const command = pulumi
        .all([password, replicationPassword, args.memoryLimitMb])
        .apply(([p, r, memoryLimitMb]) => vaultCommand({ password: p, replicationPassword: r, memoryLimitMb }));
    return createRedisNode(parent, environment, args, {
        role: "vault",
        command,
        hostPort: args.vaultPort,
        // The vault's volume is the single source of truth: a `pulumi destroy` or a
        // replacement must not delete it. Docker hands back an existing volume of the same
        // name, so a re-created vault finds its data again.
        retainVolume: true,
    });
}
