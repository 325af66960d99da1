/**
 * `nexus-redis adopt` refuses, naming the environment and what to do, and changes nothing,
 * whenever a takeover could not be shown safe: each refusal against a real container built
 * by hand with exactly that problem. "Nothing changed": the stack's config untouched (only
 * `pulumi config get` ran), and `docker inspect` of every container of the run the same.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeRun } from "../../harness/cleanup";
import type { Docker } from "../../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { handBuiltClient, removeVolumes, waitForRedis } from "../../harness/handBuilt";
import {
    type HandBuiltEnvironment,
    type HandBuiltSpec,
    addressOn,
    buildEnvironment,
    createRunNetwork,
    fillEnvironment,
    snapshotDigest,
    waitUntilReplicating,
} from "../../harness/handBuiltFleet";
import { ADOPT_PORTS, imageWithRedisServer, startAdoptionRun } from "../../harness/adoption";
import { freePortOffset } from "../../harness/ports";
import { FakePulumiStack } from "../../harness/pulumiStack";
import { PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "../../components/protocol";
import { cli } from "../unit/cliRun";

const live = dockerAvailable();
let docker: Docker;
let runId: string;
let network: string;
let otherNetwork: string;
let portOffset: number;
let dir: string;
let olderImage: string;
const built = new Map<string, HandBuiltEnvironment>();
const volumes = new Set<string>();

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    commands: string[][];
}

/** A stand-in Pulumi CLI for a stack of this run's prefix and ports, nothing deployed. */
function stackWith(initial: Record<string, string> = {}, onUp?: () => Promise<void>, onDestroy?: () => Promise<void>): FakePulumiStack {
    return new FakePulumiStack({
        initial: {
            image: TEST_IMAGE,
            containerPrefix: runId,
            portOffset: String(portOffset),
            createNetwork: "true",
            bindAddress: "127.0.0.1",
            ...initial,
        },
        onPreview: async () => undefined,
        onUp,
        onDestroy,
    });
}

async function adopt(argv: string[], initial: Record<string, string> = {}, pulumi = stackWith(initial)): Promise<Run> {
    const run = await cli(["adopt", ...argv], { runner: pulumi.runner });
    return { ...run, commands: pulumi.commands };
}

/** `docker inspect` of every container of the run. */
async function containers(): Promise<string> {
    const listed = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL_KEY}=${runId}`] } });
    const inspected = await Promise.all(listed.map((c) => docker.getContainer(c.Id).inspect()));
    return JSON.stringify(
        inspected.sort((a, b) => a.Name.localeCompare(b.Name)),
        null,
        1,
    );
}

/** Runs adopt on `env` (not a dry run) and expects a refusal that changed nothing. */
async function expectRefusal(argv: string[], reason: RegExp, initial: Record<string, string> = {}): Promise<Run> {
    const before = await containers();
    const run = await adopt(argv, initial);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(reason);
    expect(run.stdout).toMatch(/refused: nothing was changed/);
    expect(run.commands.filter((c) => !(c[1] === "config" && c[2] === "get"))).toEqual([]);
    expect(await containers()).toBe(before);
    return run;
}

async function build(spec: HandBuiltSpec): Promise<HandBuiltEnvironment> {
    const env = await buildEnvironment(docker, { runId, prefix: runId, network, portOffset, environments: [] }, spec);
    for (const name of [env.vault.name, env.operational?.name]) {
        if (name) for (const m of (await docker.getContainer(name).inspect()).Mounts) if (m.Name) volumes.add(m.Name);
    }
    built.set(spec.name, env);
    return env;
}

async function vaultIp(env: HandBuiltEnvironment): Promise<string> {
    return addressOn(docker, env.vault.name, network);
}

function passwordsFile(name: string, content: object): string {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
    return file;
}

/** An image whose `redis-server --version` says 6.2.14: the stack's image older than the vaults' Redis. */
function buildOlderImage(): Promise<string> {
    return imageWithRedisServer(
        docker,
        runId,
        "older",
        '#!/bin/sh\necho "Redis server v=6.2.14 sha=00000000:0 malloc=libc bits=64 build=0"\n',
    );
}

describe.skipIf(!live)("nexus-redis adopt refuses what it cannot take over safely, and changes nothing", () => {
    beforeAll(async () => {
        ({ docker, runId, network } = await startAdoptionRun());
        dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-refusals-"));
        otherNetwork = await createRunNetwork(docker, runId, `${runId}-other-network`);
        portOffset = await freePortOffset(
            PROTOCOL_ENVIRONMENTS.map((e) => e.name),
            ADOPT_PORTS,
        );
        const table = (name: string) => findProtocolEnvironment(name)!;
        await build({ name: "user", data: { kind: "anonymous" }, passwordByAcl: true });
        await build({ name: "locker", data: { kind: "anonymous" } });
        await build({ name: "workflow", data: { kind: "anonymous" }, vaultArgs: ["--dir", "/tmp"], noOperational: true });
        await build({
            name: "context",
            data: { kind: "anonymous" },
            // A replica that connects waits two minutes for its full sync to start.
            vaultArgs: ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "120"],
            noReplication: true,
        });
        await build({
            name: "contact",
            data: { kind: "anonymous" },
            vaultPort: table("contact").vaultPort + 2 + portOffset,
            operationalPort: table("contact").operationalPort! + 2 + portOffset,
        });
        await build({ name: "links", data: { kind: "anonymous" }, hostIp: "" });
        await build({ name: "track", data: { kind: "anonymous" }, vaultArgs: ["--dbfilename", "data.rdb"], noOperational: true });
        await build({ name: "session", data: { kind: "anonymous" }, noOperational: true });
        await build({ name: "transcripts", data: { kind: "anonymous" }, noOperational: true, network: otherNetwork });
        await build({ name: "web", data: { kind: "anonymous" }, noOperational: true });
        await build({ name: "chrono", data: { kind: "anonymous" } });
        // kb's "vault" is a web server on the vault's port. It answers every connection in HTTP and then reads on
        // until the client closes: a server that closes first (busybox httpd) resets a connection whose request it
        // did not read, and the reset can discard its answer before adopt reads it.
        const kb = await docker.createContainer({
            name: `${runId}-kb-vault`,
            Image: TEST_IMAGE,
            Entrypoint: ["nc"],
            Cmd: ["-ll", "-p", "6379", "-e", "sh", "-c", 'printf "HTTP/1.1 400 Bad Request\r\n\r\n"; exec cat >/dev/null'],
            Labels: { [RUN_LABEL_KEY]: runId },
            ExposedPorts: { "6379/tcp": {} },
            HostConfig: {
                PortBindings: { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(table("kb").vaultPort + portOffset) }] },
                NetworkMode: network,
            },
        });
        await kb.start();
        for (const m of (await kb.inspect()).Mounts) if (m.Name) volumes.add(m.Name);
        olderImage = await buildOlderImage();
    });

    afterAll(async () => {
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        await removeVolumes(docker, volumes);
        if (olderImage)
            await docker
                .getImage(olderImage)
                .remove({ force: true })
                .catch(() => undefined);
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("takes a healthy environment (the control: these fixtures are refused for their own problem only)", async () => {
        const run = await adopt(["--env", "chrono", "--dry-run"]);
        expect(run.code, run.stdout + run.stderr).toBe(0);
        expect(run.stdout).toContain("1 environment: 1 to adopt: nothing was changed (--dry-run)");
    });

    it("refuses a vault whose password it does not know (not on its command line, no --passwords)", async () => {
        await expectRefusal(
            ["--env", "user"],
            /user's vault password is unknown: nrt[0-9a-f]+-user-vault has no --requirepass on its command line; give it with --passwords FILE \({"user": {"vault": "\.\.\."}}\)/,
        );
    });

    it("refuses a wrong password given with --passwords, and takes the right one", async () => {
        await expectRefusal(
            ["--env", "user", "--passwords", passwordsFile("wrong.json", { user: { vault: "not-the-password" } })],
            /nrt[0-9a-f]+-user-vault rejected the password from --passwords: it is not user's vault password/,
        );
        const right = await adopt([
            "--env",
            "user",
            "--dry-run",
            "--passwords",
            passwordsFile("right.json", { user: { vault: built.get("user")!.password } }),
        ]);
        expect(right.code, right.stdout).toBe(0);
        expect(right.stdout).toMatch(/user +secure +adopt/);
    });

    it("refuses a vault that does not answer", async () => {
        const { State } = await docker.getContainer(built.get("locker")!.vault.name).inspect();
        process.kill(State.Pid, "SIGSTOP");
        try {
            await expectRefusal(
                ["--env", "locker"],
                /nrt[0-9a-f]+-locker-vault is not answering \(accepted the connection but did not answer AUTH within 3000 ms\)/,
            );
        } finally {
            process.kill(State.Pid, "SIGCONT");
        }
    });

    it("refuses a vault that is not running", async () => {
        // Stopped for good: no later test needs locker.
        await docker.getContainer(built.get("locker")!.vault.name).stop({ t: 30 });
        await expectRefusal(["--env", "locker"], /nrt[0-9a-f]+-locker-vault is exited, not running: start it/);
    });

    it("refuses data in the container's writable layer, and says how to move it", async () => {
        await expectRefusal(
            ["--env", "workflow"],
            /workflow's data cannot be used in place: nothing is mounted at \/tmp: the data is in the container's writable layer\. Move it to a host folder first[\s\S]*redis-cli SAVE[\s\S]*docker cp nrt[0-9a-f]+-workflow-vault:\/tmp\/\. /,
        );
    });

    it("refuses while a full sync is in progress", async () => {
        const context = built.get("context")!;
        const replica = handBuiltClient(context.operational!.port);
        await replica.connect();
        await replica.call("CONFIG", "SET", "masterauth", context.password);
        await replica.call("REPLICAOF", context.vault.ip, "6379");
        replica.disconnect();
        const vault = handBuiltClient(context.vault.port, context.password);
        await vault.connect();
        await waitFor("the replica waiting for its sync", async () =>
            /state=wait_bgsave/.test(parseInfo(await vault.info("replication")).slave0 ?? "") ? true : undefined,
        );
        vault.disconnect();
        await expectRefusal(
            ["--env", "context"],
            /a full sync is in progress \(slave0 wait_bgsave\b[^)]*\): try again once every replica is online/,
        );
    });

    it("refuses a container that is not Redis", async () => {
        await expectRefusal(
            ["--env", "kb", "--passwords", passwordsFile("kb.json", { kb: { vault: "anything" } })],
            /nrt[0-9a-f]+-kb-vault is not Redis: it answered AUTH in another protocol \(AUTH failed: not a Redis reply: unexpected reply type byte 0x48 \("H"\)\)/,
        );
    });

    it("refuses ports other than the stack would publish, and names the environments item that keeps them", async () => {
        const contact = findProtocolEnvironment("contact")!;
        const run = await expectRefusal(
            ["--env", "contact"],
            /contact's vault publishes 127\.0\.0\.1:\d+, its operational publishes 127\.0\.0\.1:\d+/,
        );
        expect(run.stdout).toContain(
            `The environments item contact=${contact.vaultPort + 2}/${contact.operationalPort! + 2} keeps the ports (portOffset ${portOffset} is added to it): pulumi config set --path 'environments[0]' contact=${contact.vaultPort + 2}/${contact.operationalPort! + 2}`,
        );
        // With that item set, as the message says, the same environment is taken.
        const kept = await adopt(["--env", "contact", "--dry-run"], {
            environments: JSON.stringify([`contact=${contact.vaultPort + 2}/${contact.operationalPort! + 2}`]),
        });
        expect(kept.code, kept.stdout).toBe(0);
    });

    it("refuses ports published on every interface where the stack publishes on loopback, and names bindAddress", async () => {
        await expectRefusal(
            ["--env", "links"],
            /links's vault publishes 0\.0\.0\.0:\d+, its operational publishes 0\.0\.0\.0:\d+, where the stack would publish 127\.0\.0\.1:\d+ and 127\.0\.0\.1:\d+: clients would not find them\. BindAddress 0\.0\.0\.0 keeps the address: pulumi config set bindAddress 0\.0\.0\.0/,
        );
    });

    it("refuses a vault newer than the stack's image's Redis", async () => {
        await expectRefusal(
            ["--env", "web"],
            new RegExp(
                `nrt[0-9a-f]+-web-vault runs Redis 7\\.0\\.15, newer than the stack's image ${olderImage.replace(/[.]/g, "\\.")} \\(Redis 6\\.2\\.14\\): its data may not load there`,
            ),
            { image: olderImage },
        );
    });

    it("refuses a dbfilename other than Redis's default", async () => {
        await expectRefusal(["--env", "track"], /nrt[0-9a-f]+-track-vault has dbfilename data\.rdb, not dump\.rdb/);
    });

    it("refuses vaults on different networks", async () => {
        const run = await expectRefusal(["--env", "session", "--env", "transcripts"], /the vaults are on different networks/);
        expect(run.stdout).toContain(`session: ${network}, transcripts: ${otherNetwork}`);
    });

    it("refuses the whole run when one environment is refused: the healthy one is not taken either", async () => {
        const run = await expectRefusal(["--env", "chrono", "--env", "track"], /has dbfilename data\.rdb/);
        expect(run.stdout).toMatch(/chrono +standard +adopt/);
    });

    it("puts everything back by itself when pulumi up fails: the old containers under their names, every key, the old operational replicating", async () => {
        const chrono = built.get("chrono")!;
        await fillEnvironment(chrono, 10_000);
        const before = await snapshotDigest(docker, { runId, network, host: chrono.vault.ip, password: chrono.password });
        const pulumi = stackWith(
            {},
            async () => {
                throw new Error("the Docker provider could not create the container");
            },
            async () => undefined, // nothing was created: the destroy has nothing to remove
        );
        const run = await adopt(["--env", "chrono"], {}, pulumi);
        expect(run.code, run.stdout + run.stderr).toBe(1);
        expect(await snapshotDigest(docker, { runId, network, host: await vaultIp(chrono), password: chrono.password })).toBe(before);
        await waitUntilReplicating(docker, chrono);
        expect(run.stdout).toMatch(/chrono +standard +ROLLED BACK/);
        expect(run.stdout).toContain(
            "chrono: `pulumi up --yes --skip-preview` failed (exit 255): error: the Docker provider could not create the container",
        );
        expect(run.stdout).toContain("adopt put everything back by itself:");
        expect(run.commands.at(-1)).toEqual(["pulumi", "destroy", "--yes", "--skip-preview"]);
        expect([...pulumi.config.keys()].sort()).toEqual(["bindAddress", "containerPrefix", "createNetwork", "image", "portOffset"]);
    });

    it("when putting it back fails too, says what is left to do by hand, and that works as written, with no password on a command line", async () => {
        const chrono = built.get("chrono")!;
        const before = await snapshotDigest(docker, { runId, network, host: await vaultIp(chrono), password: chrono.password });
        const fail = async () => {
            throw new Error("the Docker provider could not create the container");
        };
        const run = await adopt(["--env", "chrono"], {}, stackWith({}, fail, fail));
        expect(run.code, run.stdout + run.stderr).toBe(1);
        expect(run.stdout).toMatch(/chrono +standard +FAILED/);
        expect(run.stdout).toContain("putting it back stopped: chrono: `pulumi destroy --yes --skip-preview` failed (exit 255)");
        expect(run.stdout).not.toContain(chrono.password);
        // Each step of the message is a line (indented 4), its commands below it (indented 6).
        const lines = run.stdout.split("\n");
        const rest = lines.slice(lines.findIndex((l) => l.trim() === "left to do by hand:") + 1);
        const commands = rest.filter((l) => /^ {6}\S/.test(l)).map((l) => l.trim());
        expect(commands).toContain("pulumi destroy --yes --skip-preview");
        // As a person runs them, but for the destroy (the stand-in's had nothing to remove, and there is no Pulumi CLI here).
        const shellCommands = commands.filter((c) => !c.startsWith("pulumi "));
        expect(shellCommands).toContainEqual(
            expect.stringMatching(/^docker rename nrt[0-9a-f]+-chrono-vault\.adopted-\d{8}T\d{6}Z nrt[0-9a-f]+-chrono-vault$/),
        );
        // The readying server is run by hand too: the old vault's own Redis loads the AOF and saves dump.rdb.
        expect(shellCommands).toContainEqual(expect.stringMatching(/^docker run -d --name nrt[0-9a-f]+-chrono-vault\.readying /));
        // The vault's password typed at `read -rs`.
        const shell = await new Promise<{ code: number; out: string }>((resolve) => {
            const child = execFile("bash", ["-e", "-c", shellCommands.join("\n")], (error, stdout, stderr) =>
                resolve({ code: error ? Number(error.code ?? 1) : 0, out: stdout + stderr }),
            );
            child.stdin?.end(`${chrono.password}\n`);
        });
        expect(shell.code, shell.out).toBe(0);
        await waitForRedis(chrono.vault.port, chrono.password);
        await waitFor("the old vault's data loaded", async () => {
            const client = handBuiltClient(chrono.vault.port, chrono.password);
            try {
                await client.connect();
                return parseInfo(await client.info("persistence")).loading === "0" ? true : undefined;
            } finally {
                client.disconnect();
            }
        });
        expect(await snapshotDigest(docker, { runId, network, host: await vaultIp(chrono), password: chrono.password })).toBe(before);
        await waitUntilReplicating(docker, chrono);
    });
});
