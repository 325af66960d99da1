/**
 * The CLI's Docker client (backup and restore only: `check` never loads it, so it starts
 * fast): dockerode, the standard Docker Engine API client, plus the few helpers it does not
 * provide. The live harness uses the same module (harness/docker.ts re-exports it).
 *
 * API version: dockerode sends unversioned paths unless it is given a version, and an engine
 * answers those with its own newest API, so behaviour could change with the engine under us.
 * These machines run Debian's docker.io 20.10 (API 1.41); newer engines exist elsewhere.
 * `connectDocker` negotiates like the docker CLI: it asks `GET /version` once and pins every
 * call to min(engine ApiVersion, MAX_API_VERSION). DOCKER_API_VERSION, as the CLI honours it,
 * skips the negotiation. dockerode itself finds the engine (DOCKER_HOST, else the local socket).
 */
import { Writable } from "node:stream";
import Docker from "dockerode";
import { UsageError } from "../core/errors";

export type { Docker };

/** Newest API version this code was written against; newer engines are asked to behave like it. */
export const MAX_API_VERSION = "1.45";

/** The version to pin calls to: the engine's own when it is older than MAX_API_VERSION. */
export function negotiateApiVersion(engine: string, max: string = MAX_API_VERSION): string {
    const [eMajor, eMinor] = engine.split(".").map(Number);
    const [mMajor, mMinor] = max.split(".").map(Number);
    if (!Number.isInteger(eMajor) || !Number.isInteger(eMinor)) throw new Error(`the engine reports API version "${engine}"`);
    return eMajor < mMajor || (eMajor === mMajor && eMinor < mMinor) ? engine : max;
}

/** A dockerode client pinned to the API version negotiated with the engine; rejects when no engine answers. */
export async function connectDocker(options: Docker.DockerOptions = {}): Promise<Docker> {
    const pinned = process.env.DOCKER_API_VERSION;
    const engine = pinned ?? (await new Docker(options).version()).ApiVersion;
    return new Docker({ ...options, version: `v${pinned ?? negotiateApiVersion(engine)}` });
}

/** The API version a client's calls are pinned to ("1.41"), or undefined when unversioned. */
export function apiVersion(docker: Docker): string | undefined {
    // docker-modem keeps it as given ("v1.41"); its typings do not declare the field.
    const { version } = docker.modem as { version?: string };
    return version?.replace(/^v/, "");
}

/** Whether an error is the engine's 404 (no such container, volume, network, image). */
export function isNotFound(err: unknown): boolean {
    return (err as { statusCode?: number } | undefined)?.statusCode === 404;
}

/** A container's inspection, or undefined when the engine has none of that name. */
export async function inspectOrUndefined(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
        return await docker.getContainer(name).inspect();
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

export interface ExecResult {
    exitCode: number;
    /**
     * stdout and stderr interleaved in the order the engine sent them. The engine copies the
     * two pipes separately: lines written close together may arrive in either order.
     */
    output: string;
    stdout: string;
    stderr: string;
}

/** A sink for one of demuxStream's two streams that also keeps the order of both. */
function collector(own: Buffer[], all: Buffer[]): Writable {
    return new Writable({
        write(chunk: Buffer, _encoding, done) {
            own.push(chunk);
            all.push(chunk);
            done();
        },
    });
}

/**
 * Runs `cmd` in a running container and waits until it has exited: dockerode's exec starts
 * the process and hands back the raw stream. Without a TTY the engine multiplexes stdout and
 * stderr in 8-byte-header frames, which `modem.demuxStream` splits; a TTY would turn "\n"
 * into "\r\n" and merge the streams.
 */
export async function exec(
    docker: Docker,
    container: string,
    cmd: string[],
    options: { env?: string[]; timeoutMs?: number; user?: string } = {},
): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const execution = await docker
        .getContainer(container)
        .exec({ Cmd: cmd, Env: options.env, User: options.user, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = await execution.start({ hijack: false, stdin: false, Detach: false, Tty: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    docker.modem.demuxStream(stream, collector(out, all), collector(err, all));
    await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
            stream.destroy();
            reject(new Error(`docker exec ${cmd.join(" ")}: no end of output after ${timeoutMs} ms`));
        }, timeoutMs);
        const finish = (error?: Error) => {
            clearTimeout(timer);
            if (error) reject(error);
            else resolve();
        };
        stream.once("end", () => finish());
        stream.once("close", () => finish());
        stream.once("error", finish);
    });
    const result = {
        output: Buffer.concat(all).toString("utf8"),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
    };
    // The stream ends when the process exits, but the engine may record the exit code a
    // moment later: poll briefly until it is no longer running.
    for (let i = 0; ; i++) {
        const info = await execution.inspect();
        if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, ...result };
        if (i >= 50) throw new Error(`docker exec ${cmd.join(" ")}: no exit code after the output ended`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
    try {
        await docker.getImage(ref).inspect();
        return true;
    } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
    }
}

/**
 * The engine for `command`, or a usage error (exit 2) that says none answers and `why` the
 * command needs one.
 */
export async function connectDockerFor(command: string, why: string): Promise<Docker> {
    try {
        return await connectDocker();
    } catch (e) {
        throw new UsageError(`no Docker engine answers (${(e as Error).message}): ${why}`, command);
    }
}

/** A container's log, stdout and stderr together; from `since` (Unix seconds) on when given. */
export async function containerLog(container: Docker.Container, since?: number): Promise<string> {
    const buffer = (await container.logs({
        stdout: true,
        stderr: true,
        follow: false,
        ...(since === undefined ? {} : { since }),
    })) as unknown as Buffer;
    // Without a TTY the log comes in the engine's 8-byte-header frames: keep the payloads.
    const parts: Buffer[] = [];
    for (let pos = 0; pos + 8 <= buffer.length; ) {
        const size = buffer.readUInt32BE(pos + 4);
        parts.push(buffer.subarray(pos + 8, pos + 8 + size));
        pos += 8 + size;
    }
    return Buffer.concat(parts).toString("utf8");
}
