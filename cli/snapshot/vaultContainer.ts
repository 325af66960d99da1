/**
 * What the engine says about a vault's container (or Swarm service), and the temporary
 * containers backup and restore make beside it: their labels and names, and the removal of
 * those a killed run left.
 */
import { randomBytes } from "node:crypto";
import { DATA_DIR } from "../../components/redisServer";
import { type Docker, isNotFound } from "../docker/client";
import { ownerState, ownerTag } from "../core/owner";

/** Label of the containers backup and restore create for a moment (scratch servers, file helpers). */
export const LABEL_TEMPORARY = "nexus-redis.temporary";

/**
 * Label of those containers naming the process that made them, `host:pid`: a later run
 * removes what a killed one left (its process is gone), never what a running one is using.
 */
export const LABEL_OWNER = "nexus-redis.owner";

/**
 * The program's role label (components/containerSpec.ts's LABEL_ROLE, which a unit test holds
 * this equal to), written out: importing that module would load the Pulumi SDK, seconds of
 * start-up for a command that never uses it.
 */
export const LABEL_ROLE = "nexus-redis.role";

export interface VaultContainer {
    id: string;
    name: string;
    /** The image ID the container runs: scratch servers run exactly the same Redis. */
    image: string;
    labels: Record<string, string>;
    running: boolean;
    /** What is mounted at /data: a volume by name, or a host folder. */
    data: { kind: "volume"; name: string } | { kind: "bind"; source: string } | undefined;
}

export class VaultContainerError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "VaultContainerError";
    }
}

export async function inspectVaultContainer(docker: Docker, name: string): Promise<VaultContainer> {
    let info: Awaited<ReturnType<Docker.Container["inspect"]>>;
    try {
        info = await docker.getContainer(name).inspect();
    } catch (e) {
        if (isNotFound(e))
            throw new VaultContainerError(`the Docker engine has no container ${name} (is the stack deployed on this host?)`);
        throw e;
    }
    const mount = info.Mounts.find((m) => m.Destination === DATA_DIR);
    return {
        id: info.Id,
        name: info.Name.replace(/^\//, ""),
        image: info.Image,
        labels: info.Config.Labels ?? {},
        running: info.State.Running,
        data:
            mount === undefined
                ? undefined
                : mount.Type === "bind"
                  ? { kind: "bind", source: mount.Source }
                  : { kind: "volume", name: mount.Name ?? mount.Source },
    };
}

/**
 * A Swarm vault as backup needs it: the service's image (pinned: an image ID or a digest every
 * node has or pulls) and labels, and its data volume, from the manager. The scratch server then
 * runs on the manager's engine (the vault's task may be on another node): the same Redis.
 */
export async function inspectVaultService(docker: Docker, name: string): Promise<VaultContainer> {
    let spec: {
        ID: string;
        Spec: {
            Name: string;
            Labels?: Record<string, string>;
            TaskTemplate: { ContainerSpec: { Image: string; Mounts?: { Type: string; Source?: string; Target: string }[] } };
        };
    };
    try {
        spec = (await docker.getService(name).inspect()) as typeof spec;
    } catch (e) {
        if (isNotFound(e)) throw new VaultContainerError(`the Swarm has no service ${name} (is the stack deployed on this Swarm?)`);
        throw e;
    }
    const container = spec.Spec.TaskTemplate.ContainerSpec;
    const mount = container.Mounts?.find((m) => m.Target === DATA_DIR && m.Type === "volume");
    return {
        id: spec.ID,
        name: spec.Spec.Name,
        image: container.Image,
        labels: spec.Spec.Labels ?? {},
        running: true,
        data: mount?.Source ? { kind: "volume", name: mount.Source } : undefined,
    };
}

/** How a vault's data is named for people: `volume nexus3-contact-vault-data`, `folder /srv/contact`. */
export function dataName(vault: VaultContainer): string {
    if (!vault.data) return "its /data (not a mount)";
    return vault.data.kind === "volume" ? `volume ${vault.data.name}` : `folder ${vault.data.source}`;
}

/**
 * Labels of a temporary container: the vault's own (so whatever finds the vault's containers
 * by label finds these too), its role replaced by what it does, and LABEL_TEMPORARY.
 */
export function temporaryLabels(vault: VaultContainer, role: string, owner = ownerTag()): Record<string, string> {
    return { ...vault.labels, [LABEL_ROLE]: role, [LABEL_TEMPORARY]: "true", [LABEL_OWNER]: owner };
}

/** A temporary container of a vault, as the engine lists it. */
export interface TemporaryContainer {
    id: string;
    name: string;
    role: string;
    owner: string | undefined;
    /** created (never started), running, exited... */
    state: string;
    /** The container's creation, in seconds since the epoch. */
    created: number;
}

/** The temporary containers backup and restore made for this vault (by its name and their label), whoever made them. */
export async function temporaryContainersOf(docker: Docker, vault: VaultContainer): Promise<TemporaryContainer[]> {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${LABEL_TEMPORARY}=true`] } });
    return listed
        .map((c) => ({
            id: c.Id,
            name: (c.Names[0] ?? "").replace(/^\//, ""),
            role: c.Labels[LABEL_ROLE] ?? "",
            owner: c.Labels[LABEL_OWNER],
            state: c.State,
            created: c.Created,
        }))
        .filter((c) => isTemporaryNameOf(vault.name, c.name));
}

/** `{vault}-verify-{6 hex digits}` or `{vault}-restore-...`, as temporaryName makes them for this vault. */
export function isTemporaryNameOf(vaultName: string, name: string): boolean {
    return name.startsWith(`${vaultName}-`) && /^(verify|restore)-[0-9a-f]{6}$/.test(name.slice(vaultName.length + 1));
}

/** The role label of scratch servers. */
export const SCRATCH_ROLE = "backup-verify";

/**
 * Removes the scratch servers a killed backup or restore left for this vault (their process
 * is gone), never one a running process uses. Returns the names removed.
 */
export async function removeAbandonedScratch(docker: Docker, vault: VaultContainer): Promise<string[]> {
    const removed: string[] = [];
    for (const c of await temporaryContainersOf(docker, vault)) {
        if (c.role !== SCRATCH_ROLE || ownerState(c.owner) !== "dead") continue;
        await removeContainer(docker, c.id);
        removed.push(c.name);
    }
    return removed;
}

export function temporaryName(vault: VaultContainer, role: string): string {
    return `${vault.name}-${role}-${randomBytes(3).toString("hex")}`;
}

/** Removes a container and its anonymous volumes; gone already is fine (false: nothing was removed here). */
export async function removeContainer(docker: Docker, id: string): Promise<boolean> {
    try {
        await docker.getContainer(id).remove({ force: true, v: true });
        return true;
    } catch (e) {
        if (!isNotFound(e) && !/already in progress/.test((e as Error).message)) throw e;
        return false;
    }
}
