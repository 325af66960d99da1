/**
 * The Swarm harness: takes the program's own plan for a `platform: swarm` test stack and
 * creates exactly its overlay network, secrets, configs and services on a Swarm manager
 * through the Engine API, the way the Docker provider maps each input (kreuzwerker's
 * `createServiceSpec`, which @pulumi/docker 5.2 runs). An input it does not understand is
 * refused, so the tests always run what the program declares. No Pulumi CLI runs here.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import Redis, { type RedisOptions } from "ioredis";
import { parseGoDuration } from "../plan/engineModel";
import type { EngineState } from "../plan/engine";
import { runEngineProcess } from "../plan/engineProcess";
import type { Plan, PlannedResource } from "../plan/plan";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { IN_CONTAINER_TLS, type Role, containerName } from "../components/redisServer";
import { exec } from "./docker";
import {
    type EnvironmentOutput,
    RUN_LABEL_KEY,
    TEST_IMAGE,
    UnsupportedPlanError,
    clientTls,
    createInOrder,
    deployedPasswords,
    plannedResource,
    synthPlan,
} from "./fleet";
import type { SwarmCluster, SwarmNode } from "./swarm";

/** The image the Swarm tests run: the Docker tests' own (scripts/build-test-image.sh), loaded into every node. */
export const SWARM_TEST_IMAGE = process.env.NEXUS_REDIS_SWARM_TEST_IMAGE ?? TEST_IMAGE;

/** The stack output `environments` of a Swarm deployment, with passwords. */
export type SwarmEnvironmentOutput = EnvironmentOutput & {
    platform: "swarm";
    swarm: { network: string; image: string; vaultNode: string };
    vault: { publishedPort?: number };
    operational?: { publishedPort?: number };
};

export interface SwarmFleetOptions {
    /** Environments to deploy. Default: the whole table. */
    environments?: string[];
    /** Environment → node name (`n1`...) of its vault. Default: every vault on the manager. */
    vaultNodes?: Record<string, string>;
    /** Roles published in host mode (the tests reach the servers through them). Default both. */
    publish?: ("vault" | "operational")[];
    /** More stack config (`-c`). */
    config?: Record<string, string>;
    /** Secret stack config (`--secret`). */
    secrets?: Record<string, string>;
    /** Create the plan's resources now. Default true. */
    create?: boolean;
}

/** A running task of a service: where it runs and its container there. */
export interface RunningTask {
    id: string;
    node: SwarmNode;
    containerId: string;
}

type Labels = Record<string, string>;

function labelsOf(list: unknown, extra: Labels): Labels {
    const labels: Labels = { ...extra };
    for (const { label, value } of (list as { label: string; value: string }[] | undefined) ?? []) labels[label] = value;
    return labels;
}

function refuseUnknown(what: string, inputs: object | undefined, known: string[]): void {
    const unknown = Object.keys(inputs ?? {}).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new UnsupportedPlanError(`${what}: the Swarm harness does not understand input(s) ${unknown.join(", ")}`);
}

/** A Go duration as the provider parses it ("60s", "2s", "1m30s") in nanoseconds. */
export function durationNs(text: string): number {
    try {
        return parseGoDuration(text);
    } catch {
        throw new UnsupportedPlanError(`"${text}" is not a duration`);
    }
}

/** The provider's update/rollback config, with the defaults its schema gives every unset field. */
function updateConfig(what: string, c: Record<string, any> | undefined): Record<string, unknown> {
    refuseUnknown(what, c, ["parallelism", "delay", "failureAction", "monitor", "maxFailureRatio", "order"]);
    return {
        Parallelism: c?.parallelism ?? 1,
        Delay: durationNs(c?.delay ?? "0s"),
        FailureAction: c?.failureAction ?? "pause",
        Monitor: durationNs(c?.monitor ?? "5s"),
        MaxFailureRatio: Number(c?.maxFailureRatio ?? "0.0"),
        Order: c?.order ?? "stop-first",
    };
}

export class SwarmFleet {
    private readonly clients: Redis[] = [];
    /** The plan's IDs of the network, secrets and configs (the mocks' `NAME-id`) → the manager's. */
    private readonly ids = new Map<string, string>();

    constructor(
        readonly cluster: SwarmCluster,
        readonly runId: string,
        /** The plan the fleet was last created from (what Pulumi's state would hold). */
        public plan: Plan,
        readonly prefix: string,
        readonly config: Record<string, string>,
        readonly secrets: Record<string, string> = {},
    ) {}

    get docker() {
        return this.cluster.manager.docker;
    }

    /** The stack output `environments`, with passwords. */
    get outputs(): Record<string, SwarmEnvironmentOutput> {
        return this.plan.outputs.environments as Record<string, SwarmEnvironmentOutput>;
    }

    serviceName(env: string, role: Role): string {
        return containerName(this.prefix, env, role);
    }

    private resource(type: string, name: string): PlannedResource {
        return plannedResource(this.plan, type, name);
    }

    /** Creates every resource of the plan in the order the program registered them (createInOrder). */
    async createAll(): Promise<void> {
        await createInOrder(this.plan, (r) => this.create(r));
    }

    private get runLabel(): Labels {
        return { [RUN_LABEL_KEY]: this.runId };
    }

    private async create(r: PlannedResource): Promise<void> {
        const i = r.inputs as Record<string, any>;
        switch (r.type) {
            case "nexus-redis:redis:StandardEnvironment":
            case "nexus-redis:redis:SecureEnvironment":
            case "random:index/randomPassword:RandomPassword":
            case "random:index/randomId:RandomId":
            case "tls:index/privateKey:PrivateKey":
            case "tls:index/selfSignedCert:SelfSignedCert":
            case "tls:index/certRequest:CertRequest":
            case "tls:index/locallySignedCert:LocallySignedCert":
                return; // Nothing on the engine: the values (passwords, keys, certificates, the vault volume's name) are in the plan.
            case "docker:index/network:Network":
                refuseUnknown(r.name, i, ["name", "driver", "attachable", "labels"]);
                if (i.driver !== "overlay")
                    throw new UnsupportedPlanError(`${r.name}: a Swarm stack's network must be an overlay, got ${i.driver}`);
                {
                    const created = await this.docker.createNetwork({
                        Name: i.name,
                        Driver: "overlay",
                        Attachable: i.attachable === true,
                        Labels: labelsOf(i.labels, this.runLabel),
                        CheckDuplicate: true,
                    });
                    // Services attach by the network's ID (the plan's is the mocks' NAME-id).
                    this.ids.set(`${r.name}-id`, created.id);
                }
                return;
            case "docker:index/secret:Secret": {
                refuseUnknown(r.name, i, ["name", "data", "labels"]);
                // The provider decodes standard base64 and sends the bytes (the Engine API wants base64 again).
                const created = await this.docker.createSecret({ Name: i.name, Data: i.data, Labels: labelsOf(i.labels, this.runLabel) });
                this.ids.set(`${r.name}-id`, created.id ?? created.ID);
                return;
            }
            case "docker:index/serviceConfig:ServiceConfig": {
                refuseUnknown(r.name, i, ["name", "data", "labels"]);
                const created = await this.docker.createConfig({ Name: i.name, Data: i.data, Labels: labelsOf(i.labels, this.runLabel) });
                this.ids.set(`${r.name}-id`, created.id ?? created.ID);
                return;
            }
            case "docker:index/service:Service":
                await this.docker.createService(this.serviceSpec(r) as any);
                return;
            default:
                throw new UnsupportedPlanError(`the Swarm harness cannot create resources of type ${r.type} (${r.name})`);
        }
    }

    private realId(planId: string, what: string): string {
        // The engine's plan names a replacement's ID NAME-id.2 (plan/engineRun.ts): the newest object of that name.
        const id = this.ids.get(planId) ?? this.ids.get(planId.replace(/\.\d+$/, ""));
        if (!id) throw new UnsupportedPlanError(`${what}: ${planId} is not a network, secret or config of the plan created yet`);
        return id;
    }

    /** The Engine API ServiceSpec the provider sends for a planned docker.Service. */
    serviceSpec(r: PlannedResource): Record<string, unknown> {
        const i = r.inputs as Record<string, any>;
        refuseUnknown(r.name, i, ["name", "labels", "mode", "taskSpec", "updateConfig", "rollbackConfig", "endpointSpec"]);
        refuseUnknown(`${r.name}.mode`, i.mode, ["replicated"]);
        const t = i.taskSpec ?? {};
        refuseUnknown(`${r.name}.taskSpec`, t, ["containerSpec", "networksAdvanceds", "placement", "restartPolicy", "resources"]);
        const c = t.containerSpec ?? {};
        refuseUnknown(`${r.name}.containerSpec`, c, [
            "image",
            "args",
            "commands",
            "env",
            "labels",
            "mounts",
            "secrets",
            "configs",
            "stopGracePeriod",
        ]);
        const file = (what: string, f: Record<string, any>, idKey: string, nameKey: string) => {
            refuseUnknown(what, f, [idKey, nameKey, "fileName", "fileUid", "fileGid", "fileMode"]);
            return {
                File: { Name: f.fileName, UID: f.fileUid ?? "0", GID: f.fileGid ?? "0", Mode: f.fileMode ?? 0o444 },
                [idKey === "secretId" ? "SecretID" : "ConfigID"]: this.realId(f[idKey], what),
                [idKey === "secretId" ? "SecretName" : "ConfigName"]: f[nameKey],
            };
        };
        const mounts = (c.mounts ?? []).map((m: Record<string, any>) => {
            refuseUnknown(`${r.name} mount`, m, ["type", "source", "target", "readOnly", "volumeOptions", "tmpfsOptions"]);
            refuseUnknown(`${r.name} volumeOptions`, m.volumeOptions, ["labels", "noCopy"]);
            refuseUnknown(`${r.name} tmpfsOptions`, m.tmpfsOptions, ["sizeBytes", "mode"]);
            return {
                Type: m.type,
                Source: m.source ?? "",
                Target: m.target,
                ReadOnly: m.readOnly === true,
                ...(m.volumeOptions
                    ? { VolumeOptions: { NoCopy: m.volumeOptions.noCopy === true, Labels: labelsOf(m.volumeOptions.labels, {}) } }
                    : {}),
                ...(m.tmpfsOptions ? { TmpfsOptions: { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode } } : {}),
            };
        });
        const placement = t.placement ?? {};
        refuseUnknown(`${r.name}.placement`, placement, ["constraints"]);
        refuseUnknown(`${r.name}.restartPolicy`, t.restartPolicy, ["condition", "delay", "maxAttempts", "window"]);
        refuseUnknown(`${r.name}.resources`, t.resources, ["limits"]);
        refuseUnknown(`${r.name}.resources.limits`, t.resources?.limits, ["memoryBytes"]);
        const e = i.endpointSpec ?? {};
        refuseUnknown(`${r.name}.endpointSpec`, e, ["mode", "ports"]);
        for (const n of t.networksAdvanceds ?? []) refuseUnknown(`${r.name} network`, n, ["id", "aliases"]);
        return {
            Name: i.name,
            Labels: labelsOf(i.labels, this.runLabel),
            Mode: { Replicated: { Replicas: i.mode?.replicated?.replicas ?? 1 } },
            TaskTemplate: {
                ContainerSpec: {
                    Image: c.image,
                    ...(c.commands ? { Command: c.commands } : {}),
                    ...(c.args ? { Args: c.args } : {}),
                    ...(c.env ? { Env: Object.entries(c.env).map(([k, v]) => `${k}=${v}`) } : {}),
                    Labels: labelsOf(c.labels, this.runLabel),
                    Mounts: mounts,
                    Secrets: (c.secrets ?? []).map((s: Record<string, any>) => file(`${r.name} secret`, s, "secretId", "secretName")),
                    Configs: (c.configs ?? []).map((s: Record<string, any>) => file(`${r.name} config`, s, "configId", "configName")),
                    ...(c.stopGracePeriod ? { StopGracePeriod: durationNs(c.stopGracePeriod) } : {}),
                },
                Networks: (t.networksAdvanceds ?? []).map((n: Record<string, any>) => ({
                    Target: this.realId(n.id, `${r.name} network`),
                    Aliases: n.aliases ?? [],
                })),
                Placement: { Constraints: placement.constraints ?? [] },
                ...(t.restartPolicy
                    ? {
                          RestartPolicy: {
                              Condition: t.restartPolicy.condition,
                              ...(t.restartPolicy.delay ? { Delay: durationNs(t.restartPolicy.delay) } : {}),
                              ...(t.restartPolicy.window ? { Window: durationNs(t.restartPolicy.window) } : {}),
                          },
                      }
                    : {}),
                ...(t.resources?.limits ? { Resources: { Limits: { MemoryBytes: t.resources.limits.memoryBytes } } } : {}),
            },
            UpdateConfig: updateConfig(`${r.name}.updateConfig`, i.updateConfig),
            RollbackConfig: updateConfig(`${r.name}.rollbackConfig`, i.rollbackConfig),
            EndpointSpec: {
                Mode: e.mode ?? "vip",
                Ports: (e.ports ?? []).map((p: Record<string, any>) => {
                    refuseUnknown(`${r.name} port`, p, ["targetPort", "publishedPort", "publishMode", "protocol", "name"]);
                    return {
                        Protocol: p.protocol ?? "tcp",
                        TargetPort: p.targetPort,
                        PublishedPort: p.publishedPort,
                        PublishMode: p.publishMode ?? "ingress",
                    };
                }),
            },
        };
    }

    /**
     * Brings the cluster from this fleet's plan to `next` as `pulumi up` would: new resources
     * created; a changed secret or config replaced create-first (new name, content), services
     * updated in place (Swarm rolls the task per the update config), what is gone removed.
     * Returns what it did, by resource name.
     */
    async apply(next: Plan): Promise<{ created: string[]; updated: string[]; replaced: string[]; deleted: string[] }> {
        const before = new Map(this.plan.resources.map((r) => [r.urn, r]));
        const after = new Map(next.resources.map((r) => [r.urn, r]));
        const result = { created: [] as string[], updated: [] as string[], replaced: [] as string[], deleted: [] as string[] };
        const changed = (r: PlannedResource) => before.has(r.urn) && JSON.stringify(before.get(r.urn)!.inputs) !== JSON.stringify(r.inputs);
        const oldObjects: PlannedResource[] = [];
        for (const r of next.resources) {
            if (!before.has(r.urn)) {
                await this.create(r);
                result.created.push(r.name);
            } else if (changed(r) && r.type.startsWith("tls:")) {
                // A new key or certificate holds nothing on the engine: the secret or config that carries it does.
                result.replaced.push(r.name);
            } else if (changed(r)) {
                if (r.type === "docker:index/secret:Secret" || r.type === "docker:index/serviceConfig:ServiceConfig") {
                    oldObjects.push(before.get(r.urn)!);
                    await this.create(r);
                    result.replaced.push(r.name);
                } else if (r.type === "docker:index/service:Service") {
                    if (before.get(r.urn)!.inputs.name !== r.inputs.name)
                        throw new UnsupportedPlanError(`${r.name}: a renamed service is a replacement`);
                    const svc = this.docker.getService(String(r.inputs.name));
                    const inspected = (await svc.inspect()) as { Version: { Index: number } };
                    await svc.update({ version: inspected.Version.Index, ...this.serviceSpec(r) });
                    result.updated.push(r.name);
                } else {
                    throw new UnsupportedPlanError(`${r.name}: the Swarm harness does not change ${r.type} in place`);
                }
            }
        }
        for (const r of [...this.plan.resources].reverse().filter((x) => !after.has(x.urn))) {
            // Components and passwords hold nothing on the engine (a generated password becomes
            // a given one when the next plan is made from the state, see replanSwarm).
            if (r.type.startsWith("docker:")) {
                await this.remove(r);
                result.deleted.push(r.name);
            }
        }
        // Replaced secrets and configs go once no service refers to them, as Pulumi deletes them last.
        for (const r of oldObjects) await this.remove(r);
        this.plan = next;
        this.state = this.planned.get(next) ?? this.state;
        return result;
    }

    private async remove(r: PlannedResource): Promise<void> {
        const name = String(r.inputs.name);
        if (r.type === "docker:index/service:Service") await this.removeService(name);
        else if (r.type === "docker:index/secret:Secret") await this.docker.getSecret(name).remove();
        else if (r.type === "docker:index/serviceConfig:ServiceConfig") await this.docker.getConfig(name).remove();
        else if (r.type === "docker:index/network:Network") await this.docker.getNetwork(name).remove();
    }

    /**
     * Removes a service and waits until its tasks' containers are gone, as the provider does
     * when the service has a stop grace period (a removed service's tasks vanish from the
     * manager's list at once, while their containers are still stopping).
     */
    private async removeService(name: string): Promise<void> {
        const containers = (await this.tasks(name))
            .filter((t) => t.Status?.ContainerStatus?.ContainerID && t.NodeID)
            .map((t) => ({ node: this.cluster.node(t.NodeID), id: t.Status.ContainerStatus.ContainerID as string }));
        await this.docker.getService(name).remove();
        await waitUntil(
            `service ${name}'s containers to be gone`,
            async () => {
                for (const c of containers) {
                    try {
                        await c.node.docker.getContainer(c.id).inspect();
                        return false;
                    } catch {
                        // Gone (404), or its node is down: nothing of it runs.
                    }
                }
                return true;
            },
            120_000,
        );
    }

    /**
     * Replaces a role's service as `pulumi up --replace` does with deleteBeforeReplace: the
     * old one removed (its task stopped) before the new one is created.
     */
    async replaceService(env: string, role: Role): Promise<void> {
        const r = this.resource("docker:index/service:Service", `${env}-${role}`);
        await this.removeService(String(r.inputs.name));
        await this.create(r);
    }

    /**
     * The plan of this stack with `config` changed, as Pulumi would make it from its state
     * (plan/engineRun.ts): every generated password, key and certificate stays what the state
     * holds (a fresh offline plan would make new ones and replace every secret and config).
     * `apply` of that plan makes its state the fleet's.
     */
    async replanSwarm(config: Record<string, string> = {}): Promise<Plan> {
        if (!this.state) {
            return synthPlan(
                { ...this.config, ...config },
                { ...this.secrets, passwords: JSON.stringify(deployedPasswords(this.outputs)) },
            );
        }
        const next = await runEngineProcess({
            mode: "apply",
            prior: this.state,
            values: { ...this.config, ...config },
            secrets: this.secrets,
        });
        this.planned.set(next.plan, next.state);
        return next.plan;
    }

    /** The engine's state after the plan the fleet was last created or updated from, when it was planned by the engine. */
    state: EngineState | undefined;
    private readonly planned = new WeakMap<Plan, EngineState>();

    /** The image the running task of a role was started from (its task's spec), or undefined. */
    async runningImage(env: string, role: Role): Promise<string | undefined> {
        const task = (await this.tasks(this.serviceName(env, role))).find(
            (t) => t.DesiredState === "running" && t.Status?.State === "running",
        );
        return task?.Spec?.ContainerSpec?.Image;
    }

    /** The tasks of a service the manager still knows, newest first. */
    async tasks(serviceName: string): Promise<any[]> {
        try {
            const tasks = await this.docker.listTasks({ filters: JSON.stringify({ service: [serviceName] }) });
            return tasks.sort((a, b) => String(b.CreatedAt).localeCompare(String(a.CreatedAt)));
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode === 404) return [];
            throw e;
        }
    }

    /** The task of a role that runs now, or undefined. */
    async running(env: string, role: Role): Promise<RunningTask | undefined> {
        const task = (await this.tasks(this.serviceName(env, role))).find(
            (t) => t.DesiredState === "running" && t.Status?.State === "running",
        );
        if (!task) return undefined;
        return { id: task.ID, node: this.cluster.node(task.NodeID), containerId: task.Status.ContainerStatus.ContainerID };
    }

    /** Waits until a role runs (on another node than `notOn`, when given) and returns its task. */
    async waitRunning(env: string, role: Role, opts: { notOn?: SwarmNode; timeoutMs?: number } = {}): Promise<RunningTask> {
        let found: RunningTask | undefined;
        await waitUntil(
            `${env} ${role} running${opts.notOn ? ` off ${opts.notOn.name}` : ""}`,
            async () => {
                found = await this.running(env, role);
                return found !== undefined && found.node !== opts.notOn;
            },
            opts.timeoutMs ?? 180_000,
        );
        return found!;
    }

    /** Where the test process reaches a role: its node's address and its published port. */
    async endpoint(env: string, role: Role): Promise<{ host: string; port: number }> {
        const out = this.outputs[env];
        const port = role === "vault" ? out.vault.publishedPort : out.operational?.publishedPort;
        if (port === undefined) throw new Error(`${env} ${role} is not published in this fleet's plan`);
        const task = await this.waitRunning(env, role);
        return { host: task.node.address, port };
    }

    /** An ioredis client on a role's published port (where it runs now); closed by destroy(). */
    async client(env: string, role: Role, auth: "none" | "password" | "admin" = "none", extra: RedisOptions = {}): Promise<Redis> {
        const out = this.outputs[env];
        const credentials =
            auth === "password"
                ? { password: out.vault.password }
                : auth === "admin"
                  ? { username: out.operational!.adminUser, password: out.operational!.adminPassword }
                  : {};
        const client = new Redis({
            ...(await this.endpoint(env, role)),
            ...credentials,
            ...clientTls(this.plan, role === "vault" ? out.vault : out.operational!),
            enableReadyCheck: false,
            maxRetriesPerRequest: 1,
            retryStrategy: (times) => (times > 50 ? null : 200),
            ...extra,
        });
        client.on("error", () => undefined);
        this.clients.push(client);
        return client;
    }

    /** redis-cli inside the role's task container, on the node that runs it (loopback there: DEBUG works); the password by environment. */
    async cli(env: string, role: Role, args: string[]): Promise<string> {
        const out = this.outputs[env];
        const task = await this.waitRunning(env, role);
        const auth = role === "vault" ? out.vault.password : out.operational!.adminPassword;
        const userArgs = role === "operational" ? ["--user", out.operational!.adminUser] : [];
        const script = ["sh", "-c", `${IN_CONTAINER_TLS}exec redis-cli "$@"`, "redis-cli", ...userArgs, ...args];
        const result = await exec(task.node.docker, task.containerId, script, {
            env: [`REDISCLI_AUTH=${auth}`],
        });
        if (result.exitCode !== 0) throw new Error(`redis-cli ${args.join(" ")} in ${env} ${role}: ${result.output}`);
        return result.stdout.trim();
    }

    digest(env: string, role: Role): Promise<string> {
        return this.cli(env, role, ["DEBUG", "DIGEST"]);
    }

    /** Closes the clients and removes the services, secrets, configs and network (the cluster's teardown would too). */
    async destroy(): Promise<void> {
        for (const c of this.clients.splice(0)) c.disconnect();
        const byLabel = { filters: JSON.stringify({ label: [`${RUN_LABEL_KEY}=${this.runId}`] }) };
        for (const s of await this.docker.listServices(byLabel).catch(() => []))
            await this.docker
                .getService(s.ID)
                .remove()
                .catch(() => undefined);
        for (const s of await this.docker.listSecrets(byLabel).catch(() => []))
            await this.docker
                .getSecret(s.ID)
                .remove()
                .catch(() => undefined);
        for (const c of await this.docker.listConfigs(byLabel).catch(() => []))
            await this.docker
                .getConfig(c.ID)
                .remove()
                .catch(() => undefined);
    }
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 250): Promise<number> {
    const started = performance.now();
    let last: unknown;
    for (;;) {
        try {
            if (await check()) return performance.now() - started;
        } catch (e) {
            last = e;
        }
        if (performance.now() - started > timeoutMs) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`,
            );
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/** The ID of an image on a node (`sha256:…`): what a swarm stack's `image` names a loaded image by. */
export async function imageId(node: SwarmNode, reference: string): Promise<string> {
    return ((await node.docker.getImage(reference).inspect()) as { Id: string }).Id;
}

/**
 * Plans a `platform: swarm` test stack for `cluster` (its own prefix and network; vaults on
 * the nodes given) and, unless told not to, creates it. Call `destroy()` when done.
 */
export async function startSwarmFleet(cluster: SwarmCluster, options: SwarmFleetOptions = {}): Promise<SwarmFleet> {
    const environments = options.environments ?? PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    const runId = `nrs${randomBytes(3).toString("hex")}`;
    const nodeId = (name: string) => {
        const node = cluster.nodes.find((n) => n.name === name);
        if (!node) throw new Error(`no node ${name} in the cluster`);
        return node.id;
    };
    const vaults = Object.fromEntries(Object.entries(options.vaultNodes ?? {}).map(([env, node]) => [env, nodeId(node)]));
    const config = {
        platform: "swarm",
        // By ID: swarm takes only a pinned image (config.ts isPinnedImage), and with no registry
        // here every node has the image loaded from the same `docker save`, so the same ID.
        image: await imageId(cluster.manager, SWARM_TEST_IMAGE),
        containerPrefix: runId,
        network: `${runId}-net`,
        createNetwork: "true",
        environments: JSON.stringify(environments),
        swarmNodes: JSON.stringify({ vault: cluster.manager.id, vaults }),
        swarmPublish: JSON.stringify(options.publish ?? ["vault", "operational"]),
        ...options.config,
    };
    // Planned as the engine's first `pulumi up` would: a later replanSwarm starts from its state,
    // so what the provider generated (passwords, TLS keys and certificates) stays.
    const { plan, state } = await runEngineProcess({ mode: "apply", values: config, secrets: options.secrets });
    const fleet = new SwarmFleet(cluster, runId, plan, runId, config, options.secrets);
    fleet.state = state;
    if (options.create !== false) {
        try {
            await fleet.createAll();
        } catch (e) {
            await fleet.destroy();
            throw e;
        }
    }
    return fleet;
}
