/**
 * Everything the benchmarks create on the Docker engine, and how it is always removed.
 *
 * One run has one id (`nrb` + 8 hex digits). Every fleet it starts is named `<id>-...` and
 * every other container it creates carries the harness's run label with the value
 * `<id>-extra`, so one removal (`removeRun`) finds exactly this run's containers, volumes and
 * networks and never anybody else's. It runs at the end, after a failure, on
 * Ctrl-C, and — through a detached watchdog process (harness/watchdog.ts) that outlives this
 * one — even when this process is killed.
 */
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { type Docker, connectDocker, imageExists, isNotFound } from "../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, waitFor } from "../harness/fleet";
import { type RemovedCounts, removeRun, sleep, startWatchdog } from "../harness/cleanup";
import { type ArchiveEntry, tarArchive } from "../cli/docker/archive";

export { sleep };

export const ROOT = path.resolve(__dirname, "..");

export interface ExtraContainer {
    id: string;
    name: string;
    /** Loopback host port of the container's 6379, when published. */
    port?: number;
}

export class BenchRun {
    readonly id = `nrb${randomBytes(4).toString("hex")}`;
    private readonly started = performance.now();
    private engine: Docker | undefined;

    /**
     * Connects to the engine (negotiating the API version) and checks it has the test image.
     * Returns why not, or undefined when both are there.
     */
    async connect(): Promise<string | undefined> {
        try {
            this.engine = await connectDocker();
        } catch (e) {
            return `no Docker engine answers (${e instanceof Error ? e.message : String(e)})`;
        }
        return (await imageExists(this.engine, TEST_IMAGE)) ? undefined : `no image ${TEST_IMAGE} on the engine`;
    }

    /** The engine, through dockerode; `connect()` first. */
    get docker(): Docker {
        if (!this.engine) throw new Error("the benchmark run is not connected to a Docker engine");
        return this.engine;
    }

    /** A fleet name (also its container prefix and run label value) inside this run. */
    fleetName(part: string): string {
        return `${this.id}-${part}`;
    }

    /** Progress for people, on stderr, with the time since the run started. */
    log(message: string): void {
        const seconds = ((performance.now() - this.started) / 1000).toFixed(1).padStart(6);
        process.stderr.write(`[${seconds}s] ${message}\n`);
    }

    /**
     * Creates and starts a container of the test image that is not part of any plan
     * (bare baseline containers, a fresh replica), labelled as this run's; `files` are put
     * in before it starts, as the plan's uploads are.
     */
    async runContainer(opts: {
        name: string;
        cmd?: string[];
        network?: string;
        publish?: boolean;
        hostPort?: number;
        files?: ArchiveEntry[];
    }): Promise<ExtraContainer> {
        const container = await this.docker.createContainer({
            name: opts.name,
            Image: TEST_IMAGE,
            Cmd: opts.cmd,
            Labels: { [RUN_LABEL_KEY]: `${this.id}-extra` },
            ExposedPorts: opts.publish ? { "6379/tcp": {} } : undefined,
            HostConfig: {
                // HostPort "" lets the engine pick a free loopback port.
                PortBindings: opts.publish
                    ? { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: opts.hostPort === undefined ? "" : String(opts.hostPort) }] }
                    : undefined,
                NetworkMode: opts.network,
            },
        });
        if (opts.files && opts.files.length > 0) await container.putArchive(await tarArchive(opts.files), { path: "/" });
        await container.start();
        const id = container.id;
        if (!opts.publish) return { id, name: opts.name };
        if (opts.hostPort !== undefined) return { id, name: opts.name, port: opts.hostPort };
        const inspect = await container.inspect();
        const binding = inspect.NetworkSettings.Ports?.["6379/tcp"]?.[0];
        if (!binding) throw new Error(`container ${opts.name} has no published port`);
        return { id, name: opts.name, port: Number(binding.HostPort) };
    }

    async removeContainer(name: string): Promise<void> {
        try {
            await this.docker.getContainer(name).remove({ force: true, v: true });
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    }

    /** Removes everything of this run that is still there. */
    removeAll(): Promise<RemovedCounts> {
        return removeRun(this.docker, RUN_LABEL_KEY, this.id);
    }

    /** Starts the detached watchdog that sweeps this run even if this process is killed. */
    startWatchdog(): Promise<void> {
        return startWatchdog(RUN_LABEL_KEY, this.id);
    }
}

/** The harness's poller, polling every 10 ms by default: timings should not wait on it. */
export function until<T>(what: string, check: () => Promise<T | undefined>, opts: { timeoutMs: number; intervalMs?: number }): Promise<T> {
    return waitFor(what, check, opts.timeoutMs, opts.intervalMs ?? 10);
}
