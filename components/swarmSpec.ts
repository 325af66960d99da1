/**
 * The Docker Swarm side of each role (platform `swarm`): one single-replica service per
 * role, as plain functions over plain data, like containerSpec.ts is for containers. The
 * components pass their inputs through them; tests call them directly.
 *
 * What Swarm changes, and why each choice here:
 * - Passwords reach Redis as Docker secrets (tmpfs files in the task, owned by the redis
 *   user, mode 0400), never as arguments or environment: `docker service inspect` shows
 *   every input of a service. A secret is immutable, so its name carries a hash of its
 *   content: a new password is a new secret, and the service is updated to it.
 * - A vault is pinned to one node by the node's ID (unique by construction): its data is a
 *   local volume on that node, and a vault started anywhere else would start empty and wipe
 *   its operational. Updates stop the old task before starting the new one, so two vaults
 *   never share the volume.
 * - An operational runs anywhere but its vault's node (Swarm has no anti-affinity between
 *   services, hence a hard constraint), on a tmpfs: wherever it starts, it starts empty and
 *   copies its vault. It cannot run while its vault's node is the only node up.
 * - Replication by the vault's service name in DNS round-robin mode: a virtual IP needs the
 *   kernel's IPVS, which not every node has, and one replica needs no load balancing.
 * - Nothing is published by default: Swarm cannot bind a port to one address, and the
 *   operational serves reads without a password. Clients join the attachable overlay.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { labels } from "./containerSpec";
import { STOP_GRACE_SECONDS } from "./redisServer";
import { REDIS_INTERNAL_PORT } from "./protocol";
import { DATA_DIR, type FileShape, type Role, SWARM_SECRETS_DIR } from "./redisServer";

/** Seconds Swarm waits before restarting a task that stopped. */
export const RESTART_DELAY_SECONDS = 2;

/** Docker's limit on secret and config names. */
export const SWARM_OBJECT_NAME_MAX = 64;
/** Service names are DNS labels: the operational resolves its vault by service name. */
export const SWARM_SERVICE_NAME_MAX = 63;

/** Where Docker mounts a secret whose target is a bare file name. */
export const SECRETS_DIR = SWARM_SECRETS_DIR;

/** Placement constraint that pins a service to exactly one node. */
export function onNode(nodeId: string): string {
    return `node.id==${nodeId}`;
}

/** Placement constraint that keeps a service off one node. */
export function offNode(nodeId: string): string {
    return `node.id!=${nodeId}`;
}

/**
 * Name of a secret or config holding `content`: the service's name and the first 10 hex
 * digits of the content's SHA-256, cut to Docker's 64 characters. Secrets and configs are
 * immutable, so content that changes needs a new name; equal content keeps its name.
 */
export function contentName(base: string, content: string): string {
    const hash = createHash("sha256").update(content).digest("hex").slice(0, 10);
    return `${base.slice(0, SWARM_OBJECT_NAME_MAX - hash.length - 1)}-${hash}`;
}

/**
 * Whole seconds written as the Docker provider stores a duration after reading a service back:
 * Go's `time.Duration.String()` with a trailing zero minute and second cut
 * (terraform-provider-docker resource_docker_service_structures.go `shortDur`): 60 is "1m",
 * 2 "2s", 90 "1m30s", 3600 "1h", 0 "0s". A service declared with any other spelling ("60s")
 * differs from what the provider reads back, and every `pulumi up` would show it as a change
 * (plan/engineModel.ts models that read-back for any duration).
 */
export function goDuration(seconds: number): string {
    if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`${seconds} is not a whole number of seconds`);
    const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60];
    const text = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
    return text.replace(/m0s$/, "m").replace(/h0m$/, "h");
}

/** A file of a service, as the Swarm secret or config that carries it. */
export interface SwarmFile {
    /** The plan's file (path, content, mode, owner); `secret` decides Secret or ServiceConfig. */
    file: FileShape;
    /** ID of the docker.Secret or docker.ServiceConfig. */
    id: pulumi.Input<string>;
    /** Its name. */
    name: pulumi.Input<string>;
}

/** Where a role's `file` is mounted on Swarm: secrets under /run/secrets, other files where the plan puts them. */
export function swarmFilePath(file: FileShape): string {
    return file.secret ? `${SECRETS_DIR}/${file.path.split("/").pop()}` : file.path;
}

export interface SwarmServiceSpec {
    serviceName: pulumi.Input<string>;
    /** An image reference every node can pull or has (there is no shared image store). */
    image: pulumi.Input<string>;
    /** The role's command; the image's entrypoint stays (it drops to the redis user). */
    args: string[];
    files: SwarmFile[];
    /** The network's ID: the provider reads back only the ID, and a name would replace the service at every `pulumi up`. */
    networkId: pulumi.Input<string>;
    /** The vault's named volume (created on its node by the mount), or a tmpfs for an operational. */
    data: { volume: pulumi.Input<string> } | { tmpfs: true };
    /** Placement constraints (`node.id==...`, `node.id!=...`). */
    constraints: pulumi.Input<string>[];
    /** Published in host mode on this port of the node that runs the task; unset: not published. */
    publishedPort?: pulumi.Input<number>;
    environment: string;
    role: Role;
    memoryLimitMb?: pulumi.Input<number>;
}

/** Arguments of a Swarm service of the protocol. */
export function serviceArgs(spec: SwarmServiceSpec): docker.ServiceArgs {
    const serviceLabels = labels(spec.environment, spec.role);
    const reference = (f: SwarmFile) => ({
        fileName: swarmFilePath(f.file),
        // Numbers: the redis user of the official image (uid 999). Redis reads its config as that
        // user, and Docker's default for a secret is root with 0444, readable by every process.
        fileUid: f.file.owner,
        fileGid: f.file.group,
        fileMode: Number.parseInt(f.file.mode, 8),
    });
    return {
        name: spec.serviceName,
        labels: serviceLabels,
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
            containerSpec: {
                image: spec.image,
                // Args, not commands: Swarm's `command` replaces the image's entrypoint (which
                // drops root for the redis user); `args` replaces only its CMD, as a container's
                // command does.
                args: spec.args,
                secrets: spec.files.filter((f) => f.file.secret).map((f) => ({ secretId: f.id, secretName: f.name, ...reference(f) })),
                configs: spec.files.filter((f) => !f.file.secret).map((f) => ({ configId: f.id, configName: f.name, ...reference(f) })),
                mounts: [
                    "volume" in spec.data
                        ? { type: "volume", source: spec.data.volume, target: DATA_DIR, volumeOptions: { labels: serviceLabels } }
                        : { type: "tmpfs", target: DATA_DIR },
                ],
                // SIGTERM, then this long before the kill: Redis fsyncs its AOF first. Written as
                // the provider reads it back ("1m", not "60s").
                stopGracePeriod: goDuration(STOP_GRACE_SECONDS),
                labels: serviceLabels,
            },
            // By ID, the one field the provider reads back (flattenTaskNetworksAdvanced); its
            // own doc: "Using the name attribute of the docker network will lead to constant replacements".
            networksAdvanceds: [{ id: spec.networkId }],
            placement: { constraints: spec.constraints },
            // Restarted after a crash, always on a node the constraints allow. The window is
            // written out: the provider sends 0 for a missing one and reads back "0s" (unbounded).
            restartPolicy: { condition: "any", delay: goDuration(RESTART_DELAY_SECONDS), window: goDuration(0) },
            // Always sent, 0 for no limit: `resources` is computed in the provider's schema, so
            // leaving it out would keep the last limit on the service instead of removing it.
            resources: {
                limits: {
                    memoryBytes: spec.memoryLimitMb === undefined ? 0 : pulumi.output(spec.memoryLimitMb).apply((mb) => mb * 1024 * 1024),
                },
            },
        },
        // The old task stops before its replacement starts: a vault's volume is never shared.
        updateConfig: { order: "stop-first", parallelism: 1 },
        rollbackConfig: { order: "stop-first", parallelism: 1 },
        endpointSpec: {
            mode: "dnsrr",
            ports:
                spec.publishedPort === undefined
                    ? []
                    : [{ targetPort: REDIS_INTERNAL_PORT, publishedPort: spec.publishedPort, publishMode: "host", protocol: "tcp" }],
        },
    };
}
