/**
 * The Docker side of each container (ports, volume, network, labels, restart), as plain
 * functions: the components pass their inputs through them, and tests call them directly.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { REDIS_INTERNAL_PORT } from "./protocol";
import { DATA_DIR, type Role } from "./redisServer";

/** Label keys on every container and volume, so operators can `docker ps --filter label=...`. */
export const LABEL_ENVIRONMENT = "nexus-redis.environment";
export const LABEL_ROLE = "nexus-redis.role";

/** Default host address ports are published on: an unauthenticated read replica must not face every interface by default. */
export const DEFAULT_BIND_ADDRESS = "127.0.0.1";

export interface ContainerSpec {
    containerName: pulumi.Input<string>;
    image: pulumi.Input<string>;
    command: pulumi.Input<pulumi.Input<string>[]>;
    network: pulumi.Input<string>;
    volumeName: pulumi.Input<string>;
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

/** Arguments of a Redis container of the protocol. */
export function containerArgs(spec: ContainerSpec): docker.ContainerArgs {
    return {
        name: spec.containerName,
        image: spec.image,
        command: spec.command,
        // Published on one address only; internally every container listens on 6379.
        ports: [{ internal: REDIS_INTERNAL_PORT, external: spec.hostPort, ip: spec.bindAddress, protocol: "tcp" }],
        // Attached by network name: the operational finds its vault by container name there.
        networksAdvanced: [{ name: spec.network }],
        volumes: [{ volumeName: spec.volumeName, containerPath: DATA_DIR }],
        restart: "unless-stopped",
        labels: labels(spec.environment, spec.role),
        ...(spec.memoryLimitMb === undefined ? {} : { memory: spec.memoryLimitMb }),
    };
}

/** The host a client on the Docker host uses to reach a port published on `bindAddress`. */
export function clientHost(bindAddress: string): string {
    if (bindAddress === "0.0.0.0") return "127.0.0.1";
    if (bindAddress === "::") return "::1";
    return bindAddress;
}
