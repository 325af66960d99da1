/**
 * The stand-in for the Docker provider's Swarm resources (kreuzwerker/terraform-provider-docker
 * v4.5.0, which @pulumi/docker 5.2 bridges): the Create, Update and Delete of overlay
 * networks, secrets, configs and services, each through the Engine API of the manager the
 * provider talks to, and cited where each is stood in for. The stack these run for, and what
 * the tests ask of it, is harness/swarmFleet.ts.
 */
import type { FieldChange, StateResource } from "../plan/engine";
import type { Docker } from "./docker";
import { type DockerProvider, labelsOf, statusOf } from "./dockerProvider";
import { type StandInProvider, UnsupportedPlanError } from "./engineApply";
import { type Labels, durationNs, refuseUnknown, serviceSpec } from "./swarmServiceSpec";

export const NETWORK = "docker:index/network:Network";
export const SECRET = "docker:index/secret:Secret";
export const CONFIG = "docker:index/serviceConfig:ServiceConfig";
export const SERVICE = "docker:index/service:Service";

/** The tasks of a service the manager still knows, newest first (none when the service is gone). */
export async function serviceTasks(docker: Docker, serviceName: string): Promise<any[]> {
    try {
        const tasks = await docker.listTasks({ filters: JSON.stringify({ service: [serviceName] }) });
        return tasks.sort((a, b) => String(b.CreatedAt).localeCompare(String(a.CreatedAt)));
    } catch (e) {
        if (statusOf(e) === 404) return [];
        throw e;
    }
}

/**
 * Overlay networks, secrets, configs and services on the manager's engine. Bridge networks,
 * containers and volumes are the Docker stand-in's (harness/dockerProvider.ts); an overlay
 * network is deleted as it deletes a network, by the ID this stand-in created it with.
 */
export class SwarmProvider implements StandInProvider {
    /** The state's IDs of the networks, secrets and configs (the mocks' `NAME-id`, `NAME-id.2`...) → the manager's. */
    private readonly ids = new Map<string, string>();

    constructor(
        /** The manager's engine: the one the provider talks to. */
        readonly docker: Docker,
        /** Labels added to everything created, so the run's cleanup finds it. */
        readonly runLabel: Labels,
        /** The Docker stand-in on the same engine, whose network delete an overlay network's is. */
        private readonly dockerProvider: DockerProvider,
        /** The real IDs of what a stack deployed before created (state ID → the manager's ID). */
        ids: Map<string, string> = new Map(),
    ) {
        for (const [k, v] of ids) this.ids.set(k, v);
    }

    handles(r: StateResource): boolean {
        if (r.type === NETWORK) return r.inputs.driver === "overlay";
        return [SECRET, CONFIG, SERVICE].includes(r.type);
    }

    async create(r: StateResource): Promise<void> {
        const i = r.inputs as Record<string, any>;
        const id = (created: { id?: string; ID?: string }) => {
            if (!r.id) throw new Error(`${r.name}: the state gives it no ID`);
            this.ids.set(r.id, String(created.id ?? created.ID));
        };
        switch (r.type) {
            case NETWORK:
                refuseUnknown(r.name, i, ["name", "driver", "attachable", "labels"]);
                id(
                    await this.docker.createNetwork({
                        Name: i.name,
                        Driver: "overlay",
                        Attachable: i.attachable === true,
                        Labels: labelsOf(i.labels, this.runLabel),
                        CheckDuplicate: true,
                    }),
                );
                return;
            case SECRET:
                refuseUnknown(r.name, i, ["name", "data", "labels"]);
                // The provider decodes standard base64 and sends the bytes (the Engine API wants base64 again).
                id(await this.docker.createSecret({ Name: i.name, Data: i.data, Labels: labelsOf(i.labels, this.runLabel) }));
                return;
            case CONFIG:
                refuseUnknown(r.name, i, ["name", "data", "labels"]);
                id(await this.docker.createConfig({ Name: i.name, Data: i.data, Labels: labelsOf(i.labels, this.runLabel) }));
                return;
            case SERVICE:
                // resource_docker_service_funcs.go resourceDockerServiceCreate: ServiceCreate with the spec
                // (QueryRegistry set: an image given by ID, as here, has no registry to ask).
                await this.docker.createService(this.serviceSpec(r) as any);
                return;
            default:
                throw new UnsupportedPlanError(`the Swarm harness cannot create resources of type ${r.type} (${r.name})`);
        }
    }

    /**
     * resource_docker_service_funcs.go resourceDockerServiceUpdate: the service inspected for
     * its version, then ServiceUpdate with the whole new spec (createServiceSpec): Swarm rolls
     * the task as the update config says. No convergeConfig: the provider returns at once.
     * Networks, secrets and configs have nothing to update in place (every field is ForceNew).
     */
    async update(old: StateResource, r: StateResource, changes: FieldChange[]): Promise<void> {
        if (r.type !== SERVICE)
            throw new UnsupportedPlanError(`${r.name}: ${r.type} has no in-place update of ${changes.map((c) => c.path).join(", ")}`);
        const svc = this.docker.getService(String(old.inputs.name));
        const inspected = (await svc.inspect()) as { Version: { Index: number } };
        await svc.update({ version: inspected.Version.Index, ...this.serviceSpec(r) });
    }

    async delete(r: StateResource): Promise<void> {
        const target = r.type === SERVICE ? String(r.inputs.name) : this.realId(String(r.id), r.name);
        if (r.type === SERVICE) await this.deleteService(r);
        // resource_docker_secret.go resourceDockerSecretDelete, resource_docker_config.go
        // resourceDockerConfigDelete: removed by ID; Docker refuses one a service still uses.
        else if (r.type === SECRET) await this.docker.getSecret(target).remove();
        else if (r.type === CONFIG) await this.docker.getConfig(target).remove();
        else await this.dockerProvider.delete({ ...r, inputs: { ...r.inputs, name: target } });
    }

    /**
     * resource_docker_service_funcs.go deleteService: with a stop grace period, it lists the
     * service's tasks and their containers first, removes the service, then waits (up to the
     * grace period) for each container to be removed and force-removes it, each through the
     * engine the provider talks to: the manager's. A container on another node is "No such
     * container" there, which it ignores: it does not wait for it. (A grace period the wait
     * outlasts fails the delete.)
     */
    async deleteService(r: StateResource): Promise<void> {
        const name = String(r.inputs.name);
        const grace = (r.outputs.taskSpec as any)?.containerSpec?.stopGracePeriod as string | undefined;
        const containers =
            grace && grace !== "0s"
                ? (await serviceTasks(this.docker, name))
                      .filter((t) => t.Status?.ContainerStatus?.ContainerID && t.Status?.State !== "shutdown")
                      .map((t) => String(t.Status.ContainerStatus.ContainerID))
                : [];
        await this.docker.getService(name).remove();
        for (const id of containers) {
            const container = this.docker.getContainer(id);
            const waited = await Promise.race([
                container.wait({ condition: "removed" }).then(
                    () => "removed",
                    (e) => (statusOf(e) === 404 ? "absent" : Promise.reject(e)),
                ),
                new Promise((resolve) => setTimeout(() => resolve("timeout"), durationNs(grace!) / 1e6).unref()),
            ]);
            if (waited === "timeout") throw new Error(`error on wait for container with ID '${id}': context deadline exceeded`);
            await container.remove({ force: true, v: true }).catch((e) => {
                if (statusOf(e) !== 404 && !/already in progress/.test(String(e))) throw e;
            });
        }
    }

    private realId(planId: string, what: string): string {
        const id = this.ids.get(planId);
        if (!id) throw new UnsupportedPlanError(`${what}: ${planId} is not a network, secret or config created yet`);
        return id;
    }

    /** The Engine API ServiceSpec the provider sends for a planned docker.Service. */
    serviceSpec(r: StateResource): Record<string, unknown> {
        return serviceSpec(r, (planId, what) => this.realId(planId, what), this.runLabel);
    }
}
