/**
 * Redis containers started by hand, the way the protocol's operators built their fleet
 * (`docker run ... redis-server --requirepass ...`, Redis's default persistence), and data
 * to fill them with: the "before" of the vault-start and adoption tests.
 *
 * Everything carries the run label, so a fleet's destroy() (or the watchdog) removes it too.
 */
import Redis from "ioredis";
import { RUN_LABEL_KEY, TEST_IMAGE, waitFor } from "./fleet";
import { type Docker, containerLog, exec, isNotFound } from "./docker";
import { TEST_PORTS, freePorts } from "./ports";

/** Where a hand-built container keeps /data. */
export type HandBuiltData =
    | { kind: "volume"; name: string }
    | { kind: "host"; path: string }
    /** The image's VOLUME /data: Docker makes an anonymous volume. */
    | { kind: "anonymous" };

export interface HandBuiltOptions {
    runId: string;
    name: string;
    /** redis-server arguments after `redis-server` (the image's entrypoint runs it as redis). */
    args: string[];
    data: HandBuiltData;
    /** Publish 6379 on this host port (default: a free loopback one). */
    port?: number;
    /** Where the data is mounted in the container (default /data): a vault started with another --dir has it there. */
    mountAt?: string;
    /** Host address the port is published on: default 127.0.0.1; "" publishes on every interface, as `-p PORT:6379` does. */
    hostIp?: string;
    network?: string;
    /** More labels (the run label is always set). */
    labels?: Record<string, string>;
    image?: string;
}

export interface HandBuilt {
    name: string;
    port: number;
}

/** Creates a labelled volume of the run. */
export async function createRunVolume(docker: Docker, runId: string, name: string): Promise<string> {
    await docker.createVolume({ Name: name, Labels: { [RUN_LABEL_KEY]: runId } });
    return name;
}

/** Starts a Redis container by hand, as the protocol's operators did. */
/** Removes the named volumes a test made (created by it, or by what it ran); one already gone is fine. */
export async function removeVolumes(docker: Docker, names: Iterable<string>): Promise<void> {
    for (const name of names)
        await docker
            .getVolume(name)
            .remove()
            .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
}

export async function startHandBuilt(docker: Docker, o: HandBuiltOptions): Promise<HandBuilt> {
    const port = o.port ?? (await freePorts(1, TEST_PORTS))[0];
    const target = o.mountAt ?? "/data";
    const mounts =
        o.data.kind === "volume"
            ? [{ Type: "volume" as const, Source: o.data.name, Target: target }]
            : o.data.kind === "host"
              ? [{ Type: "bind" as const, Source: o.data.path, Target: target }]
              : [];
    const container = await docker.createContainer({
        name: o.name,
        Image: o.image ?? TEST_IMAGE,
        Cmd: ["redis-server", ...o.args],
        Labels: { [RUN_LABEL_KEY]: o.runId, ...o.labels },
        ExposedPorts: { "6379/tcp": {} },
        HostConfig: {
            PortBindings: { "6379/tcp": [{ HostIp: o.hostIp ?? "127.0.0.1", HostPort: String(port) }] },
            Mounts: mounts,
            RestartPolicy: { Name: "unless-stopped" },
            NetworkMode: o.network,
        },
    });
    await container.start();
    return { name: o.name, port };
}

/** A client of a hand-built container; the caller disconnects it. */
export function handBuiltClient(port: number, password?: string): Redis {
    const client = new Redis({ host: "127.0.0.1", port, password, enableReadyCheck: false, maxRetriesPerRequest: 1, lazyConnect: true });
    client.on("error", () => undefined);
    return client;
}

/** Waits until the server on `port` answers PING (with `password`). */
export async function waitForRedis(port: number, password?: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
        `Redis on port ${port}`,
        async () => {
            const client = handBuiltClient(port, password);
            try {
                await client.connect();
                return (await client.ping()) === "PONG" ? true : undefined;
            } finally {
                client.disconnect();
            }
        },
        timeoutMs,
    );
}

/**
 * Writes `count` keys of several types (strings, hashes, lists, sets, sorted sets, and
 * strings with an expiry a day away), pipelined in batches. Key names start with `prefix`.
 */
export async function fillDataset(client: Redis, count: number, prefix = "k"): Promise<void> {
    const batch = 5_000;
    for (let start = 0; start < count; start += batch) {
        const pipeline = client.pipeline();
        for (let i = start; i < Math.min(count, start + batch); i++) {
            const key = `${prefix}:${i}`;
            switch (i % 6) {
                case 0:
                    pipeline.set(key, `value-${i}`);
                    break;
                case 1:
                    pipeline.hset(key, "field", String(i), "other", `v${i}`);
                    break;
                case 2:
                    pipeline.rpush(key, "a", String(i), "c");
                    break;
                case 3:
                    pipeline.sadd(key, "x", String(i));
                    break;
                case 4:
                    pipeline.zadd(key, i, "member", i + 1, "other");
                    break;
                default:
                    pipeline.set(key, `expiring-${i}`, "EX", 86_400);
            }
        }
        const results = await pipeline.exec();
        const failed = results?.find(([err]) => err);
        if (failed) throw failed[0];
    }
}

/** Stops a container the way `docker stop` does (SIGTERM: Redis saves and exits), waiting up to `seconds`. */
export async function stopGracefully(docker: Docker, name: string, seconds = 60): Promise<void> {
    await docker.getContainer(name).stop({ t: seconds });
}

/** `redis-cli` inside a container, the password through REDISCLI_AUTH (never argv). */
export async function cliIn(docker: Docker, container: string, args: string[], password?: string): Promise<string> {
    const result = await exec(docker, container, ["redis-cli", ...args], { env: password ? [`REDISCLI_AUTH=${password}`] : undefined });
    if (result.exitCode !== 0) throw new Error(`redis-cli ${args[0]} in ${container}: ${result.output}`);
    return result.stdout.trim();
}

/** The container's log, stdout and stderr together. */
export function logsOf(docker: Docker, name: string): Promise<string> {
    return containerLog(docker.getContainer(name));
}
