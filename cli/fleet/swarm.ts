/**
 * How the operator CLI reaches a Swarm deployment (the stack output says `platform: "swarm"`).
 *
 * Run it on a manager node (or with DOCKER_HOST naming one). The servers are services on an
 * overlay network this machine is not on, and their tasks move between nodes, so:
 *
 * - **Route.** One short-lived probe container of the deployment's own Redis image is started
 *   on the manager, attached to the (attachable) overlay. Every conversation with a server
 *   is carried through it: the CLI listens on a loopback port, and the bytes of each
 *   connection go through a `docker exec` in the probe to the task's address on the overlay
 *   and back (busybox `nc`, or bash's /dev/tcp in the Debian-based official image). The CLI
 *   speaks to Redis exactly as it does on one host (the same sessions, one round trip per
 *   server, the same bounds); passwords travel inside the Redis protocol on the exec's stdin,
 *   never in an argument or an environment variable. The probe is removed when the command
 *   ends (and, should the CLI be killed, ends by itself when its lifetime runs out).
 * - **Tasks.** The manager's task list says where each service's task runs; the probe connects
 *   to that task's address, and a service with no running task is reported as such, with the
 *   cause (its node down, nowhere to run, its container failing), instead of as a timeout.
 *
 * Host-mode published ports (`swarmPublish`) are for clients that cannot join the overlay;
 * the CLI does not need them.
 *
 * dockerode is loaded only here, and only when a Swarm deployment is checked.
 */
import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import type Dockerode from "dockerode";
import { engineAddress } from "../docker/engine";
import type { NodeFacts, PlacementSource, SwarmObservation, TaskPlacement, EnvironmentOutput, EnvironmentsOutput } from "./environment";
import { OutputsError } from "../core/errors";
import { type FailureKind, type Relay, type RelayedAddress, RelayError } from "../redis/session";

/** Label on the probe container: `docker ps --filter label=nexus-redis.probe` finds a stray one. */
export const PROBE_LABEL = "nexus-redis.probe";

/** Newest Engine API the CLI was written against; older engines are spoken to in their own. */
const MAX_API_VERSION = "1.45";

/**
 * The relay inside the probe: bytes between the exec's stdin/stdout and ADDRESS:PORT.
 * busybox (the alpine and test images) has nc, which half-closes when its stdin ends and
 * waits up to 5 s for the rest of the answer; the Debian-based official image has bash,
 * which cannot half-close a /dev/tcp socket: it gives the answer a second, then stops.
 */
export const RELAY_SCRIPT = `if command -v nc >/dev/null 2>&1; then exec nc -w 5 "$1" "$2"; fi
exec bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; cat <&3 & cat >&3; sleep 1; kill $! 2>/dev/null' "$1" "$2"`;

/** What the relay's stderr says when it could not reach the server, as a failure. */
export function relayFailure(stderr: string, host: string): { kind: FailureKind; message: string } | undefined {
    const text = stderr.trim();
    if (text === "") return undefined;
    if (/refused/i.test(text)) return { kind: "refused", message: "refused the connection (nothing listens: Redis not started?)" };
    if (/bad address|not known|unknown host|Name does not resolve/i.test(text))
        return { kind: "unreachable", message: `host ${host} not found` };
    if (/timed out|timeout/i.test(text)) return { kind: "unreachable", message: "did not accept a connection (timed out)" };
    if (/no route|unreachable/i.test(text)) return { kind: "unreachable", message: `is unreachable (${text.split("\n")[0]})` };
    return { kind: "error", message: `could not be reached through the overlay: ${text.split("\n")[0]}` };
}

interface TaskInfo {
    ID: string;
    NodeID?: string;
    CreatedAt: string;
    DesiredState: string;
    Status: { State: string; Message?: string; Err?: string };
    NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses?: string[] }[];
}

/** A Swarm deployment's route: the relay for the sessions and the manager's view of the tasks. */
export class SwarmRoute implements Relay, PlacementSource {
    private probe: Promise<Dockerode.Container> | undefined;
    private readonly servers = new Set<Server>();
    private nodesCache: { at: number; nodes: Promise<NodeFacts[]> } | undefined;

    constructor(
        private readonly docker: Dockerode,
        /** The overlay and the image, from the stack output. */
        private readonly network: string,
        private readonly image: string,
        /** Seconds the probe lives at most, should this process never remove it. */
        private readonly lifetimeSeconds: number,
    ) {}

    /** Every task the manager has of a service, newest first; [] when there is no such service. */
    private async tasks(service: string): Promise<TaskInfo[] | undefined> {
        try {
            await this.docker.getService(service).inspect();
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode === 404) return undefined;
            throw e;
        }
        const tasks = (await this.docker.listTasks({ filters: JSON.stringify({ service: [service] }) })) as TaskInfo[];
        return tasks.sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
    }

    private nodes(): Promise<NodeFacts[]> {
        // One listing serves every environment of a check.
        if (!this.nodesCache || Date.now() - this.nodesCache.at > 1000) {
            const nodes = this.docker.listNodes().then((list) =>
                (list as { ID: string; Description?: { Hostname?: string }; Status?: { State?: string } }[]).map((n) => ({
                    id: n.ID,
                    hostname: n.Description?.Hostname ?? n.ID,
                    state: n.Status?.State ?? "unknown",
                })),
            );
            this.nodesCache = { at: Date.now(), nodes };
        }
        return this.nodesCache.nodes;
    }

    private placementOf(tasks: TaskInfo[] | undefined, nodes: NodeFacts[]): TaskPlacement {
        if (!tasks) return { exists: false };
        const running = tasks.find((t) => t.DesiredState === "running" && t.Status.State === "running");
        if (running)
            return {
                exists: true,
                node: nodes.find((n) => n.id === running.NodeID) ?? { id: running.NodeID ?? "?", hostname: "?", state: "unknown" },
            };
        const newest = tasks.find((t) => t.DesiredState === "running") ?? tasks[0];
        return newest
            ? { exists: true, waiting: { state: newest.Status.State, message: newest.Status.Err || newest.Status.Message || "" } }
            : { exists: true, waiting: { state: "none", message: "no task" } };
    }

    async observe(env: EnvironmentOutput): Promise<SwarmObservation> {
        const [nodes, vaultTasks, operationalTasks] = await Promise.all([
            this.nodes(),
            this.tasks(env.vault.container),
            env.kind === "standard" ? this.tasks(env.operational.container) : Promise.resolve(undefined),
        ]);
        const vaultNode = nodes.find((n) => n.id === env.swarm?.vaultNode);
        return {
            vault: this.placementOf(vaultTasks, nodes),
            ...(env.kind === "standard" ? { operational: this.placementOf(operationalTasks, nodes) } : {}),
            ...(vaultNode ? { vaultNode } : {}),
            otherReadyNodes: nodes.filter((n) => n.state === "ready" && n.id !== env.swarm?.vaultNode).length,
        };
    }

    /** The overlay address of the service's running task. */
    private async taskAddress(service: string): Promise<string> {
        const tasks = await this.tasks(service);
        if (!tasks) throw new RelayError("unreachable", `has no service ${service} on the Swarm`);
        const running = tasks.find((t) => t.DesiredState === "running" && t.Status.State === "running");
        if (!running) throw new RelayError("unreachable", "runs no task (the service is not running on any node)");
        const attachment = running.NetworksAttachments?.find((a) => a.Network.Spec.Name === this.network);
        const address = attachment?.Addresses?.[0]?.split("/")[0];
        if (!address) throw new RelayError("error", `its task has no address on ${this.network}`);
        return address;
    }

    private startProbe(): Promise<Dockerode.Container> {
        this.probe ??= (async () => {
            const container = await this.docker.createContainer({
                Image: this.image,
                Entrypoint: ["sleep"],
                Cmd: [String(this.lifetimeSeconds)],
                Labels: { [PROBE_LABEL]: String(process.pid) },
                HostConfig: { AutoRemove: true, NetworkMode: this.network },
            });
            await container.start();
            return container;
        })();
        return this.probe;
    }

    /**
     * A loopback address whose one connection is carried to `target` (a service name and its
     * port) through a `docker exec` of the relay in the probe.
     */
    async open(target: { host: string; port: number }): Promise<RelayedAddress> {
        const [address, probe] = await Promise.all([this.taskAddress(target.host), this.startProbe()]);
        let failure: { kind: FailureKind; message: string } | undefined;
        const server = createServer();
        this.servers.add(server);
        server.once("connection", (socket: Socket) => {
            server.close();
            this.servers.delete(server);
            void this.carry(probe, address, target, socket, (f) => {
                failure = f;
            });
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve());
        });
        const port = (server.address() as { port: number }).port;
        return { host: "127.0.0.1", port, failure: () => failure };
    }

    private async carry(
        probe: Dockerode.Container,
        address: string,
        target: { host: string; port: number },
        socket: Socket,
        fail: (failure: { kind: FailureKind; message: string }) => void,
    ): Promise<void> {
        socket.pause();
        let stderr = "";
        try {
            const execution = await probe.exec({
                Cmd: ["sh", "-c", RELAY_SCRIPT, "nexus-redis-relay", address, String(target.port)],
                AttachStdin: true,
                AttachStdout: true,
                AttachStderr: true,
                Tty: false,
            });
            const stream = (await execution.start({ hijack: true, stdin: true })) as unknown as NodeJS.ReadWriteStream & {
                destroy(): void;
                end(): void;
            };
            const out = new Writable({
                write(chunk: Buffer, _encoding, done) {
                    if (!socket.destroyed) socket.write(chunk);
                    done();
                },
            });
            const err = new Writable({
                write(chunk: Buffer, _encoding, done) {
                    stderr += chunk.toString("utf8");
                    done();
                },
            });
            this.docker.modem.demuxStream(stream, out, err);
            socket.on("data", (chunk) => stream.write(chunk));
            // The client is done: the relay's stdin ends, and it exits.
            socket.on("end", () => stream.end());
            socket.on("error", () => stream.destroy());
            socket.on("close", () => stream.destroy());
            stream.on("end", () => {
                const f = relayFailure(stderr, target.host);
                if (f) fail(f);
                socket.destroy();
            });
            stream.on("error", () => socket.destroy());
            socket.resume();
        } catch (e) {
            fail({ kind: "error", message: `could not be reached through the probe: ${(e as Error).message}` });
            socket.destroy();
        }
    }

    /** Removes the probe (the engine removes it once it is killed: AutoRemove). */
    async close(): Promise<void> {
        for (const server of this.servers) server.close();
        this.servers.clear();
        const probe = this.probe;
        this.probe = undefined;
        if (!probe) return;
        try {
            await (await probe).kill();
        } catch {
            // Already gone, or never started.
        }
    }
}

/** Connects to the manager DOCKER_HOST names (else the local socket), pinned to an API version both speak. */
export async function connectManager(env: Readonly<Record<string, string | undefined>>): Promise<Dockerode> {
    // Loaded here and only here: commands on a Docker deployment never pay for it.
    const Docker = require("dockerode") as typeof Dockerode;
    const options = engineAddress(env.DOCKER_HOST);
    const where = options.socketPath ?? `${options.host}:${options.port}`;
    let version: string;
    try {
        version = (await new Docker(options).version()).ApiVersion;
    } catch (e) {
        throw new OutputsError(
            `the stack runs on Docker Swarm and no Docker engine answers at ${where} (${(e as Error).message}): run nexus-redis on a Swarm manager, or set DOCKER_HOST to one`,
        );
    }
    const [major, minor] = version.split(".").map(Number);
    const [maxMajor, maxMinor] = MAX_API_VERSION.split(".").map(Number);
    const pinned = major < maxMajor || (major === maxMajor && minor < maxMinor) ? version : MAX_API_VERSION;
    const docker = new Docker({ ...options, version: `v${pinned}` });
    const info = (await docker.info()) as { Swarm?: { ControlAvailable?: boolean; LocalNodeState?: string } };
    if (!info.Swarm?.ControlAvailable) {
        throw new OutputsError(
            `the stack runs on Docker Swarm and the engine at ${where} is not a Swarm manager (swarm state: ${info.Swarm?.LocalNodeState ?? "unknown"}): run nexus-redis on a manager, or set DOCKER_HOST to one`,
        );
    }
    return docker;
}

/**
 * For a Swarm deployment, connects to the manager and gives every environment its route
 * (`via` on each server, `placement` on the environment); returns the route to close, or
 * undefined for a Docker deployment (nothing changes then).
 */
export async function attachSwarmRoute(
    environments: EnvironmentsOutput,
    env: Readonly<Record<string, string | undefined>>,
    lifetimeSeconds: number,
): Promise<SwarmRoute | undefined> {
    const all = Object.values(environments);
    const swarm = all.filter((e) => e.platform === "swarm");
    if (swarm.length === 0) return undefined;
    if (swarm.length !== all.length) throw new OutputsError("the stack output mixes Docker and Swarm environments");
    const networks = new Set(swarm.map((e) => e.swarm!.network));
    if (networks.size !== 1) throw new OutputsError(`the stack's environments are on ${networks.size} overlay networks; one is expected`);
    const route = new SwarmRoute(await connectManager(env), [...networks][0], swarm[0].swarm!.image, lifetimeSeconds);
    for (const e of swarm) {
        e.placement = route;
        e.vault.via = route;
        if (e.kind === "standard") e.operational.via = route;
    }
    return route;
}
