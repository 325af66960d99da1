/**
 * `nexus-redis backup` and `restore` against the program's own containers: a backup under a
 * steady writer, recovery from a mistaken FLUSHALL, the refusals that keep a restore from
 * wiping data, retention in a local restic repository, and `check` while a snapshot streams.
 *
 * The CLI runs in-process with the real command runner (redis-cli and restic on this machine)
 * and the real Docker engine; its scratch and helper containers carry the vault's labels,
 * the run's among them, so the fleet's destroy (or its watchdog) removes them too.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABEL_TEMPORARY } from "../../cli/snapshot/vaultContainer";
import { parseKeyspace } from "../../cli/redis/keyspace";
import { main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { validateEnvironments } from "../../cli/fleet/outputs";
import type { RestoreOptions } from "../../cli/restore/inputs";
import { restore } from "../../cli/restore/restore";
import { parseRestoreArgs } from "../../cli/restore/spec";
import { spawnRunner } from "../../cli/core/runner";
import { type LiveFleet, RUN_LABEL_KEY, dockerAvailable, missingKeys, startLiveFleet, waitFor } from "../../harness/fleet";
import { fillDataset, waitForRedis } from "../../harness/handBuilt";
import { TEST_PORTS, freePorts } from "../../harness/ports";
import { redisCommand, redisCommands } from "../../harness/resp";

const ROOT = path.resolve(__dirname, "../..");
const live = dockerAvailable();
let fleet: LiveFleet;
let work: string;

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

/** The CLI in this process, as an operator runs it, with the stack's outputs on stdin. */
async function cli(argv: string[], options: { env?: Record<string, string>; outputs?: unknown } = {}): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => JSON.stringify({ environments: options.outputs ?? fleet.outputs }),
        run: spawnRunner,
        projectDir: ROOT,
        env: { ...process.env, ...options.env },
    };
    const code = await main([...argv, "--outputs", "-"], io);
    return { code, stdout, stderr };
}

async function backupJson(argv: string[], options: { env?: Record<string, string>; outputs?: unknown } = {}) {
    const run = await cli(["backup", "--json", ...argv], options);
    expect(run.stderr).toBe("");
    return { code: run.code, document: JSON.parse(run.stdout) };
}

async function restoreJson(argv: string[], options: { env?: Record<string, string> } = {}) {
    const run = await cli(["restore", ...argv, "--json"], options);
    if (run.stdout === "") throw new Error(`restore printed nothing (exit ${run.code}): ${run.stderr}`);
    return { code: run.code, document: JSON.parse(run.stdout), stderr: run.stderr };
}

const vault = (env: string): Redis => fleet.client(env, "vault", "password");

/** Keys in every database (DBSIZE counts the selected one only). */
async function keysInEveryDatabase(client: Redis): Promise<number> {
    return parseKeyspace(await client.info("keyspace")).keys;
}

/** When the container last started: a refused restore must not have stopped it. */
async function startedAt(env: string, role: "vault" | "operational" = "vault"): Promise<string> {
    return (await fleet.container(env, role).inspect()).State.StartedAt;
}

async function synced(env: string): Promise<string> {
    return waitFor(`${env}'s operational in sync`, async () => {
        const [v, o] = await Promise.all([fleet.digest(env, "vault"), fleet.digest(env, "operational")]);
        return v === o ? v : undefined;
    });
}

describe.skipIf(!live)("backup and restore", () => {
    beforeAll(async () => {
        fleet = await startLiveFleet({ environments: ["contact", "user"] });
        for (const env of ["contact", "user"]) await waitForRedis(fleet.outputs[env].vault.port, fleet.outputs[env].vault.password, 60_000);
        work = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-live-"));
    });
    afterAll(async () => {
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("takes a consistent snapshot under a steady writer: after a restore every counter holds a value that was written, and keys written together in MULTI agree", async () => {
        const client = vault("contact");
        await fillDataset(client, 200_000, "bulk"); // large enough that the snapshot takes a moment
        const written = new Map<string, Set<number>>();
        let writes = 0;
        let writing = true;
        const writer = (async () => {
            for (let i = 0; writing; i++) {
                const key = `counter:${i % 20}`;
                const value = await client.incr(key);
                if (!written.has(key)) written.set(key, new Set());
                written.get(key)!.add(value);
                // Related keys, written together: a consistent snapshot never holds one without the other.
                const [[, a], [, b]] = (await client.multi().incr("pair:a").incr("pair:b").exec()) as [unknown, number][];
                expect(a).toBe(b);
                writes++;
            }
        })();
        await waitFor("the writer", async () => (writes > 200 ? true : undefined));
        const before = writes;
        const { code, document } = await backupJson(["--env", "contact", "--to", path.join(work, "load")]);
        const during = writes - before;
        writing = false;
        await writer;
        expect(code).toBe(0);
        expect(during).toBeGreaterThan(0); // the vault kept taking writes while the snapshot was taken
        const snapshot = document.backups[0].snapshot;

        await client.flushall();
        const restored = await restoreJson(["contact", "--from", snapshot.file]);
        expect(restored.code).toBe(0);
        expect(restored.document.status).toBe("restored");

        const pairs = await client.mget("pair:a", "pair:b");
        expect(pairs[0]).not.toBeNull();
        expect(pairs[0]).toBe(pairs[1]);
        const keys = [...written.keys()];
        const values = await client.mget(...keys);
        keys.forEach((key, i) => {
            if (values[i] === null) return; // not yet written at the snapshot's instant
            expect(written.get(key)!.has(Number(values[i]))).toBe(true);
        });
        // A point in time before the writer stopped: not its final state.
        expect(Number(pairs[0])).toBeLessThan(writes);
        expect(await keysInEveryDatabase(client)).toBe(snapshot.keys);
        expect(await synced("contact")).toBe(snapshot.digest);
    });

    it("brings everything in the backup back, on the vault and on its operational, after a mistaken FLUSHALL", async () => {
        const contact = vault("contact");
        const user = vault("user");
        await contact.flushall();
        await fillDataset(contact, 30_000, "k"); // every type, a sixth with a day's expiry
        await fillDataset(user, 5_000, "secret");
        const digests = { contact: await synced("contact"), user: await fleet.digest("user", "vault") };
        const folder = path.join(work, "nightly");
        const { code, document } = await backupJson(["--to", folder]);
        expect(code).toBe(0);
        expect(document.summary).toEqual({ ok: 2, failed: 0 });
        const files = Object.fromEntries(document.backups.map((b: any) => [b.environment, b.snapshot]));
        expect(files.contact).toMatchObject({ keys: 30_000, expiringKeys: 5_000, digest: digests.contact });
        expect(files.user).toMatchObject({ keys: 5_000, digest: digests.user });
        // A secure vault never had a replica: offset 0, as its RDB header says.
        expect(files.user.redis.replicationOffset).toBe(0);
        expect(files.contact.redis.replicationOffset).toBeGreaterThan(0);
        expect(files.contact.redis.redisVersion).toMatch(/^7\./);

        // Secrets: folders 0700, files 0600, nothing half written left behind.
        for (const env of ["contact", "user"]) {
            expect(statSync(path.join(folder, env)).mode & 0o777).toBe(0o700);
            const names = readdirSync(path.join(folder, env));
            expect(names.filter((n) => n.startsWith("."))).toEqual([]);
            for (const name of names) expect(statSync(path.join(folder, env, name)).mode & 0o777).toBe(0o600);
            const manifest = JSON.parse(readFileSync(files[env].manifest, "utf8"));
            expect(manifest).toMatchObject({ environment: env, sha256: files[env].sha256, digest: files[env].digest });
            expect(readFileSync(files[env].manifest, "utf8")).not.toContain(fleet.outputs[env].vault.password);
        }
        expect(statSync(folder).mode & 0o777).toBe(0o700);

        await contact.flushall();
        await user.flushall();
        expect(await synced("contact")).toBe("0".repeat(40)); // the operational replicated the mistake
        for (const env of ["contact", "user"]) {
            const { code: restoreCode, document: report } = await restoreJson([env, "--from", files[env].file]);
            expect(restoreCode).toBe(0);
            expect(report.status).toBe("restored");
            expect(report.forced).toEqual([]);
            expect(report.verification).toMatchObject({
                equal: true,
                snapshot: digests[env as "contact" | "user"],
                vault: digests[env as "contact" | "user"],
            });
            expect(report.measurements.writesRefusedMs).toBeGreaterThan(0);
            // The flushed vault's files are kept aside, never deleted.
            expect(report.aside.moved).toContain("appendonlydir");
        }
        expect(await synced("contact")).toBe(digests.contact);
        expect(await fleet.digest("user", "vault")).toBe(digests.user);
        // On AOF: a restart comes back with the same data.
        expect(await fleet.cli("contact", "vault", ["CONFIG", "GET", "appendonly"])).toBe("appendonly\nyes");
        await fleet.container("contact", "vault").restart({ t: 60 });
        await waitFor(
            "contact's vault after a restart",
            async () => ((await fleet.digest("contact", "vault")) === digests.contact ? true : undefined),
            60_000,
            200,
        );
        expect(await synced("contact")).toBe(digests.contact);
        const check = await cli(["check", "--json", "--wait", "30000"]);
        expect(JSON.parse(check.stdout).healthy).toBe(true);
    });

    it("leaves the vault running on its own data, writes resumed and save points back, when its container cannot be stopped", async () => {
        const contact = vault("contact");
        await fillDataset(contact, 2_000, "stop-fails");
        const { document } = await backupJson(["--to", path.join(work, "stop-fails"), "--env", "contact"]);
        const file = document.backups[0].snapshot.file;
        // Data the snapshot lacks: restore goes ahead only with --force, and must keep it when it stops short.
        await contact.set("written-after-the-backup", "kept");
        const savePoints = await fleet.cli("contact", "vault", ["CONFIG", "GET", "save"]);
        const digest = await fleet.digest("contact", "vault");
        // The engine refuses to stop the vault's container (what the restore then does is under test).
        const refusingStop = new Proxy(fleet.docker, {
            get(target, property) {
                if (property === "getContainer")
                    return (id: string) => {
                        const container = target.getContainer(id);
                        container.stop = async () => {
                            throw Object.assign(new Error("the test's engine refuses to stop it"), { statusCode: 500 });
                        };
                        return container;
                    };
                const value = Reflect.get(target, property);
                return typeof value === "function" ? value.bind(target) : value;
            },
        });
        const options = parseRestoreArgs(["contact", "--from", file, "--force"], process.env) as RestoreOptions;
        const report = await restore(validateEnvironments(fleet.outputs).contact, options, {
            docker: refusingStop,
            run: spawnRunner,
            env: process.env,
            log: () => undefined,
            now: () => new Date(),
        });
        expect(report.status).toBe("failed");
        expect(report.error).toBe("the test's engine refuses to stop it");
        // Nothing of the vault's data was touched before the stop was asked for.
        expect(await fleet.digest("contact", "vault")).toBe(digest);
        expect(await fleet.cli("contact", "vault", ["CONFIG", "GET", "save"])).toBe(savePoints);
        // Writes resumed: a vault still paused would hold this write for two minutes, past the bound.
        const password = fleet.outputs.contact.vault.password;
        expect(
            await redisCommand(fleet.outputs.contact.vault.port, ["SET", "written-after-the-attempt", "1"], {
                password,
                timeoutMs: 10_000,
            }),
        ).toBe("OK");
    });

    it("refuses a corrupt or truncated snapshot, and a vault holding newer data without --force, changing nothing", async () => {
        const contact = vault("contact");
        await fillDataset(contact, 20_000, "refusal");
        const { document } = await backupJson(["--env", "contact", "--to", path.join(work, "refusals")]);
        const good = document.backups[0].snapshot;
        await contact.set("written:after-the-backup", "newer");
        const digest = await synced("contact");
        const started = { vault: await startedAt("contact"), operational: await startedAt("contact", "operational") };
        const unchanged = async () => {
            expect(await synced("contact")).toBe(digest);
            expect(await startedAt("contact")).toBe(started.vault);
            expect(await startedAt("contact", "operational")).toBe(started.operational);
        };

        // One byte changed in the middle: its sha256 no longer matches its manifest.
        const corrupt = path.join(work, "refusals", "contact", "corrupt.rdb");
        copyFileSync(good.file, corrupt);
        copyFileSync(good.manifest, corrupt.replace(/\.rdb$/, ".json"));
        const bytes = readFileSync(corrupt);
        bytes[Math.floor(bytes.length / 2)] ^= 0xff;
        writeFileSync(corrupt, bytes);
        let run = await restoreJson(["contact", "--from", corrupt, "--force"]);
        expect(run.code).toBe(1);
        expect(run.document.status).toBe("refused");
        expect(run.document.error).toMatch(
            /refused, nothing was changed: .*corrupt\.rdb's sha256 is .*: the file is corrupt or was changed since the backup/,
        );
        await unchanged();

        // Cut short, and without a manifest (so let in with --without-manifest): the load itself refuses it.
        const truncated = path.join(work, "truncated.rdb");
        writeFileSync(truncated, readFileSync(good.file).subarray(0, Math.floor(good.bytes / 3)));
        run = await restoreJson(["contact", "--from", truncated, "--force", "--without-manifest"]);
        expect(run.code).toBe(1);
        expect(run.document.error).toMatch(
            /is not a snapshot that loads: a scratch Redis server could not load it: .*(Short read|Unexpected EOF)/,
        );
        await unchanged();

        // A good snapshot, but the vault holds a key written after it.
        run = await restoreJson(["contact", "--from", good.file]);
        expect(run.code).toBe(1);
        expect(run.document.status).toBe("refused");
        expect(run.document.error).toMatch(
            new RegExp(
                `the vault holds ${good.keys + 1} keys \\(${good.keys + 1} keys in db0\\), .* of data, and they are not the snapshot's ${good.keys} keys`,
            ),
        );
        await unchanged();
        expect(await contact.get("written:after-the-backup")).toBe("newer");

        // A backup of another environment is a usage error.
        const other = await cli(["restore", "user", "--from", good.file]);
        expect(other.code).toBe(2);
        expect(other.stderr).toMatch(/the snapshot is a backup of contact .* not of user/);

        // With --force it replaces the newer data, and keeps the old files aside.
        run = await restoreJson(["contact", "--from", good.file, "--force"]);
        expect(run.code).toBe(0);
        expect(run.document.forced.join()).toMatch(/the vault holds/);
        expect(await contact.exists("written:after-the-backup")).toBe(0);
        expect(await synced("contact")).toBe(good.digest);
        expect(readdirSync(work).some((n) => n.startsWith(".nexus-redis"))).toBe(false);
        const temporaries = await fleet.docker.listContainers({
            all: true,
            filters: { label: [`${RUN_LABEL_KEY}=${fleet.runId}`, LABEL_TEMPORARY] },
        });
        expect(temporaries).toEqual([]);
    });

    it("restores under a client that writes the moment the vault answers: the vault is judged by what it started from", async () => {
        const contact = vault("contact");
        await contact.flushall();
        await fillDataset(contact, 20_000, "hammered");
        const { document } = await backupJson(["--env", "contact", "--to", path.join(work, "hammered")]);
        const snapshot = document.backups[0].snapshot;
        await contact.flushall();
        // An MCP server that keeps writing, reconnecting at once: a fresh connection every 5 ms.
        const out = fleet.outputs.contact;
        const acknowledged: string[] = [];
        let writing = true;
        const writer = (async () => {
            for (let i = 0; writing; i++) {
                try {
                    const replies = await redisCommands(
                        out.vault.port,
                        [
                            ["AUTH", out.vault.password],
                            ["SET", `client:${i}`, "x"],
                        ],
                        { timeoutMs: 300 },
                    );
                    if (replies[1] === "OK") acknowledged.push(`client:${i}`);
                } catch {
                    // Refused or paused: not acknowledged.
                }
                await new Promise((resolve) => setTimeout(resolve, 5));
            }
        })();
        await waitFor("the client's first write", async () => (acknowledged.length > 0 ? true : undefined));
        // --force: the client's keys are in the flushed vault, and restore rightly refuses to replace them without it.
        const run = await restoreJson(["contact", "--from", snapshot.file, "--force"]);
        const written = acknowledged.length;
        await waitFor("the client writing again", async () => (acknowledged.length > written + 10 ? true : undefined), 60_000);
        writing = false;
        await writer;
        expect(run.code).toBe(0);
        expect(run.document.verification.equal).toBe(true);
        if (run.document.verification.aofBase !== null) {
            expect(run.document.verification.aofBase).toBe(snapshot.digest);
            expect(run.document.verification.compared).toMatch(
                /^the vault's AOF base, which it started from \(clients made \d+ changes? before/,
            );
        }
        // Every snapshot key is there, and every write acknowledged after the restore.
        const after = acknowledged.slice(written + 1);
        expect(await keysInEveryDatabase(contact)).toBeGreaterThanOrEqual(snapshot.keys + after.length - 1);
        expect((await missingKeys(contact, after)).length).toBeLessThanOrEqual(1);
        expect(await contact.exists("hammered:0", "hammered:19999")).toBe(2);
        await synced("contact");
    });

    it("keeps going when one vault fails: the others are backed up, the run exits 1, and no file of the failed one stays", async () => {
        const outputs = JSON.parse(JSON.stringify(fleet.outputs));
        outputs.user.backup.password = "not-the-backup-password";
        const folder = path.join(work, "one-fails");
        const { code, document } = await backupJson(["--to", folder, "--timeout", "60000"], { outputs });
        expect(code).toBe(1);
        const byEnv = Object.fromEntries(document.backups.map((b: any) => [b.environment, b]));
        expect(byEnv.contact.status).toBe("ok");
        expect(byEnv.user.status).toBe("failed");
        expect(byEnv.user.error).toMatch(/redis-cli --rdb from vault .* as user backup failed: .*(WRONGPASS|AUTH)/);
        expect(existsSync(path.join(folder, "user")) ? readdirSync(path.join(folder, "user")) : []).toEqual([]);
        expect(JSON.stringify(document)).not.toContain(fleet.outputs.user.vault.password);
    });

    it("keeps backups in a local restic repository with retention, and restores from a restic snapshot", async () => {
        const repo = path.join(work, "restic-repo");
        const password = path.join(work, "restic.pw");
        writeFileSync(password, "a restic password for the test\n");
        chmodSync(password, 0o600);
        const env = { RESTIC_PASSWORD_FILE: password };
        execFileSync("restic", ["--repo", repo, "init"], { env: { ...process.env, ...env }, stdio: "ignore" });
        const contact = vault("contact");
        const digests: string[] = [];
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
            await contact.set(`generation`, String(i));
            digests.push(await synced("contact"));
            const { code, document } = await backupJson(
                ["--to", path.join(work, "restic-local"), "--restic-repo", repo, "--keep-last", "2"],
                { env },
            );
            expect(code).toBe(0);
            ids.push(document.backups.find((b: any) => b.environment === "contact").restic.snapshot);
            expect(document.retention.status).toBe("applied");
            expect(document.retention.removed).toBe(i < 2 ? 0 : 2); // the oldest of contact's and of user's
        }
        const snapshots = JSON.parse(
            execFileSync("restic", ["--repo", repo, "snapshots", "--json"], { env: { ...process.env, ...env }, encoding: "utf8" }),
        );
        const contactIds = snapshots.filter((s: any) => s.tags.includes("env:contact")).map((s: any) => s.short_id);
        expect(contactIds.sort()).toEqual([ids[1], ids[2]].sort());
        // Encrypted: the repository holds no key name in the clear.
        expect(spawnSync("grep", ["-r", "-l", "generation", repo], { encoding: "utf8" })).toMatchObject({ status: 1, stdout: "" });

        await contact.flushall();
        let run = await restoreJson(["contact", "--from", "restic:latest", "--restic-repo", repo], { env });
        expect(run.code).toBe(0);
        expect(run.document.verification.vault).toBe(digests[2]);
        expect(await synced("contact")).toBe(digests[2]);
        run = await restoreJson(["contact", "--from", `restic:${ids[1]}`, "--restic-repo", repo, "--force"], { env });
        expect(run.code).toBe(0);
        expect(await contact.get("generation")).toBe("1");
        expect(await synced("contact")).toBe(digests[1]);
        // The snapshot retention forgot is gone from the repository.
        const forgotten = await cli(["restore", "contact", "--from", `restic:${ids[0]}`, "--restic-repo", repo, "--force"], { env });
        expect(forgotten.code).toBe(2);
        expect(forgotten.stderr).toMatch(new RegExp(`restic restore ${ids[0]} from .* failed`));
    });
});

describe.skipIf(!live)("check while a backup streams", () => {
    // Every process a test starts, stopped after them all even when a test fails half-way.
    const started: ChildProcess[] = [];
    beforeAll(async () => {
        fleet = await startLiveFleet({ environments: ["user"] });
        await waitForRedis(fleet.outputs.user.vault.port, fleet.outputs.user.vault.password, 60_000);
        work = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-live-"));
    });
    afterAll(async () => {
        for (const program of started) program.kill();
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("does not report a secure vault as having replicas because its backup user is taking a snapshot, and still reports a real replica", async () => {
        // Redis lets go of an RDB-only replica once it has sent everything. Socket buffers here grow to
        // tens of MB and once took a whole 7 MB snapshot before the second check (CI), so the snapshot
        // is made slow instead: 100 000 keys at 100 µs each keep it attached for about 10 s.
        await fleet.cli("user", "vault", ["DEBUG", "POPULATE", "100000"]);
        await fleet.cli("user", "vault", ["CONFIG", "SET", "rdb-key-save-delay", "100"]);
        // redis-cli --rdb into a FIFO nobody reads yet: the snapshot stays attached as a replica.
        const fifo = path.join(work, "held.rdb");
        execFileSync("mkfifo", [fifo]);
        const out = fleet.outputs.user;
        const held = spawn("redis-cli", ["-h", out.vault.host, "-p", String(out.vault.port), "--user", out.backup.user, "--rdb", fifo], {
            env: { ...process.env, REDISCLI_AUTH: out.backup.password },
            stdio: "ignore",
        });
        started.push(held);
        await waitFor("the snapshot attached as a replica", async () => {
            const replicas = await fleet.cli("user", "vault", ["CLIENT", "LIST", "TYPE", "replica"]);
            return replicas.includes("user=backup") ? true : undefined;
        });
        expect(await fleet.cli("user", "vault", ["INFO", "replication"])).toContain("connected_slaves:1");
        const run = await cli(["check", "--json"]);
        expect(run.code).toBe(0);
        expect(JSON.parse(run.stdout).environments[0].problems).toEqual([]);

        // A snapshot taken with the vault's password is a copy leaving the vault like any replica: reported.
        const rogueFifo = path.join(work, "rogue.rdb");
        execFileSync("mkfifo", [rogueFifo]);
        const rogue = spawn("redis-cli", ["-h", out.vault.host, "-p", String(out.vault.port), "--rdb", rogueFifo], {
            env: { ...process.env, REDISCLI_AUTH: out.vault.password },
            stdio: "ignore",
        });
        started.push(rogue);
        await waitFor("the second snapshot attached", async () => {
            const replicas = await fleet.cli("user", "vault", ["CLIENT", "LIST", "TYPE", "replica"]);
            return replicas.includes("user=default") ? true : undefined;
        });
        const flagged = JSON.parse((await cli(["check", "--json"])).stdout).environments[0].problems;
        expect(flagged.map((p: { code: string }) => p.code)).toEqual(["secure-has-replicas"]);
        expect(flagged[0].message).toMatch(
            /has 1 replica attached \(connected_slaves:2, 1 of them a backup by user backup; .* as default\)/,
        );

        // Let both snapshots finish (the second one, still waiting for its own, at full speed).
        await fleet.cli("user", "vault", ["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        for (const [program, file] of [
            [held, fifo],
            [rogue, rogueFifo],
        ] as const) {
            const done = new Promise((resolve) => program.on("close", resolve));
            execFileSync("sh", ["-c", `cat "${file}" > /dev/null`]);
            await done;
        }
    });

    it("reports a Redis replica that authenticated as the backup user, and not a backup taken beside it", async () => {
        // The backup user's ACL (+sync +replconf) lets a Redis server replicate: PSYNC is refused,
        // it retries with SYNC and stays. Its data leaves the secure vault like any replica's.
        const out = fleet.outputs.user;
        const [port] = await freePorts(1, TEST_PORTS);
        const replica = spawn(
            "redis-server",
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work],
            { stdio: "ignore" },
        );
        started.push(replica);
        const local = (args: string[]) => execFileSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).trim();
        await waitFor("the replica's Redis answers", async () =>
            spawnSync("redis-cli", ["-p", String(port), "PING"]).status === 0 ? true : undefined,
        );
        // The password by CONFIG SET, not as an argument: it stays out of the process list.
        local(["CONFIG", "SET", "masteruser", out.backup.user]);
        local(["CONFIG", "SET", "masterauth", out.backup.password]);
        local(["REPLICAOF", out.vault.host, String(out.vault.port)]);
        await fleet.cli("user", "vault", ["SET", "leak", "1"]);
        await waitFor("the replica holds the vault's writes", async () => (local(["GET", "leak"]) === "1" ? true : undefined), 60_000);
        await fleet.cli("user", "vault", ["SET", "leak", "2"]);
        await waitFor("and keeps receiving them", async () => (local(["GET", "leak"]) === "2" ? true : undefined));
        expect(await fleet.cli("user", "vault", ["CLIENT", "LIST", "TYPE", "replica"])).toMatch(/user=backup/);

        const alone = await cli(["check", "--json"]);
        expect(alone.code).toBe(1);
        const problems = JSON.parse(alone.stdout).environments[0].problems;
        expect(problems.map((p: { code: string }) => p.code)).toEqual(["secure-has-replicas"]);
        expect(problems[0].message).toMatch(/has 1 replica attached \(connected_slaves:1; [\d.]+:\d+ as backup;/);

        // A backup held while its snapshot is made, beside the replica: the replica alone is counted.
        await fleet.cli("user", "vault", ["CONFIG", "SET", "rdb-key-save-delay", "100"]);
        const fifo = path.join(work, "beside.rdb");
        execFileSync("mkfifo", [fifo]);
        const held = spawn("redis-cli", ["-h", out.vault.host, "-p", String(out.vault.port), "--user", out.backup.user, "--rdb", fifo], {
            env: { ...process.env, REDISCLI_AUTH: out.backup.password },
            stdio: "ignore",
        });
        started.push(held);
        await waitFor("the snapshot attached beside the replica", async () =>
            (await fleet.cli("user", "vault", ["INFO", "replication"])).includes("connected_slaves:2") ? true : undefined,
        );
        const beside = await cli(["check", "--json"]);
        expect(beside.code).toBe(1);
        const both = JSON.parse(beside.stdout).environments[0].problems;
        expect(both.map((p: { code: string }) => p.code)).toEqual(["secure-has-replicas"]);
        expect(both[0].message).toMatch(
            /has 1 replica attached \(connected_slaves:2, 1 of them a backup by user backup; [\d.]+:\d+ as backup;/,
        );

        // The replica gone, the backup still being taken: nothing to report.
        const stopped = new Promise((resolve) => replica.on("close", resolve));
        replica.kill();
        await stopped;
        await waitFor("the vault lets go of the replica", async () =>
            (await fleet.cli("user", "vault", ["INFO", "replication"])).includes("connected_slaves:1") ? true : undefined,
        );
        const after = await cli(["check", "--json"]);
        expect(JSON.parse(after.stdout).environments[0].problems).toEqual([]);
        expect(after.code).toBe(0);

        await fleet.cli("user", "vault", ["CONFIG", "SET", "rdb-key-save-delay", "0"]);
        const done = new Promise((resolve) => held.on("close", resolve));
        execFileSync("sh", ["-c", `cat "${fifo}" > /dev/null`]);
        await done;
    });
});
