/**
 * `nexus-redis adopt` SIGKILLed midway, then run again with the same arguments (adopt keeps
 * what it did in memory only): the next run refuses the environment whose old containers were
 * set aside, naming them, and prints the whole way back; run as printed, it brings the old vault
 * back with every write acknowledged, by the old vault or the new one.
 *
 *   - killed while it puts an environment back, its readying server running on the old vault's
 *     volumes (the stack's image serves for 3 s and dies): the next run removes that readying
 *     server (ours: its label and the environment's name) before anything else;
 *   - killed as `pulumi up` starts the new vault (the stack's image the test image): the new
 *     vault serves and takes writes meanwhile; the way back stops it first.
 *
 * Each time the next run takes over the vault's lock the killed one left (its process gone).
 *
 * adopt runs in a process of its own (adoptProcess.ts), killed when Docker starts that container.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READYING_LABEL } from "../../cli/adopt/putBack";
import { LABEL_ENVIRONMENT } from "../../components/containerSpec";
import { removeRun } from "../../harness/cleanup";
import { type Docker, isNotFound } from "../../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { ADOPT_PORTS, adoptionStack, brokenRedisImage, startAdoptionRun } from "../../harness/adoption";
import { createRunVolume, handBuiltClient, removeVolumes } from "../../harness/handBuilt";
import { type HandBuiltEnvironment, buildEnvironment, fillEnvironment, waitUntilReplicating } from "../../harness/handBuiltFleet";
import { freePortOffset } from "../../harness/ports";
import { cli } from "../unit/cliRun";

const live = dockerAvailable();
const ROOT = path.resolve(__dirname, "../..");
let docker: Docker;
let runId: string;
let network: string;
let portOffset: number;
const built = new Map<string, HandBuiltEnvironment>();
let image: string | undefined;
const volumes: string[] = [];

/** The test image with a redis-server that serves for 3 s, then is killed (harness/adoption.ts). */
async function diesAfterServing(): Promise<string> {
    const script =
        '/usr/local/bin/redis-server.real "$@" &\npid=$!\ntrap \'kill -TERM $pid; wait $pid; exit 0\' TERM INT\nsleep 3 & wait $!\nkill -9 $pid\necho "this test image killed redis-server after 3 s" >&2\nexit 1\n';
    image = await brokenRedisImage(docker, runId, "dies", script);
    return image;
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

/** SIGKILLs `child` as soon as Docker starts a container labelled `label` whose name starts with `prefix`; resolves with its name. */
async function killWhenStarted(child: ChildProcess, label: string, prefix: string): Promise<string> {
    const events = (await docker.getEvents({
        filters: { type: ["container"], event: ["start"], label: [label] },
    })) as NodeJS.ReadableStream & {
        destroy(): void;
    };
    try {
        return await new Promise<string>((resolve, reject) => {
            child.on("exit", (code, signal) => reject(new Error(`adopt ended (${code ?? signal}) before ${prefix}... started`)));
            let buffered = "";
            events.on("data", (chunk: Buffer) => {
                buffered += chunk.toString();
                for (let i = buffered.indexOf("\n"); i >= 0; i = buffered.indexOf("\n")) {
                    const event = JSON.parse(buffered.slice(0, i)) as { Actor: { Attributes: Record<string, string> } };
                    buffered = buffered.slice(i + 1);
                    const name = event.Actor.Attributes.name;
                    if (name.startsWith(prefix)) {
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

/** A client that writes to `env`'s vault port all along, whichever vault serves it; `stop()` ends it and gives the keys acknowledged. */
function startWriter(env: HandBuiltEnvironment): { stop(): Promise<string[]> } {
    const acknowledged: string[] = [];
    let writing = true;
    const writer = (async () => {
        for (let i = 0; writing; ) {
            const client = handBuiltClient(env.vault.port, env.password);
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
    return {
        async stop() {
            writing = false;
            await writer;
            return acknowledged;
        },
    };
}

/** adopt --env NAME in a process of its own, its stack's image `image`, SIGKILLed when a container labelled `label` named `prefix`... starts. */
async function killedAdopt(name: string, image: string, label: string, prefix: string): Promise<{ output: string; killedAt: string }> {
    // node itself with tsx's loader (not the tsx command, whose node would outlive its SIGKILL).
    const child = spawn(
        process.execPath,
        [
            "--import",
            "tsx",
            path.join(__dirname, "adoptProcess.ts"),
            JSON.stringify({ runId, prefix: runId, portOffset, image }),
            "--env",
            name,
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d));
    child.stderr?.on("data", (d: Buffer) => (output += d));
    const exited = new Promise((r) => child.on("exit", r));
    const killedAt = await killWhenStarted(child, label, prefix);
    await exited;
    process.stderr.write(`adopt killed when ${killedAt} started; it had said:\n${output}`);
    return { output, killedAt };
}

/** Runs `commands` in bash -e as a person pastes them, the vault's password typed at `read -rs`. */
async function runAsPrinted(commands: string[], password: string): Promise<void> {
    const shell = await new Promise<{ code: number; out: string }>((resolve) => {
        const child = execFile("bash", ["-e", "-c", commands.join("\n")], (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
        );
        child.stdin?.end(`${password}\n`);
    });
    process.stderr.write(`run as printed:\n${commands.join("\n")}\n${shell.out}`);
    expect(shell.code, shell.out).toBe(0);
    expect(shell.out).not.toContain(password);
}

/** The old vault back under its name with every key in `acknowledged`, its operational replicating it. */
async function expectEveryKeyBack(env: HandBuiltEnvironment, acknowledged: string[], what: string): Promise<void> {
    expect(await named(env.vault.name)).toEqual([env.vault.name]);
    expect((await docker.getContainer(env.vault.name).inspect()).Config.Labels[LABEL_ENVIRONMENT]).toBeUndefined();
    const vault = handBuiltClient(env.vault.port, env.password);
    await vault.connect();
    try {
        await waitFor("the old vault to load its data", async () =>
            parseInfo(await vault.info("persistence")).loading === "0" ? true : undefined,
        );
        const missing: string[] = [];
        for (let i = 0; i < acknowledged.length; i += 500) {
            const batch = acknowledged.slice(i, i + 500);
            if ((await vault.exists(...batch)) !== batch.length) for (const k of batch) if ((await vault.exists(k)) === 0) missing.push(k);
        }
        process.stderr.write(`adopt killed ${what}: ${acknowledged.length} writes acknowledged, ${missing.length} missing\n`);
        expect(acknowledged.length).toBeGreaterThan(0);
        expect(missing).toEqual([]);
    } finally {
        vault.disconnect();
    }
    await waitUntilReplicating(docker, env);
}

/** The refusal's command lines (indented under its steps), in order. */
function printedCommands(stdout: string): string[] {
    return stdout
        .split("\n")
        .filter((l) => l.startsWith("      "))
        .map((l) => l.trim());
}

describe.skipIf(!live)("nexus-redis adopt killed midway, then run again", () => {
    beforeAll(async () => {
        ({ docker, runId, network } = await startAdoptionRun());
        portOffset = await freePortOffset(["kb", "contact"], ADOPT_PORTS);
        for (const name of ["kb", "contact"]) {
            const volume = await createRunVolume(docker, runId, `${runId}-${name}`);
            volumes.push(volume);
            const env = await buildEnvironment(
                docker,
                { runId, prefix: runId, network, portOffset, environments: [] },
                { name, data: { kind: "volume", name: volume } },
            );
            built.set(name, env);
            volumes.push(...(await docker.getContainer(env.operational!.name).inspect()).Mounts.flatMap((m) => (m.Name ? [m.Name] : [])));
        }
    });

    afterAll(async () => {
        // First the readying servers, which hold the run's volumes and carry no run label: adopt's
        // by their own label and this run's prefix, the ones the printed steps run by their name.
        for (const c of await docker.listContainers({ all: true, filters: { label: [READYING_LABEL] } }))
            if (c.Names.some((n) => n.startsWith(`/${runId}-`))) await docker.getContainer(c.Id).remove({ force: true });
        for (const env of built.values())
            await docker
                .getContainer(`${env.vault.name}.readying`)
                .remove({ force: true })
                .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        await removeVolumes(docker, volumes);
        if (image)
            await docker
                .getImage(image)
                .remove({ force: true })
                .catch(() => undefined);
    });

    it("while it puts an environment back: the next run removes its readying server, and its way back, run as printed, loses no acknowledged key", async () => {
        const kb = built.get("kb")!;
        await fillEnvironment(kb, 5_000);
        const broken = await diesAfterServing();
        const writer = startWriter(kb);
        let killed: Awaited<ReturnType<typeof killedAdopt>>;
        let acknowledged: string[];
        try {
            killed = await killedAdopt("kb", broken, `${READYING_LABEL}=kb`, `${kb.vault.name}.readying-`);
        } finally {
            acknowledged = await writer.stop();
        }
        expect(killed.output).toMatch(/kb: putting everything back/);

        // What the kill left: the old containers aside, stopped, and the readying server on their volumes.
        const left = await named(kb.vault.name);
        expect(left).toContain(killed.killedAt);
        const aside = [...left, ...(await named(kb.operational!.name))].filter((n) => /\.adopted-\d{8}T\d{6}Z$/.test(n));
        expect(aside).toHaveLength(2);

        // The next run, same arguments: the readying server removed before anything else, the environment refused with the way back.
        const stack = adoptionStack(docker, { runId, prefix: runId, portOffset, image: broken });
        const next = await cli(["adopt", "--env", "kb"], { runner: stack.pulumi.runner });
        process.stderr.write(`${next.stderr}${next.stdout}`);
        expect(next.code, next.stdout + next.stderr).toBe(1);
        expect(next.stdout).toMatch(/kb +standard +REFUSED/);
        expect(next.stdout).toContain("set aside by an adopt that did not finish");
        expect(next.stdout).toContain(`${killed.killedAt}, that run's readying server on the old vault's volumes, was removed`);
        // The killed run's lock (its process gone from this host) taken over first, and released.
        expect(next.stderr).toMatch(new RegExp(`kb: removed ${kb.vault.name}-lock, the lock of an adopt that was killed \\(`));
        expect(await named(`${kb.vault.name}-lock`)).toEqual([]);
        expect((await named(kb.vault.name)).filter((n) => n.includes(".readying"))).toEqual([]);
        expect(stack.pulumi.commands.filter((c) => !(c[1] === "config" && c[2] === "get"))).toEqual([]);
        for (const name of aside) expect((await docker.getContainer(name).inspect()).State.Running, name).toBe(false);

        // The way back as a person runs it: the refusal's commands in order (the stack's configuration was undone before the kill).
        const commands = printedCommands(next.stdout);
        expect(commands.filter((c) => c.startsWith("read -rs"))).toHaveLength(1);
        await runAsPrinted(commands, kb.password);
        await expectEveryKeyBack(kb, acknowledged, "at readying");
    });

    it("while pulumi up runs: the next run refuses the environment, and its way back, run as printed, loses no key the new vault acknowledged", async () => {
        const contact = built.get("contact")!;
        await fillEnvironment(contact, 5_000);
        const writer = startWriter(contact);
        let acknowledged: string[];
        try {
            // Killed as the new vault starts, inside pulumi up (the stand-in runs in adopt's process and dies with it).
            await killedAdopt("contact", TEST_IMAGE, `${LABEL_ENVIRONMENT}=contact`, contact.vault.name);
            // Clients go on writing to the new vault, which serves: those writes must survive the way back too.
            const client = handBuiltClient(contact.vault.port, contact.password);
            await waitFor("the new vault to take a write", async () => {
                try {
                    await client.connect();
                    return (await client.set("on-the-new-vault", "1")) === "OK" ? true : undefined;
                } catch {
                    return undefined;
                } finally {
                    client.disconnect();
                }
            });
            await new Promise((r) => setTimeout(r, 1_000));
        } finally {
            acknowledged = await writer.stop();
        }
        acknowledged.push("on-the-new-vault");
        const aside = [...(await named(contact.vault.name)), ...(await named(contact.operational!.name))].filter((n) =>
            /\.adopted-\d{8}T\d{6}Z$/.test(n),
        );
        expect(aside).toHaveLength(2);

        const stack = adoptionStack(docker, { runId, prefix: runId, portOffset });
        const next = await cli(["adopt", "--env", "contact"], { runner: stack.pulumi.runner });
        process.stderr.write(`${next.stderr}${next.stdout}`);
        expect(next.code, next.stdout + next.stderr).toBe(1);
        expect(next.stdout).toMatch(/contact +standard +REFUSED/);
        expect(next.stdout).toContain("set aside by an adopt that did not finish");
        expect(next.stderr).toMatch(new RegExp(`contact: removed ${contact.vault.name}-lock, the lock of an adopt that was killed \\(`));
        expect(stack.pulumi.commands.filter((c) => !(c[1] === "config" && c[2] === "get"))).toEqual([]);

        // As a person: the new vault stopped (printed), the stack's containers of contact removed
        // (what pulumi destroy does; the stand-in's state died with the killed process), then the rest as printed.
        const commands = printedCommands(next.stdout);
        expect(commands[0]).toBe(`docker stop -t 300 ${contact.vault.name}`);
        await runAsPrinted(commands.slice(0, 1), contact.password);
        for (const c of await docker.listContainers({
            all: true,
            filters: { label: [`${LABEL_ENVIRONMENT}=contact`, `${RUN_LABEL_KEY}=${runId}`] },
        }))
            await docker.getContainer(c.Id).remove({ force: true, v: false });
        await runAsPrinted(commands.slice(1), contact.password);
        await expectEveryKeyBack(contact, acknowledged, "during pulumi up");
    });
});
