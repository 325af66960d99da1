/**
 * Live test of the harness's Docker client (dockerode, its API version negotiated) and of
 * the helpers it adds (exec, removeRun, the cleanup watchdog), against the local engine.
 * Needs: scripts/ensure-docker.sh and scripts/build-test-image.sh run first.
 *
 * Everything it creates carries the label nexus-redis.test-run=<this run's id>
 * and a name with that id, and is removed in afterAll even when a test fails.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRun } from "../../harness/cleanup";
import { type Docker, MAX_API_VERSION, apiVersion, connectDocker, exec, imageExists, isNotFound } from "../../harness/docker";

const IMAGE = process.env.NEXUS_REDIS_TEST_IMAGE ?? "nexus-redis/redis-test:7";
const RUN = `dc-${process.pid}-${Date.now().toString(36)}`;
const LABEL_KEY = "nexus-redis.test-run";
const LABEL = `${LABEL_KEY}=${RUN}`;
const labels = { [LABEL_KEY]: RUN };
/** Another run whose id starts like ours: removing ours must leave it alone. */
const OTHER = `${RUN}0`;
/** The run the watchdog test kills: the watchdog only accepts ids of the harness's form. */
const KILLED = `nrt${randomBytes(4).toString("hex")}`;
const ROOT = path.resolve(__dirname, "../..");
const PASSWORD = `pw-${RUN}`;

const net = `${RUN}-net`;
const vol = `${RUN}-vault-data`;
const vault = `${RUN}-vault`;
const replica = `${RUN}-replica`;
const probe = `${RUN}-probe`;

let docker: Docker;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Names of the containers, volumes and networks carrying `label` ("key=value"). */
async function labelled(label: string): Promise<{ containers: string[]; volumes: string[]; networks: string[] }> {
    const filters = { label: [label] };
    return {
        containers: (await docker.listContainers({ all: true, filters })).map((c) => c.Names[0]).sort(),
        // The engine sends null, not [], when there are none.
        volumes: ((await docker.listVolumes({ filters })).Volumes ?? []).map((v) => v.Name).sort(),
        networks: (await docker.listNetworks({ filters })).map((n) => n.Name).sort(),
    };
}

/** redis-cli inside a container; the password goes through REDISCLI_AUTH, not argv. */
function cli(container: string, args: string[], auth = true) {
    return exec(docker, container, ["redis-cli", ...args], { env: auth ? [`REDISCLI_AUTH=${PASSWORD}`] : undefined });
}

async function ping(container: string): Promise<true | undefined> {
    const r = await cli(container, ["ping"]);
    return r.exitCode === 0 && r.stdout.trim() === "PONG" ? true : undefined;
}

describe("the harness's Docker client (live)", () => {
    beforeAll(async () => {
        docker = await connectDocker().catch((e: Error) => {
            throw new Error(`no Docker engine: run scripts/ensure-docker.sh first (${e.message})`);
        });
        if (!(await imageExists(docker, IMAGE))) throw new Error(`no image ${IMAGE}: run scripts/build-test-image.sh first`);
    });

    afterAll(async () => {
        if (!docker) return;
        for (const id of [RUN, OTHER, KILLED]) await removeRun(docker, LABEL_KEY, id);
        const none = { containers: [], volumes: [], networks: [] };
        for (const id of [RUN, OTHER, KILLED]) expect(await labelled(`${LABEL_KEY}=${id}`)).toEqual(none);
    }, 60_000);

    it("pins every call to the engine's API version when it is older than MAX_API_VERSION", async () => {
        const engine = (await docker.version()).ApiVersion;
        const minor = (version: string) => Number(version.split(".")[1]);
        const pinned = apiVersion(docker);
        expect(pinned).toBe(minor(engine) < minor(MAX_API_VERSION) ? engine : MAX_API_VERSION);
        // The pinned client works on this engine...
        expect(await docker.listContainers({ all: true, filters: { label: [LABEL] } })).toEqual([]);
        // ...where a client pinned above the engine's API is refused: why a fixed version would not do.
        if (minor(engine) < minor(MAX_API_VERSION)) {
            const tooNew = new Dockerode({ version: `v${MAX_API_VERSION}` });
            await expect(tooNew.listContainers()).rejects.toThrow(/too new|maximum supported api version/i);
        }
    });

    it("follows DOCKER_API_VERSION instead of negotiating, as the docker CLI does", async () => {
        const saved = process.env.DOCKER_API_VERSION;
        process.env.DOCKER_API_VERSION = "1.40";
        try {
            const old = await connectDocker();
            expect(apiVersion(old)).toBe("1.40");
            expect(await old.listContainers({ all: true, filters: { label: [LABEL] } })).toEqual([]);
        } finally {
            if (saved === undefined) delete process.env.DOCKER_API_VERSION;
            else process.env.DOCKER_API_VERSION = saved;
        }
    });

    it("rejects when no engine answers", async () => {
        await expect(connectDocker({ socketPath: `/tmp/${RUN}-no-engine.sock` })).rejects.toThrow(/ENOENT|connect/);
    });

    it("reports engine errors with status code and message", async () => {
        expect(await imageExists(docker, `nexus-redis/does-not-exist:${RUN}`)).toBe(false);
        const err = await docker
            .getContainer(`${RUN}-missing`)
            .inspect()
            .catch((e: unknown) => e);
        expect(isNotFound(err)).toBe(true);
        expect((err as Error).message).toMatch(/no such container/i);
        expect(
            isNotFound(
                await docker
                    .getVolume(`${RUN}-missing`)
                    .remove()
                    .catch((e: unknown) => e),
            ),
        ).toBe(true);
        expect(isNotFound(new Error("something else"))).toBe(false);
        await expect(removeRun(docker, LABEL_KEY, "")).rejects.toThrow(/run id/);
        await expect(removeRun(docker, "", RUN)).rejects.toThrow(/label key/);
    });

    it("creates a network, a volume and a password-protected vault with AOF on the volume", async () => {
        await docker.createNetwork({ Name: net, Labels: labels, CheckDuplicate: true });
        await expect(docker.createNetwork({ Name: net, Labels: labels, CheckDuplicate: true })).rejects.toMatchObject({ statusCode: 409 });
        expect((await docker.createVolume({ Name: vol, Labels: labels })).name).toBe(vol);

        const container = await docker.createContainer({
            name: vault,
            Image: IMAGE,
            Cmd: ["redis-server", "--dir", "/data", "--appendonly", "yes", "--requirepass", PASSWORD, "--repl-diskless-sync-delay", "0"],
            Labels: labels,
            HostConfig: { NetworkMode: net, Binds: [`${vol}:/data`] },
        });
        await container.start();
        await waitFor("vault PONG", () => ping(vault));

        const set = await cli(vault, ["set", "greeting", "hello"]);
        expect(set).toMatchObject({ exitCode: 0, stdout: "OK\n", stderr: "" });
        const info = await container.inspect();
        expect(info.State.Running).toBe(true);
        expect(info.Mounts.find((m) => m.Destination === "/data")?.Name).toBe(vol);
        expect(Object.keys(info.NetworkSettings.Networks)).toEqual([net]);
    }, 30_000);

    it("separates stdout and stderr and returns exit codes from exec", async () => {
        const noAuth = await cli(vault, ["ping"], false);
        expect(noAuth.stdout).toMatch(/NOAUTH/); // redis-cli prints the error reply on stdout...
        const refused = await exec(docker, vault, ["redis-cli", "-p", "1", "ping"]);
        expect(refused.exitCode).not.toBe(0); // ...but a failed connection on stderr, non-zero
        expect(refused.stderr).toMatch(/Could not connect/);
        expect(refused.stdout).toBe("");
        expect(refused.output).toBe(refused.stderr);
        // Both streams in one exec: redis-cli warns about -a on stderr, then answers on stdout. The
        // engine copies the two pipes separately, so `output` may hold them in either order.
        const both = await exec(docker, vault, ["redis-cli", "-a", PASSWORD, "ping"]);
        expect(both.exitCode).toBe(0);
        expect(both.stdout).toBe("PONG\n");
        expect(both.stderr).toMatch(/^Warning: Using a password with '-a'.*\n$/);
        expect([`${both.stderr}${both.stdout}`, `${both.stdout}${both.stderr}`]).toContain(both.output);
    }, 30_000);

    it("replicates to a replica that finds the vault by container name", async () => {
        const container = await docker.createContainer({
            name: replica,
            Image: IMAGE,
            Cmd: ["redis-server", "--replicaof", vault, "6379", "--masterauth", PASSWORD, "--requirepass", PASSWORD],
            Labels: labels,
            HostConfig: { NetworkMode: net },
        });
        await container.start();
        await waitFor("master_link_status:up", async () => {
            const r = await cli(replica, ["info", "replication"]);
            return /master_link_status:up/.test(r.stdout) ? true : undefined;
        });
        expect((await cli(replica, ["get", "greeting"])).stdout).toBe("hello\n");
    }, 30_000);

    it("connects and disconnects a container with an alias", async () => {
        // No password, so protected mode must be off for clients from other containers.
        const container = await docker.createContainer({
            name: probe,
            Image: IMAGE,
            Cmd: ["redis-server", "--protected-mode", "no"],
            Labels: labels,
        });
        await container.start();
        await docker.getNetwork(net).connect({ Container: probe, EndpointConfig: { Aliases: ["probe-alias"] } });
        // From the vault, the probe answers under its alias on the user network.
        await waitFor("probe via alias", async () => {
            const r = await exec(docker, vault, ["redis-cli", "-h", "probe-alias", "ping"]);
            return r.stdout.trim() === "PONG" ? true : undefined;
        });
        await docker.getNetwork(net).disconnect({ Container: probe });
        const r = await exec(docker, vault, ["redis-cli", "-h", "probe-alias", "ping"]);
        expect(r.exitCode).not.toBe(0);
        expect(Object.keys((await container.inspect()).NetworkSettings.Networks)).toEqual(["bridge"]);
    }, 30_000);

    it("kills, starts, restarts and stops containers; AOF survives a stop", async () => {
        const r = docker.getContainer(replica);
        const v = docker.getContainer(vault);
        await r.kill({ signal: "SIGKILL" });
        let state = (await r.inspect()).State;
        expect(state.Running).toBe(false);
        expect(state.ExitCode).toBe(137);
        await r.start();
        expect((await r.inspect()).State.Running).toBe(true);

        const before = (await r.inspect()).State.StartedAt;
        await r.restart({ t: 5 });
        expect((await r.inspect()).State.StartedAt).not.toBe(before);

        await v.stop({ t: 5 });
        state = (await v.inspect()).State;
        expect(state.Running).toBe(false);
        expect(state.ExitCode).toBe(0); // redis shuts down cleanly on SIGTERM
        await v.start();
        await waitFor("vault PONG after restart", () => ping(vault));
        expect((await cli(vault, ["get", "greeting"])).stdout).toBe("hello\n");
    }, 60_000);

    it("lists by label and removes a run's resources, its parts too, and only that", async () => {
        expect(await labelled(LABEL)).toEqual({
            containers: [`/${probe}`, `/${replica}`, `/${vault}`].sort(),
            volumes: [vol],
            networks: [net],
        });
        // A label of another run matches nothing of ours.
        expect(await docker.listContainers({ all: true, filters: { label: [`${LABEL_KEY}=${RUN}-other`] } })).toEqual([]);

        // A part of this run (a benchmark's `<id>-extra`) is ours; a run whose id merely starts like ours is not.
        await docker.createVolume({ Name: `${RUN}-part-data`, Labels: { [LABEL_KEY]: `${RUN}-part` } });
        await docker.createVolume({ Name: `${OTHER}-data`, Labels: { [LABEL_KEY]: OTHER } });

        expect(await removeRun(docker, LABEL_KEY, RUN)).toEqual({ containers: 3, volumes: 2, networks: 1 });
        expect(await removeRun(docker, LABEL_KEY, RUN)).toEqual({ containers: 0, volumes: 0, networks: 0 });
        expect((await labelled(`${LABEL_KEY}=${OTHER}`)).volumes).toEqual([`${OTHER}-data`]);
        expect(await removeRun(docker, LABEL_KEY, OTHER)).toEqual({ containers: 0, volumes: 1, networks: 0 });
    }, 60_000);

    it("removes a run's resources after its process is killed with SIGKILL: the watchdog outlives it", async () => {
        // A process that starts the watchdog, creates a labelled volume and network, and hangs.
        const script = `
            const { startWatchdog } = require("./harness/cleanup.ts");
            const { connectDocker } = require("./harness/docker.ts");
            (async () => {
                const labels = { ${JSON.stringify(LABEL_KEY)}: ${JSON.stringify(KILLED)} };
                await startWatchdog(${JSON.stringify(LABEL_KEY)}, ${JSON.stringify(KILLED)});
                const docker = await connectDocker();
                await docker.createVolume({ Name: "${KILLED}-data", Labels: labels });
                await docker.createNetwork({ Name: "${KILLED}-net", Labels: labels });
                process.stdout.write("ready\\n");
                setInterval(() => undefined, 1000);
            })().catch((e) => { process.stderr.write(String(e)); process.exit(3); });`;
        const child = spawn(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
        await new Promise<void>((resolve, reject) => {
            let text = "";
            child.on("exit", (code) => reject(new Error(`the run exited early (${code})`)));
            child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
                text += chunk;
                if (text.includes("ready")) resolve();
            });
        });
        const killed = `${LABEL_KEY}=${KILLED}`;
        expect(await labelled(killed)).toEqual({ containers: [], volumes: [`${KILLED}-data`], networks: [`${KILLED}-net`] });

        child.removeAllListeners("exit");
        child.kill("SIGKILL");
        await waitFor("the watchdog to remove the killed run's volume and network", async () => {
            const left = await labelled(killed);
            return left.volumes.length + left.networks.length === 0 ? true : undefined;
        });
    }, 60_000);
});
