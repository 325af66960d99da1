/**
 * `nexus-redis check`, `--fix` and `recover` against a real fleet (the program's own
 * container specs on Docker), broken in every way the protocol's operators meet, several
 * at once: each environment must be diagnosed for what happened to it, and only it.
 */
import { spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineContainers } from "../../cli/docker/engine";
import { main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { operationalUrns } from "../../cli/recover/recover";
import type { CommandRunner, RunOptions } from "../../cli/core/runner";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { connectOutcome } from "../../harness/ports";

const ROOT = path.resolve(__dirname, "../..");
const ENVIRONMENTS = ["workflow", "context", "kb", "contact", "links", "track", "session", "transcripts", "user"];
const TIMEOUT = "2000";

const live = dockerAvailable();
let fleet: LiveFleet;
let silent: net.Server;
let silentPort = 0;
const silentSockets: net.Socket[] = [];

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    commands: string[][];
}

/** The stack output as `pulumi stack output --json --show-secrets` prints it, with overrides. */
function outputsJson(change: (environments: Record<string, any>) => void = () => undefined): string {
    const environments = JSON.parse(JSON.stringify(fleet.outputs));
    change(environments);
    return JSON.stringify({ environments });
}

/** workflow's vault, as the outputs give it, is a port that accepts connections and never answers. */
const withSilentWorkflowVault = (environments: Record<string, any>) => (environments.workflow.vault.port = silentPort);

async function cli(argv: string[], options: { stdin?: string; run?: CommandRunner } = {}): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const commands: string[][] = [];
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => options.stdin ?? outputsJson(),
        run: async (command: string[], runOptions: RunOptions) => {
            commands.push(command);
            if (!options.run) throw new Error(`no command may run here, got ${command.join(" ")}`);
            return options.run(command, runOptions);
        },
        projectDir: ROOT,
        env: {},
        // The engine the fleet runs on, asked as the bin asks it when a server does not answer.
        engine: new EngineContainers(undefined),
    };
    // For check, --timeout bounds each environment; recover keeps its own default wait.
    const code = await main([...argv, "--outputs", "-", ...(argv[0] === "check" ? ["--timeout", TIMEOUT] : [])], io);
    return { code, stdout, stderr, commands };
}

async function checkJson(argv: string[] = [], stdin?: string): Promise<{ code: number; document: any }> {
    const run = await cli(["check", "--json", ...argv], { stdin });
    expect(run.stderr).toBe("");
    return { code: run.code, document: JSON.parse(run.stdout) };
}

function byName(document: any): Record<string, any> {
    return Object.fromEntries(document.environments.map((e: any) => [e.name, e]));
}

const codes = (e: any): string[] => e.problems.map((p: any) => p.code);

async function info(client: Redis, section = "replication"): Promise<Record<string, string>> {
    return parseInfo(await client.info(section));
}

async function keys(env: string, role: "vault" | "operational"): Promise<number> {
    return fleet.client(env, role, role === "vault" ? "password" : "none").dbsize();
}

beforeAll(async () => {
    if (!live) return;
    silent = net.createServer((socket) => silentSockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as net.AddressInfo).port;

    fleet = await startLiveFleet({ environments: ENVIRONMENTS });
    for (const env of ENVIRONMENTS) {
        const vault = fleet.client(env, "vault", "password");
        await vault.mset(`${env}:a`, "1", `${env}:b`, "2", `${env}:c`, "3");
    }
    for (const env of ENVIRONMENTS.filter((e) => fleet.outputs[e].kind === "standard")) {
        await waitFor(`${env} holds its vault's keys`, async () => ((await keys(env, "operational")) === 3 ? true : undefined), 60_000);
    }
});

afterAll(async () => {
    await fleet?.destroy();
    for (const socket of silentSockets) socket.destroy();
    await new Promise((resolve) => (silent ? silent.close(resolve) : resolve(undefined)));
});

describe.skipIf(!live)("nexus-redis against a live fleet", () => {
    it("reports a healthy fleet as healthy and exits 0", async () => {
        const run = await cli(["check"]);
        expect(run.code, run.stdout).toBe(0);
        for (const env of ENVIRONMENTS) expect(run.stdout).toMatch(new RegExp(`^${env}\\s+(standard|secure)\\s+ok\\s`, "m"));
        expect(run.stdout.trimEnd().split("\n").pop()).toBe(`${ENVIRONMENTS.length} environments: ${ENVIRONMENTS.length} ok`);
        const { document } = await checkJson();
        const contact = byName(document).contact;
        expect(contact.replication).toEqual({
            role: "slave",
            master: `${fleet.containerName("contact", "vault")}:6379`,
            link: "up",
            user: "replicator",
        });
        expect(document.measurements.contact.lagBytes).toEqual(expect.any(Number));
    });

    it("prints the same JSON on two runs against an unchanged fleet, measurements aside", async () => {
        const first = await checkJson();
        const second = await checkJson();
        const state = ({ measurements: _m, ...rest }: any) => rest;
        expect(JSON.stringify(state(second.document))).toBe(JSON.stringify(state(first.document)));
        expect(Object.keys(second.document.measurements)).toEqual(Object.keys(first.document.measurements));
    });

    it("runs as the package's bin, reading the outputs from stdin", async () => {
        const child = spawn(
            process.execPath,
            [path.join(ROOT, "bin/nexus-redis.js"), "check", "--outputs", "-", "--env", "track", "--env", "user"],
            { cwd: ROOT },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (b) => (stdout += b));
        child.stderr.on("data", (b) => (stderr += b));
        child.stdin.end(outputsJson());
        const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
        expect(code, stderr).toBe(0);
        expect(stdout).toMatch(/^track\s+standard\s+ok\s/m);
        expect(stdout).toMatch(/^user\s+secure\s+ok\s/m);
        expect(stderr).toBe("checking 2 environments...\n");
    });

    describe("ACL drift", () => {
        beforeAll(async () => {
            if (!live) return;
            // Anonymous clients of track's operational gain full control; workflow's replication user may read the vault.
            await fleet.client("track", "operational", "admin").call("ACL", "SETUSER", "default", "+@all");
            await fleet.client("workflow", "vault", "password").call("ACL", "SETUSER", "replicator", "+@read");
        });

        afterAll(async () => {
            if (!live) return;
            await fleet.client("workflow", "vault", "password").call("ACL", "SETUSER", "replicator", "-@read");
        });

        it("is found on the operational's default user and the vault's replication user", async () => {
            const { code, document } = await checkJson(["--env", "track", "--env", "workflow"]);
            expect(code).toBe(1);
            const e = byName(document);
            expect(e.track.problems).toEqual([
                {
                    code: "operational-acl-drift",
                    user: "default",
                    message:
                        "operational ACL user default (clients without a password, who may only read) commands start from +@all, declared -@all; lacks +@read +@connection +info (ACL SETUSER by hand?)",
                },
            ]);
            expect(e.workflow.problems).toEqual([
                {
                    code: "vault-acl-drift",
                    user: "replicator",
                    message: "vault ACL user replicator grants +@read beyond the declared (ACL SETUSER by hand?)",
                },
            ]);
        });

        it("--fix restores the operational's default user and never touches the vault", async () => {
            const { code, document } = await checkJson(["--fix", "--env", "track", "--env", "workflow"]);
            expect(code).toBe(1);
            const e = byName(document);
            expect(e.track).toMatchObject({ status: "fixed", problems: [] });
            expect(e.track.changes).toEqual([
                expect.stringMatching(/^ACL SETUSER default reset, then its declared rules: on nopass ~\* resetchannels/),
            ]);
            expect(codes(e.workflow)).toEqual(["vault-acl-drift", "not-fixed"]);
            expect(e.workflow.changes).toEqual([]);
            // Anonymous writes are refused again.
            await expect(fleet.client("track", "operational").set("track:x", "1")).rejects.toThrow(/NOPERM/);
            const replicator = (await fleet.client("workflow", "vault", "password").call("ACL", "GETUSER", "replicator")) as unknown[];
            expect(String(replicator[replicator.indexOf("commands") + 1])).toContain("+@read");
        });
    });

    describe("a fleet broken six ways at once", () => {
        beforeAll(async () => {
            if (!live) return;
            // contact: someone set a wrong masterauth by hand; the link drops on its next reconnect.
            const contactAdmin = fleet.client("contact", "operational", "admin");
            await contactAdmin.config("SET", "masterauth", "not-the-replication-password");
            await contactAdmin.call("CLIENT", "KILL", "TYPE", "master");
            // kb: REPLICAOF NO ONE.
            await fleet.client("kb", "operational", "admin").call("REPLICAOF", "NO", "ONE");
            // links: its operational pointed at track's vault.
            await fleet.client("links", "operational", "admin").call("REPLICAOF", fleet.containerName("track", "vault"), "6379");
            // session: operational stopped; transcripts: vault stopped. Both get the time a loaded CI machine
            // needs to save and exit on SIGTERM (exit code 0, which the messages below name): with 1 s, one CI
            // run's vault was still saving and was killed (137).
            await fleet.container("session", "operational").stop({ t: 60 });
            await fleet.container("transcripts", "vault").stop({ t: 60 });
            // Wait until Redis itself says what the check must find.
            const down = async (env: string) => {
                const operational = fleet.client(env, "operational");
                await waitFor(
                    `${env} link down`,
                    async () => ((await info(operational)).master_link_status === "down" ? true : undefined),
                    30_000,
                );
            };
            await Promise.all([down("contact"), down("links"), down("transcripts")]);
        });

        it("diagnoses each environment for what happened to it, leaves the others healthy, and exits 1", async () => {
            const { code, document } = await checkJson([], outputsJson(withSilentWorkflowVault));
            expect(code).toBe(1);
            const e = byName(document);
            const vault = (env: string) => `${fleet.containerName(env, "vault")}:6379`;

            expect(codes(e.contact)).toEqual(["link-down", "masterauth-drift"]);
            expect(e.contact.problems[0].message).toBe(`the replication link to ${vault("contact")} is down: masterauth is wrong`);

            expect(codes(e.kb)).toEqual(["not-replica"]);
            expect(e.kb.replication).toMatchObject({ role: "master", master: null });

            expect(codes(e.links)).toEqual(["wrong-master"]);
            expect(e.links.problems[0].message).toBe(
                `the operational replicates from ${vault("track")}, the vault of environment track, not from ${vault("links")}`,
            );

            expect(codes(e.session)).toEqual(["operational-unreachable"]);
            const session = fleet.containerName("session", "operational");
            expect(e.session.problems[0].message).toMatch(
                new RegExp(
                    `^operational 127\\.0\\.0\\.1:\\d+ refused the connection: container ${session} is stopped \\(exit code 0; \`docker logs ${session}\` says why\\): \`docker start ${session}\`$`,
                ),
            );

            expect(codes(e.transcripts)).toEqual(["vault-unreachable", "link-down"]);
            expect(e.transcripts.problems[0].message).toMatch(
                new RegExp(`refused the connection: container ${fleet.containerName("transcripts", "vault")} is stopped \\(exit code 0;`),
            );
            expect(e.transcripts.problems[1].message).toBe(
                `the replication link to ${vault("transcripts")} is down: the vault is not answering`,
            );

            // Its container runs, on its network: the engine adds nothing to what the port did.
            expect(codes(e.workflow)).toEqual(["vault-unreachable"]);
            expect(e.workflow.problems[0].message).toBe(
                `vault 127.0.0.1:${silentPort} accepted the connection but did not answer AUTH within ${TIMEOUT} ms`,
            );

            for (const healthy of ["context", "track", "user"]) expect(e[healthy]).toMatchObject({ status: "ok", problems: [] });
            expect(document.summary).toEqual({ ok: 3, fixed: 0, problem: 6 });
        });

        it("--fix repairs the operationals it can, reports what it changed, and leaves the rest reported", async () => {
            const { code, document } = await checkJson(["--fix"], outputsJson(withSilentWorkflowVault));
            expect(code).toBe(1);
            const e = byName(document);
            const vaultName = (env: string) => fleet.containerName(env, "vault");

            expect(e.contact).toMatchObject({
                status: "fixed",
                problems: [],
                changes: ["CONFIG SET masterauth to the stack's replication password"],
            });
            expect(e.kb).toMatchObject({ status: "fixed", problems: [], changes: [`REPLICAOF ${vaultName("kb")} 6379 (was NO ONE)`] });
            expect(e.links).toMatchObject({
                status: "fixed",
                problems: [],
                changes: [`REPLICAOF ${vaultName("links")} 6379 (was ${vaultName("track")} 6379)`],
            });
            for (const env of ["contact", "kb", "links"]) expect(e[env].replication).toMatchObject({ link: "up", user: "replicator" });

            expect(e.session.status).toBe("problem");
            expect(codes(e.session)).toEqual(["operational-unreachable", "not-fixed"]);
            expect(e.session.problems[1].message).toBe(
                "the operational is not answering: nothing could be repaired (`nexus-redis recover` replaces it)",
            );
            expect(e.transcripts.status).toBe("problem");
            expect(codes(e.transcripts)).toEqual(["vault-unreachable", "link-down", "not-fixed"]);
            expect(e.workflow).toMatchObject({ status: "problem", changes: [] });
            for (const healthy of ["context", "track", "user"]) expect(e[healthy]).toMatchObject({ status: "ok", changes: [] });
            expect(document.summary).toEqual({ ok: 3, fixed: 3, problem: 3 });

            // Repaired for real: the datasets equal their vaults'.
            for (const env of ["contact", "kb", "links"])
                expect(await fleet.digest(env, "operational")).toBe(await fleet.digest(env, "vault"));
            // Never a write to a vault: track's vault still has exactly its own keys.
            expect(await keys("track", "vault")).toBe(3);
        });

        it("reports the repaired environments as ok afterwards, and the stopped containers once they are back", async () => {
            await fleet.container("session", "operational").start();
            await fleet.container("transcripts", "vault").start();
            const run = await cli(["check", "--wait", "60000"]);
            expect(run.code, run.stdout).toBe(0);
            expect(run.stdout.trimEnd().split("\n").pop()).toBe(`${ENVIRONMENTS.length} environments: ${ENVIRONMENTS.length} ok`);
            expect(await keys("transcripts", "operational")).toBe(3);
        });
    });

    describe("an empty vault while its operational holds the data", () => {
        beforeAll(async () => {
            if (!live) return;
            // The operational stops following, then the vault loses everything: the operational
            // holds the only copy, and re-pointing it would wipe that too.
            await fleet.client("context", "operational", "admin").call("REPLICAOF", "NO", "ONE");
            await fleet.client("context", "vault", "password").flushall();
        });

        it("is refused by --fix, which says why and changes nothing", async () => {
            const { code, document } = await checkJson(["--fix", "--env", "context"]);
            expect(code).toBe(1);
            const context = byName(document).context;
            expect(context.changes).toEqual([]);
            expect(codes(context)).toEqual(["not-replica", "not-fixed"]);
            expect(context.problems[1].message).toBe(
                "REPLICAOF not done: refused, the vault is empty while the operational holds 3 keys: syncing would wipe what may be the only copy (--force overrides)",
            );
            expect(await keys("context", "operational")).toBe(3);
            expect((await info(fleet.client("context", "operational"))).role).toBe("master");
        });

        it("proceeds with --force, and records the risk it overrode", async () => {
            const { code, document } = await checkJson(["--fix", "--force", "--env", "context"]);
            expect(code).toBe(0);
            const context = byName(document).context;
            expect(context.status).toBe("fixed");
            expect(context.changes).toEqual([
                "--force: re-synced although the vault is empty while the operational holds 3 keys: syncing would wipe what may be the only copy",
                `REPLICAOF ${fleet.containerName("context", "vault")} 6379 (was NO ONE)`,
            ]);
            expect(await keys("context", "operational")).toBe(0);
        });
    });

    describe("recover", () => {
        /**
         * Stands in for the Pulumi CLI: `pulumi up --replace URN...` replaces the plan's
         * resources those URNs name, as the harness does for any replacement.
         */
        const pulumi: CommandRunner = async (command) => {
            expect(command.slice(0, 5)).toEqual(["pulumi", "up", "--yes", "--stack", "dev"]);
            const replaced = command.flatMap((word, i) => (command[i - 1] === "--replace" ? [word] : []));
            const names = replaced.map((urn) => fleet.plan.resources.find((r) => r.urn === urn)?.name);
            expect(names.sort()).toEqual(["track-operational", "track-operational-data"]);
            await fleet.recreate("track", "operational");
            return { exitCode: 0, stdout: "", stderr: "" };
        };

        it("replaces the operational's container and volume through Pulumi, then waits until it is synced", async () => {
            const vault = fleet.client("track", "vault", "password");
            await vault.set("track:after-recovery", "restored");
            // A problem of the vault alone, which a recovery neither causes nor cures: shown in
            // the row, but recover's verdict (exit 0) is that the operational is synced.
            await vault.config("SET", "repl-backlog-ttl", "7200");
            const before = await fleet.container("track", "operational").inspect();
            const run = await cli(["recover", "track", "--stack", "dev"], { run: pulumi });
            expect(run.code, run.stderr).toBe(0);
            const urns = operationalUrns(fleet.plan.project, "dev", "track");
            expect(run.commands).toEqual([
                [
                    "pulumi",
                    "up",
                    "--yes",
                    "--stack",
                    "dev",
                    "--target",
                    urns.container,
                    "--target",
                    urns.volume,
                    "--replace",
                    urns.container,
                    "--replace",
                    urns.volume,
                ],
            ]);
            expect(run.stdout).toMatch(/^track\s+standard\s+PROBLEM\s.*vault setting repl-backlog-ttl is "7200", declared "3600"/m);
            await vault.config("SET", "repl-backlog-ttl", "3600");
            const after = await fleet.container("track", "operational").inspect();
            expect(after.Id).not.toBe(before.Id);
            expect(await fleet.client("track", "operational").get("track:after-recovery")).toBe("restored");
            expect(await fleet.digest("track", "operational")).toBe(await fleet.digest("track", "vault"));
        });
    });

    describe("a running operational cut off its network", () => {
        const network = () => fleet.config.values.network;

        beforeAll(async () => {
            if (!live) return;
            await fleet.docker.getNetwork(network()).disconnect({ Container: fleet.containerName("kb", "operational") });
            // Its published port goes with the network: refused, as for a stopped container.
            const { host, port } = fleet.outputs.kb.operational!;
            await waitFor("the operational's port to refuse", async () =>
                (await connectOutcome(host, port)) === "ECONNREFUSED" ? true : undefined,
            );
        });

        afterAll(async () => {
            if (!live) return;
            await fleet.docker
                .getNetwork(network())
                .connect({ Container: fleet.containerName("kb", "operational") })
                .catch(() => undefined);
        });

        it("is told apart from a stopped one through the engine, with the command that reconnects it", async () => {
            const { code, document } = await checkJson(["--env", "kb"]);
            expect(code).toBe(1);
            const operational = fleet.containerName("kb", "operational");
            expect(byName(document).kb.problems).toEqual([
                {
                    code: "operational-unreachable",
                    message: `operational 127.0.0.1:${fleet.outputs.kb.operational!.port} refused the connection: container ${operational} runs, but is attached to no network (docker network disconnect?), so its published port is closed and it cannot reach the other server: \`docker network connect ${network()} ${operational}\``,
                },
            ]);
            expect((await fleet.container("kb", "operational").inspect()).State.Status).toBe("running");
        });

        it("is healthy again once reconnected as the message says", async () => {
            await fleet.docker.getNetwork(network()).connect({ Container: fleet.containerName("kb", "operational") });
            const run = await cli(["check", "--env", "kb", "--wait", "60000"]);
            expect(run.code, run.stdout).toBe(0);
        });
    });

    it("finds a passwordless user widened in a way its ACL rules do not show (ACL DRYRUN), and --fix narrows it again", async () => {
        // On Redis 7.0 `+keys` after the declared rules only removes "-keys" from ACL GETUSER's list.
        const admin = fleet.client("links", "operational", "admin");
        await admin.call("ACL", "SETUSER", "default", "+keys");
        expect(await fleet.client("links", "operational").call("KEYS", "links:*")).toHaveLength(3);
        const { code, document } = await checkJson(["--env", "links"]);
        expect(code).toBe(1);
        expect(byName(document).links.problems).toEqual([
            {
                code: "operational-acl-drift",
                user: "default",
                message:
                    "operational ACL user default (clients without a password, who may only read) may run KEYS (ACL DRYRUN; ACL SETUSER by hand?)",
            },
        ]);
        const fixed = await cli(["check", "--fix", "--env", "links"]);
        expect(fixed.code, fixed.stdout).toBe(0);
        await expect(fleet.client("links", "operational").call("KEYS", "links:*")).rejects.toThrow(/NOPERM/);
        expect((await checkJson(["--env", "links"])).code).toBe(0);
    });
});
