/**
 * The live harness: takes the program's own plan (the mock-runtime run `npm run synth`
 * makes) for a test stack and creates exactly those networks, volumes and containers on
 * the local Docker engine, so the live tests exercise the container specs `pulumi up`
 * would create. Any input it does not understand is refused, so a test can never run
 * something other than what the program declares.
 *
 * A test stack has its own container prefix, network and port offset, so it never
 * touches a real fleet on the same host; everything it creates carries the label
 * `nexus-redis.test-run=<run id>` and is removed by `destroy()`, on SIGINT/SIGTERM too, and
 * by a detached watchdog if the process dies without either.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import Redis, { type RedisOptions } from "ioredis";
import type { Plan, PlannedResource } from "../plan/plan";
import { mockImageId } from "../plan/mocks";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { IN_CONTAINER_TLS, type Role, containerName } from "../components/redisServer";
import { type Docker, connectDocker, exec, imageExists } from "./docker";
import { removeRun, startWatchdog } from "./cleanup";
import { TEST_PORTS, freePortOffset } from "./ports";
import { tarArchive } from "../cli/archive";

export const TEST_IMAGE = process.env.NEXUS_REDIS_TEST_IMAGE ?? "nexus-redis/redis-test:7";
export const RUN_LABEL_KEY = "nexus-redis.test-run";
const ROOT = path.resolve(__dirname, "..");

/** The `environments` stack output, with real passwords (the plan is rendered with secrets shown). */
export interface EnvironmentOutput {
    kind: "standard" | "secure";
    vault: { container: string; host: string; port: number; password: string; tls?: { serverName: string } };
    replication?: { user: string; password: string };
    operational?: { container: string; host: string; port: number; adminUser: string; adminPassword: string; tls?: { serverName: string } };
    backup: { user: string; password: string };
}

/** The stack's CA (the output `tls.ca`) when the plan has TLS. */
export function planCa(plan: Plan): string | undefined {
    return (plan.outputs.tls as { ca?: string } | undefined)?.ca;
}

/** ioredis's TLS options for an endpoint of a TLS plan: the stack's CA, and the name its certificate is for. */
export function clientTls(plan: Plan, endpoint: { tls?: { serverName: string } }): RedisOptions {
    const ca = planCa(plan);
    return endpoint.tls && ca ? { tls: { ca, servername: endpoint.tls.serverName } } : {};
}

export interface LiveFleetOptions {
    /** Environments to deploy (names from the protocol table). Default: all twelve. */
    environments?: string[];
    /** A name for this run, part of every container name. Default: random. */
    name?: string;
    /** More stack config for the plan (`-c KEY=VALUE`), e.g. vaultData. */
    config?: Record<string, string>;
    /** Secret stack config for the plan (`--secret KEY=VALUE`), e.g. passwords. */
    secrets?: Record<string, string>;
}

/** Refused plan content: the harness does not know how to create it faithfully. */
export class UnsupportedPlanError extends Error {}

/**
 * Whether a Docker engine answers and has the test image. Synchronous, so test files can
 * use it in `describe.skipIf`. Without them live tests skip loudly; under CI they fail instead.
 */
export function dockerAvailable(): boolean {
    const probe = spawnSync("docker", ["image", "inspect", "--format", "{{.Id}}", TEST_IMAGE], { encoding: "utf8", timeout: 15_000 });
    if (probe.status === 0) return true;
    const why = `no Docker engine or no image ${TEST_IMAGE} (npm test sets both up: scripts/ensure-docker.sh, scripts/build-test-image.sh)`;
    if (process.env.CI === "true") throw new Error(`live tests cannot run under CI: ${why}`);
    process.stderr.write(`\n*** SKIPPING LIVE TESTS: ${why} ***\n\n`);
    return false;
}

/** Runs `npm run synth` for a test stack and returns its plan, secrets shown. */
export async function synthPlan(config: Record<string, string>, secrets: Record<string, string> = {}): Promise<Plan> {
    const args = [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "plan/synth.ts"), "--show-secrets"];
    for (const [k, v] of Object.entries(config)) args.push("-c", `${k}=${v}`);
    for (const [k, v] of Object.entries(secrets)) args.push("--secret", `${k}=${v}`);
    const child = spawn(process.execPath, args, { cwd: ROOT });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new Error(`synth exited ${code}: ${Buffer.concat(err).toString()}`);
    return JSON.parse(Buffer.concat(out).toString()) as Plan;
}

type DockerLabels = Record<string, string>;

function labelsOf(list: unknown, extra: DockerLabels): DockerLabels {
    const labels: DockerLabels = { ...extra };
    for (const { label, value } of (list as { label: string; value: string }[] | undefined) ?? []) labels[label] = value;
    return labels;
}

function refuseUnknown(resource: PlannedResource, known: string[]): void {
    const unknown = Object.keys(resource.inputs).filter((k) => !known.includes(k));
    if (unknown.length > 0) {
        throw new UnsupportedPlanError(`${resource.type} ${resource.name}: the harness does not understand input(s) ${unknown.join(", ")}`);
    }
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
async function uploadsArchive(r: PlannedResource, uploads: unknown): Promise<Buffer | undefined> {
    const list = (uploads ?? []) as Record<string, unknown>[];
    if (list.length === 0) return undefined;
    return tarArchive(
        list.map((u) => {
            refuseUnknown({ ...r, inputs: u }, ["file", "content", "permissions", "owner", "group"]);
            const permissions = String(u.permissions ?? "0644");
            if (!/^0[0-7]{3}$/.test(permissions))
                throw new UnsupportedPlanError(`${r.name}: upload permissions ${permissions} are not 0[0-7]{3}`);
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

/** What `LiveFleet.apply` did, by resource name. */
export interface ApplyResult {
    created: string[];
    replaced: string[];
    deleted: string[];
}

export class LiveFleet {
    readonly label: string;
    private readonly clients: Redis[] = [];
    private readonly images = new Map<string, string>();
    private readonly onSignal = () => {
        void this.destroy().finally(() => process.exit(130));
    };

    constructor(
        readonly runId: string,
        /** The plan the fleet's resources were last created from (what Pulumi's state would hold). */
        public plan: Plan,
        readonly prefix: string,
        /** The engine, through dockerode (connected with `connectDocker`). */
        readonly docker: Docker,
        /** The stack config the plan was made with (`-c`), to plan the next state from. */
        readonly config: Record<string, string> = {},
        /** Secret stack config (`--secret`) besides passwords. */
        readonly secrets: Record<string, string> = {},
    ) {
        this.label = `${RUN_LABEL_KEY}=${runId}`;
        process.once("SIGINT", this.onSignal);
        process.once("SIGTERM", this.onSignal);
    }

    /** The stack output `environments`, with passwords. */
    get outputs(): Record<string, EnvironmentOutput> {
        return this.plan.outputs.environments as Record<string, EnvironmentOutput>;
    }

    containerName(env: string, role: Role): string {
        return containerName(this.prefix, env, role);
    }

    /** A container of the fleet, as dockerode's handle (stop, start, kill, inspect, ...). */
    container(env: string, role: Role): Docker.Container {
        return this.docker.getContainer(this.containerName(env, role));
    }

    private resource(type: string, name: string): PlannedResource {
        return plannedResource(this.plan, type, name);
    }

    /** Creates every resource of the plan (see createInOrder). */
    async createAll(): Promise<void> {
        await createInOrder(this.plan, (r) => this.create(r));
    }

    private async create(r: PlannedResource): Promise<void> {
        const runLabel = { [RUN_LABEL_KEY]: this.runId };
        switch (r.type) {
            case "nexus-redis:redis:StandardEnvironment":
            case "nexus-redis:redis:SecureEnvironment":
            case "random:index/randomPassword:RandomPassword":
            case "tls:index/privateKey:PrivateKey":
            case "tls:index/selfSignedCert:SelfSignedCert":
            case "tls:index/certRequest:CertRequest":
            case "tls:index/locallySignedCert:LocallySignedCert":
                return; // Components hold no state; the passwords, keys and certificates are in the plan already.
            case "docker:index/remoteImage:RemoteImage": {
                refuseUnknown(r, ["name", "keepLocally"]);
                const ref = String(r.inputs.name);
                // No registry is reachable here: the image must have been built locally.
                if (!(await imageExists(this.docker, ref)))
                    throw new Error(`image ${ref} is not on this engine (no registry to pull from)`);
                this.images.set(mockImageId(ref), ref);
                return;
            }
            case "docker:index/network:Network":
                refuseUnknown(r, ["name", "driver", "labels"]);
                await this.docker.createNetwork({
                    Name: String(r.inputs.name),
                    Driver: (r.inputs.driver as string | undefined) ?? "bridge",
                    Labels: labelsOf(r.inputs.labels, runLabel),
                    // Without it, older engines happily create a second network with the same name.
                    CheckDuplicate: true,
                });
                return;
            case "docker:index/volume:Volume":
                refuseUnknown(r, ["name", "labels"]);
                await this.docker.createVolume({ Name: String(r.inputs.name), Labels: labelsOf(r.inputs.labels, runLabel) });
                return;
            case "docker:index/container:Container":
                await this.createContainer(r, runLabel);
                return;
            default:
                throw new UnsupportedPlanError(`the harness cannot create resources of type ${r.type} (${r.name})`);
        }
    }

    private async createContainer(r: PlannedResource, runLabel: DockerLabels): Promise<void> {
        refuseUnknown(r, CONTAINER_INPUTS);
        const i = r.inputs as Record<string, any>;
        const image = this.images.get(i.image);
        if (!image) throw new UnsupportedPlanError(`${r.name}: image ${i.image} is not the ID of an image in the plan`);
        const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
        const exposed: Record<string, object> = {};
        for (const p of i.ports ?? []) {
            refuseUnknown({ ...r, inputs: p }, ["internal", "external", "ip", "protocol"]);
            const key = `${p.internal}/${p.protocol ?? "tcp"}`;
            exposed[key] = {};
            portBindings[key] = portBindings[key] ?? [];
            portBindings[key].push({ HostIp: p.ip ?? "", HostPort: String(p.external ?? "") });
        }
        const networks = (i.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
        for (const n of networks) refuseUnknown({ ...r, inputs: n }, ["name", "aliases"]);
        const mounts = ((i.volumes ?? []) as Record<string, unknown>[]).map((v) => {
            refuseUnknown({ ...r, inputs: v }, ["volumeName", "hostPath", "containerPath", "readOnly"]);
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
            Labels: labelsOf(i.labels, runLabel),
            ExposedPorts: exposed,
            HostConfig: {
                PortBindings: portBindings,
                Mounts: mounts,
                RestartPolicy: i.restart ? { Name: i.restart } : undefined,
                Memory: i.memory ? i.memory * 1024 * 1024 : undefined,
                // As the provider sends it: MiB, and -1 (unlimited) as it is.
                MemorySwap: i.memorySwap ? (i.memorySwap > 0 ? i.memorySwap * 1024 * 1024 : i.memorySwap) : undefined,
                NetworkMode: networks[0]?.name,
            },
            NetworkingConfig: networks[0] ? { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases ?? [] } } } : undefined,
        });
        for (const n of networks.slice(1)) {
            await this.docker
                .getNetwork(n.name)
                .connect({ Container: container.id, EndpointConfig: n.aliases ? { Aliases: n.aliases } : {} });
        }
        // As the provider does: uploads after create, before the first start.
        const archive = await uploadsArchive(r, i.uploads);
        if (archive) await container.putArchive(archive, { path: "/" });
        await container.start();
    }

    /**
     * Removes a container (and, by default, its volume) and creates them again from the
     * plan: what `pulumi up --replace` of those resources does.
     */
    async recreate(env: string, role: Role, opts: { volume?: boolean } = {}): Promise<void> {
        const container = this.resource("docker:index/container:Container", `${env}-${role}`);
        await this.removeContainer(container);
        if (opts.volume !== false) {
            const volume = this.resource("docker:index/volume:Volume", `${env}-${role}-data`);
            await this.docker.getVolume(String(volume.inputs.name)).remove({ force: true });
            await this.create(volume);
        }
        await this.create(container);
    }

    /**
     * Deletes a container as the Docker provider does: stop with `destroyGraceSeconds` as the
     * timeout (0 when unset: the engine then kills at once), then force-remove.
     */
    private async removeContainer(r: PlannedResource): Promise<void> {
        const handle = this.docker.getContainer(String(r.inputs.name));
        const grace = Number(r.inputs.destroyGraceSeconds ?? 0);
        await handle.stop({ t: grace }).catch((e) => {
            if ((e as { statusCode?: number }).statusCode !== 304) throw e; // 304: already stopped
        });
        await handle.remove({ force: true });
    }

    /**
     * The plan of this stack with `changes` applied, the way Pulumi would see it: every
     * password of the environments deployed so far stays what it is (Pulumi keeps generated
     * passwords in its state; a fresh offline plan would generate new ones), unless `passwords`
     * changes it.
     */
    async replan(
        changes: {
            config?: Record<string, string>;
            secrets?: Record<string, string>;
            passwords?: Record<string, Record<string, string>>;
        } = {},
    ): Promise<Plan> {
        const passwords = deployedPasswords(this.outputs);
        for (const [env, roles] of Object.entries(changes.passwords ?? {})) passwords[env] = { ...passwords[env], ...roles };
        const secrets = { ...this.secrets, ...changes.secrets };
        if (Object.keys(passwords).length > 0) secrets.passwords = JSON.stringify(passwords);
        return synthPlan({ ...this.config, ...changes.config }, secrets);
    }

    /**
     * Brings the engine from this fleet's plan to `next`, as `pulumi up` would: creates what is
     * new, replaces what changed (every container input forces a replacement; delete first, as
     * the program asks, dependents before what they depend on), and removes containers that are
     * gone. Volumes are never deleted here (the vault's are retained; the run's destroy removes
     * the rest). Returns what it did.
     */
    async apply(next: Plan): Promise<ApplyResult> {
        const before = new Map(this.plan.resources.map((r) => [r.urn, r]));
        const after = new Map(next.resources.map((r) => [r.urn, r]));
        const changed = next.resources.filter(
            (r) => before.has(r.urn) && JSON.stringify(before.get(r.urn)!.inputs) !== JSON.stringify(r.inputs),
        );
        const gone = this.plan.resources.filter((r) => !after.has(r.urn));
        const result: ApplyResult = { created: [], replaced: [], deleted: [] };
        for (const r of [...changed, ...gone].reverse()) {
            if (r.type === "docker:index/container:Container") await this.removeContainer(before.get(r.urn)!);
            else if (r.type === "docker:index/volume:Volume" && after.has(r.urn)) {
                throw new UnsupportedPlanError(`${r.name}: the harness does not replace volumes (their data would go)`);
            }
        }
        for (const r of gone) if (r.type === "docker:index/container:Container") result.deleted.push(r.name);
        for (const r of next.resources) {
            const missing = r.dependsOn.filter((urn) => !after.has(urn));
            if (missing.length > 0) throw new UnsupportedPlanError(`${r.name} depends on ${missing.join(", ")}, not in the plan`);
            if (!before.has(r.urn)) {
                await this.create(r);
                result.created.push(r.name);
            } else if (changed.includes(r)) {
                await this.create(r);
                result.replaced.push(r.name);
            }
        }
        this.plan = next;
        return result;
    }

    /** An ioredis client on a container's published port; closed by destroy(). */
    client(env: string, role: Role, auth: "none" | "password" | "admin" = "none", extra: RedisOptions = {}): Redis {
        const out = this.outputs[env];
        const endpoint = role === "vault" ? out.vault : out.operational!;
        const credentials =
            auth === "password"
                ? { password: out.vault.password }
                : auth === "admin"
                  ? { username: out.operational!.adminUser, password: out.operational!.adminPassword }
                  : {};
        const client = new Redis({
            host: endpoint.host,
            port: endpoint.port,
            ...clientTls(this.plan, endpoint),
            ...credentials,
            // The operational's default user may not run everything the ready check needs.
            enableReadyCheck: false,
            maxRetriesPerRequest: 1,
            retryStrategy: (times) => (times > 50 ? null : 200),
            ...extra,
        });
        client.on("error", () => undefined); // Errors surface on the commands a test awaits.
        this.clients.push(client);
        return client;
    }

    /** redis-cli inside a container (loopback there, so DEBUG is allowed); the password goes through the environment, not argv. */
    async cli(env: string, role: Role, args: string[]): Promise<string> {
        const out = this.outputs[env];
        const auth = role === "vault" ? [`REDISCLI_AUTH=${out.vault.password}`] : [`REDISCLI_AUTH=${out.operational!.adminPassword}`];
        const userArgs = role === "operational" ? ["--user", out.operational!.adminUser] : [];
        // With TLS the container's Redis has no plain port: redis-cli uses the CA the container has.
        const script = ["sh", "-c", `${IN_CONTAINER_TLS}exec redis-cli "$@"`, "redis-cli", ...userArgs, ...args];
        const result = await exec(this.docker, this.containerName(env, role), script, { env: auth });
        if (result.exitCode !== 0) throw new Error(`redis-cli ${args.join(" ")} in ${env} ${role}: ${result.output}`);
        return result.stdout.trim();
    }

    /** `DEBUG DIGEST` of a container's dataset: equal digests mean equal data. */
    digest(env: string, role: Role): Promise<string> {
        return this.cli(env, role, ["DEBUG", "DIGEST"]);
    }

    /** Removes everything this run created, also after a failure. */
    async destroy(): Promise<void> {
        process.removeListener("SIGINT", this.onSignal);
        process.removeListener("SIGTERM", this.onSignal);
        for (const c of this.clients.splice(0)) c.disconnect();
        await removeRun(this.docker, RUN_LABEL_KEY, this.runId);
    }
}

/** The resource of `plan` of this type and name; throws when the plan has none. */
export function plannedResource(plan: Plan, type: string, name: string): PlannedResource {
    const found = plan.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`the plan has no ${type} ${name}`);
    return found;
}

/**
 * Creates every resource of `plan` in the order the program registered them, which puts each
 * resource after the ones its inputs come from; explicit `dependsOn` is checked, so a plan that
 * needed another order would fail here rather than race.
 */
export async function createInOrder(plan: Plan, create: (resource: PlannedResource) => Promise<void>): Promise<void> {
    const created = new Set<string>();
    for (const resource of plan.resources) {
        const missing = resource.dependsOn.filter((urn) => !created.has(urn));
        if (missing.length > 0) throw new UnsupportedPlanError(`${resource.name} depends on ${missing.join(", ")}, not yet created`);
        await create(resource);
        created.add(resource.urn);
    }
}

/**
 * Every password of the environments deployed so far, in the shape of the `passwords` config:
 * Pulumi keeps generated passwords in its state, so the next plan must keep them too (a fresh
 * offline plan would generate new ones).
 */
export function deployedPasswords(outputs: Record<string, EnvironmentOutput>): Record<string, Record<string, string>> {
    const passwords: Record<string, Record<string, string>> = {};
    for (const [env, out] of Object.entries(outputs)) {
        passwords[env] = {
            vault: out.vault.password,
            backup: out.backup.password,
            ...(out.replication ? { replication: out.replication.password } : {}),
            ...(out.operational ? { operationalAdmin: out.operational.adminPassword } : {}),
        };
    }
    return passwords;
}

/**
 * The keys of `keys` that the server does not hold, asked in MGETs of 10 000: a writer can have
 * had hundreds of thousands of writes acknowledged, too many to spread into one call's arguments.
 */
export async function missingKeys(client: Redis, keys: readonly string[]): Promise<string[]> {
    const missing: string[] = [];
    for (let at = 0; at < keys.length; at += 10_000) {
        const batch = keys.slice(at, at + 10_000);
        const values = await client.mget(batch);
        missing.push(...batch.filter((_, i) => values[i] === null));
    }
    return missing;
}

/** INFO parsing is the CLI's; the tests use the same. */
export { parseInfo } from "../cli/redisReplies";

/**
 * Polls `check` every `intervalMs` until it returns a value other than undefined, or
 * fails after `timeoutMs` with the last error it threw.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await check();
            if (value !== undefined) return value;
        } catch (e) {
            last = e;
        }
        if (performance.now() > deadline) {
            throw new Error(
                `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message ?? String(last)})` : ""}`,
            );
        }
        await new Promise((r) => setTimeout(r, intervalMs));
    }
}

/**
 * Plans a test stack and creates it. The stack has its own prefix, network and ports,
 * so it can never touch a real fleet on the same host. Call `destroy()` in afterAll.
 */
export async function startLiveFleet(options: LiveFleetOptions = {}): Promise<LiveFleet> {
    const environments = options.environments ?? PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    const runId = options.name ?? `nrt${randomBytes(4).toString("hex")}`;
    const prefix = `${runId}`;
    const config = {
        image: TEST_IMAGE,
        containerPrefix: prefix,
        network: `${runId}-net`,
        createNetwork: "true",
        portOffset: String(await freePortOffset(environments, TEST_PORTS)),
        environments: JSON.stringify(environments),
        ...options.config,
    };
    const plan = await synthPlan(config, options.secrets);
    // Sweeps this run's resources even if the test process is killed (kill -9, a CI timeout),
    // where neither afterAll nor a signal handler runs.
    await startWatchdog(RUN_LABEL_KEY, runId);
    const fleet = new LiveFleet(runId, plan, prefix, await connectDocker(), config, options.secrets);
    try {
        await fleet.createAll();
    } catch (e) {
        await fleet.destroy();
        throw e;
    }
    return fleet;
}
