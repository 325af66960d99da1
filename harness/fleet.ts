/**
 * The live harness: a test stack deployed on the local Docker engine by the stand-in for
 * `pulumi up` (harness/engineApply.ts): the program planned as the engine plans it, from the
 * state the last up left, and each step carried out as the Docker provider carries it out
 * (harness/dockerProvider.ts), so the live tests exercise what `pulumi up` would do. Any
 * input the harness does not understand is refused, so a test can never run something other
 * than what the program declares.
 *
 * A test stack has its own container prefix, network and port offset, so it never
 * touches a real fleet on the same host; everything it creates carries the label
 * `nexus-redis.test-run=<run id>` and is removed by `destroy()`, on SIGINT/SIGTERM too, and
 * by a detached watchdog if the process dies without either.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import Redis, { type RedisOptions } from "ioredis";
import { refreshState } from "../plan/engine";
import type { EngineFacts } from "../plan/engineModel";
import type { Plan } from "../plan/plan";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { IN_CONTAINER_TLS, type Role, containerName } from "../components/redisServer";
import { type Docker, connectDocker, exec } from "./docker";
import { removeRun, startWatchdog } from "./cleanup";
import { DockerProvider } from "./dockerProvider";
import { STATE_ONLY_PROVIDER, type StackConfig, type StandInProvider, StandInStack } from "./engineApply";
import { TEST_PORTS, freePortOffset } from "./ports";

export { type ApplyResult, type PlannedRun, type StackChanges, type StackConfig, UnsupportedPlanError, changesOf } from "./engineApply";

export const TEST_IMAGE = process.env.NEXUS_REDIS_TEST_IMAGE ?? "nexus-redis/redis-test:7";
export const RUN_LABEL_KEY = "nexus-redis.test-run";

/**
 * A new test run's id, which names and labels everything it creates: `nrt` and 8 hex digits,
 * or NEXUS_REDIS_TEST_RUN_PREFIX's prefix instead, for runs that share the engine with another
 * test run and must be told apart from it by name too.
 */
export function newRunId(): string {
    const prefix = process.env.NEXUS_REDIS_TEST_RUN_PREFIX || "nrt";
    // The shape harness/watchdog.ts accepts, which keeps its sweep to one run's label.
    if (!/^nr[a-z]{1,3}$/.test(prefix)) throw new Error(`NEXUS_REDIS_TEST_RUN_PREFIX must be nr and 1 to 3 letters, not ${prefix}`);
    return `${prefix}${randomBytes(4).toString("hex")}`;
}

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
    /** More stack config (`pulumi config set KEY VALUE`), e.g. vaultData. */
    config?: Record<string, string>;
    /** Secret stack config (`pulumi config set --secret KEY VALUE`), e.g. passwords. */
    secrets?: Record<string, string>;
    /** Another checkout of the program to plan with (Pulumi.yaml, index.ts). Default: PROGRAM_DIR. */
    projectDir?: string;
}

/**
 * The program the live and Swarm tests deploy: this repository's, or the checkout
 * NEXUS_REDIS_PROGRAM_DIR names (Pulumi.yaml, index.ts and what it imports): how a test is
 * shown to fail on an earlier version of the program.
 */
export const PROGRAM_DIR: string | undefined = process.env.NEXUS_REDIS_PROGRAM_DIR || undefined;

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

/**
 * A test stack on the local engine, deployed by the stand-in for `pulumi up`
 * (harness/engineApply.ts): planned as the engine plans it from the state the last up left,
 * each step carried out as the Docker provider would (harness/dockerProvider.ts).
 */
export class LiveFleet extends StandInStack {
    readonly label: string;
    readonly provider: DockerProvider;
    private readonly clients: Redis[] = [];
    private readonly onSignal = () => {
        void this.destroy().finally(() => process.exit(130));
    };

    constructor(
        readonly runId: string,
        readonly prefix: string,
        /** The engine, through dockerode (connected with `connectDocker`). */
        readonly docker: Docker,
        config: StackConfig = { values: {}, secrets: {} },
        options: StandInStack["stackOptions"] = {},
    ) {
        super(config, options);
        this.label = `${RUN_LABEL_KEY}=${runId}`;
        this.provider = new DockerProvider(docker, { [RUN_LABEL_KEY]: runId });
        process.once("SIGINT", this.onSignal);
        process.once("SIGTERM", this.onSignal);
    }

    protected providers(): StandInProvider[] {
        return [STATE_ONLY_PROVIDER, this.provider];
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

    /** What the engine knows of this engine: whether it limits swap (Docker stores -1 for any swap limit without). */
    async facts(): Promise<EngineFacts> {
        const info = (await this.docker.info()) as { SwapLimit?: boolean };
        return { swapLimit: info.SwapLimit !== false };
    }

    /**
     * `pulumi refresh`: the state after each container's Read (plan/engine.ts refreshState): a
     * container no longer on the engine under the ID it was created with leaves the state, even
     * where another container has its name. Volumes, networks and the image are taken as read.
     */
    async refresh(): Promise<void> {
        const found = new Map<string, boolean>();
        for (const r of this.state.resources) found.set(r.urn, await this.provider.exists(r));
        this.state = refreshState(this.state, (r) => found.get(r.urn) !== false);
    }

    /**
     * Removes a container (and, by default, its volume) and creates them again as the state
     * holds them: what `pulumi up --replace` of those resources does.
     */
    async recreate(env: string, role: Role, opts: { volume?: boolean } = {}): Promise<void> {
        const container = this.resourceState("docker:index/container:Container", `${env}-${role}`);
        await this.provider.deleteContainer(container);
        if (opts.volume !== false) {
            const volume = this.resourceState("docker:index/volume:Volume", `${env}-${role}-data`);
            await this.provider.delete(volume);
            await this.provider.create(volume);
        }
        await this.provider.create(container);
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
export { parseInfo } from "../cli/redis/replies";

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

/** The configuration of a test stack: its own prefix, network and ports, so it can never touch a real fleet on the same host. */
export function testStackConfig(name: string, environments: string[], portOffset: number): Record<string, string> {
    return {
        image: TEST_IMAGE,
        containerPrefix: name,
        network: `${name}-net`,
        createNetwork: "true",
        portOffset: String(portOffset),
        environments: JSON.stringify(environments),
    };
}

/**
 * Plans a test stack and creates it: its first `pulumi up`, through the stand-in. Call
 * `destroy()` in afterAll.
 */
export async function startLiveFleet(options: LiveFleetOptions = {}): Promise<LiveFleet> {
    const environments = options.environments ?? PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    const runId = options.name ?? newRunId();
    const values = { ...testStackConfig(runId, environments, await freePortOffset(environments, TEST_PORTS)), ...options.config };
    // Sweeps this run's resources even if the test process is killed (kill -9, a CI timeout),
    // where neither afterAll nor a signal handler runs.
    await startWatchdog(RUN_LABEL_KEY, runId);
    const fleet = new LiveFleet(
        runId,
        runId,
        await connectDocker(),
        { values, secrets: options.secrets ?? {} },
        { projectDir: options.projectDir ?? PROGRAM_DIR },
    );
    try {
        await fleet.createAll();
    } catch (e) {
        await fleet.destroy();
        throw e;
    }
    return fleet;
}
