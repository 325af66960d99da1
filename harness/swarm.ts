/**
 * A real multi-node Docker Swarm on this one machine, for the Swarm tests and benchmarks.
 *
 * Each node is its own Docker engine (Debian's dockerd) in its own network, UTS, mount and
 * PID namespaces, with its own data root, exec root, socket and cgroup parent, joined to the
 * others over a bridge of its own (`nrswXXXXXX`, a private /24). Nothing of the machine's own
 * engine is touched: the test image is only read from it (`docker save`) and loaded into
 * each node.
 *
 * Why each namespace (../shared/notes/platform-facts.md has the measured traps):
 * - network: the engines' Swarm ports and overlays must not meet the machine's own; entered
 *   with `nsenter --net` (not `ip netns exec`, which remounts /sys and breaks the engine);
 * - UTS: nodes otherwise all report the machine's hostname;
 * - PID and mount: stopping a node is killing its namespace's first process, and the kernel
 *   then kills everything in it (the engine, its containerd, every container) at once, as a
 *   power cut would, and its mounts go with it. A plain `kill` of dockerd would leave its
 *   containers running, still answering on the overlay.
 *
 * Everything is removed by `destroy()`, and by a detached watchdog (`teardown.sh`, written
 * when the cluster starts) if this process dies without calling it, kill -9 included.
 */
import { execFile, spawn, spawnSync } from "node:child_process";
import type { Socket as UdpSocket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { type Docker, connectDocker } from "./docker";
import { type Names, clusterNames, teardownScript } from "./swarmNames";
import { startResolver } from "./swarmResolver";

export { clusterNames, teardownScript } from "./swarmNames";
export { nxdomain } from "./swarmResolver";

const run = promisify(execFile);

/** Prefix of every name a cluster gives the machine (bridge, namespaces, veths, folders, cgroups, iptables comment). */
export const SWARM_PREFIX = "nrsw";
/** The overlay networks' address pool, inside the nodes only. */
const OVERLAY_POOL = "10.214.0.0/16";

export interface SwarmNode {
    /** `n1`, `n2`, ... (also the node's hostname, with the cluster's id in front). */
    name: string;
    hostname: string;
    /** Its address on the cluster's bridge. */
    address: string;
    socket: string;
    /** The node's engine, through dockerode. */
    docker: Docker;
    /** Its Swarm node ID. */
    id: string;
}

export interface SwarmClusterOptions {
    /** Number of nodes; the first is the manager. Default 3. */
    nodes?: number;
    /** Images of the machine's engine to load into every node (no registry here). */
    images: string[];
    /** Progress, for people. */
    log?: (message: string) => void;
}

async function sh(command: string, args: string[]): Promise<string> {
    const { stdout } = await run(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A /24 for the bridge that no route of this machine uses yet. */
async function freeSubnet(): Promise<string> {
    const routes = await sh("ip", ["-4", "route", "show", "table", "all"]);
    for (let attempt = 0; attempt < 100; attempt++) {
        const subnet = `10.213.${100 + Math.floor(Math.random() * 150)}`;
        if (!routes.includes(`${subnet}.`)) return subnet;
    }
    throw new Error("no free 10.213.x.0/24 for the Swarm test bridge");
}

export class SwarmCluster {
    readonly nodes: SwarmNode[] = [];
    private destroyed = false;
    private resolver: UdpSocket | undefined;
    private readonly onSignal = () => {
        void this.destroy().finally(() => process.exit(130));
    };

    private constructor(
        readonly id: string,
        readonly subnet: string,
        private readonly names: Names,
        private readonly log: (message: string) => void,
    ) {
        process.once("SIGINT", this.onSignal);
        process.once("SIGTERM", this.onSignal);
    }

    /** Builds the cluster; on any failure removes what it made and throws. */
    static async start(options: SwarmClusterOptions): Promise<SwarmCluster> {
        const count = options.nodes ?? 3;
        const id = `${SWARM_PREFIX}${randomBytes(3).toString("hex")}`;
        const subnet = await freeSubnet();
        const names = clusterNames(id, count, subnet);
        const cluster = new SwarmCluster(id, subnet, names, options.log ?? (() => undefined));
        mkdirSync(names.state, { recursive: true });
        mkdirSync(names.runtime, { recursive: true });
        writeFileSync(path.join(names.state, "teardown.sh"), teardownScript(names), { mode: 0o755 });
        cluster.startWatchdog();
        try {
            await cluster.build(options.images);
        } catch (e) {
            await cluster.destroy();
            throw e;
        }
        return cluster;
    }

    get manager(): SwarmNode {
        return this.nodes[0];
    }

    /** The node with this Swarm node ID. */
    node(id: string): SwarmNode {
        const found = this.nodes.find((n) => n.id === id);
        if (!found) throw new Error(`no node ${id} in cluster ${this.id}`);
        return found;
    }

    /** A detached shell that runs teardown.sh once this process is gone, however it ends. */
    private startWatchdog(): void {
        const script = path.join(this.names.state, "teardown.sh");
        const child = spawn("sh", ["-c", `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; exec bash ${script}`], {
            detached: true,
            stdio: "ignore",
        });
        child.unref();
    }

    private async build(images: string[]): Promise<void> {
        const started = performance.now();
        await this.buildNetwork();
        const engines = await Promise.all(this.names.nodes.map((n) => this.startEngine(n.name)));
        this.log(`swarm ${this.id}: ${engines.length} engines up`);

        // The image, saved once from the machine's engine, loaded into each node.
        if (images.length > 0) {
            const tar = path.join(this.names.state, "images.tar");
            await sh("docker", ["save", "-o", tar, ...images]);
            await Promise.all(this.names.nodes.map((n) => sh("docker", ["-H", `unix://${n.socket}`, "load", "-q", "-i", tar])));
        }
        await this.formSwarm(engines);
        this.log(`swarm ${this.id}: ${this.nodes.length} nodes joined in ${Math.round(performance.now() - started)} ms`);
    }

    /** The bridge, its FORWARD rule and resolver, and each node's network namespace and veth on it. */
    private async buildNetwork(): Promise<void> {
        const { bridge, comment } = this.names;
        await sh("ip", ["link", "add", bridge, "type", "bridge"]);
        await sh("ip", ["addr", "add", `${this.subnet}.1/24`, "dev", bridge]);
        await sh("ip", ["link", "set", bridge, "up"]);
        // The machine's engine sets FORWARD to DROP; bridged traffic between the nodes needs this.
        await sh("iptables", ["-I", "FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT", "-m", "comment", "--comment", comment]);
        // The nodes' resolver (each engine's --dns): this process, on the bridge.
        this.resolver = await startResolver(`${this.subnet}.1`);
        for (const n of this.names.nodes) {
            await sh("ip", ["netns", "add", n.namespace]);
            await sh("ip", ["link", "add", n.hostVeth, "type", "veth", "peer", "name", n.peerVeth]);
            await sh("ip", ["link", "set", n.hostVeth, "master", bridge, "up"]);
            await sh("ip", ["link", "set", n.peerVeth, "netns", n.namespace]);
            await sh("ip", ["-n", n.namespace, "link", "set", n.peerVeth, "name", "eth0"]);
            await sh("ip", ["-n", n.namespace, "addr", "add", `${n.address}/24`, "dev", "eth0"]);
            await sh("ip", ["-n", n.namespace, "link", "set", "eth0", "up"]);
            await sh("ip", ["-n", n.namespace, "link", "set", "lo", "up"]);
            mkdirSync(n.state, { recursive: true });
        }
    }

    /** The first engine initialises the Swarm, the others join; each node labelled `nrsw.node` with its name. */
    private async formSwarm(engines: Docker[]): Promise<void> {
        const [first, ...rest] = this.names.nodes;
        const manager = engines[0];
        await manager.swarmInit({
            ListenAddr: "0.0.0.0:2377",
            AdvertiseAddr: first.address,
            DefaultAddrPool: [OVERLAY_POOL],
            SubnetSize: 24,
        });
        const token = ((await manager.swarmInspect()) as { JoinTokens: { Worker: string } }).JoinTokens.Worker;
        await Promise.all(
            rest.map((n, i) =>
                engines[i + 1].swarmJoin({
                    ListenAddr: "0.0.0.0:2377",
                    AdvertiseAddr: n.address,
                    RemoteAddrs: [`${first.address}:2377`],
                    JoinToken: token,
                }),
            ),
        );
        for (const [i, n] of this.names.nodes.entries()) {
            const info = (await engines[i].info()) as { Swarm: { NodeID: string } };
            this.nodes.push({
                name: n.name,
                hostname: n.hostname,
                address: n.address,
                socket: n.socket,
                docker: engines[i],
                id: info.Swarm.NodeID,
            });
        }
        for (const node of this.nodes) await this.waitNode(node, "ready");
        for (const node of this.nodes) {
            const inspected = (await manager.getNode(node.id).inspect()) as { Version: { Index: number }; Spec: Record<string, any> };
            await manager.getNode(node.id).update({
                version: inspected.Version.Index,
                ...inspected.Spec,
                Labels: { ...inspected.Spec.Labels, "nrsw.node": node.name },
            });
        }
    }

    /**
     * Starts a node's engine in its namespaces and waits until it answers. Its runtime folder
     * is emptied first, as a reboot empties /run: stale pid files there stop the engine.
     */
    private async startEngine(name: string): Promise<Docker> {
        const n = this.names.nodes.find((x) => x.name === name)!;
        await sh("rm", ["-rf", n.execRoot, n.pidfile]);
        const dockerd = [
            "dockerd",
            `--data-root ${n.state}/data`,
            `--exec-root ${n.execRoot}`,
            `--pidfile ${n.pidfile}`,
            `-H unix://${n.socket}`,
            `--cgroup-parent ${n.cgroupParent}`,
            // Unknown names get NXDOMAIN at once (see nxdomain) instead of waiting out a timeout.
            `--dns ${this.subnet}.1`,
            "--log-level warn",
        ].join(" ");
        const log = openSync(path.join(n.state, "dockerd.log"), "a");
        const child = spawn(
            "nsenter",
            [
                `--net=/var/run/netns/${n.namespace}`,
                "unshare",
                "--uts",
                "--mount",
                "--pid",
                "--fork",
                "--mount-proc",
                "--propagation",
                "private",
                "sh",
                "-c",
                `hostname ${n.hostname} && exec ${dockerd}`,
            ],
            { detached: true, stdio: ["ignore", log, log] },
        );
        closeSync(log);
        child.unref();
        writeFileSync(path.join(n.state, "unshare.pid"), String(child.pid));
        const started = performance.now();
        for (;;) {
            try {
                if (existsSync(n.socket)) return await connectDocker({ socketPath: n.socket });
            } catch {
                // Not answering yet.
            }
            if (child.exitCode !== null) throw new Error(`node ${name}'s engine exited: ${tail(path.join(n.state, "dockerd.log"))}`);
            if (performance.now() - started > 60_000) throw new Error(`node ${name}'s engine did not answer within 60 s`);
            await sleep(100);
        }
    }

    /**
     * Stops a node the way a power cut does: its PID namespace's first process is killed,
     * and with it everything the node ran. Its volumes stay on its data root.
     */
    async stopNode(node: SwarmNode): Promise<void> {
        const n = this.names.nodes.find((x) => x.name === node.name)!;
        const unshare = Number(readFileSync(path.join(n.state, "unshare.pid"), "utf8"));
        const init = Number(readFileSync(`/proc/${unshare}/task/${unshare}/children`, "utf8").trim());
        process.kill(init, "SIGKILL");
        for (let i = 0; i < 200 && existsSync(`/proc/${init}`); i++) await sleep(50);
    }

    /** Whether a node's engine runs (it was not stopped, or was started again). */
    isRunning(node: SwarmNode): boolean {
        const n = this.names.nodes.find((x) => x.name === node.name)!;
        try {
            const unshare = Number(readFileSync(path.join(n.state, "unshare.pid"), "utf8"));
            return readFileSync(`/proc/${unshare}/task/${unshare}/children`, "utf8").trim() !== "";
        } catch {
            return false;
        }
    }

    /** Starts again every node that is stopped: a failed test leaves the cluster whole for the next. */
    async startStoppedNodes(): Promise<void> {
        for (const node of this.nodes) if (!this.isRunning(node)) await this.startNode(node);
    }

    /** Starts a stopped node again on the same data (it rejoins the Swarm by itself) and waits until the manager sees it ready. */
    async startNode(node: SwarmNode): Promise<void> {
        node.docker = await this.startEngine(node.name);
        await this.waitNode(node, "ready");
    }

    /** Waits until the manager reports `node` in `state` ("ready" or "down"); returns how long that took. */
    async waitNode(node: SwarmNode, state: "ready" | "down", timeoutMs = 120_000): Promise<number> {
        const started = performance.now();
        for (;;) {
            try {
                const inspected = (await this.manager.docker.getNode(node.id).inspect()) as { Status: { State: string } };
                if (inspected.Status.State === state) return performance.now() - started;
            } catch {
                // The manager may be busy electing or starting.
            }
            if (performance.now() - started > timeoutMs) throw new Error(`node ${node.name} not ${state} after ${timeoutMs} ms`);
            await sleep(250);
        }
    }

    /**
     * Builds `tag` from `dockerfile` (no context) on the manager and loads it into every other
     * node: how an image update reaches nodes without a registry. One build, so one image ID on
     * every node (a swarm stack names a loaded image by its ID); returns that ID.
     */
    async buildForEveryNode(tag: string, dockerfile: string): Promise<string> {
        const [first, ...others] = this.nodes;
        await new Promise<void>((resolve, reject) => {
            const child = spawn("docker", ["-H", `unix://${first.socket}`, "build", "-q", "-t", tag, "-"], {
                env: { ...process.env, DOCKER_BUILDKIT: "0" },
                stdio: ["pipe", "ignore", "pipe"],
            });
            let stderr = "";
            child.stderr.on("data", (b) => (stderr += b));
            child.on("error", reject);
            child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`docker build on ${first.name}: ${stderr}`))));
            child.stdin.end(dockerfile);
        });
        const tar = path.join(this.names.state, `${tag.replace(/[^A-Za-z0-9_.-]/g, "_")}.tar`);
        await sh("docker", ["-H", `unix://${first.socket}`, "save", "-o", tar, tag]);
        await Promise.all(others.map((n) => sh("docker", ["-H", `unix://${n.socket}`, "load", "-q", "-i", tar])));
        return (await sh("docker", ["-H", `unix://${first.socket}`, "image", "inspect", "--format", "{{.Id}}", tag])).trim();
    }

    /** Removes the whole cluster (engines, namespaces, veths, bridge, iptables rule, cgroups, folders); safe to call twice. */
    async destroy(): Promise<void> {
        if (this.destroyed) return;
        this.destroyed = true;
        process.removeListener("SIGINT", this.onSignal);
        process.removeListener("SIGTERM", this.onSignal);
        this.resolver?.close();
        await sh("bash", [path.join(this.names.state, "teardown.sh")]);
    }
}

function tail(file: string): string {
    try {
        return readFileSync(file, "utf8").trim().split("\n").slice(-5).join("\n");
    } catch {
        return "(no log)";
    }
}

/**
 * Whether a Swarm of namespaced engines can be built here (root, dockerd, nsenter, unshare,
 * ip, iptables, and `image` on the machine's engine). Synchronous, for `describe.skipIf`.
 * Without them the Swarm tests skip loudly; under CI they fail instead.
 */
export function swarmAvailable(image: string): boolean {
    const missing: string[] = [];
    if (process.getuid?.() !== 0) missing.push("root");
    for (const tool of ["dockerd", "nsenter", "unshare", "ip", "iptables"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) missing.push(tool);
    }
    if (spawnSync("docker", ["image", "inspect", image], { timeout: 15_000 }).status !== 0) missing.push(`image ${image}`);
    if (missing.length === 0) return true;
    const why = `a Swarm of namespaced engines needs ${missing.join(", ")}`;
    if (process.env.CI === "true") throw new Error(`Swarm tests cannot run under CI: ${why}`);
    process.stderr.write(`\n*** SKIPPING SWARM TESTS: ${why} ***\n\n`);
    return false;
}

/** What of a cluster is left on this machine: for the tests that prove the teardown. */
export async function leftovers(id: string): Promise<string[]> {
    const found: string[] = [];
    if ((await sh("ip", ["link", "show"])).includes(id)) found.push("links");
    if ((await sh("ip", ["netns", "list"])).includes(id)) found.push("network namespaces");
    if ((await sh("iptables", ["-S", "FORWARD"])).includes(id)) found.push("iptables rule");
    if (existsSync(`/tmp/${id}`) || existsSync(`/run/${id}`)) found.push("folders");
    if ((await sh("sh", ["-c", `ls -d /sys/fs/cgroup/*/${id}-n* 2>/dev/null || true`])).trim() !== "") found.push("cgroups");
    if ((await sh("ps", ["-eo", "args"])).includes(`/run/${id}/`)) found.push("processes");
    return found;
}
