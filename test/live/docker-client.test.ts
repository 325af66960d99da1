/**
 * Live test of the Docker harness client against the local engine.
 * Needs: scripts/ensure-docker.sh and scripts/build-test-image.sh run first.
 *
 * Everything it creates carries the label nexus-redis.test-run=<this run's id>
 * and a name with that id, and is removed in afterAll even when a test fails.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRun } from "../../harness/cleanup";
import { DockerClient, DockerError, MAX_API_VERSION } from "../../harness/docker";

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

const docker = new DockerClient();

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** redis-cli inside a container; the password goes through REDISCLI_AUTH, not argv. */
function cli(container: string, args: string[], auth = true) {
    return docker.exec(container, ["redis-cli", ...args], auth ? [`REDISCLI_AUTH=${PASSWORD}`] : undefined);
}

async function ping(container: string): Promise<true | undefined> {
    const r = await cli(container, ["ping"]);
    return r.exitCode === 0 && r.stdout.trim() === "PONG" ? true : undefined;
}

describe("DockerClient (live)", () => {
    beforeAll(async () => {
        if (!(await docker.ping())) throw new Error("no Docker engine: run scripts/ensure-docker.sh first");
        if (!(await docker.imageExists(IMAGE))) throw new Error(`no image ${IMAGE}: run scripts/build-test-image.sh first`);
    });

    afterAll(async () => {
        await removeRun(docker, LABEL_KEY, RUN);
        await removeRun(docker, LABEL_KEY, OTHER);
        await removeRun(docker, LABEL_KEY, KILLED);
        const left = [
            ...(await docker.listContainers({ label: LABEL })).map((c) => c.Names[0]),
            ...(await docker.listVolumes({ label: LABEL })).map((v) => v.Name),
            ...(await docker.listVolumes({ label: `${LABEL_KEY}=${OTHER}` })).map((v) => v.Name),
            ...(await docker.listVolumes({ label: `${LABEL_KEY}=${KILLED}` })).map((v) => v.Name),
            ...(await docker.listNetworks({ label: `${LABEL_KEY}=${KILLED}` })).map((n) => n.Name),
            ...(await docker.listNetworks({ label: LABEL })).map((n) => n.Name),
        ];
        expect(left).toEqual([]);
    }, 60_000);

    it("negotiates an API version the engine supports", async () => {
        const v = await docker.version();
        expect(v).toMatch(/^1\.\d+$/);
        expect(Number(v.split(".")[1])).toBeLessThanOrEqual(Number(MAX_API_VERSION.split(".")[1]));
        expect(await new DockerClient({ socketPath: `/tmp/${RUN}-no-engine.sock` }).ping()).toBe(false);
    });

    it("reports engine errors with status code and message", async () => {
        expect(await docker.imageExists(`nexus-redis/does-not-exist:${RUN}`)).toBe(false);
        const err = await docker.inspectContainer(`${RUN}-missing`).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DockerError);
        expect((err as DockerError).statusCode).toBe(404);
        expect((err as DockerError).engineMessage).toMatch(/no such container/i);
        await expect(docker.removeVolume(`${RUN}-missing`)).rejects.toMatchObject({ statusCode: 404 });
        await expect(removeRun(docker, LABEL_KEY, "")).rejects.toThrow(/run id/);
        await expect(removeRun(docker, "", RUN)).rejects.toThrow(/label key/);
    });

    it("creates a network, a volume and a password-protected vault with AOF on the volume", async () => {
        await docker.createNetwork({ name: net, labels });
        await expect(docker.createNetwork({ name: net, labels })).rejects.toMatchObject({ statusCode: 409 });
        expect(await docker.createVolume({ name: vol, labels })).toBe(vol);

        await docker.createContainer(
            {
                Image: IMAGE,
                Cmd: [
                    "redis-server",
                    "--dir",
                    "/data",
                    "--appendonly",
                    "yes",
                    "--requirepass",
                    PASSWORD,
                    "--repl-diskless-sync-delay",
                    "0",
                ],
                Labels: labels,
                HostConfig: { NetworkMode: net, Binds: [`${vol}:/data`] },
            },
            vault,
        );
        await docker.startContainer(vault);
        await waitFor("vault PONG", () => ping(vault));

        const set = await cli(vault, ["set", "greeting", "hello"]);
        expect(set).toMatchObject({ exitCode: 0, stdout: "OK\n", stderr: "" });
        const info = await docker.inspectContainer(vault);
        expect(info.State.Running).toBe(true);
        expect(info.Mounts.find((m) => m.Destination === "/data")?.Name).toBe(vol);
        expect(Object.keys(info.NetworkSettings.Networks)).toEqual([net]);
    }, 30_000);

    it("separates stdout and stderr and returns exit codes from exec", async () => {
        const noAuth = await cli(vault, ["ping"], false);
        expect(noAuth.stdout).toMatch(/NOAUTH/); // redis-cli prints the error reply on stdout...
        const refused = await docker.exec(vault, ["redis-cli", "-p", "1", "ping"]);
        expect(refused.exitCode).not.toBe(0); // ...but a failed connection on stderr, non-zero
        expect(refused.stderr).toMatch(/Could not connect/);
        expect(refused.stdout).toBe("");
        expect(refused.output).toBe(refused.stderr);
    }, 30_000);

    it("replicates to a replica that finds the vault by container name", async () => {
        await docker.createContainer(
            {
                Image: IMAGE,
                Cmd: ["redis-server", "--replicaof", vault, "6379", "--masterauth", PASSWORD, "--requirepass", PASSWORD],
                Labels: labels,
                HostConfig: { NetworkMode: net },
            },
            replica,
        );
        await docker.startContainer(replica);
        await waitFor("master_link_status:up", async () => {
            const r = await cli(replica, ["info", "replication"]);
            return /master_link_status:up/.test(r.stdout) ? true : undefined;
        });
        expect((await cli(replica, ["get", "greeting"])).stdout).toBe("hello\n");
    }, 30_000);

    it("connects and disconnects a container with an alias", async () => {
        // No password, so protected mode must be off for clients from other containers.
        await docker.createContainer({ Image: IMAGE, Cmd: ["redis-server", "--protected-mode", "no"], Labels: labels }, probe);
        await docker.startContainer(probe);
        await docker.connectNetwork(net, probe, ["probe-alias"]);
        // From the vault, the probe answers under its alias on the user network.
        await waitFor("probe via alias", async () => {
            const r = await docker.exec(vault, ["redis-cli", "-h", "probe-alias", "ping"]);
            return r.stdout.trim() === "PONG" ? true : undefined;
        });
        await docker.disconnectNetwork(net, probe);
        const r = await docker.exec(vault, ["redis-cli", "-h", "probe-alias", "ping"]);
        expect(r.exitCode).not.toBe(0);
        expect(Object.keys((await docker.inspectContainer(probe)).NetworkSettings.Networks)).toEqual(["bridge"]);
    }, 30_000);

    it("kills, starts, restarts and stops containers; AOF survives a stop", async () => {
        await docker.killContainer(replica);
        let state = (await docker.inspectContainer(replica)).State;
        expect(state.Running).toBe(false);
        expect(state.ExitCode).toBe(137);
        await docker.startContainer(replica);
        expect((await docker.inspectContainer(replica)).State.Running).toBe(true);

        const before = (await docker.inspectContainer(replica)).State.StartedAt;
        await docker.restartContainer(replica, 5);
        expect((await docker.inspectContainer(replica)).State.StartedAt).not.toBe(before);

        await docker.stopContainer(vault, 5);
        state = (await docker.inspectContainer(vault)).State;
        expect(state.Running).toBe(false);
        expect(state.ExitCode).toBe(0); // redis shuts down cleanly on SIGTERM
        await docker.startContainer(vault);
        await waitFor("vault PONG after restart", () => ping(vault));
        expect((await cli(vault, ["get", "greeting"])).stdout).toBe("hello\n");
    }, 60_000);

    it("lists by label and removes everything labelled, and only that", async () => {
        const names = (await docker.listContainers({ label: LABEL })).map((c) => c.Names[0]).sort();
        expect(names).toEqual([`/${probe}`, `/${replica}`, `/${vault}`].sort());
        expect((await docker.listVolumes({ label: LABEL })).map((v) => v.Name)).toEqual([vol]);
        expect((await docker.listNetworks({ label: LABEL })).map((n) => n.Name)).toEqual([net]);
        // A label of another run matches nothing of ours.
        expect(await docker.listContainers({ label: `${LABEL_KEY}=${RUN}-other` })).toEqual([]);

        // A part of this run (a benchmark's `<id>-extra`) is ours; a run whose id merely starts like ours is not.
        await docker.createVolume({ name: `${RUN}-part-data`, labels: { [LABEL_KEY]: `${RUN}-part` } });
        await docker.createVolume({ name: `${OTHER}-data`, labels: { [LABEL_KEY]: OTHER } });

        expect(await removeRun(docker, LABEL_KEY, RUN)).toEqual({ containers: 3, volumes: 2, networks: 1 });
        expect(await removeRun(docker, LABEL_KEY, RUN)).toEqual({ containers: 0, volumes: 0, networks: 0 });
        expect((await docker.listVolumes({ label: `${LABEL_KEY}=${OTHER}` })).map((v) => v.Name)).toEqual([`${OTHER}-data`]);
        expect(await removeRun(docker, LABEL_KEY, OTHER)).toEqual({ containers: 0, volumes: 1, networks: 0 });
    }, 60_000);

    it("removes a run's resources after its process is killed with SIGKILL: the watchdog outlives it", async () => {
        // A process that starts the watchdog, creates a labelled volume and network, and hangs.
        const script = `
            const { startWatchdog } = require("./harness/cleanup.ts");
            const { DockerClient } = require("./harness/docker.ts");
            (async () => {
                const labels = { ${JSON.stringify(LABEL_KEY)}: ${JSON.stringify(KILLED)} };
                await startWatchdog(${JSON.stringify(LABEL_KEY)}, ${JSON.stringify(KILLED)});
                const docker = new DockerClient();
                await docker.createVolume({ name: "${KILLED}-data", labels });
                await docker.createNetwork({ name: "${KILLED}-net", labels });
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
        const killedLabel = { label: `${LABEL_KEY}=${KILLED}` };
        expect((await docker.listVolumes(killedLabel)).map((v) => v.Name)).toEqual([`${KILLED}-data`]);
        expect((await docker.listNetworks(killedLabel)).map((n) => n.Name)).toEqual([`${KILLED}-net`]);

        child.removeAllListeners("exit");
        child.kill("SIGKILL");
        await waitFor("the watchdog to remove the killed run's volume and network", async () => {
            const left = [...(await docker.listVolumes(killedLabel)), ...(await docker.listNetworks(killedLabel))];
            return left.length === 0 ? true : undefined;
        });
    }, 60_000);
});
