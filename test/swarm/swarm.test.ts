/**
 * The protocol's whole table on a real three-node Docker Swarm (harness/swarm.ts: one engine
 * per namespace set on this machine), created from the program's own `platform: swarm` plan
 * through the Engine API (harness/swarmFleet.ts). One cluster for the file; the tests run in
 * order and each leaves the cluster whole for the next.
 *
 * Vaults are pinned to n1 (the manager) and n2; n3 holds no vault, so losing it loses
 * operationals only. The fleet publishes both roles in host mode so this process can be a
 * client; the operator CLI reaches the servers through its probe on the overlay.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandRunner } from "../../cli/core/runner";
import { swarmOperationalUrn } from "../../cli/recover/recover";
import { PROBE_LABEL } from "../../cli/fleet/swarm";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { exec } from "../../harness/docker";
import { missingKeys, parseInfo } from "../../harness/fleet";
import { SwarmCluster, type SwarmNode, leftovers, swarmAvailable } from "../../harness/swarm";
import { SWARM_TEST_IMAGE, type SwarmFleet, startSwarmFleet, waitUntil } from "../../harness/swarmFleet";
import { cli as inProcess } from "../unit/cliRun";

const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").map((e) => e.name);
const ALL = PROTOCOL_ENVIRONMENTS.map((e) => e.name);
/** Vaults on n2; every other vault on n1. */
const ON_N2 = ["session", "transcripts", "web", "chrono", "locker"];
const vaultNodeName = (env: string) => (ON_N2.includes(env) ? "n2" : "n1");

const available = swarmAvailable(SWARM_TEST_IMAGE);
let cluster: SwarmCluster;
let fleet: SwarmFleet;
let outputsFile: string;
const log = (message: string) => process.stderr.write(`swarm test: ${message}\n`);

const node = (name: string): SwarmNode => cluster.nodes.find((n) => n.name === name)!;

/** The CLI in this process, run as on the manager (DOCKER_HOST names its socket). */
async function cli(argv: string[], run?: CommandRunner): Promise<{ code: number; stdout: string; stderr: string }> {
    return inProcess([...argv, "--outputs", outputsFile], {
        runner:
            run ??
            (async (command) => {
                throw new Error(`no command may run here, got ${command.join(" ")}`);
            }),
        env: { DOCKER_HOST: `unix://${cluster.manager.socket}` },
    });
}

async function check(extra: string[] = []): Promise<{ code: number; report: any; stderr: string }> {
    const run = await cli(["check", "--json", ...extra]);
    return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr };
}

async function linkUp(env: string, timeoutMs = 120_000): Promise<void> {
    await waitUntil(
        `${env} link up`,
        async () => {
            const client = await fleet.client(env, "operational", "none", { maxRetriesPerRequest: 0, retryStrategy: () => null });
            try {
                return parseInfo(String(await client.info("replication"))).master_link_status === "up";
            } finally {
                client.disconnect();
            }
        },
        timeoutMs,
        500,
    );
}

/** Every password of the fleet and its SHA-256: none may show anywhere but in a secret. */
function needles(): string[] {
    const passwords = Object.values(fleet.outputs).flatMap((o) => [
        o.vault.password,
        o.backup.password,
        ...(o.replication ? [o.replication.password] : []),
        ...(o.operational ? [o.operational.adminPassword] : []),
    ]);
    return passwords.flatMap((p) => [p, createHash("sha256").update(p).digest("hex")]);
}

beforeAll(async () => {
    if (!available) return;
    const started = performance.now();
    cluster = await SwarmCluster.start({ images: [SWARM_TEST_IMAGE], log });
    fleet = await startSwarmFleet(cluster, { vaultNodes: Object.fromEntries(ON_N2.map((env) => [env, "n2"])) });
    outputsFile = path.join(mkdtempSync(path.join(tmpdir(), "nexus-redis-swarm-")), "outputs.json");
    // With the stack's CA: TLS is on by default on swarm, and the CLI checks each server's certificate.
    writeFileSync(outputsFile, JSON.stringify({ environments: fleet.outputs, tls: fleet.plan.outputs.tls }));
    for (const env of ALL) {
        await fleet.waitRunning(env, "vault");
        if (STANDARD.includes(env)) await fleet.waitRunning(env, "operational");
    }
    log(`cluster and the whole table running in ${Math.round(performance.now() - started)} ms`);
});

afterAll(async () => {
    await fleet?.destroy();
    await cluster?.destroy();
});

describe.skipIf(!available)("the protocol's table on a three-node Swarm", () => {
    it("pins every vault to its node by ID, and runs every operational on another node", async () => {
        for (const env of ALL) {
            const vault = await fleet.waitRunning(env, "vault");
            expect(vault.node.name, env).toBe(vaultNodeName(env));
            if (!STANDARD.includes(env)) continue;
            const operational = await fleet.waitRunning(env, "operational");
            expect(operational.node.name, env).not.toBe(vault.node.name);
        }
    });

    it("brings every link up, by the protocol's own unauthenticated INFO replication on each operational", async () => {
        for (const env of STANDARD) await linkUp(env);
        for (const env of STANDARD) {
            const info = parseInfo(String(await (await fleet.client(env, "operational")).info("replication")));
            expect(info, env).toMatchObject({ role: "slave", master_host: fleet.serviceName(env, "vault"), master_port: "6379" });
        }
    });

    it("holds the access rules: reads without a password, writes only with the vault's, and nothing else", async () => {
        for (const env of STANDARD) {
            const vault = await fleet.client(env, "vault", "password");
            const operational = await fleet.client(env, "operational");
            await vault.set(`probe:${env}`, env);
            await waitUntil(`${env} replicated`, async () => (await operational.get(`probe:${env}`)) === env, 30_000);
            await expect(operational.set("k", "v")).rejects.toThrow(/^NOPERM/);
            await expect(operational.call("CONFIG", "GET", "masterauth")).rejects.toThrow(/^NOPERM/);
            await expect(operational.call("REPLICAOF", "NO", "ONE")).rejects.toThrow(/^NOPERM/);
            await expect((await fleet.client(env, "vault")).get("anything")).rejects.toThrow(/NOAUTH/);
            const replicator = await fleet.client(env, "vault", "none", {
                username: "replicator",
                password: fleet.outputs[env].replication!.password,
            });
            await expect(replicator.get(`probe:${env}`)).rejects.toThrow(/^NOPERM/);
        }
        for (const env of ["user", "locker"]) {
            await expect((await fleet.client(env, "vault")).get("anything")).rejects.toThrow(/NOAUTH/);
            const info = parseInfo(String(await (await fleet.client(env, "vault", "password")).info("replication")));
            expect(info.connected_slaves, env).toBe("0");
        }
    });

    it("shows no password nor its hash in any service, secret, config or task container, and gives Redis its config readable by redis alone", async () => {
        const secrets = needles();
        const leaks = (what: string, value: unknown) => {
            const text = JSON.stringify(value);
            return secrets.filter((s) => text.includes(s)).map(() => what);
        };
        const found: string[] = [];
        for (const service of await cluster.manager.docker.listServices()) found.push(...leaks(`service ${service.Spec?.Name}`, service));
        for (const secret of await cluster.manager.docker.listSecrets()) {
            found.push(...leaks(`secret ${secret.Spec?.Name}`, await cluster.manager.docker.getSecret(secret.ID).inspect()));
        }
        for (const config of await cluster.manager.docker.listConfigs()) {
            const inspected = (await cluster.manager.docker.getConfig(config.ID).inspect()) as { Spec: { Name: string; Data: string } };
            found.push(...leaks(`config ${inspected.Spec.Name}`, Buffer.from(inspected.Spec.Data, "base64").toString("utf8")));
        }
        for (const env of ALL) {
            for (const role of STANDARD.includes(env) ? (["vault", "operational"] as const) : (["vault"] as const)) {
                const task = await fleet.waitRunning(env, role);
                const container = task.node.docker.getContainer(task.containerId);
                found.push(...leaks(`${env} ${role} container`, await container.inspect()));
                const proc = await exec(task.node.docker, task.containerId, [
                    "sh",
                    "-c",
                    "cat /proc/1/cmdline /proc/1/environ | tr '\\0' ' '",
                ]);
                found.push(...leaks(`${env} ${role} /proc/1`, proc.output));
                const file = role === "vault" ? "/run/secrets/vault.conf" : "/run/secrets/operational.conf";
                const stat = await exec(task.node.docker, task.containerId, ["stat", "-c", "%a %u %g", file]);
                expect(stat.stdout.trim(), `${env} ${role}`).toBe("400 999 999");
                const other = await exec(task.node.docker, task.containerId, ["cat", file], { user: "1000" });
                expect(other.exitCode, `${env} ${role}: another user reads ${file}`).not.toBe(0);
            }
        }
        expect(found).toEqual([]);
    });

    it("nexus-redis check reports the whole table healthy through its probe on the overlay, and leaves no probe behind", async () => {
        const { code, report, stderr } = await check(["--wait", "60000"]);
        expect(stderr).toBe("");
        expect(report.environments.map((e: any) => [e.name, e.status])).toEqual(ALL.map((env) => [env, "ok"]));
        expect(code).toBe(0);
        await waitUntil(
            "the probe container to be gone",
            async () =>
                (await cluster.manager.docker.listContainers({ all: true, filters: JSON.stringify({ label: [PROBE_LABEL] }) })).length ===
                0,
            15_000,
        );
    });

    it("check --fix repairs an operational through the probe, as its admin user", async () => {
        await fleet.cli("kb", "operational", ["REPLICAOF", "NO", "ONE"]);
        const broken = await check(["--env", "kb"]);
        expect(broken.report.environments[0].problems.map((p: any) => p.code)).toEqual(["not-replica"]);
        const fixed = await check(["--env", "kb", "--fix"]);
        expect(fixed.report.environments[0]).toMatchObject({
            status: "fixed",
            changes: [`REPLICAOF ${fleet.serviceName("kb", "vault")} 6379 (was NO ONE)`],
        });
        expect(fixed.code).toBe(0);
    });

    it("loses the node that runs operationals: each comes back on another node (never its vault's), re-syncs, and check reports healthy", async () => {
        const n3 = node("n3");
        const moved: string[] = [];
        for (const env of STANDARD) if ((await fleet.waitRunning(env, "operational")).node === n3) moved.push(env);
        expect(moved.length, "the scheduler put no operational on n3: nothing to fail over").toBeGreaterThan(0);
        for (const env of moved) await (await fleet.client(env, "vault", "password")).set(`before-failover:${env}`, env);
        const started = performance.now();
        await cluster.stopNode(n3);
        try {
            await failover();
        } finally {
            await cluster.startStoppedNodes();
        }
        async function failover() {
            for (const env of moved) {
                const task = await fleet.waitRunning(env, "operational", { notOn: n3 });
                expect(task.node.name, env).not.toBe(vaultNodeName(env));
                await linkUp(env);
                expect(await (await fleet.client(env, "operational")).get(`before-failover:${env}`), env).toBe(env);
            }
            log(
                `n3 lost: ${moved.length} operationals (${moved.join(", ")}) healthy again on other nodes after ${Math.round(performance.now() - started)} ms`,
            );
            const { code, report } = await check(["--wait", "60000"]);
            expect(report.environments.filter((e: any) => e.status !== "ok")).toEqual([]);
            expect(code).toBe(0);
        }
    });

    it("loses a vault's node: the vault starts nowhere else, check names the environment and the cause, reads go on; back, it has all its data and the link comes up", async () => {
        const n2 = node("n2");
        const standardOnN2 = ON_N2.filter((env) => STANDARD.includes(env));
        const digests: Record<string, string> = {};
        for (const env of ON_N2) {
            const vault = await fleet.client(env, "vault", "password");
            for (let i = 0; i < 200; i++) await vault.set(`before-loss:${env}:${i}`, `${i}`);
        }
        // appendfsync everysec: past a second every acknowledged write is on disk, power cut or not.
        await new Promise((resolve) => setTimeout(resolve, 1500));
        for (const env of ON_N2) digests[env] = await fleet.digest(env, "vault");
        for (const env of standardOnN2)
            await waitUntil(`${env} synced`, async () => (await fleet.digest(env, "operational")) === digests[env], 30_000);

        await cluster.stopNode(n2);
        try {
            await lost();
        } finally {
            await cluster.startStoppedNodes();
        }
        async function lost() {
            await cluster.waitNode(n2, "down");

            // Not started anywhere else: no task of these vaults runs, for as long as n2 stays down.
            const watchUntil = performance.now() + 20_000;
            while (performance.now() < watchUntil) {
                for (const env of ON_N2)
                    expect(await fleet.running(env, "vault"), `${env}'s vault started away from its data`).toBeUndefined();
                await new Promise((resolve) => setTimeout(resolve, 1000));
            }

            const { code, report } = await check();
            expect(code).toBe(1);
            for (const env of ON_N2) {
                const row = report.environments.find((e: any) => e.name === env);
                expect(row.problems[0], env).toEqual({
                    code: "vault-not-running",
                    message: expect.stringMatching(
                        new RegExp(
                            `^the vault's service ${fleet.serviceName(env, "vault")} runs no task: its node ${n2.hostname} \\(${n2.id}\\) is down; the vault is never started on another node`,
                        ),
                    ),
                });
            }

            // Reads go on: every operational of these vaults runs on another node, with the data.
            for (const env of standardOnN2) {
                const operational = await fleet.client(env, "operational");
                expect(await operational.get(`before-loss:${env}:199`), env).toBe("199");
                expect(await fleet.digest(env, "operational"), env).toBe(digests[env]);
            }

            await cluster.startNode(n2);
            for (const env of ON_N2) {
                const task = await fleet.waitRunning(env, "vault");
                expect(task.node.name, env).toBe("n2");
                await waitUntil(`${env}'s vault answering`, async () => (await fleet.digest(env, "vault")) === digests[env], 60_000);
            }
            for (const env of standardOnN2) await linkUp(env);
            const after = await check(["--wait", "60000"]);
            expect(after.report.environments.filter((e: any) => e.status !== "ok")).toEqual([]);
            expect(after.code).toBe(0);
        }
    });

    it("rolls an image update through every service with no acknowledged write lost", async () => {
        // By its ID, as a swarm stack names an image with no registry (config.ts isPinnedImage).
        const next = await cluster.buildForEveryNode(
            `${SWARM_TEST_IMAGE.split(":")[0]}:swarm-update-${fleet.runId}`,
            `FROM ${SWARM_TEST_IMAGE}\nLABEL nexus-redis.test-update="${fleet.runId}"\n`,
        );
        const writers = ["contact", "session", "user"];
        const acknowledged: Record<string, string[]> = Object.fromEntries(writers.map((env) => [env, []]));
        let writing = true;
        const loops = writers.map(async (env) => {
            const client: Redis = await fleet.client(env, "vault", "password", {
                maxRetriesPerRequest: 0,
                retryStrategy: () => 100,
                enableOfflineQueue: false,
            });
            for (let i = 0; writing; i++) {
                const key = `update:${env}:${i}`;
                try {
                    if ((await client.set(key, String(i))) === "OK") acknowledged[env].push(key);
                } catch {
                    // The vault is restarting: not acknowledged, so it may be lost.
                    await new Promise((resolve) => setTimeout(resolve, 50));
                }
            }
        });
        const result = await fleet.up({ config: { image: next } });
        expect(result.updated.sort()).toEqual(
            ALL.flatMap((env) => (STANDARD.includes(env) ? [`${env}-operational`, `${env}-vault`] : [`${env}-vault`])).sort(),
        );
        expect([...result.created, ...result.replaced, ...result.deleted]).toEqual([]);
        for (const env of ALL) {
            for (const role of STANDARD.includes(env) ? (["vault", "operational"] as const) : (["vault"] as const)) {
                await waitUntil(
                    `${env} ${role} on the new image`,
                    async () => (await fleet.runningImage(env, role)) === next,
                    300_000,
                    1000,
                );
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
        writing = false;
        await Promise.all(loops);
        for (const env of writers) {
            expect(acknowledged[env].length, `${env}: no write was acknowledged`).toBeGreaterThan(0);
            const vault = await fleet.client(env, "vault", "password");
            expect(await missingKeys(vault, acknowledged[env]), `${env}: acknowledged writes lost`).toEqual([]);
        }
        for (const env of STANDARD) await linkUp(env);
        const { code, report } = await check(["--wait", "60000"]);
        expect(report.environments.filter((e: any) => e.status !== "ok")).toEqual([]);
        expect(code).toBe(0);
    });

    it("recover replaces the operational's service through Pulumi (here the harness, as pulumi up --replace does), which comes back empty and re-syncs", async () => {
        const urn = swarmOperationalUrn(fleet.plan.project, "dev", "links");
        const before = await fleet.waitRunning("links", "operational");
        const commands: string[][] = [];
        const run = await cli(["recover", "links", "--stack", "dev"], async (command) => {
            commands.push(command);
            await fleet.replaceService("links", "operational");
            return { exitCode: 0, stdout: "", stderr: "" };
        });
        expect(commands).toEqual([["pulumi", "up", "--yes", "--stack", "dev", "--target", urn, "--replace", urn]]);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^links +standard +ok /m);
        const after = await fleet.waitRunning("links", "operational");
        expect(after.id).not.toBe(before.id);
        expect(await fleet.digest("links", "operational")).toBe(await fleet.digest("links", "vault"));
    });

    it("removes the whole cluster, leaving nothing on this machine", async () => {
        await fleet.destroy();
        await cluster.destroy();
        expect(await leftovers(cluster.id)).toEqual([]);
    });
});
