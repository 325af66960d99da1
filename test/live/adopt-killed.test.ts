/**
 * `nexus-redis adopt` SIGKILLed while it puts an environment back (its readying server running
 * on the old vault's volumes), then run again with the same arguments: the next run removes
 * that readying server (ours: its label and the environment's name) before anything else,
 * refuses the environment naming the old containers left aside, and the way back it prints,
 * run as printed, brings the old vault back with every write acknowledged before the kill,
 * by the old vault or the new one. adopt runs in a process of its own (adoptProcess.ts) so that
 * it can be killed; the stack's image is the test image with a redis-server that serves for 3 s
 * and dies, so that the new vault takes writes and adopt then puts everything back.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarArchive } from "../../cli/docker/archive";
import { READYING_LABEL } from "../../cli/adopt/putBack";
import { removeRun } from "../../harness/cleanup";
import { type Docker, isNotFound } from "../../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { ADOPT_PORTS, type AdoptionStack, adoptionStack, startAdoptionRun } from "../../harness/adoption";
import { createRunVolume, handBuiltClient } from "../../harness/handBuilt";
import { type HandBuiltEnvironment, buildEnvironment, fillEnvironment, waitUntilReplicating } from "../../harness/handBuiltFleet";
import { freePortOffset } from "../../harness/ports";
import { cli } from "../unit/cliRun";

const live = dockerAvailable();
const ROOT = path.resolve(__dirname, "../..");
let docker: Docker;
let runId: string;
let network: string;
let portOffset: number;
let kb: HandBuiltEnvironment;
let image: string | undefined;
const volumes: string[] = [];
const stacks: AdoptionStack[] = [];

/** The test image with a redis-server that serves for 3 s, then is killed (the real one is redis-server.real). */
async function diesAfterServing(): Promise<string> {
    const tag = `nexus-redis/redis-test:${runId}-dies`;
    const script =
        '/usr/local/bin/redis-server.real "$@" &\npid=$!\ntrap \'kill -TERM $pid; wait $pid; exit 0\' TERM INT\nsleep 3 & wait $!\nkill -9 $pid\necho "this test image killed redis-server after 3 s" >&2\nexit 1\n';
    const context = await tarArchive([
        {
            path: "Dockerfile",
            content: `FROM ${TEST_IMAGE} AS real\nFROM ${TEST_IMAGE}\nCOPY --from=real /usr/local/bin/redis-server /usr/local/bin/redis-server.real\nCOPY redis-server /usr/local/bin/redis-server\n`,
            mode: 0o644,
            uid: 0,
            gid: 0,
        },
        {
            path: "redis-server",
            content: `#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/local/bin/redis-server.real "$@"; fi\n${script}`,
            mode: 0o755,
            uid: 0,
            gid: 0,
        },
    ]);
    const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, labels: { [RUN_LABEL_KEY]: runId } });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve(undefined))));
    image = tag;
    return tag;
}

/** Names of the containers whose name starts with `prefix`. */
async function named(prefix: string): Promise<string[]> {
    const listed = await docker.listContainers({ all: true });
    return listed
        .flatMap((c) => c.Names)
        .filter((n) => n.startsWith(`/${prefix}`))
        .map((n) => n.slice(1))
        .sort();
}

/** SIGKILLs `child` as soon as Docker starts a readying server of this run's `env`; resolves with its name. */
async function killAtReadying(child: ChildProcess, env: string, vaultName: string): Promise<string> {
    const events = (await docker.getEvents({
        filters: { type: ["container"], event: ["start"], label: [`${READYING_LABEL}=${env}`] },
    })) as NodeJS.ReadableStream & { destroy(): void };
    try {
        return await new Promise<string>((resolve, reject) => {
            child.on("exit", (code, signal) => reject(new Error(`adopt ended (${code ?? signal}) before its readying server started`)));
            let buffered = "";
            events.on("data", (chunk: Buffer) => {
                buffered += chunk.toString();
                for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
                    const event = JSON.parse(buffered.slice(0, i)) as { Actor: { Attributes: Record<string, string> } };
                    buffered = buffered.slice(i + 1);
                    const name = event.Actor.Attributes.name;
                    if (name.startsWith(`${vaultName}.readying-`)) {
                        child.kill("SIGKILL");
                        resolve(name);
                    }
                }
            });
        });
    } finally {
        events.destroy();
    }
}

describe.skipIf(!live)("nexus-redis adopt killed while it puts an environment back", () => {
    beforeAll(async () => {
        ({ docker, runId, network } = await startAdoptionRun());
        portOffset = await freePortOffset(["kb"], ADOPT_PORTS);
        volumes.push(await createRunVolume(docker, runId, `${runId}-kb`));
        kb = await buildEnvironment(
            docker,
            { runId, prefix: runId, network, portOffset, environments: [] },
            { name: "kb", data: { kind: "volume", name: volumes[0] } },
        );
        volumes.push(...(await docker.getContainer(kb.operational!.name).inspect()).Mounts.flatMap((m) => (m.Name ? [m.Name] : [])));
    });

    afterAll(async () => {
        // First the readying servers, which hold the run's volumes and carry no run label: adopt's
        // by their own label and this run's prefix, the one the printed steps run by its name.
        for (const c of await docker.listContainers({ all: true, filters: { label: [READYING_LABEL] } }))
            if (c.Names.some((n) => n.startsWith(`/${runId}-`))) await docker.getContainer(c.Id).remove({ force: true });
        if (kb)
            await docker
                .getContainer(`${kb.vault.name}.readying`)
                .remove({ force: true })
                .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        for (const stack of stacks) await stack.fleet.destroy();
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        for (const v of volumes)
            await docker
                .getVolume(v)
                .remove()
                .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        if (image)
            await docker
                .getImage(image)
                .remove({ force: true })
                .catch(() => undefined);
    });

    it("leaves no readying server after the next run, and its way back, run as printed, loses no acknowledged key", async () => {
        await fillEnvironment(kb, 5_000);
        const broken = await diesAfterServing();
        // A client that writes all along: every write acknowledged, by the old vault or the new one, must survive.
        const acknowledged: string[] = [];
        let writing = true;
        const writer = (async () => {
            for (let i = 0; writing; ) {
                const client = handBuiltClient(kb.vault.port, kb.password);
                try {
                    await client.connect();
                    while (writing) {
                        const key = `w:${i++}`;
                        if ((await client.set(key, "1")) === "OK") acknowledged.push(key);
                        await new Promise((r) => setTimeout(r, 5));
                    }
                } catch {
                    await new Promise((r) => setTimeout(r, 20));
                } finally {
                    client.disconnect();
                }
            }
        })();
        let output = "";
        let readying: string;
        try {
            // node itself with tsx's loader (not the tsx command, whose node would outlive its SIGKILL).
            const child = spawn(
                process.execPath,
                [
                    "--import",
                    "tsx",
                    path.join(__dirname, "adoptProcess.ts"),
                    JSON.stringify({ runId, prefix: runId, portOffset, image: broken }),
                    "--env",
                    "kb",
                ],
                { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
            );
            child.stdout?.on("data", (d: Buffer) => (output += d));
            child.stderr?.on("data", (d: Buffer) => (output += d));
            const exited = new Promise((r) => child.on("exit", r));
            readying = await killAtReadying(child, "kb", kb.vault.name);
            await exited;
        } finally {
            writing = false;
            await writer;
        }
        process.stderr.write(`adopt killed at ${readying}; it had said:\n${output}`);
        expect(output).toMatch(/kb: putting everything back/);

        // What the kill left: the old containers aside, stopped, and the readying server on their volumes.
        const left = await named(`${kb.vault.name}`);
        expect(left).toContain(readying);
        const aside = [...left, ...(await named(`${kb.operational!.name}`))].filter((n) => /\.adopted-\d{8}T\d{6}Z$/.test(n));
        expect(aside).toHaveLength(2);

        // The next run, same arguments: the readying server removed before anything else, the environment refused with the way back.
        const stack = adoptionStack(docker, { runId, prefix: runId, portOffset, image: broken });
        stacks.push(stack);
        const next = await cli(["adopt", "--env", "kb"], { runner: stack.pulumi.runner });
        process.stderr.write(`${next.stderr}${next.stdout}`);
        expect(next.code, next.stdout + next.stderr).toBe(1);
        expect(next.stdout).toMatch(/kb +standard +REFUSED/);
        expect(next.stdout).toContain("set aside by an adopt that did not finish");
        expect(next.stdout).toContain(`${readying}, that run's readying server on the old vault's volumes, was removed`);
        expect((await named(kb.vault.name)).filter((n) => n.includes(".readying"))).toEqual([]);
        expect(stack.pulumi.commands.filter((c) => !(c[1] === "config" && c[2] === "get"))).toEqual([]);
        for (const name of aside) expect((await docker.getContainer(name).inspect()).State.Running, name).toBe(false);

        // The way back as a person runs it: the refusal's commands in order, the password typed at `read -rs`.
        const commands = next.stdout
            .split("\n")
            .filter((l) => l.startsWith("      "))
            .map((l) => l.trim());
        expect(commands.filter((c) => c.startsWith("read -rs"))).toHaveLength(1);
        const shell = await new Promise<{ code: number; out: string }>((resolve) => {
            const child = execFile("bash", ["-e", "-c", commands.join("\n")], (error, stdout, stderr) =>
                resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
            );
            child.stdin?.end(`${kb.password}\n`);
        });
        process.stderr.write(`the way back, run as printed:\n${commands.join("\n")}\n${shell.out}`);
        expect(shell.code, shell.out).toBe(0);
        expect(shell.out).not.toContain(kb.password);

        // The old vault back under its name, with every acknowledged key; its operational replicating it.
        expect(await named(kb.vault.name)).toEqual([kb.vault.name]);
        const vault = handBuiltClient(kb.vault.port, kb.password);
        await vault.connect();
        await waitFor("the old vault to load its data", async () =>
            parseInfo(await vault.info("persistence")).loading === "0" ? true : undefined,
        );
        const missing: string[] = [];
        for (let i = 0; i < acknowledged.length; i += 500) {
            const batch = acknowledged.slice(i, i + 500);
            if ((await vault.exists(...batch)) !== batch.length) for (const k of batch) if ((await vault.exists(k)) === 0) missing.push(k);
        }
        vault.disconnect();
        process.stderr.write(`adopt killed at readying: ${acknowledged.length} writes acknowledged, ${missing.length} missing\n`);
        expect(acknowledged.length).toBeGreaterThan(0);
        expect(missing).toEqual([]);
        await waitUntilReplicating(docker, kb);
    });
});
