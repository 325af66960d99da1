/**
 * The Swarm harness: a `platform: swarm` test stack deployed on a Swarm manager by the
 * stand-in for `pulumi up` (harness/engineApply.ts): planned as the engine plans it from the
 * state the last up left, and each step carried out through the Engine API as the Docker
 * provider does it (kreuzwerker/terraform-provider-docker v4.5.0, which @pulumi/docker 5.2
 * bridges: `createServiceSpec` for the spec in harness/swarmServiceSpec.ts; its Create, Update
 * and Delete functions in harness/swarmProvider.ts, cited where each is stood in for). An input
 * it does not understand is refused, so the tests always run what the program declares. No
 * Pulumi CLI runs here.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import Redis, { type RedisOptions } from "ioredis";
import type { EngineFacts } from "../plan/engineModel";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { IN_CONTAINER_TLS, type Role, containerName } from "../components/redisServer";
import { exec } from "./docker";
import { DockerProvider } from "./dockerProvider";
import { STATE_ONLY_PROVIDER, type StackConfig, type StandInProvider, StandInStack, planRun } from "./engineApply";
import { type EnvironmentOutput, PROGRAM_DIR, RUN_LABEL_KEY, TEST_IMAGE, clientTls } from "./fleet";
import type { SwarmCluster, SwarmNode } from "./swarm";
import { SERVICE, SwarmProvider, serviceTasks } from "./swarmProvider";

export { durationNs } from "./swarmServiceSpec";

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
    /** Create the plan's resources now (the stack's first up). Default true; false: planned only, `createAll` creates. */
    create?: boolean;
    /** Another checkout of the program to plan with (Pulumi.yaml, index.ts). Default: PROGRAM_DIR. */
    projectDir?: string;
}

/** A running task of a service: where it runs and its container there. */
export interface RunningTask {
    id: string;
    node: SwarmNode;
    containerId: string;
}

/**
 * A `platform: swarm` stack on a test cluster, deployed through the manager's engine (the one
 * the provider talks to). Its overlay networks, secrets, configs and services go to the Swarm
 * stand-in (harness/swarmProvider.ts); containers, volumes and bridge networks (a stack that
 * was on `platform: docker` on the manager) go to the Docker stand-in (harness/dockerProvider.ts).
 */
export class SwarmFleet extends StandInStack {
    private readonly clients: Redis[] = [];
    readonly dockerProvider: DockerProvider;
    readonly swarmProvider: SwarmProvider;

    constructor(
        readonly cluster: SwarmCluster,
        readonly runId: string,
        config: StackConfig,
        options: StandInStack["stackOptions"] & {
            /** The state of the stack so far (a stack deployed before, on the manager). */
            state?: StandInStack["state"];
            /** The real IDs of what that stack created (state ID → the manager's ID). */
            ids?: Map<string, string>;
        } = {},
    ) {
        super(config, options);
        if (options.state) this.state = options.state;
        const runLabel = { [RUN_LABEL_KEY]: runId };
        this.dockerProvider = new DockerProvider(cluster.manager.docker, runLabel);
        this.swarmProvider = new SwarmProvider(cluster.manager.docker, runLabel, this.dockerProvider, options.ids);
    }

    protected providers(): StandInProvider[] {
        return [STATE_ONLY_PROVIDER, this.swarmProvider, this.dockerProvider];
    }

    /** The engine of a Swarm stack knows nothing the model needs: the image is pinned, networks go by ID. */
    async facts(): Promise<EngineFacts> {
        return {};
    }

    get docker() {
        return this.cluster.manager.docker;
    }

    /** The stack output `environments`, with passwords. */
    get outputs(): Record<string, SwarmEnvironmentOutput> {
        return this.plan.outputs.environments as Record<string, SwarmEnvironmentOutput>;
    }

    /** The stack's container prefix as of the last up (a new one renames the services). */
    get prefix(): string {
        return this.config.values.containerPrefix ?? this.runId;
    }

    serviceName(env: string, role: Role): string {
        return containerName(this.prefix, env, role);
    }

    /**
     * Replaces a role's service as `pulumi up --replace` does with deleteBeforeReplace: the old
     * one deleted as the provider deletes it (deleteService), then the new one created.
     */
    async replaceService(env: string, role: Role): Promise<void> {
        const r = this.resourceState(SERVICE, `${env}-${role}`);
        await this.swarmProvider.deleteService(r);
        await this.swarmProvider.create(r);
    }

    /** The image the running task of a role was started from (its task's spec), or undefined. */
    async runningImage(env: string, role: Role): Promise<string | undefined> {
        const task = (await this.tasks(this.serviceName(env, role))).find(
            (t) => t.DesiredState === "running" && t.Status?.State === "running",
        );
        return task?.Spec?.ContainerSpec?.Image;
    }

    /** The tasks of a service the manager still knows, newest first. */
    tasks(serviceName: string): Promise<any[]> {
        return serviceTasks(this.docker, serviceName);
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
        // With TLS the task's Redis has no plain port: redis-cli uses the CA the container has.
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
    const stack = { values: config, secrets: options.secrets ?? {} };
    const projectDir = options.projectDir ?? PROGRAM_DIR;
    const planned = await planRun("apply", { resources: [] }, stack, { projectDir });
    const fleet = new SwarmFleet(cluster, runId, stack, { planned, projectDir });
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
