/**
 * A small Docker Engine API client for the live tests, over the unix socket
 * with node:http only (no dockerode: one less dependency, and the tests need
 * only a handful of calls).
 *
 * API version: the engine on these machines is Debian's docker.io 20.10
 * (API 1.41) while newer engines exist elsewhere. Unversioned paths would get
 * whatever the engine's newest API is, so behaviour could change under us;
 * instead the client asks `GET /version` once and pins every call to
 * min(engine ApiVersion, MAX_API_VERSION), like the docker CLI's negotiation.
 */
import * as http from "node:http";

/** Newest API version this code was written against; newer engines are asked to behave like it. */
export const MAX_API_VERSION = "1.45";
/** Oldest API version the calls below exist in (exec, labels filters, volumes). */
const MIN_API_VERSION = "1.25";

/** An error from the engine (statusCode >= 400) or from the socket (statusCode 0). */
export class DockerError extends Error {
    constructor(
        message: string,
        readonly statusCode: number,
        readonly method: string,
        readonly path: string,
        /** The engine's own message (`{"message": ...}`), when it sent one. */
        readonly engineMessage?: string,
        options?: { cause?: unknown },
    ) {
        super(message, options);
        this.name = "DockerError";
    }
}

export function isNotFound(err: unknown): boolean {
    return err instanceof DockerError && err.statusCode === 404;
}

/** Labels are `key=value` strings in filters, as in `docker ps --filter label=k=v`. */
export interface LabelFilter {
    label?: string | string[];
}

export interface ContainerSummary {
    Id: string;
    Names: string[];
    Image: string;
    State: string;
    Status: string;
    Labels: Record<string, string>;
}

export interface VolumeSummary {
    Name: string;
    Driver: string;
    Mountpoint: string;
    Labels: Record<string, string> | null;
}

export interface NetworkSummary {
    Id: string;
    Name: string;
    Driver: string;
    Labels: Record<string, string>;
}

/** The parts of `GET /containers/{id}/json` the tests look at; the rest is there untyped. */
export interface ContainerInspect {
    Id: string;
    Name: string;
    RestartCount: number;
    State: {
        Status: string;
        Running: boolean;
        Paused: boolean;
        Restarting: boolean;
        OOMKilled: boolean;
        Pid: number;
        ExitCode: number;
        StartedAt: string;
        FinishedAt: string;
        Health?: { Status: string };
    };
    Config: {
        Image: string;
        Cmd: string[] | null;
        Env: string[] | null;
        Labels: Record<string, string> | null;
    };
    HostConfig: Record<string, unknown>;
    Mounts: Array<{ Type: string; Name?: string; Source: string; Destination: string }>;
    NetworkSettings: {
        Networks: Record<string, { NetworkID: string; IPAddress: string; Aliases: string[] | null }>;
        Ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null;
    };
    [key: string]: unknown;
}

export interface ExecResult {
    exitCode: number;
    /** stdout and stderr interleaved in the order the engine sent them. */
    output: string;
    stdout: string;
    stderr: string;
}

interface RequestOptions {
    query?: Record<string, string | number | boolean | undefined>;
    body?: unknown;
    timeoutMs?: number;
}

interface RawResponse {
    statusCode: number;
    body: Buffer;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function compareVersions(a: string, b: string): number {
    const [aMaj, aMin] = a.split(".").map(Number);
    const [bMaj, bMin] = b.split(".").map(Number);
    return aMaj !== bMaj ? aMaj - bMaj : aMin - bMin;
}

/** Path segment for a name that may contain `/` and `:` (image refs): keep the slashes. */
function seg(name: string): string {
    return name.split("/").map(encodeURIComponent).join("/");
}

function labelFilters(filter: LabelFilter | undefined): string | undefined {
    if (!filter?.label) return undefined;
    const labels = Array.isArray(filter.label) ? filter.label : [filter.label];
    return JSON.stringify({ label: labels });
}

export class DockerClient {
    readonly socketPath: string;
    private apiVersion: Promise<string> | undefined;

    constructor(opts: { socketPath?: string; apiVersion?: string } = {}) {
        const fromEnv = process.env.DOCKER_HOST?.startsWith("unix://") ? process.env.DOCKER_HOST.slice("unix://".length) : undefined;
        this.socketPath = opts.socketPath ?? fromEnv ?? "/var/run/docker.sock";
        // An explicit version (or DOCKER_API_VERSION, as the CLI honours) skips negotiation.
        const pinned = opts.apiVersion ?? process.env.DOCKER_API_VERSION;
        if (pinned) this.apiVersion = Promise.resolve(pinned);
    }

    // ---------------------------------------------------------------- transport

    /** One HTTP exchange on the socket; resolves with the whole body, whatever the status. */
    private raw(method: string, path: string, body: unknown, timeoutMs: number): Promise<RawResponse> {
        return new Promise((resolve, reject) => {
            const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
            const req = http.request(
                {
                    socketPath: this.socketPath,
                    method,
                    path,
                    // A fresh connection per call: the exec stream is hijacked and closed by the
                    // engine, and tests must not keep the process alive with idle sockets.
                    agent: false,
                    headers: {
                        Host: "docker",
                        ...(payload ? { "Content-Type": "application/json", "Content-Length": payload.length } : {}),
                    },
                },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c: Buffer) => chunks.push(c));
                    res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
                    res.on("error", reject);
                },
            );
            req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
            req.on("error", (err: NodeJS.ErrnoException) =>
                reject(
                    new DockerError(
                        `docker ${method} ${path}: cannot reach engine at ${this.socketPath}: ${err.message}`,
                        0,
                        method,
                        path,
                        undefined,
                        { cause: err },
                    ),
                ),
            );
            req.end(payload);
        });
    }

    private negotiate(): Promise<string> {
        this.apiVersion ??= (async () => {
            const res = await this.raw("GET", "/version", undefined, DEFAULT_TIMEOUT_MS);
            if (res.statusCode !== 200) {
                throw new DockerError(`docker GET /version: HTTP ${res.statusCode}`, res.statusCode, "GET", "/version");
            }
            const engine = String(JSON.parse(res.body.toString("utf8")).ApiVersion ?? MIN_API_VERSION);
            return compareVersions(engine, MAX_API_VERSION) < 0 ? engine : MAX_API_VERSION;
        })().catch((err) => {
            this.apiVersion = undefined; // let a later call retry (e.g. engine started meanwhile)
            throw err;
        });
        return this.apiVersion;
    }

    /** A versioned request; throws DockerError on HTTP >= 400 with the engine's message. */
    private async call(method: string, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
        const params = new URLSearchParams();
        for (const [k, v] of Object.entries(opts.query ?? {})) {
            if (v !== undefined) params.set(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
        }
        const qs = params.toString();
        const fullPath = `/v${await this.negotiate()}${path}${qs ? `?${qs}` : ""}`;
        const res = await this.raw(method, fullPath, opts.body, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        if (res.statusCode >= 400) {
            const text = res.body.toString("utf8");
            let engineMessage: string | undefined;
            try {
                engineMessage = JSON.parse(text).message;
            } catch {
                engineMessage = text.trim() || undefined;
            }
            throw new DockerError(
                `docker ${method} ${path}: HTTP ${res.statusCode}${engineMessage ? `: ${engineMessage}` : ""}`,
                res.statusCode,
                method,
                path,
                engineMessage,
            );
        }
        return res;
    }

    private async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
        const res = await this.call(method, path, opts);
        return (res.body.length ? JSON.parse(res.body.toString("utf8")) : undefined) as T;
    }

    // ------------------------------------------------------------------- engine

    /** True when an engine answers; false (never throws) when there is none. */
    async ping(timeoutMs = 3_000): Promise<boolean> {
        try {
            const res = await this.raw("GET", "/_ping", undefined, timeoutMs);
            return res.statusCode === 200;
        } catch {
            return false;
        }
    }

    /** The API version calls are pinned to (negotiated on first use). */
    version(): Promise<string> {
        return this.negotiate();
    }

    async imageExists(ref: string): Promise<boolean> {
        try {
            await this.call("GET", `/images/${seg(ref)}/json`);
            return true;
        } catch (err) {
            if (isNotFound(err)) return false;
            throw err;
        }
    }

    // ----------------------------------------------------------------- networks

    /** Creates a network; returns its id. */
    async createNetwork(opts: { name: string; driver?: string; labels: Record<string, string>; internal?: boolean }): Promise<string> {
        const res = await this.json<{ Id: string }>("POST", "/networks/create", {
            body: {
                Name: opts.name,
                Driver: opts.driver ?? "bridge",
                Labels: opts.labels,
                Internal: opts.internal ?? false,
                // Without it, older engines happily create a second network with the same name.
                CheckDuplicate: true,
            },
        });
        return res.Id;
    }

    async removeNetwork(idOrName: string): Promise<void> {
        await this.call("DELETE", `/networks/${seg(idOrName)}`);
    }

    async connectNetwork(network: string, container: string, aliases?: string[]): Promise<void> {
        await this.call("POST", `/networks/${seg(network)}/connect`, {
            body: { Container: container, EndpointConfig: aliases ? { Aliases: aliases } : {} },
        });
    }

    async disconnectNetwork(network: string, container: string, force = false): Promise<void> {
        await this.call("POST", `/networks/${seg(network)}/disconnect`, {
            body: { Container: container, Force: force },
        });
    }

    async listNetworks(filter?: LabelFilter): Promise<NetworkSummary[]> {
        return this.json<NetworkSummary[]>("GET", "/networks", { query: { filters: labelFilters(filter) } });
    }

    // ------------------------------------------------------------------ volumes

    /** Creates a named volume; returns its name. */
    async createVolume(opts: { name: string; labels: Record<string, string> }): Promise<string> {
        const res = await this.json<{ Name: string }>("POST", "/volumes/create", {
            body: { Name: opts.name, Labels: opts.labels },
        });
        return res.Name;
    }

    async removeVolume(name: string, force = false): Promise<void> {
        await this.call("DELETE", `/volumes/${seg(name)}`, { query: { force } });
    }

    async listVolumes(filter?: LabelFilter): Promise<VolumeSummary[]> {
        const res = await this.json<{ Volumes: VolumeSummary[] | null }>("GET", "/volumes", {
            query: { filters: labelFilters(filter) },
        });
        return res.Volumes ?? []; // the engine sends null, not [], when there are none
    }

    // --------------------------------------------------------------- containers

    /** `body` is an Engine API ContainerCreate body (Image, Cmd, Labels, HostConfig, ...). Returns the id. */
    async createContainer(body: any, name: string): Promise<string> {
        const res = await this.json<{ Id: string }>("POST", "/containers/create", { query: { name }, body });
        return res.Id;
    }

    async startContainer(id: string): Promise<void> {
        await this.call("POST", `/containers/${seg(id)}/start`); // 304 = already running: fine
    }

    async stopContainer(id: string, timeoutSec?: number): Promise<void> {
        await this.call("POST", `/containers/${seg(id)}/stop`, {
            query: { t: timeoutSec },
            timeoutMs: ((timeoutSec ?? 10) + 30) * 1000, // the engine waits t seconds before SIGKILL
        });
    }

    async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
        await this.call("POST", `/containers/${seg(id)}/kill`, { query: { signal } });
    }

    async restartContainer(id: string, timeoutSec?: number): Promise<void> {
        await this.call("POST", `/containers/${seg(id)}/restart`, {
            query: { t: timeoutSec },
            timeoutMs: ((timeoutSec ?? 10) + 30) * 1000,
        });
    }

    /** `volumes: true` also removes the container's anonymous volumes (never named ones). */
    async removeContainer(id: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
        await this.call("DELETE", `/containers/${seg(id)}`, {
            query: { force: opts.force ?? false, v: opts.volumes ?? false },
        });
    }

    async inspectContainer(id: string): Promise<ContainerInspect> {
        return this.json<ContainerInspect>("GET", `/containers/${seg(id)}/json`);
    }

    async listContainers(filter?: LabelFilter, all = true): Promise<ContainerSummary[]> {
        return this.json<ContainerSummary[]>("GET", "/containers/json", {
            query: { all, filters: labelFilters(filter) },
        });
    }

    /**
     * Runs `cmd` in a running container and waits for it. Without a TTY the engine
     * multiplexes stdout/stderr in 8-byte-header frames, which are split here; a TTY
     * would turn "\n" into "\r\n" and merge the streams.
     */
    async exec(container: string, cmd: string[], env?: string[], timeoutMs = 60_000): Promise<ExecResult> {
        const created = await this.json<{ Id: string }>("POST", `/containers/${seg(container)}/exec`, {
            body: { AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd, Env: env },
        });
        const res = await this.call("POST", `/exec/${created.Id}/start`, {
            body: { Detach: false, Tty: false },
            timeoutMs,
        });
        const { output, stdout, stderr } = demultiplex(res.body);

        // The stream ends when the process exits, but the engine may record the exit
        // code a moment later: poll briefly until it is no longer running.
        for (let i = 0; ; i++) {
            const info = await this.json<{ Running: boolean; ExitCode: number | null }>("GET", `/exec/${created.Id}/json`);
            if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, output, stdout, stderr };
            if (i >= 50) throw new Error(`docker exec ${cmd.join(" ")}: no exit code after the output ended`);
            await new Promise((r) => setTimeout(r, 20));
        }
    }
}

/** Splits the engine's multiplexed stream: frames of [stream, 0, 0, 0, size (uint32 BE)] + payload. */
function demultiplex(buf: Buffer): { output: string; stdout: string; stderr: string } {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    let pos = 0;
    while (pos + 8 <= buf.length) {
        const stream = buf[pos];
        const size = buf.readUInt32BE(pos + 4);
        const payload = buf.subarray(pos + 8, pos + 8 + size);
        pos += 8 + size;
        all.push(payload);
        (stream === 2 ? err : out).push(payload);
    }
    return {
        output: Buffer.concat(all).toString("utf8"),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
    };
}
