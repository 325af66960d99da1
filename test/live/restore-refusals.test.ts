/**
 * `nexus-redis restore` on vaults it must not touch, each refused before anything changes (no
 * write pause, no CONFIG SET, no stop): outputs whose vault.container is another environment's
 * vault, a vault the program does not run (a plain `redis-server --appendonly yes`, which would
 * start empty beside the snapshot), a vault without AOF, a paused vault, a vault another restore
 * or an adopt holds the lock of (and the lock a killed one left, taken over). And a restore whose
 * operational is stopped: it says the vault is restored and verified, and what to do, without
 * waiting out its --timeout.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ownerTag } from "../../cli/core/owner";
import { LABEL_LOCK_COMMAND, lockName } from "../../cli/snapshot/vaultLock";
import { LABEL_OWNER } from "../../cli/snapshot/vaultContainer";
import { type CliRun, runCli } from "../../harness/cliRun";
import {
    type EnvironmentOutput,
    type LiveFleet,
    RUN_LABEL_KEY,
    TEST_IMAGE,
    dockerAvailable,
    startLiveFleet,
    waitFor,
} from "../../harness/fleet";
import { fillDataset, waitForRedis } from "../../harness/handBuilt";
import { exec } from "../../harness/docker";
import { freePort } from "../../harness/ports";
import { redisCommand } from "../../harness/resp";

const live = dockerAvailable();
let fleet: LiveFleet;
let work: string;
/** kb's snapshot, taken once. */
let snapshot: { file: string; digest: string };

/** The CLI in this process, as an operator runs it, with the outputs (the fleet's unless given) on stdin. */
function cli(argv: string[], outputs: Record<string, EnvironmentOutput> = fleet.outputs): Promise<CliRun> {
    return runCli(outputs, argv);
}

async function restoreJson(argv: string[], outputs?: Record<string, EnvironmentOutput>) {
    const run = await cli(["restore", ...argv, "--json"], outputs);
    if (run.stdout === "") throw new Error(`restore printed nothing (exit ${run.code}): ${run.stderr}`);
    return { code: run.code, document: JSON.parse(run.stdout) };
}

/** The fleet's outputs with kb's vault changed as `change` says: what an operator's hand-edited outputs would hold. */
function outputsWithKbVault(change: Record<string, unknown>) {
    const outputs = structuredClone(fleet.outputs);
    Object.assign(outputs.kb.vault, change);
    return outputs;
}

/** What a refused restore must have left as it was: the container's start, its save points, its data, writes going through. */
async function untouched(env: "kb" | "web") {
    const [started, save, digest] = await Promise.all([
        fleet
            .container(env, "vault")
            .inspect()
            .then((i) => i.State.StartedAt),
        fleet.cli(env, "vault", ["CONFIG", "GET", "save"]),
        fleet.digest(env, "vault"),
    ]);
    return { started, save, digest };
}

/** A write goes through at once: no write pause was left behind. */
async function writable(env: "kb" | "web") {
    const out = fleet.outputs[env];
    return redisCommand(out.vault.port, ["SET", "written-after-the-refusal", "1"], { password: out.vault.password, timeoutMs: 3_000 });
}

describe.skipIf(!live)("restore's refusals of a vault it must not touch", () => {
    beforeAll(async () => {
        fleet = await startLiveFleet({ environments: ["kb", "web"] });
        for (const env of ["kb", "web"]) await waitForRedis(fleet.outputs[env].vault.port, fleet.outputs[env].vault.password, 60_000);
        work = mkdtempSync(path.join(tmpdir(), "nexus-redis-restore-refusals-"));
        await fillDataset(fleet.client("kb", "vault", "password"), 2_000, "kb");
        await fillDataset(fleet.client("web", "vault", "password"), 1_000, "web");
        const backup = await cli(["backup", "--json", "--env", "kb", "--to", work]);
        expect(backup.code).toBe(0);
        const document = JSON.parse(backup.stdout);
        snapshot = { file: document.backups[0].snapshot.file, digest: document.backups[0].snapshot.digest };
        // kb then holds data the snapshot lacks: only --force would replace it.
        await fleet.client("kb", "vault", "password").set("written-after-the-backup", "1");
    }, 300_000);
    afterAll(async () => {
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("refuses outputs whose vault.container is another environment's vault: neither vault is paused, changed or stopped", async () => {
        const before = { kb: await untouched("kb"), web: await untouched("web") };
        const outputs = outputsWithKbVault({ container: fleet.containerName("web", "vault") });
        const { code, document } = await restoreJson(["kb", "--from", snapshot.file, "--force"], outputs);
        expect(code).toBe(1);
        expect(document.status).toBe("refused");
        // web's vault does not take kb's password: the two cannot be the same server.
        expect(document.error).toContain(
            `the vault's host:port ${fleet.outputs.kb.vault.host}:${fleet.outputs.kb.vault.port} and its container ${fleet.containerName("web", "vault")} could not be proven to be the same Redis server`,
        );
        expect(document.error).toContain(`inside ${fleet.containerName("web", "vault")}: no answer with the vault's password`);
        expect({ kb: await untouched("kb"), web: await untouched("web") }).toEqual(before);
        expect(await writable("kb")).toBe("OK");
    });

    it("refuses a vault the program does not run (plain redis-server with AOF on, which would start empty beside the snapshot)", async () => {
        const password = fleet.outputs.kb.vault.password;
        const port = await freePort();
        const name = `${fleet.prefix}-plain-vault`;
        // Built by hand as an operator would, outside the program; the run's label has the fleet's clean-up remove it.
        const container = await fleet.docker.createContainer({
            name,
            Image: TEST_IMAGE,
            Cmd: ["redis-server", "--appendonly", "yes"],
            Env: [],
            Labels: { [RUN_LABEL_KEY]: fleet.runId },
            HostConfig: { PortBindings: { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] } },
        });
        await container.start();
        // The password by CONFIG SET inside the container (loopback: protected mode lets it in), through the environment, not argv.
        await waitFor("the plain vault", async () => {
            const set = await exec(fleet.docker, name, ["sh", "-c", 'redis-cli CONFIG SET requirepass "$PW"'], { env: [`PW=${password}`] });
            return set.stdout.trim() === "OK" ? true : undefined;
        });
        await redisCommand(port, ["SET", "plain", "kept"], { password });
        const started = (await container.inspect()).State.StartedAt;
        const { code, document } = await restoreJson(["kb", "--from", snapshot.file], outputsWithKbVault({ container: name, port }));
        expect(code).toBe(1);
        expect(document.status).toBe("refused");
        expect(document.error).toContain(`${name} does not start through the program's start script`);
        expect(document.error).toContain("adopt this one first (docs/adopt.md)");
        expect((await container.inspect()).State.StartedAt).toBe(started);
        expect(await redisCommand(port, ["GET", "plain"], { password, timeoutMs: 3_000 })).toBe("kept");
    });

    it("refuses a vault without AOF, even with --force: it would keep no copy of what it replaced", async () => {
        await fleet.cli("kb", "vault", ["CONFIG", "SET", "appendonly", "no"]);
        try {
            const before = await untouched("kb");
            const { code, document } = await restoreJson(["kb", "--from", snapshot.file, "--force"]);
            expect(code).toBe(1);
            expect(document.status).toBe("refused");
            expect(document.error).toContain(`${fleet.containerName("kb", "vault")} runs with appendonly no`);
            expect(await untouched("kb")).toEqual(before);
            expect(await writable("kb")).toBe("OK");
        } finally {
            await fleet.cli("kb", "vault", ["CONFIG", "SET", "appendonly", "yes"]);
        }
    });

    it("refuses a paused vault up front, saying how to unpause it", async () => {
        const vault = fleet.container("kb", "vault");
        await vault.pause();
        try {
            const { code, document } = await restoreJson(["kb", "--from", snapshot.file, "--force"]);
            expect(code).toBe(1);
            expect(document.status).toBe("refused");
            expect(document.error).toBe(
                `refused, nothing was changed: the vault container is paused: docker unpause ${fleet.containerName("kb", "vault")}, then run restore again`,
            );
        } finally {
            await vault.unpause();
        }
    });

    it("refuses while another restore or an adopt holds the vault's lock, and takes over the lock a killed restore left", async () => {
        const lock = lockName(fleet.containerName("kb", "vault"));
        const makeLock = (owner: string, command: string) =>
            fleet.docker.createContainer({
                name: lock,
                Image: TEST_IMAGE,
                Entrypoint: ["true"],
                Labels: { [RUN_LABEL_KEY]: fleet.runId, [LABEL_OWNER]: owner, [LABEL_LOCK_COMMAND]: command },
            });
        // adopt takes the same lock: a restore while an adopt takes the vault over is refused too.
        for (const command of ["restore", "adopt"]) {
            const held = await makeLock(ownerTag(), command);
            try {
                const before = await untouched("kb");
                const { code, document } = await restoreJson(["kb", "--from", snapshot.file, "--force"]);
                expect(code).toBe(1);
                expect(document.status).toBe("refused");
                expect(document.error).toBe(
                    `refused, nothing was changed: ${command === "restore" ? "another restore" : "an adopt"} of kb is running on this host (${ownerTag()}, its lock ${lock}): let it finish`,
                );
                expect(await untouched("kb")).toEqual(before);
                expect((await held.inspect()).Id).toBe(held.id);
            } finally {
                // Already gone only when a restore took it over: the assertions above say so, not this.
                await held.remove({ force: true }).catch(() => undefined);
            }
        }
        // A process of this host that has ended: the lock of a restore killed with -9.
        const gone = spawnSync("true").pid;
        await makeLock(ownerTag(undefined, gone), "restore");
        // Refused for its data (kb holds a write the snapshot lacks), after the lock was taken over and released.
        const { code, document } = await restoreJson(["kb", "--from", snapshot.file]);
        expect(code).toBe(1);
        expect(document.error).toMatch(/--force overrides/);
        expect(document.leftovers).toContain(`removed ${lock}, the lock of a restore that was killed (${ownerTag(undefined, gone)})`);
        expect(await fleet.docker.listContainers({ all: true, filters: { name: [lock] } })).toEqual([]);
    });

    it("with the operational stopped, says at once that the vault holds the snapshot, verified, and how to bring the operational back", async () => {
        const operational = fleet.container("kb", "operational");
        await operational.stop();
        const started = Date.now();
        // The default --timeout (10 minutes): restore must not wait it out.
        const run = await cli(["restore", "kb", "--from", snapshot.file, "--force"]);
        const tookMs = Date.now() - started;
        await operational.start();
        expect(tookMs).toBeLessThan(60_000);
        expect(run.code).toBe(1);
        const name = fleet.containerName("kb", "operational");
        expect(run.stdout).toContain("the vault holds the snapshot and is verified");
        expect(run.stdout).toContain(
            `the operational ${name} is exited, so it has not re-synced from it: start it (docker start ${name}), then run nexus-redis check`,
        );
        expect(run.stdout).toMatch(/verified: equal/);
        expect(await fleet.digest("kb", "vault")).toBe(snapshot.digest);
        await waitFor(
            "kb's operational re-synced",
            async () => ((await fleet.digest("kb", "operational").catch(() => "")) === snapshot.digest ? true : undefined),
            60_000,
            200,
        );
    }, 120_000);
});
