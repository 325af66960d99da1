/**
 * `nexus-redis backup` and `restore` when things are not as they should be: keys outside
 * database 0, a vault with more than 16 databases, a disk that fills up (a loop-device ext4
 * volume), a restore killed (SIGKILL) at each of its steps, and the way back after a restore.
 *
 * The CLI runs in-process where nothing is killed, and as a process of its own where it is:
 * `NEXUS_REDIS_TEST_HANG_AT` makes it stop at a step and say so on stderr, and the test
 * kills it there. Its helper and scratch containers carry the vault's labels, the run's
 * among them, so the fleet's destroy (or its watchdog) removes whatever a test leaves.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_TEMPORARY } from "../../cli/snapshot/vaultContainer";
import { ownerTag } from "../../cli/core/owner";
import { STAGING_FILE, wayBackCommands } from "../../cli/restore/plan";
import { type CliRun, runCli } from "../../harness/cliRun";
import { exec } from "../../harness/docker";
import {
    type EnvironmentOutput,
    type LiveFleet,
    RUN_LABEL_KEY,
    TEST_IMAGE,
    dockerAvailable,
    startLiveFleet,
    waitFor,
} from "../../harness/fleet";
import { fillDataset, startHandBuilt, waitForRedis } from "../../harness/handBuilt";
import { createLoopVolume, loopVolumeUnavailable } from "../../harness/loopVolume";
import { redisCommand, redisCommands } from "../../harness/resp";

const ROOT = path.resolve(__dirname, "../..");
const live = dockerAvailable();
const ENV = "user";
let fleet: LiveFleet;
let work: string;
let outputsFile: string;
const children: ChildProcess[] = [];

/** The CLI in this process, as an operator runs it, with the stack's outputs on stdin. */
function cli(argv: string[], outputs: Record<string, EnvironmentOutput> = fleet.outputs): Promise<CliRun> {
    return runCli(outputs, argv);
}

async function backup(to: string, outputs: Record<string, EnvironmentOutput> = fleet.outputs, env = ENV) {
    const run = await cli(["backup", "--json", "--env", env, "--to", to], outputs);
    return { code: run.code, backup: JSON.parse(run.stdout).backups[0] };
}

async function restoreJson(argv: string[]) {
    const run = await cli(["restore", ...argv, "--json"]);
    if (run.stdout === "") throw new Error(`restore printed nothing (exit ${run.code}): ${run.stderr}`);
    return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr };
}

/**
 * `nexus-redis restore ARGS` as a process of its own, stopped at `point` (it says so on stderr
 * and waits there), then killed with SIGKILL: no handler, no finally, nothing of its own
 * cleanup runs (`beforeKill` runs first, while it waits there). Returns its stderr up to then.
 */
async function restoreKilledAt(point: string, args: string[], beforeKill?: (stderr: string) => Promise<void>): Promise<string> {
    // tsx's loader for both require() and import(): the CLI imports its commands' modules.
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "cli/main.ts"), "restore", ...args], {
        cwd: ROOT,
        env: { ...process.env, NEXUS_REDIS_TEST_HANG_AT: point },
        stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const reached = await waitFor(
        `restore to reach ${point}`,
        async () => {
            if (stderr.includes(`NEXUS_REDIS_TEST_HANG_AT=${point}`)) return "reached";
            return child.exitCode === null ? undefined : "exited";
        },
        180_000,
        50,
    );
    if (reached === "exited") throw new Error(`restore exited ${child.exitCode} before ${point}: ${stderr}`);
    try {
        await beforeKill?.(stderr);
    } finally {
        child.kill("SIGKILL");
    }
    await exited;
    return stderr;
}

const vaultName = () => fleet.containerName(ENV, "vault");
const password = () => fleet.outputs[ENV].vault.password;
const port = () => fleet.outputs[ENV].vault.port;

/** A write on a fresh connection; how long it took to be acknowledged. */
async function timedWrite(key: string, timeoutMs: number): Promise<{ reply: unknown; ms: number }> {
    const started = performance.now();
    const [, reply] = await redisCommands(
        port(),
        [
            ["AUTH", password()],
            ["SET", key, "1"],
        ],
        { timeoutMs },
    );
    return { reply, ms: performance.now() - started };
}

/** A shell command inside the vault's container, as root. */
async function inVault(script: string): Promise<{ exitCode: number; stdout: string }> {
    return exec(fleet.docker, vaultName(), ["sh", "-c", script]);
}

/** The temporary containers (scratch servers, restore helpers) of this run that still exist. */
async function temporaries(): Promise<string[]> {
    const listed = await fleet.docker.listContainers({
        all: true,
        filters: { label: [`${RUN_LABEL_KEY}=${fleet.runId}`, LABEL_TEMPORARY] },
    });
    return listed.map((c) => `${c.Names[0].replace(/^\//, "")} (${c.State})`);
}

/** The vault holds nothing, in any database, and restore may go ahead without --force. */
async function flush(): Promise<void> {
    await fleet.client(ENV, "vault", "password").flushall();
}

describe.skipIf(!live)("backup and restore when things go wrong", () => {
    beforeAll(async () => {
        fleet = await startLiveFleet({ environments: [ENV] });
        await waitForRedis(port(), password(), 60_000);
        work = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-faults-"));
        outputsFile = path.join(work, "outputs.json");
        writeFileSync(outputsFile, JSON.stringify({ environments: fleet.outputs }), { mode: 0o600 });
    });
    afterAll(async () => {
        for (const child of children) child.kill("SIGKILL");
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("counts every database: the manifest has the keys of database 5, and a vault whose keys are all in database 2 is refused without --force", async () => {
        const vault = fleet.client(ENV, "vault", "password");
        await vault.flushall();
        await fillDataset(vault, 1_000, "db0");
        await fillDataset(fleet.client(ENV, "vault", "password", { db: 5 }), 300, "db5");
        const digest = await fleet.digest(ENV, "vault");
        const { code, backup: b } = await backup(path.join(work, "databases"));
        expect(code).toBe(0);
        expect(b.snapshot).toMatchObject({
            keys: 1_300,
            databases: { "0": { keys: 1_000, expiringKeys: 166 }, "5": { keys: 300, expiringKeys: 50 } },
            digest,
        });
        expect(JSON.parse(readFileSync(b.snapshot.manifest, "utf8"))).toMatchObject({ format: "nexus-redis-backup/2", keys: 1_300 });

        // The issue's repro: FLUSHALL, then 5,000 keys after SELECT 2.
        await vault.flushall();
        const db2 = fleet.client(ENV, "vault", "password", { db: 2 });
        await fillDataset(db2, 5_000, "db2");
        const started = (await fleet.container(ENV, "vault").inspect()).State.StartedAt;
        let run = await restoreJson([ENV, "--from", b.snapshot.file]);
        expect(run.code).toBe(1);
        expect(run.report.status).toBe("refused");
        expect(run.report.before.vault).toMatchObject({ keys: 5_000, databases: { "2": { keys: 5_000 } } });
        expect(run.report.error).toMatch(
            /the vault holds 5000 keys \(5000 keys in db2\), .* of data, and they are not the snapshot's 1300 keys/,
        );
        expect(await db2.dbsize()).toBe(5_000);
        expect((await fleet.container(ENV, "vault").inspect()).State.StartedAt).toBe(started);

        // Emptied, it is restored, database 5 included.
        await vault.flushall();
        run = await restoreJson([ENV, "--from", b.snapshot.file]);
        expect(run.code).toBe(0);
        expect(run.report.verification).toMatchObject({ equal: true, vault: digest });
        expect(await fleet.client(ENV, "vault", "password", { db: 5 }).dbsize()).toBe(300);
    });

    it("backs up a vault started with --databases 32, and refuses to restore its snapshot onto a vault of 16 databases before stopping anything", async () => {
        const name = `${fleet.prefix}-wide-vault`;
        const wide = await startHandBuilt(fleet.docker, {
            runId: fleet.runId,
            name,
            args: ["--databases", "32", "--requirepass", "wide-pw", "--user", "backup", "on", ">backup-pw", "-@all", "+sync", "+replconf"],
            data: { kind: "anonymous" },
        });
        await waitForRedis(wide.port, "wide-pw");
        await redisCommands(wide.port, [
            ["AUTH", "wide-pw"],
            ["SELECT", "20"],
            ["SET", "in-db-20", "v"],
            ["SELECT", "3"],
            ["SET", "in-db-3", "v"],
        ]);
        const outputs: Record<string, EnvironmentOutput> = {
            wide: {
                kind: "secure",
                vault: { container: name, host: "127.0.0.1", port: wide.port, password: "wide-pw" },
                backup: { user: "backup", password: "backup-pw" },
            },
        };
        const { code, backup: b } = await backup(path.join(work, "wide"), outputs, "wide");
        expect(b.error).toBeNull();
        expect(code).toBe(0);
        expect(b.snapshot).toMatchObject({ keys: 2, databases: { "3": { keys: 1 }, "20": { keys: 1 } } });

        const copy = path.join(work, "wide.rdb");
        copyFileSync(b.snapshot.file, copy);
        await flush();
        const started = (await fleet.container(ENV, "vault").inspect()).State.StartedAt;
        const run = await restoreJson([ENV, "--from", copy, "--without-manifest", "--force"]);
        expect(run.code).toBe(1);
        expect(run.report.status).toBe("refused");
        expect(run.report.error).toMatch(
            new RegExp(
                `holds keys in database 20, and ${vaultName()} has 16 databases \\(databases 16\\): Redis refuses to load such a file`,
            ),
        );
        expect((await fleet.container(ENV, "vault").inspect()).State.StartedAt).toBe(started);
    });

    it("keeps nothing under a final name when the disk fills up, says disk full with the folder and sizes, and restore refuses a snapshot without its manifest", async () => {
        const missing = loopVolumeUnavailable();
        if (missing) throw new Error(`this test needs a loop-device volume: ${missing}`);
        const vault = fleet.client(ENV, "vault", "password");
        await vault.flushall();
        await fillDataset(vault, 20_000, "full");
        const sized = await backup(path.join(work, "sized"));
        const bytes: number = sized.backup.snapshot.bytes;
        const volume = createLoopVolume(16 * 1024 * 1024);
        try {
            const to = path.join(volume.dir, "backups");
            mkdirSync(path.join(to, ENV), { recursive: true, mode: 0o700 });
            // Room for the snapshot and one block more: not for its manifest (two blocks).
            volume.leaveFree(Math.ceil(bytes / 1024) * 1024 + 1024);
            let run = await backup(to);
            expect(run.code).toBe(1);
            expect(run.backup.error).toMatch(
                new RegExp(
                    `^disk full: no room for the manifest in ${to}/${ENV}: \\d+(\\.\\d)? (B|KiB) free of 1[0-9]\\.\\d MiB \\(the snapshot: `,
                ),
            );
            expect(readdirSync(path.join(to, ENV))).toEqual([]);

            // Not even room for the snapshot: redis-cli says "short write" or "No space left on device", and backup says what it is.
            volume.leaveFree(Math.floor(bytes / 2));
            run = await backup(to);
            expect(run.code).toBe(1);
            expect(run.backup.error).toMatch(
                /^disk full: no room for the snapshot in .* \(redis-cli: Error writing data to file: (short write|No space left on device)\)$/,
            );
            expect(readdirSync(path.join(to, ENV))).toEqual([]);
        } finally {
            volume.dispose();
        }

        // What a failed backup used to leave: a snapshot under its final name, without its manifest.
        const alone = path.join(work, "alone.rdb");
        copyFileSync(sized.backup.snapshot.file, alone);
        await vault.flushall();
        const refused = await restoreJson([ENV, "--from", alone]);
        expect(refused.code).toBe(1);
        expect(refused.report.error).toMatch(/has no manifest beside it .* a backup that did not finish, or a file from elsewhere/);
        const forced = await restoreJson([ENV, "--from", alone, "--without-manifest"]);
        expect(forced.code).toBe(0);
        expect(forced.report.verification.vault).toBe(sized.backup.snapshot.digest);
    });

    it("removes what a killed backup left (its temporary files, its scratch container), and nothing a running one is using", async () => {
        const folder = path.join(work, "after-a-killed-backup", ENV);
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        const gone = spawnSync(process.execPath, ["-e", ""]).pid;
        const host = ownerTag().split(":")[0];
        const left = [`.20261126T170000.000Z.pid${gone}@${host}.rdb.partial`, `.20261126T170000.000Z.pid${gone}@${host}.json.partial`];
        const running = `.20261126T170001.000Z.pid${process.pid}@${host}.rdb.partial`;
        for (const name of [...left, running]) writeFileSync(path.join(folder, name), "half", { mode: 0o600 });
        // A scratch container as a killed backup leaves it: the vault's labels, its role, a dead owner.
        const vault = await fleet.container(ENV, "vault").inspect();
        const scratch = await fleet.docker.createContainer({
            name: `${vaultName()}-verify-0d0d0d`,
            Image: vault.Image,
            Labels: {
                ...vault.Config.Labels,
                "nexus-redis.role": "backup-verify",
                [LABEL_TEMPORARY]: "true",
                "nexus-redis.owner": `${host}:${gone}`,
            },
            HostConfig: { NetworkMode: "none" },
        });

        const { code } = await backup(path.dirname(folder));
        expect(code).toBe(0);
        const names = readdirSync(folder);
        expect(names.filter((n) => n.endsWith(".partial"))).toEqual([running]);
        expect(names.filter((n) => !n.startsWith("."))).toHaveLength(2); // this backup's snapshot and manifest
        await expect(fleet.docker.getContainer(scratch.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    });

    describe("a restore killed with SIGKILL", () => {
        let snapshot: { file: string; digest: string; keys: number; bytes: number };
        beforeAll(async () => {
            const vault = fleet.client(ENV, "vault", "password");
            await vault.flushall();
            await fillDataset(vault, 20_000, "killed");
            snapshot = (await backup(path.join(work, "killed"))).backup.snapshot;
        });

        it("during its verification's write pause: the pause holds while restore runs, writes resume by themselves within its bound once it is killed, and a second run finds the snapshot in place", async () => {
            await flush();
            const leaseOf = (stderr: string) => Number(/CLIENT PAUSE WRITE for (\d+\.\d) s at a time/.exec(stderr)?.[1]) * 1000;
            const stderr = await restoreKilledAt(
                "verify-pause",
                [ENV, "--from", snapshot.file, "--outputs", outputsFile],
                async (sofar) => {
                    // Still blocked after more than one lease: restore renews the pause while it runs.
                    await expect(timedWrite("while-held", leaseOf(sofar) + 2_000)).rejects.toThrow(/no reply .* within/);
                },
            );
            const lease = leaseOf(stderr);
            expect(lease).toBeGreaterThan(0);
            const { reply, ms } = await timedWrite("after-the-kill", lease + 15_000);
            expect(reply).toBe("OK");
            expect(ms).toBeLessThanOrEqual(lease + 2_000);
            await redisCommand(port(), ["DEL", "after-the-kill", "while-held"], { password: password() });

            const again = await restoreJson([ENV, "--from", snapshot.file]);
            expect(again.code).toBe(0);
            expect(again.report.status).toBe("unchanged");
            expect(await fleet.digest(ENV, "vault")).toBe(snapshot.digest);
            expect(await temporaries()).toEqual([]);
        });

        it("while staging the snapshot: the vault keeps taking writes, and a second run removes the helper and the half-staged file and restores", async () => {
            await flush();
            await restoreKilledAt("staging", [ENV, "--from", snapshot.file, "--outputs", outputsFile]);
            // The vault was never paused nor stopped.
            const { reply, ms } = await timedWrite("during-the-leftovers", 2_000);
            expect(reply).toBe("OK");
            expect(ms).toBeLessThan(2_000);
            await redisCommand(port(), ["DEL", "during-the-leftovers"], { password: password() });
            // What the killed run left: its helper and its lock, and the snapshot half staged in the vault's volume.
            expect((await temporaries()).sort()).toEqual([
                `${vaultName()}-lock (created)`,
                expect.stringMatching(new RegExp(`^${vaultName()}-restore-[0-9a-f]{6} \\(created\\)$`)),
            ]);
            const staged = await inVault(`stat -c %s /data/${STAGING_FILE}`);
            expect(staged.exitCode).toBe(0);
            expect(Number(staged.stdout.trim())).toBeLessThan(snapshot.bytes);

            // And what a killed restore from restic leaves on this machine: the snapshot, in a folder naming its process.
            const gone = spawnSync(process.execPath, ["-e", ""]).pid;
            const copied = path.join(tmpdir(), `nexus-redis-restore-pid${gone}-AbC123`);
            mkdirSync(copied, { mode: 0o700 });
            writeFileSync(path.join(copied, "snapshot.rdb"), "a secret");

            const again = await restoreJson([ENV, "--from", snapshot.file]);
            expect(again.code).toBe(0);
            expect(again.report.status).toBe("restored");
            expect(again.report.leftovers.join("\n")).toMatch(/was killed before its swap .* its helper and staged snapshot are removed/);
            expect(again.report.leftovers).toContain(`removed ${copied}, a snapshot a killed restore had copied out`);
            expect(again.report.leftovers).toContainEqual(
                expect.stringMatching(new RegExp(`^removed ${vaultName()}-lock, the lock of a restore that was killed \\(`)),
            );
            expect(existsSync(copied)).toBe(false);
            expect(await temporaries()).toEqual([]);
            expect((await inVault(`test -e /data/${STAGING_FILE}`)).exitCode).not.toBe(0);
            expect(await fleet.digest(ENV, "vault")).toBe(snapshot.digest);
        });

        it("between turning the vault's save points off and stopping it: the next run puts them back, even one that refuses", async () => {
            await flush();
            // The program declares no save points (save ""); a vault can still have some, set by hand
            // (check reports that as vault-drift): restore turns those off for its stop, and a run
            // killed then must not leave them off.
            expect(await fleet.cli(ENV, "vault", ["CONFIG", "GET", "save"])).toBe("save"); // fleet.cli trims: "save" alone is an empty value
            await fleet.cli(ENV, "vault", ["CONFIG", "SET", "save", "3600 1 300 100"]);
            const savePoints = await fleet.cli(ENV, "vault", ["CONFIG", "GET", "save"]);
            expect(savePoints).toBe("save\n3600 1 300 100");
            await restoreKilledAt("save-off", [ENV, "--from", snapshot.file, "--outputs", outputsFile]);
            expect(await fleet.cli(ENV, "vault", ["CONFIG", "GET", "save"])).toBe("save");
            const started = (await fleet.container(ENV, "vault").inspect()).State.StartedAt;
            // A key the snapshot lacks (written once the pause has run out): the next run refuses to replace it.
            expect((await timedWrite("newer-than-the-snapshot", 30_000)).reply).toBe("OK");

            const again = await restoreJson([ENV, "--from", snapshot.file]);
            expect(again.code).toBe(1);
            expect(again.report.status).toBe("refused");
            expect(again.report.leftovers.join("\n")).toMatch(
                /the vault's RDB save points, which that restore had turned off for its stop, are back/,
            );
            // Back on the running vault, never restarted.
            expect(await fleet.cli(ENV, "vault", ["CONFIG", "GET", "save"])).toBe(savePoints);
            expect((await fleet.container(ENV, "vault").inspect()).State.StartedAt).toBe(started);
            expect(await temporaries()).toEqual([]);
            // Back to what the program declares, for the tests after this one.
            await fleet.cli(ENV, "vault", ["CONFIG", "SET", "save", ""]);
        });

        it("once it had stopped the vault: a second run starts it again on its own files, then restores", async () => {
            await flush();
            await restoreKilledAt("stopped", [ENV, "--from", snapshot.file, "--outputs", outputsFile]);
            expect((await fleet.container(ENV, "vault").inspect()).State.Running).toBe(false);

            const again = await restoreJson([ENV, "--from", snapshot.file]);
            expect(again.code).toBe(0);
            expect(again.report.status).toBe("restored");
            expect(again.report.leftovers.join("\n")).toMatch(
                new RegExp(`${vaultName()}, which it had stopped, is started again on its own files`),
            );
            expect(await temporaries()).toEqual([]);
            expect(await fleet.digest(ENV, "vault")).toBe(snapshot.digest);
        });
    });

    it("moves the vault's files aside into a folder as private as they are, and the restore page's way back keeps the writes made since the restore", async () => {
        const vault = fleet.client(ENV, "vault", "password");
        await vault.flushall();
        await vault.set("before-the-restore", "1");
        const { backup: b } = await backup(path.join(work, "way-back"));
        await vault.flushall();
        await vault.set("held-when-restored", "1");
        const before = await fleet.digest(ENV, "vault");
        const run = await restoreJson([ENV, "--from", b.snapshot.file, "--force"]);
        expect(run.code).toBe(0);
        const aside = path.basename(run.report.aside.folder);
        expect((await inVault(`stat -c '%a %u' /data/${aside}`)).stdout.trim()).toBe("700 999");

        await vault.set("written-after-the-restore", "acknowledged");
        // The restore page's commands (docs/restore.md), as printed for this vault (the test image in place of redis:7.2).
        const commands = wayBackCommands(vaultName(), TEST_IMAGE, aside);
        execFileSync("sh", ["-c", commands.join(" && ")], { stdio: "pipe" });
        await waitFor("the vault back on its previous files", async () =>
            (await fleet.digest(ENV, "vault").catch(() => undefined)) === before ? true : undefined,
        );
        expect(await vault.get("held-when-restored")).toBe("1");
        // What the restored vault held, the write since the restore included, is kept aside, privately.
        const restored = aside.replace("nexus-redis-restore-", "nexus-redis-restored-");
        expect((await inVault(`stat -c '%a' /data/${restored}`)).stdout.trim()).toBe("700");
        expect((await inVault(`grep -rl written-after-the-restore /data/${restored}/appendonlydir`)).exitCode).toBe(0);
    });
});
