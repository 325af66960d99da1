/**
 * `nexus-redis adopt` never leaves a vault down: against real containers built by hand,
 *
 *   - settings whose data would not load (`--databases 32` with a key in db 20) or whose
 *     clients would see another behaviour (keyspace notifications) are refused, changing nothing;
 *   - a new vault that crash-loops, or serves and then dies, is taken away again by adopt
 *     itself: the stack's configuration as it was, the old containers back under their names
 *     and taking writes with every key (those the new vault acknowledged included), and the old
 *     operational replicating again, with no step by a person;
 *   - the advice for data in a container's writable layer, followed as a person runs it, moves
 *     every key of a vault with save points off.
 *
 * The stack's image for the rollbacks is the test image with a `redis-server` that fails: at
 * once, or after serving for 3 s (built here, removed afterwards).
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import * as path from "node:path";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READYING_LABEL } from "../../cli/adopt/putBack";
import { removeRun } from "../../harness/cleanup";
import type { Docker } from "../../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { ADOPT_PORTS, type AdoptionStack, adoptionStack, brokenRedisImage, startAdoptionRun } from "../../harness/adoption";
import { createRunVolume, handBuiltClient, removeVolumes, startHandBuilt, waitForRedis } from "../../harness/handBuilt";
import {
    type HandBuiltEnvironment,
    type HandBuiltSpec,
    buildEnvironment,
    fillEnvironment,
    linkUp,
    snapshotDigest,
    waitUntilReplicating,
} from "../../harness/handBuiltFleet";
import { freePortOffset } from "../../harness/ports";
import { FakePulumiStack } from "../../harness/pulumiStack";
import { parseKeyspace, totalKeys } from "../../cli/adopt/settings";
import { cli } from "../unit/cliRun";

const live = dockerAvailable();
const ENVIRONMENTS = ["web", "track", "links", "contact", "kb", "workflow", "session", "chrono"];
let docker: Docker;
let runId: string;
let network: string;
let portOffset: number;
const built = new Map<string, HandBuiltEnvironment>();
const volumes = new Set<string>();
const images: string[] = [];
const stacks: AdoptionStack[] = [];
const folders: string[] = [];

async function build(spec: HandBuiltSpec): Promise<HandBuiltEnvironment> {
    const env = await buildEnvironment(docker, { runId, prefix: runId, network, portOffset, environments: [] }, spec);
    for (const name of [env.vault.name, env.operational?.name])
        if (name) for (const m of (await docker.getContainer(name).inspect()).Mounts) if (m.Name) volumes.add(m.Name);
    built.set(spec.name, env);
    return env;
}

/** The test image with a `redis-server` that runs `script` (harness/adoption.ts), removed with the run. */
async function brokenImage(name: string, script: string): Promise<string> {
    const tag = await brokenRedisImage(docker, runId, name, script);
    images.push(tag);
    return tag;
}

/** A stack of this run's prefix and ports whose image is `image`, nothing deployed. */
function stackOf(image: string): AdoptionStack {
    const stack = adoptionStack(docker, { runId, prefix: runId, portOffset, image });
    stacks.push(stack);
    return stack;
}

async function vaultKeys(client: Redis): Promise<string> {
    return (await client.info("keyspace")).trim();
}

/** `docker inspect` of every container of the run. */
async function containers(): Promise<string> {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL_KEY}=${runId}`] } });
    const inspected = await Promise.all(listed.map((c) => docker.getContainer(c.Id).inspect()));
    return JSON.stringify(inspected.sort((a, b) => a.Name.localeCompare(b.Name)));
}

/** A stand-in Pulumi CLI for a stack of this run's prefix and ports, nothing deployed, which can only be read. */
function plainStack(): FakePulumiStack {
    return new FakePulumiStack({ initial: { image: TEST_IMAGE, containerPrefix: runId, portOffset: String(portOffset) } });
}

/** adopt --env NAME is refused with `reason`, having run nothing but `pulumi config get` and changed no container. */
async function expectRefusal(name: string, reason: RegExp): Promise<Awaited<ReturnType<typeof cli>>> {
    const before = await containers();
    const pulumi = plainStack();
    const run = await cli(["adopt", "--env", name], { runner: pulumi.runner });
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(reason);
    expect(pulumi.commands.filter((c) => !(c[1] === "config" && c[2] === "get"))).toEqual([]);
    expect(await containers()).toBe(before);
    return run;
}

/** After a rollback: the old containers under their names, running, nothing of the stack's left, no readying server left. */
async function expectOldContainersBack(env: HandBuiltEnvironment): Promise<void> {
    for (const name of [env.vault.name, env.operational?.name].filter((n): n is string => n !== undefined)) {
        const info = await docker.getContainer(name).inspect();
        expect(info.State.Status, name).toBe("running");
        expect(info.Config.Labels["nexus-redis.environment"], name).toBeUndefined();
    }
    const left = await docker.listContainers({ all: true });
    expect(
        left.flatMap((c) => c.Names).filter((n) => n.startsWith(`/${env.vault.name}.`) || n.startsWith(`/${env.operational?.name}.`)),
    ).toEqual([]);
}

/** The old operational is a replica of the old vault again, by its address, link up, with the vault's data. */
async function expectReplicating(env: HandBuiltEnvironment): Promise<void> {
    await waitUntilReplicating(docker, env);
    const vault = handBuiltClient(env.vault.port, env.password);
    const replica = handBuiltClient(env.operational!.port);
    try {
        await vault.connect();
        await replica.connect();
        const expected = await vaultKeys(vault);
        await waitFor(`${env.name}'s operational to hold the vault's keys`, async () =>
            (await vaultKeys(replica)).replace(/avg_ttl=\d+/g, "") === expected.replace(/avg_ttl=\d+/g, "") ? true : undefined,
        );
    } finally {
        vault.disconnect();
        replica.disconnect();
    }
}

describe.skipIf(!live)("nexus-redis adopt never leaves a vault down", () => {
    beforeAll(async () => {
        ({ docker, runId, network } = await startAdoptionRun());
        portOffset = await freePortOffset(ENVIRONMENTS, ADOPT_PORTS);
        const volume = async (name: string) => ({
            kind: "volume" as const,
            name: await createRunVolume(docker, runId, `${runId}-${name}`),
        });
        await build({ name: "web", data: await volume("web"), vaultArgs: ["--databases", "32"], noOperational: true });
        await build({ name: "track", data: await volume("track"), vaultArgs: ["--notify-keyspace-events", "KEA"], noOperational: true });
        await build({
            name: "links",
            data: await volume("links"),
            vaultArgs: ["--rename-command", "FLUSHALL", "", "--rename-command", "KEYS", "links-keys"],
            noOperational: true,
        });
        await build({ name: "contact", data: await volume("contact") });
        await build({ name: "kb", data: await volume("kb"), vaultArgs: ["--save", ""] });
        await build({ name: "workflow", data: { kind: "anonymous" }, vaultArgs: ["--dir", "/tmp", "--save", ""], noOperational: true });
        await build({ name: "session", data: await volume("session"), noOperational: true });
        await build({ name: "chrono", data: await volume("chrono"), noOperational: true });
    });

    afterAll(async () => {
        // First a readying server left by a failed run: it holds the run's volumes (which the
        // destroy and the removals below would then fail on) and carries no run label, so it is
        // found by its own label and the run's prefix.
        for (const c of await docker.listContainers({ all: true, filters: { label: [READYING_LABEL] } }))
            if (c.Names.some((n) => n.startsWith(`/${runId}-`))) await docker.getContainer(c.Id).remove({ force: true });
        for (const stack of stacks) await stack.fleet.destroy();
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        await removeVolumes(docker, volumes);
        for (const image of images)
            await docker
                .getImage(image)
                .remove({ force: true })
                .catch(() => undefined);
        for (const folder of folders) rmSync(folder, { recursive: true, force: true });
    });

    it("refuses a vault with more databases than the program declares and a key in db 20, and changes nothing", async () => {
        const web = built.get("web")!;
        const client = handBuiltClient(web.vault.port, web.password);
        await client.connect();
        await client.select(20);
        await client.set("k", "v");
        client.disconnect();
        const run = await expectRefusal(
            "web",
            /nrt[0-9a-f]+-web-vault has databases 32; the program declares 16 \(it has no setting for more\): db20 holds 1 key: a vault with 16 databases refuses to load that data \(FATAL: Data file was created with a Redis server configured to handle more than 16 databases\) and stays down\. To go on: /,
        );
        expect(run.stdout).toContain("1 environment: 1 refused: nothing was changed");
    });

    it("refuses a vault whose clients hear keyspace notifications, which the new vault would not publish, and changes nothing", async () => {
        await expectRefusal(
            "track",
            /nrt[0-9a-f]+-track-vault publishes keyspace notifications \(notify-keyspace-events AKE\); the program declares '': its subscribers would hear nothing\. To go on, if nothing subscribes: CONFIG SET notify-keyspace-events '' on nrt[0-9a-f]+-track-vault, then adopt again/,
        );
    });

    it("refuses a vault with commands renamed or removed (rename-command, which CONFIG GET does not show), and changes nothing", async () => {
        await expectRefusal("links", /nrt[0-9a-f]+-links-vault has commands renamed or removed \(rename-command\): flushall, keys; /);
    });

    it("puts everything back by itself when the new vault crash-loops: the old vault takes writes with all its data, the old operational replicates it", async () => {
        const contact = built.get("contact")!;
        await fillEnvironment(contact, 5_000);
        const client = handBuiltClient(contact.vault.port, contact.password);
        await client.connect();
        await client.select(3);
        await client.set("in-db-3", "x");
        client.disconnect();
        await linkUp(contact);
        const digest = await snapshotDigest(docker, { runId, network, host: contact.vault.ip, password: contact.password });
        const stack = stackOf(await brokenImage("crash", 'echo "FATAL: this test image refuses to start" >&2\nexit 1\n'));
        const initial = JSON.stringify([...stack.pulumi.config]);

        const run = await cli(["adopt", "--env", "contact"], { runner: stack.pulumi.runner });
        expect(run.code, run.stdout + run.stderr).toBe(1);
        process.stderr.write(`${run.stderr}${run.stdout}`);

        // What a user sees first: the vault takes writes again, with all its data, and the operational replicates it.
        await expectOldContainersBack(contact);
        const vault = handBuiltClient(contact.vault.port, contact.password);
        await vault.connect();
        expect(await vault.set("after-rollback", "1")).toBe("OK");
        await vault.del("after-rollback");
        vault.disconnect();
        expect(await snapshotDigest(docker, { runId, network, host: contact.vault.ip, password: contact.password })).toBe(digest);
        await expectReplicating(contact);
        // The stack's configuration is what it was; the last command was the destroy.
        expect(JSON.stringify([...stack.pulumi.config])).toBe(initial);
        expect(stack.pulumi.commands.at(-1)).toEqual(["pulumi", "destroy", "--yes", "--skip-preview"]);
        expect(stack.pulumi.inputs.size).toBe(1); // the passwords set on stdin, never on a command line

        expect(run.stdout).toMatch(/contact +standard +ROLLED BACK/);
        expect(run.stdout).toMatch(
            /the new nrt[0-9a-f]+-contact-vault stopped (\(exit code 1\) and Docker (restarted it \d+ times?|is restarting it)|and Docker restarted it \d+ times?; it runs again for now); its log ends: .*FATAL: this test image refuses to start/,
        );
        expect(run.stdout).toContain("adopt put everything back by itself: stopped the new");
        expect(run.stdout).toContain("removed what pulumi up had created for contact (pulumi destroy)");
        expect(run.stdout).toMatch(/nrt[0-9a-f]+-contact-operational replicates from nrt[0-9a-f]+-contact-vault again/);
        expect(run.stdout).not.toContain(contact.password);
        const ip = (await docker.getContainer(contact.vault.name).inspect()).NetworkSettings.Networks[network].IPAddress;
        process.stderr.write(`adopt rollback: the old vault's address was ${contact.vault.ip}, is ${ip}\n`);
    });

    it("puts everything back when the new vault serves and then dies, keeping every write it acknowledged meanwhile", async () => {
        const kb = built.get("kb")!;
        await fillEnvironment(kb, 5_000);
        const stack = stackOf(
            await brokenImage(
                "dies",
                '/usr/local/bin/redis-server.real "$@" &\npid=$!\ntrap \'kill -TERM $pid; wait $pid; exit 0\' TERM INT\nsleep 3 & wait $!\nkill -9 $pid\necho "this test image killed redis-server after 3 s" >&2\nexit 1\n',
            ),
        );
        // A client that writes all along: every write acknowledged, by the old vault or the new one, must survive.
        // Each server process has its own run_id: the writes the new vault acknowledged are told apart by it.
        const acknowledged: string[] = [];
        const byServer = new Map<string, number>();
        let writing = true;
        const writer = (async () => {
            for (let i = 0; writing; i++) {
                const client = handBuiltClient(kb.vault.port, kb.password);
                try {
                    await client.connect();
                    const server = parseInfo(await client.info("server")).run_id;
                    while (writing) {
                        const key = `w:${i++}`;
                        if ((await client.set(key, "1")) === "OK") {
                            acknowledged.push(key);
                            byServer.set(server, (byServer.get(server) ?? 0) + 1);
                        }
                        await new Promise((r) => setTimeout(r, 5));
                    }
                } catch {
                    await new Promise((r) => setTimeout(r, 20));
                } finally {
                    client.disconnect();
                }
            }
        })();
        let run: Awaited<ReturnType<typeof cli>>;
        try {
            run = await cli(["adopt", "--env", "kb"], { runner: stack.pulumi.runner });
            await new Promise((r) => setTimeout(r, 200));
        } finally {
            writing = false;
            await writer;
        }
        expect(run.code, run.stdout + run.stderr).toBe(1);
        await expectOldContainersBack(kb);
        const vault = handBuiltClient(kb.vault.port, kb.password);
        await vault.connect();
        const missing: string[] = [];
        for (let i = 0; i < acknowledged.length; i += 500) {
            const batch = acknowledged.slice(i, i + 500);
            const found = await vault.exists(...batch);
            if (found !== batch.length) for (const k of batch) if ((await vault.exists(k)) === 0) missing.push(k);
        }
        vault.disconnect();
        process.stderr.write(`adopt rollback: ${acknowledged.length} writes acknowledged, ${missing.length} missing\n`);
        expect(missing).toEqual([]);
        // Writes reached the new vault while it served (a server that is neither the old vault before nor after): what this test is about.
        const servers = [...byServer.keys()];
        process.stderr.write(`adopt rollback: writes acknowledged by server: ${JSON.stringify([...byServer.values()])}\n`);
        expect(servers.length).toBeGreaterThanOrEqual(3);
        expect(servers.slice(1, -1).reduce((sum, id) => sum + byServer.get(id)!, 0)).toBeGreaterThan(0);
        await expectReplicating(kb);
        expect(run.stdout).toMatch(/kb +standard +ROLLED BACK/);
        expect(run.stdout).toMatch(
            /the new nrt[0-9a-f]+-kb-vault stopped (\(exit code \d+\) and Docker (restarted it \d+ times?|is restarting it)|and Docker restarted it \d+ times?; it runs again for now) after it had served/,
        );
        expect(run.stdout).toMatch(/readied the data folder with nrt[0-9a-f]+-kb-vault's own Redis/);
    });

    it("moves data out of a container's writable layer, save points off, when its advice is followed as written", async () => {
        const workflow = built.get("workflow")!;
        const client = handBuiltClient(workflow.vault.port, workflow.password);
        await client.connect();
        for (let i = 0; i < 100; i++) await client.set(`k${i}`, String(i));
        await client.select(5);
        await client.set("in-db-5", "x");
        client.disconnect();
        const pulumi = plainStack();
        const run = await cli(["adopt", "--env", "workflow", "--dry-run"], { runner: pulumi.runner });
        expect(run.code).toBe(1);
        const lines = run.stdout.split("\n");
        const start = lines.findIndex((l) => l.includes("Move it to a host folder first"));
        const advice = lines
            .slice(
                start + 1,
                lines.findIndex((l, i) => i > start && l.trim().startsWith("then ")),
            )
            .map((l) => l.trim());
        expect(advice.at(-1)).toBe(`docker rename ${workflow.vault.name} ${workflow.vault.name}.old`);
        const folder = `/srv/${workflow.vault.name}-data`;
        folders.push(folder);
        // As a person runs it: the password typed at `read -rs`, the rest as printed.
        const shell = await new Promise<{ code: number; out: string }>((resolve) => {
            const child = execFile("bash", ["-e", "-c", advice.join("\n")], (error, stdout, stderr) =>
                resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
            );
            child.stdin?.end(`${workflow.password}\n`);
        });
        expect(shell.code, shell.out).toBe(0);
        expect(shell.out).toContain("rdb_last_bgsave_status:ok");
        expect(shell.out).not.toContain(workflow.password);
        // "then docker run it again as before, with -v FOLDER:/tmp added"
        await startHandBuilt(docker, {
            runId,
            name: workflow.vault.name,
            args: ["--requirepass", workflow.password, "--dir", "/tmp", "--save", ""],
            data: { kind: "host", path: folder },
            mountAt: "/tmp",
            port: workflow.vault.port,
            network,
        });
        await waitForRedis(workflow.vault.port, workflow.password);
        const again = handBuiltClient(workflow.vault.port, workflow.password);
        await again.connect();
        expect(parseInfo(await again.info("keyspace"))).toMatchObject({
            db0: expect.stringMatching(/^keys=100,/),
            db5: expect.stringMatching(/^keys=1,/),
        });
        again.disconnect();
        const after = await cli(["adopt", "--env", "workflow", "--dry-run"], { runner: pulumi.runner });
        expect(after.code, after.stdout).toBe(0);
        expect(after.stdout).toMatch(
            new RegExp(`workflow +standard +adopt +${workflow.vault.name} \\S+ +host folder ${path.join(folder)} +101 `),
        );
        expect(after.stdout).toContain("keys by database: db0 100, db5 1");
    });
    // Last: it leaves session adopted, so this prefix has a stack that runs environments from then on.
    it("puts back only the environment that failed: one adopted before it in the same run stays adopted and serving", async () => {
        const session = built.get("session")!;
        const chrono = built.get("chrono")!;
        await fillEnvironment(session, 1_000);
        await fillEnvironment(chrono, 1_000);
        const stack = stackOf(TEST_IMAGE);
        // The second pulumi up (chrono's) fails; every other Pulumi command is the stand-in's own.
        let ups = 0;
        const runner: typeof stack.pulumi.runner = async (command, options) =>
            command[1] === "up" && ++ups === 2
                ? { exitCode: 255, stdout: "", stderr: "error: the Docker provider could not create the container\n" }
                : stack.pulumi.runner(command, options);
        const run = await cli(["adopt", "--env", "session", "--env", "chrono"], { runner });
        expect(run.code, run.stdout + run.stderr).toBe(1);
        // session: adopted, and still served by the stack's container.
        const vault = stack.fleet.container("session", "vault");
        expect((await vault.inspect()).State.Running).toBe(true);
        const client = handBuiltClient(session.vault.port, session.password);
        await client.connect();
        expect(totalKeys(parseKeyspace(parseInfo(await client.info("keyspace"))))).toBe(1_000);
        client.disconnect();
        // chrono: its old vault back, with its data; the stack's config keeps session only.
        await expectOldContainersBack(chrono);
        expect(stack.pulumi.config.get("environments")).toEqual(["session"]);
        expect(JSON.parse(stack.pulumi.config.get("vaultData") as string)).toEqual({ session: `${runId}-session` });
        expect(stack.pulumi.commands.filter((c) => c[1] === "destroy")).toEqual([]);
        expect(run.stdout).toMatch(/session +standard +ADOPTED/);
        expect(run.stdout).toMatch(/chrono +standard +ROLLED BACK/);
    });
});
