/**
 * The Docker side of each container (ports, data, files, network, labels, restart, stop),
 * as plain functions: the components pass their inputs through them, and tests call them
 * directly.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { REDIS_INTERNAL_PORT } from "./protocol";
import { type ContainerFile, DATA_DIR, type Role, STOP_GRACE_SECONDS } from "./redisServer";

/** Label keys on every container and volume, so operators can `docker ps --filter label=...`. */
export const LABEL_ENVIRONMENT = "nexus-redis.environment";
export const LABEL_ROLE = "nexus-redis.role";
/**
 * Label on a container created with a memory limit. The provider updates `memory` in place,
 * but Docker cannot remove a limit in place (`docker update --memory 0` keeps the old one), so
 * whether there is a limit is also a label, and labels replace the container when they change
 * (terraform-provider-docker resource_docker_container.go: `labels` ForceNew, `memory` not):
 * adding or removing the limit re-creates the container, raising or lowering it does not.
 */
export const LABEL_MEMORY_LIMITED = "nexus-redis.memory-limited";

/** Default host address ports are published on: an unauthenticated read replica must not face every interface by default. */
export const DEFAULT_BIND_ADDRESS = "127.0.0.1";

/** Environment variable that makes the vault's start script refuse an empty data folder. */
export const REQUIRE_DATA_ENV = "NEXUS_REDIS_REQUIRE_DATA";

/** Where a container's /data comes from: a Docker volume, or a host folder (an adopted fleet's). */
export type DataMount = { volume: pulumi.Input<string> } | { hostPath: string };

export interface ContainerSpec {
    containerName: pulumi.Input<string>;
    image: pulumi.Input<string>;
    command: string[];
    /** Put into the container before its first start; any change replaces the container. */
    files: pulumi.Input<ContainerFile[]>;
    network: pulumi.Input<string>;
    data: DataMount;
    /** Set when the data is expected to exist (adopted): the vault refuses to start on an empty folder. */
    requireData?: string;
    hostPort: pulumi.Input<number>;
    bindAddress: pulumi.Input<string>;
    environment: string;
    role: Role;
    memoryLimitMb?: pulumi.Input<number>;
}

export function labels(environment: string, role: Role): { label: string; value: string }[] {
    return [
        { label: LABEL_ENVIRONMENT, value: environment },
        { label: LABEL_ROLE, value: role },
    ];
}

/** The provider's uploads for a container's files: numeric owner and group (names would be looked up on the Pulumi host). */
export function uploads(files: ContainerFile[]): docker.types.input.ContainerUpload[] {
    return files.map((f) => ({ file: f.path, content: f.content, permissions: f.mode, owner: f.owner, group: f.group }));
}

/** Arguments of a Redis container of the protocol. */
export function containerArgs(spec: ContainerSpec): docker.ContainerArgs {
    return {
        name: spec.containerName,
        image: spec.image,
        command: spec.command,
        // Copied in after the container is created and before it starts, so Redis reads its
        // config (and passwords) from its first start; nothing secret is on its command line.
        uploads: pulumi.output(spec.files).apply(uploads),
        // Published on one address only; internally every container listens on 6379.
        ports: [{ internal: REDIS_INTERNAL_PORT, external: spec.hostPort, ip: spec.bindAddress, protocol: "tcp" }],
        // Attached by network name: the operational finds its vault by container name there.
        networksAdvanced: [{ name: spec.network }],
        volumes: [
            "volume" in spec.data
                ? { volumeName: spec.data.volume, containerPath: DATA_DIR }
                : { hostPath: spec.data.hostPath, containerPath: DATA_DIR },
        ],
        ...(spec.requireData === undefined ? {} : { envs: [`${REQUIRE_DATA_ENV}=${spec.requireData}`] }),
        restart: "unless-stopped",
        // Stopped gracefully (SIGTERM, then this long) by `docker stop` and by the provider
        // when it replaces or deletes the container, so Redis can fsync before it exits.
        stopTimeout: STOP_GRACE_SECONDS,
        destroyGraceSeconds: STOP_GRACE_SECONDS,
        labels: [
            ...labels(spec.environment, spec.role),
            ...(spec.memoryLimitMb === undefined ? [] : [{ label: LABEL_MEMORY_LIMITED, value: "true" }]),
        ],
        // The swap limit equal to the memory limit: no swap for Redis, and sent with every change
        // of the memory, since Docker refuses a memory limit above the swap limit it holds (and
        // without one it holds twice the first memory limit, which the provider reads back).
        ...(spec.memoryLimitMb === undefined ? {} : { memory: spec.memoryLimitMb, memorySwap: spec.memoryLimitMb }),
    };
}

/** The host a client on the Docker host reaches a port published on `bindAddress` at. */
export function clientHost(bindAddress: string): string {
    if (bindAddress === "0.0.0.0") return "127.0.0.1";
    if (bindAddress === "::") return "::1";
    return bindAddress;
}
