/**
 * What a standard and a secure environment share: passwords (given or generated), each
 * container with its data and files, and the vault itself.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { DEFAULT_BIND_ADDRESS, type DataMount, clientHost, containerArgs, labels } from "./containerSpec";
import { PROTOCOL_CONTAINER_PREFIX } from "./protocol";
import { type ContainerFile, type Role, containerName, vaultCommand, vaultFiles, volumeName } from "./redisServer";

/** Arguments every environment takes. */
export interface EnvironmentBaseArgs {
    /** Image every container runs: the official `redis` image (7 or newer) or one that behaves like it. */
    image: pulumi.Input<string>;
    /** Name of the Docker network the containers attach to (the protocol's is `nexus-storage-network`). */
    network: pulumi.Input<string>;
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
    // Letters and digits only: no quoting questions in config files or in the tools
    // operators paste them into; 32 of them are ~190 bits.
    const generated = new random.RandomPassword(resourceName, { length: 32, special: false }, { parent });
    return pulumi.secret(generated.result);
}

export interface RedisNode {
    endpoint: Endpoint;
    container: docker.Container;
}

export interface RedisNodeArgs {
    role: Role;
    command: string[];
    /** Files put into the container before its first start (config, scripts); a secret as a whole. */
    files: pulumi.Output<ContainerFile[]>;
    hostPort: pulumi.Input<number>;
    /** Keep the volume (and its data) when the resource is deleted or replaced. */
    retainVolume: boolean;
    /** Data that already exists (`EnvironmentBaseArgs.vaultData`); the stack then creates no volume. */
    existingData?: string;
    dependsOn?: pulumi.Resource[];
}

/** Whether `vaultData` names a host folder (absolute path) rather than a Docker volume. */
export function isHostFolder(data: string): boolean {
    return data.startsWith("/");
}

/** Creates one container of an environment and, unless its data exists already, its volume, as children of `parent`. */
export function createRedisNode(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    node: RedisNodeArgs,
): RedisNode {
    const prefix = pulumi.output(args.containerPrefix ?? PROTOCOL_CONTAINER_PREFIX);
    const bindAddress = pulumi.output(args.bindAddress ?? DEFAULT_BIND_ADDRESS);
    let data: DataMount;
    if (node.existingData !== undefined) {
        data = isHostFolder(node.existingData) ? { hostPath: node.existingData } : { volume: node.existingData };
    } else {
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
        data = { volume: volume.name };
    }
    const container = new docker.Container(
        `${environment}-${node.role}`,
        containerArgs({
            containerName: prefix.apply((p) => containerName(p, environment, node.role)),
            image: args.image,
            command: node.command,
            files: node.files,
            network: args.network,
            data,
            requireData: node.existingData,
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

/** The passwords a vault is created with. */
export interface VaultPasswordOutputs {
    password: pulumi.Output<string>;
    /** Absent for a secure environment. */
    replicationPassword?: pulumi.Output<string>;
    backupPassword: pulumi.Output<string>;
}

/** Creates the vault's container (and its volume, unless its data exists already) as children of `parent`. */
export function createVault(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    passwords: VaultPasswordOutputs,
): RedisNode {
    const files = pulumi
        .all([passwords.password, passwords.replicationPassword, passwords.backupPassword, args.memoryLimitMb])
        .apply(([password, replicationPassword, backupPassword, memoryLimitMb]) =>
            vaultFiles({ password, replicationPassword, backupPassword, memoryLimitMb }),
        );
    return createRedisNode(parent, environment, args, {
        role: "vault",
        command: vaultCommand(),
        files: pulumi.secret(files),
        hostPort: args.vaultPort,
        // The vault's volume is the single source of truth: a `pulumi destroy` or a
        // replacement must not delete it. Docker hands back an existing volume of the same
        // name, so a re-created vault finds its data again.
        retainVolume: true,
        existingData: args.vaultData,
    });
}
