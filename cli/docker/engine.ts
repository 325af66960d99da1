/**
 * What the Docker engine says about a container whose server did not answer (platform docker).
 * From the host, a stopped container, a crash-looping one, a paused one and a running one cut
 * off its network all look alike (the published port refuses, or accepts and stays silent),
 * and each needs another repair; the engine tells them apart.
 *
 * One Engine API call per container, `GET /containers/{name}/json`, made only when a server did
 * not answer, so a healthy check never pays for it. Over node:http rather than dockerode: loading
 * dockerode took 220-280 ms here (measured, more than a whole check), node:http and the call
 * about 30 ms. The fields read (State, NetworkSettings.Networks) are the same in every API
 * version, so the path is unversioned.
 */
import type { ContainerFacts, ContainerSource } from "../core/io";
import { EXIT_USAGE } from "../core/exit";
import { CliError } from "../core/errors";

/** A local socket, or a host and port (plain HTTP), as dockerode's options name them. */
export interface EngineAddress {
    socketPath?: string;
    host?: string;
    port?: number;
    protocol?: "http";
}

/** Where the engine listens, as the docker CLI reads DOCKER_HOST (unix:// or tcp://), else the local socket. */
export function engineAddress(dockerHost: string | undefined): EngineAddress {
    if (!dockerHost) return { socketPath: "/var/run/docker.sock" };
    if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
    const tcp = /^tcp:\/\/([^:/]+)(?::(\d+))?\/?$/.exec(dockerHost);
    if (tcp) return { host: tcp[1], port: Number(tcp[2] ?? 2375), protocol: "http" };
    // A configuration error (exit 2), as the stack output's were: the docker layer imports no fleet code.
    throw new CliError(`DOCKER_HOST ${dockerHost} is neither unix:///PATH nor tcp://HOST:PORT`, EXIT_USAGE);
}

/** The facts `check` uses from an inspect body (`GET /containers/{name}/json`). Pure. */
export function containerFacts(body: unknown): ContainerFacts {
    const b = (body ?? {}) as {
        State?: { Status?: unknown; ExitCode?: unknown; OOMKilled?: unknown };
        NetworkSettings?: { Networks?: unknown };
    };
    const networks = b.NetworkSettings?.Networks;
    return {
        exists: true,
        status: typeof b.State?.Status === "string" ? b.State.Status : "unknown",
        exitCode: typeof b.State?.ExitCode === "number" ? b.State.ExitCode : undefined,
        oomKilled: b.State?.OOMKilled === true,
        networks: typeof networks === "object" && networks !== null ? Object.keys(networks).sort() : [],
    };
}

/** The engine DOCKER_HOST names (else the local socket), asked one container at a time. */
export class EngineContainers implements ContainerSource {
    constructor(private readonly dockerHost: string | undefined) {}

    async inspect(name: string, timeoutMs: number): Promise<ContainerFacts> {
        const address = engineAddress(this.dockerHost);
        // Loaded here: a check whose servers all answer never loads it.
        const http = await import("node:http");
        return new Promise((resolve, reject) => {
            const request = http.get(
                {
                    ...(address.socketPath ? { socketPath: address.socketPath } : { host: address.host, port: address.port }),
                    path: `/containers/${encodeURIComponent(name)}/json`,
                    timeout: timeoutMs,
                },
                (response) => {
                    let text = "";
                    response.setEncoding("utf8");
                    response.on("data", (chunk: string) => (text += chunk));
                    response.on("end", () => {
                        if (response.statusCode === 404) resolve({ exists: false, networks: [] });
                        else if (response.statusCode === 200) {
                            try {
                                resolve(containerFacts(JSON.parse(text)));
                            } catch (e) {
                                reject(e);
                            }
                        } else reject(new Error(`the Docker engine answered ${response.statusCode}: ${text.trim().slice(0, 200)}`));
                    });
                    response.on("error", reject);
                },
            );
            request.on("timeout", () => request.destroy(new Error(`the Docker engine did not answer within ${timeoutMs} ms`)));
            request.on("error", reject);
        });
    }
}
