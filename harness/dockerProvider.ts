/**
 * A stand-in for the Docker provider's containers, volumes, bridge networks and images on one
 * engine: Create, Update and Delete through the Engine API (dockerode) the way
 * kreuzwerker/terraform-provider-docker v4.5.0 (what @pulumi/docker 5.x bridges) makes them,
 * each citing its function (internal/provider/). Any input it does not understand is refused,
 * so a test can never run something other than what the program declares.
 */
import { tarArchive } from "../cli/docker/archive";
import type { FieldChange, StateResource } from "../plan/engine";
import { mockImageId } from "../plan/mocks";
import { type Docker, imageExists } from "./docker";
import { type StandInProvider, UnsupportedPlanError } from "./engineApply";

type DockerLabels = Record<string, string>;

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
const NETWORK = "docker:index/network:Network";
const IMAGE = "docker:index/remoteImage:RemoteImage";

export function labelsOf(list: unknown, extra: DockerLabels): DockerLabels {
    const labels: DockerLabels = { ...extra };
    for (const { label, value } of (list as { label: string; value: string }[] | undefined) ?? []) labels[label] = value;
    return labels;
}

function refuseUnknown(what: string, inputs: object | undefined, known: string[]): void {
    const unknown = Object.keys(inputs ?? {}).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new UnsupportedPlanError(`${what}: the harness does not understand input(s) ${unknown.join(", ")}`);
}

const CONTAINER_INPUTS = [
    "name",
    "image",
    "command",
    "uploads",
    "ports",
    "networksAdvanced",
    "volumes",
    "envs",
    "restart",
    "stopTimeout",
    "destroyGraceSeconds",
    "labels",
    "memory",
    "memorySwap",
];

/** The fields resourceDockerContainerUpdate sends (one ContainerUpdate when any changed), and one it only stores. */
const CONTAINER_UPDATE_FIELDS = ["restart", "memory", "memorySwap"];
const STATE_ONLY_FIELDS = ["destroyGraceSeconds"];

const MIB = 1024 * 1024;

/** An owner or group as the provider takes it: numbers only here, since names would be looked up on this host. */
function numericId(value: unknown, what: string): number {
    if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
    throw new UnsupportedPlanError(
        `upload ${what} ${JSON.stringify(value)} is not a number: the provider would resolve a name on the Pulumi host`,
    );
}

/**
 * The container's uploads as one tar archive, built as the Docker provider builds each
 * upload's: the file at its path, with `permissions` (octal, `0[0-7]{3}`, as the provider
 * requires; default 0644) and the numeric owner and group.
 */
async function uploadsArchive(name: string, uploads: unknown): Promise<Buffer | undefined> {
    const list = (uploads ?? []) as Record<string, unknown>[];
    if (list.length === 0) return undefined;
    return tarArchive(
        list.map((u) => {
            refuseUnknown(`${name} upload`, u, ["file", "content", "permissions", "owner", "group"]);
            const permissions = String(u.permissions ?? "0644");
            if (!/^0[0-7]{3}$/.test(permissions))
                throw new UnsupportedPlanError(`${name}: upload permissions ${permissions} are not 0[0-7]{3}`);
            return {
                path: String(u.file),
                content: String(u.content),
                mode: Number.parseInt(permissions, 8),
                uid: u.owner === undefined ? 0 : numericId(u.owner, "owner"),
                gid: u.group === undefined ? 0 : numericId(u.group, "group"),
            };
        }),
    );
}

export function statusOf(e: unknown): number | undefined {
    return (e as { statusCode?: number }).statusCode;
}

/**
 * Retries `attempt` while it answers "pending", up to `timeoutMs`: the provider's
 * retry.StateChangeConf around a removal that Docker refuses while something still uses it.
 */
async function untilRemoved(what: string, attempt: () => Promise<"removed" | "pending">, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if ((await attempt()) === "removed") return;
        if (Date.now() > deadline) throw new Error(`timeout while waiting for ${what} to be removed`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

export class DockerProvider implements StandInProvider {
    /** The mocks' image ID (plan/mocks.ts mockImageId) of each image created → its reference here. */
    private readonly images = new Map<string, string>();
    /** The state's ID of each container created (the mocks' `NAME-id`, `NAME-id.2`...) → the engine's. */
    private readonly containerIds = new Map<string, string>();

    constructor(
        /** The engine the provider talks to. */
        readonly docker: Docker,
        /** Labels added to everything created, so the run's cleanup finds it. */
        readonly runLabels: DockerLabels,
    ) {}

    handles(r: StateResource): boolean {
        if (r.type === NETWORK) return r.inputs.driver !== "overlay";
        return [CONTAINER, VOLUME, IMAGE].includes(r.type);
    }

    async create(r: StateResource): Promise<void> {
        switch (r.type) {
            case IMAGE: {
                refuseUnknown(r.name, r.inputs, ["name", "keepLocally"]);
                const ref = String(r.inputs.name);
                // No registry is reachable here: the image must have been built locally.
                if (!(await imageExists(this.docker, ref)))
                    throw new Error(`image ${ref} is not on this engine (no registry to pull from)`);
                this.images.set(mockImageId(ref), ref);
                return;
            }
            case NETWORK:
                refuseUnknown(r.name, r.inputs, ["name", "driver", "labels"]);
                await this.docker.createNetwork({
                    Name: String(r.inputs.name),
                    Driver: (r.inputs.driver as string | undefined) ?? "bridge",
                    Labels: labelsOf(r.inputs.labels, this.runLabels),
                    // Without it, older engines happily create a second network with the same name.
                    CheckDuplicate: true,
                });
                return;
            case VOLUME:
                refuseUnknown(r.name, r.inputs, ["name", "labels"]);
                await this.docker.createVolume({ Name: String(r.inputs.name), Labels: labelsOf(r.inputs.labels, this.runLabels) });
                return;
            case CONTAINER:
                await this.createContainer(r);
                return;
            default:
                throw new UnsupportedPlanError(`the Docker harness cannot create resources of type ${r.type} (${r.name})`);
        }
    }

    private async createContainer(r: StateResource): Promise<void> {
        refuseUnknown(r.name, r.inputs, CONTAINER_INPUTS);
        const i = r.inputs as Record<string, any>;
        const image = this.images.get(i.image);
        if (!image) throw new UnsupportedPlanError(`${r.name}: image ${i.image} is not the ID of an image created yet`);
        const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        const exposed: Record<string, object> = {};
        for (const p of i.ports ?? []) {
            refuseUnknown(`${r.name} port`, p, ["internal", "external", "ip", "protocol"]);
            const key = `${p.internal}/${p.protocol ?? "tcp"}`;
            exposed[key] = {};
            portBindings[key] = portBindings[key] ?? [];
            portBindings[key].push({ HostIp: p.ip ?? "", HostPort: String(p.external ?? "") });
        }
        const networks = (i.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
        for (const n of networks) refuseUnknown(`${r.name} network`, n, ["name", "aliases"]);
        const mounts = ((i.volumes ?? []) as Record<string, unknown>[]).map((v) => {
            refuseUnknown(`${r.name} volume`, v, ["volumeName", "hostPath", "containerPath", "readOnly"]);
            if ((v.volumeName === undefined) === (v.hostPath === undefined)) {
                throw new UnsupportedPlanError(`${r.name}: a volume needs exactly one of volumeName and hostPath`);
            }
            return {
                Type: v.hostPath === undefined ? ("volume" as const) : ("bind" as const),
                Source: String(v.volumeName ?? v.hostPath),
                Target: String(v.containerPath),
                ReadOnly: v.readOnly === true,
            };
        });
        const container = await this.docker.createContainer({
            name: String(i.name),
            Image: image,
            Cmd: i.command,
            Env: i.envs,
            StopTimeout: i.stopTimeout,
            Labels: labelsOf(i.labels, this.runLabels),
            ExposedPorts: exposed,
            HostConfig: {
                PortBindings: portBindings,
                Mounts: mounts,
                RestartPolicy: i.restart ? { Name: i.restart } : undefined,
                Memory: i.memory ? i.memory * MIB : undefined,
                // As the provider sends it: MiB, and -1 (unlimited) as it is.
                MemorySwap: i.memorySwap ? (i.memorySwap > 0 ? i.memorySwap * MIB : i.memorySwap) : undefined,
                NetworkMode: networks[0]?.name,
            },
            NetworkingConfig: networks[0] ? { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases ?? [] } } } : undefined,
        });
        for (const n of networks.slice(1)) {
            await this.docker
                .getNetwork(n.name)
                .connect({ Container: container.id, EndpointConfig: n.aliases ? { Aliases: n.aliases } : {} });
        }
        if (r.id) this.containerIds.set(r.id, container.id);
        // As the provider does: uploads after create, before the first start.
        const archive = await uploadsArchive(r.name, i.uploads);
        if (archive) await container.putArchive(archive, { path: "/" });
        await container.start();
    }

    /**
     * The provider's Read of a container, as far as a refresh needs it: whether the engine still
     * has a container of the ID this stand-in created it with (resource_docker_container_funcs.go
     * resourceDockerContainerRead lists the containers and looks for the ID, not the name).
     */
    async exists(r: StateResource): Promise<boolean> {
        if (r.type !== CONTAINER) return true;
        const id = r.id === undefined ? undefined : this.containerIds.get(r.id);
        if (id === undefined) throw new UnsupportedPlanError(`${r.name}: not created by this stand-in, so its engine ID is not known`);
        return (await this.docker.listContainers({ all: true })).some((c) => c.Id === id);
    }

    async update(old: StateResource, r: StateResource, changes: FieldChange[]): Promise<void> {
        const paths = changes.map((c) => c.path);
        if (r.type === IMAGE && paths.every((p) => p === "keepLocally")) return; // resourceDockerImageUpdate: state only.
        if (r.type !== CONTAINER) throw new UnsupportedPlanError(`${r.name}: ${r.type} has no in-place update of ${paths.join(", ")}`);
        const unknown = paths.filter((p) => !CONTAINER_UPDATE_FIELDS.includes(p) && !STATE_ONLY_FIELDS.includes(p));
        if (unknown.length > 0) throw new UnsupportedPlanError(`${r.name}: the harness does not update ${unknown.join(", ")} in place`);
        if (!paths.some((p) => CONTAINER_UPDATE_FIELDS.includes(p))) return;
        // resource_docker_container_funcs.go resourceDockerContainerUpdate: one ContainerUpdate with
        // the restart policy and the resources as the new inputs have them; memory in MiB (0: Docker
        // keeps the limit it has), and the swap limit only when set (`d.GetOk("memory_swap")`), in
        // MiB unless -1. Docker refuses a memory limit above the swap limit it holds.
        const i = r.inputs as Record<string, any>;
        const swap = Number(i.memorySwap ?? 0);
        await this.docker.getContainer(String(old.inputs.name)).update({
            RestartPolicy: { Name: i.restart ?? "no", MaximumRetryCount: 0 },
            CpuShares: 0,
            Memory: Number(i.memory ?? 0) * MIB,
            MemoryReservation: 0,
            CpusetCpus: "",
            ...(swap !== 0 ? { MemorySwap: swap > 0 ? swap * MIB : swap } : {}),
        });
    }

    async delete(r: StateResource): Promise<void> {
        switch (r.type) {
            case CONTAINER:
                return this.deleteContainer(r);
            case VOLUME: {
                // resource_docker_volume.go resourceDockerVolumeDelete: VolumeRemove(force), retried while in use (30 s).
                const volume = this.docker.getVolume(String(r.inputs.name));
                return untilRemoved(`volume ${r.inputs.name}`, async () => {
                    try {
                        await volume.remove({ force: true });
                        return "removed";
                    } catch (e) {
                        if (/volume is in use/.test(String(e))) return "pending";
                        throw e;
                    }
                });
            }
            case NETWORK: {
                // resource_docker_network_funcs.go resourceDockerNetworkDelete: gone already is removed;
                // retried while "has active endpoints" (30 s); any other refusal fails the up.
                const network = this.docker.getNetwork(String(r.inputs.name));
                return untilRemoved(`network ${r.inputs.name}`, async () => {
                    try {
                        await network.inspect();
                    } catch {
                        return "removed";
                    }
                    try {
                        await network.remove();
                        return "removed";
                    } catch (e) {
                        if (/has active endpoints/.test(String(e))) return "pending";
                        throw e;
                    }
                });
            }
            case IMAGE:
                // resource_docker_image_funcs.go resourceDockerImageDelete removes the image unless keep_locally.
                if (r.inputs.keepLocally === true) return;
                throw new UnsupportedPlanError(`${r.name}: the harness never removes an image (the engine is shared)`);
            default:
                throw new UnsupportedPlanError(`the Docker harness cannot delete resources of type ${r.type} (${r.name})`);
        }
    }

    /**
     * resource_docker_container_funcs.go resourceDockerContainerDelete: stop with
     * destroy_grace_seconds as the timeout (0 when unset: the engine then kills at once), then
     * force-remove with its anonymous volumes (remove_volumes defaults to true).
     */
    async deleteContainer(r: StateResource): Promise<void> {
        const handle = this.docker.getContainer(String(r.inputs.name));
        const grace = Number(r.inputs.destroyGraceSeconds ?? 0);
        await handle.stop({ t: grace }).catch((e) => {
            // 304: already stopped; 404: no such container, which the provider ignores too.
            if (statusOf(e) !== 304 && statusOf(e) !== 404) throw e;
        });
        await handle.remove({ force: true, v: true }).catch((e) => {
            if (statusOf(e) !== 404) throw e;
        });
    }
}
