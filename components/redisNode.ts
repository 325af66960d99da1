/**
 * What a standard and a secure environment share: passwords (given or generated), each
 * role with its data and files (a container, or on Swarm a service); vault.ts creates the vault
 * from it, standardEnvironment.ts the operational.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Buffer } from "node:buffer";
import { DEFAULT_BIND_ADDRESS, type DataMount, clientHost, containerArgs, labels } from "./containerSpec";
import { PROTOCOL_CONTAINER_PREFIX, REDIS_INTERNAL_PORT } from "./protocol";
import { type ContainerFile, type FileShape, type Role, TLS_CA, TLS_CERT, TLS_KEY, containerName, volumeName } from "./redisServer";
import type { Endpoint, EnvironmentBaseArgs } from "./environmentArgs";
import { type SwarmFile, contentName, offNode, onNode, serviceArgs, swarmFilePath } from "./swarmSpec";

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
    /** The container or service: what depends on this role depends on it. */
    resource: pulumi.Resource;
}

export interface RedisNodeArgs {
    role: Role;
    /** The command, given where the role's config file is (Swarm mounts secrets under /run/secrets). */
    command: (configFile: string) => string[];
    /** The role's config file (the command's argument), one of `fileShapes`. */
    configFile: FileShape;
    /** What `files` holds, known before the contents are: a resource is never created inside an apply. */
    fileShapes: readonly FileShape[];
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

/** Creates one role of an environment as children of `parent`: a container (and volume) or, on Swarm, a service. */
export function createRedisNode(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    node: RedisNodeArgs,
): RedisNode {
    return (args.platform ?? "docker") === "swarm"
        ? createSwarmService(parent, environment, args, node)
        : createContainer(parent, environment, args, node);
}

function createContainer(parent: pulumi.ComponentResource, environment: string, args: EnvironmentBaseArgs, node: RedisNodeArgs): RedisNode {
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
            command: node.command(node.configFile.path),
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
        resource: container,
        endpoint: {
            container: container.name,
            host: bindAddress.apply(clientHost),
            port: pulumi.output(node.hostPort),
            ...(args.tls ? { tls: { serverName: container.name } } : {}),
        },
    };
}

/**
 * A role as a single-replica Swarm service (swarmSpec.ts says why each setting): each file
 * as a docker.Secret (a config with passwords) or a docker.ServiceConfig (the start script),
 * named by a hash of its content; the vault pinned to its node, its named volume created
 * there by the mount; the operational on any other node, on a tmpfs.
 */
function createSwarmService(
    parent: pulumi.ComponentResource,
    environment: string,
    args: EnvironmentBaseArgs,
    node: RedisNodeArgs,
): RedisNode {
    const placement = args.swarm;
    if (!placement) throw new Error(`${environment}: platform swarm needs the vault's node (args.swarm.vaultNode)`);
    const prefix = pulumi.output(args.containerPrefix ?? PROTOCOL_CONTAINER_PREFIX);
    const serviceName = prefix.apply((p) => containerName(p, environment, node.role));
    const labelList = labels(environment, node.role);
    const kinds = node.fileShapes.map(swarmObjectKind);
    if (new Set(kinds).size !== kinds.length)
        throw new Error(`${environment} ${node.role}: two files would be the same Swarm object (${kinds})`);
    const files: SwarmFile[] = node.fileShapes.map((shape) => {
        const content = node.files.apply((all) => all.find((f) => f.path === shape.path)!.content);
        const kind = swarmObjectKind(shape);
        const resourceName = `${environment}-${node.role}-${kind}`;
        // Named by a hash of the whole file (which `docker secret ls` shows): secrets and configs
        // are immutable, so new content (a new password) is a new object under a new name, and
        // the service moves to it.
        const name = pulumi.unsecret(pulumi.all([serviceName, content]).apply(([service, c]) => contentName(`${service}-${kind}`, c)));
        if (shape.secret) {
            const secret = new docker.Secret(
                resourceName,
                { name, data: pulumi.secret(content.apply(base64)), labels: labelList },
                { parent },
            );
            return { file: shape, id: secret.id, name: secret.name };
        }
        // No password or key in it (the secrets test would say so): not a secret, readable in the plan.
        const script = pulumi.unsecret(content);
        const config = new docker.ServiceConfig(resourceName, { name, data: script.apply(base64), labels: labelList }, { parent });
        return { file: shape, id: config.id, name: config.name };
    });
    if (args.tls) {
        // The stack's CA: one config for every service (what a client on the overlay mounts too).
        if (!args.tls.caConfig) throw new Error(`${environment}: platform swarm with TLS needs the CA's config (args.tls.caConfig)`);
        files.push({ file: TLS_CA, id: args.tls.caConfig.id, name: args.tls.caConfig.name });
    }
    if (args.networkId === undefined) throw new Error(`${environment}: platform swarm needs the network's ID (args.networkId)`);
    const publish = (node.role === "vault" ? placement.publishVault : placement.publishOperational) ?? false;
    const service = new docker.Service(
        `${environment}-${node.role}`,
        serviceArgs({
            serviceName,
            image: args.image,
            args: node.command(swarmFilePath(node.configFile)),
            files,
            networkId: args.networkId,
            data: node.role === "vault" ? { volume: vaultVolumeName(parent, environment, prefix) } : { tmpfs: true },
            constraints: [node.role === "vault" ? onNode(placement.vaultNode) : offNode(placement.vaultNode)],
            publishedPort: publish ? node.hostPort : undefined,
            environment,
            role: node.role,
            memoryLimitMb: args.memoryLimitMb,
        }),
        {
            parent,
            // A fixed name: a replacement (`nexus-redis recover`) removes the old service first.
            deleteBeforeReplace: true,
            dependsOn: node.dependsOn,
            // When the registry answers for the image, Docker's client adds the image's platforms
            // to the placement as the provider creates the service (moby client ServiceCreate,
            // QueryRegistry), and the provider reads them back; the program declares none, so
            // without this the next `pulumi up` would take them away again.
            ignoreChanges: ["taskSpec.placement.platforms"],
        },
    );
    return {
        resource: service,
        endpoint: {
            container: service.name,
            host: service.name,
            port: pulumi.output(REDIS_INTERNAL_PORT),
            ...(publish ? { publishedPort: pulumi.output(node.hostPort) } : {}),
            ...(args.tls ? { tls: { serverName: service.name } } : {}),
        },
    };
}

/**
 * The name of a Swarm vault's volume, as it was when the vault was first deployed. On Docker
 * the vault's docker.Volume keeps the name it was created with (`ignoreChanges: ["name"]`); on
 * Swarm the volume is created on the vault's node by the service's mount and is no resource of
 * the stack, so this small resource records the name instead: a `containerPrefix` change then
 * renames the services but mounts the same volume, and the vault never starts on a new, empty
 * one. (A RandomId: the stack's own random provider, whose `keepers` are stored as given; its
 * bytes are not used.) To move a vault to a new volume on purpose: `pulumi up --replace` this
 * resource's URN.
 */
function vaultVolumeName(parent: pulumi.ComponentResource, environment: string, prefix: pulumi.Output<string>): pulumi.Output<string> {
    const record = new random.RandomId(
        `${environment}-vault-volume`,
        { byteLength: 1, keepers: { volume: prefix.apply((p) => volumeName(p, environment, "vault")) } },
        { parent, ignoreChanges: ["keepers"] },
    );
    return record.keepers.apply((k) => k!.volume);
}

/**
 * The part of a Swarm secret's or config's resource and object name that says which file it
 * is: `config` (passwords), `script`, `tls-key`, `tls-cert`. Existing stacks keep the names
 * they had.
 */
export function swarmObjectKind(shape: FileShape): string {
    if (shape.path === TLS_KEY.path) return "tls-key";
    if (shape.path === TLS_CERT.path) return "tls-cert";
    if (shape.path === TLS_CA.path) return "tls-ca";
    return shape.secret ? "config" : "script";
}

function base64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}
