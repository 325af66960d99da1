/**
 * `nexus-redis adopt` takes over a fleet built by hand exactly by the protocol's steps
 * (`docker run ... redis-server --requirepass`, Redis's default persistence, replication by
 * `CONFIG SET masterauth` and `REPLICAOF <vault IP> 6379`), with 100k keys of several types
 * per vault, on every kind of data the operators used: a named volume called like the
 * stack's own, an anonymous volume, a host folder, and a secure environment's vault.
 *
 * The CLI runs in process, as an operator runs it; its Pulumi commands go to a stand-in of
 * the Pulumi CLI (harness/pulumiStack.ts) whose `pulumi up` plans the stack from exactly the
 * configuration adopt set and applies it on the engine as `pulumi up` would.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { removeRun } from "../../harness/cleanup";
import { type Docker, exec } from "../../harness/docker";
import { RUN_LABEL_KEY, dockerAvailable, parseInfo, waitFor } from "../../harness/fleet";
import { ADOPT_PORTS, type AdoptionStack, adoptionStack, startAdoptionRun } from "../../harness/adoption";
import { createRunVolume, handBuiltClient, logsOf, removeVolumes } from "../../harness/handBuilt";
import { type HandBuiltEnvironment, buildProtocolFleet, fillEnvironment, snapshotDigest } from "../../harness/handBuiltFleet";
import { freePortOffset } from "../../harness/ports";
import { newVaultSettings, parseKeyspace, persistenceChange, totalKeys } from "../../cli/adopt/settings";

const ROOT = path.resolve(__dirname, "../..");
const KEYS = 100_000;
const ENVIRONMENTS = ["kb", "contact", "links", "user", "locker"];

const live = dockerAvailable();
let docker: Docker;
let runId: string;
let network: string;
let folder: string;
let built: HandBuiltEnvironment[] = [];
let stack: AdoptionStack;
/** Every volume the hand-built containers used: anonymous ones carry no run label, so they are removed by name. */
const volumes = new Set<string>();
const before: Record<string, string> = {};

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

async function cli(argv: string[], stdin = ""): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => stdin,
        run: stack.pulumi.runner,
        projectDir: ROOT,
        env: {},
    };
    const code = await main(argv, io);
    return { code, stdout, stderr };
}

/** `docker inspect` of every container, volume and network of the run, as one text. */
async function engineState(): Promise<string> {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL_KEY}=${runId}`] } });
    const inspected = await Promise.all(containers.map((c) => docker.getContainer(c.Id).inspect()));
    inspected.sort((a, b) => a.Name.localeCompare(b.Name));
    const names = new Set<string>(volumes);
    for (const c of inspected) for (const m of c.Mounts) if (m.Name) names.add(m.Name);
    const vols = await Promise.all([...names].sort().map((v) => docker.getVolume(v).inspect()));
    const nets = await docker.listNetworks({ filters: { label: [`${RUN_LABEL_KEY}=${runId}`] } });
    const netInfo = await Promise.all(nets.map((n) => docker.getNetwork(n.Id).inspect()));
    return JSON.stringify({ containers: inspected, volumes: vols, networks: netInfo }, null, 1);
}

function env(name: string): HandBuiltEnvironment {
    return built.find((e) => e.name === name)!;
}

describe.skipIf(!live)("nexus-redis adopt on a fleet built by the protocol's steps", () => {
    beforeAll(async () => {
        ({ docker, runId, network } = await startAdoptionRun());
        folder = mkdtempSync(path.join(tmpdir(), "nexus-redis-adopt-"));
        const portOffset = await freePortOffset(ENVIRONMENTS, ADOPT_PORTS);
        // Named like the volume the stack itself would create: adopt must use it in place all the same.
        const named = await createRunVolume(docker, runId, `${runId}-contact-vault-data`);
        built = await buildProtocolFleet(docker, {
            runId,
            prefix: runId,
            network,
            portOffset,
            environments: [
                { name: "kb", data: { kind: "anonymous" } },
                { name: "contact", data: { kind: "volume", name: named } },
                { name: "links", data: { kind: "host", path: folder } },
                { name: "user", data: { kind: "volume", name: await createRunVolume(docker, runId, `${runId}-user-redis`) } },
                // Save points off: until adopt turns AOF on, its data is in memory only.
                {
                    name: "locker",
                    data: { kind: "volume", name: await createRunVolume(docker, runId, `${runId}-locker-redis`) },
                    vaultArgs: ["--save", ""],
                },
            ],
        });
        for (const e of built) {
            for (const name of [e.vault.name, e.operational?.name]) {
                if (!name) continue;
                for (const m of (await docker.getContainer(name).inspect()).Mounts) if (m.Name) volumes.add(m.Name);
            }
        }
        await Promise.all(built.map((e) => fillEnvironment(e, KEYS)));
        for (const e of built) before[e.name] = await snapshotDigest(docker, { runId, network, host: e.vault.ip, password: e.password });
        stack = adoptionStack(docker, { runId, prefix: runId, portOffset });
    });

    afterAll(async () => {
        await stack?.fleet.destroy();
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        await removeVolumes(docker, volumes);
        if (folder) rmSync(folder, { recursive: true, force: true });
    });

    it("built the fleet by the protocol's steps: default persistence, --requirepass, every link up, 100k keys per vault", async () => {
        for (const e of built) {
            const client = handBuiltClient(e.vault.port, e.password);
            await client.connect();
            const persistence = parseInfo(await client.info("persistence"));
            expect(persistence.aof_enabled).toBe("0");
            expect(totalKeys(parseKeyspace(parseInfo(await client.info("keyspace"))))).toBe(KEYS);
            client.disconnect();
            if (!e.operational) continue;
            const replica = handBuiltClient(e.operational.port);
            await replica.connect();
            expect(parseInfo(await replica.info("replication"))).toMatchObject({ master_host: e.vault.ip, master_link_status: "up" });
            replica.disconnect();
        }
        expect(new Set(Object.values(before)).size).toBe(ENVIRONMENTS.length);
    });

    it("the dry run reports what it found and would do, and changes nothing: docker inspect of every container, volume and network is the same", async () => {
        // Redis's own save points (60 s after 10000 changes, on the vaults and on their
        // replicas alike) would write dump.rdb during the comparison, and Docker reports a local
        // volume's CreatedAt from its folder's mtime: let each save first (locker has no save
        // points, and must keep none), so that anything that differs is adopt's doing.
        for (const e of built) {
            const servers = [
                ...(e.name === "locker" ? [] : [handBuiltClient(e.vault.port, e.password)]),
                ...(e.operational ? [handBuiltClient(e.operational.port)] : []),
            ];
            for (const client of servers) {
                await client.connect();
                // SAVE is refused while one of Redis's own background saves runs: wait for it.
                await waitFor("a SAVE", async () =>
                    (await client.save().catch((e: Error) => (/in progress/.test(e.message) ? undefined : Promise.reject(e)))) === "OK"
                        ? true
                        : undefined,
                );
                expect(parseInfo(await client.info("persistence")).rdb_changes_since_last_save).toBe("0");
                client.disconnect();
            }
        }
        const state = await engineState();
        const run = await cli(["adopt", "--dry-run"]);
        expect(run.code, run.stderr + run.stdout).toBe(0);
        expect(await engineState()).toBe(state);
        expect(stack.pulumi.commands.every((c) => c[1] === "config" && c[2] === "get")).toBe(true);
        expect(stack.pulumi.config.get("environments")).toBeUndefined();

        const anonymous = (await docker.getContainer(env("kb").vault.name).inspect()).Mounts[0].Name!;
        expect(run.stdout).toMatch(
            new RegExp(`kb +standard +adopt +${runId}-kb-vault 127\\.0\\.0\\.1:\\d+ +anonymous volume ${anonymous} +100000 +7\\.0\\.15`),
        );
        expect(run.stdout).toMatch(
            new RegExp(`contact +standard +adopt +${runId}-contact-vault 127\\.0\\.0\\.1:\\d+ +volume ${runId}-contact-vault-data +100000`),
        );
        expect(run.stdout).toContain(
            `host folder ${folder} is bind-mounted at /data; the vault's start script gives its files to the redis user (uid 999) as the vault starts (owned by uid 999 now)`,
        );
        expect(run.stdout).toContain(
            `anonymous volume ${anonymous} (the image's VOLUME /data) is used in place under its ID; it is never removed`,
        );
        expect(run.stdout).toContain("pulumi config set --path 'environments[4]' locker");
        expect(run.stdout).toContain("save points are off: Redis's defaults (3600 1 300 100 60 10000) are set before the stop");
        // locker ran with --save '': the dry run says what the new vault declares instead (vaultSettings()).
        expect(run.stdout).toContain(
            persistenceChange(
                { save: "", appendonly: "no", appendfsync: "everysec", "stop-writes-on-bgsave-error": "yes" },
                newVaultSettings(0),
            ),
        );
        expect(run.stdout).toContain("12 environments: 5 to adopt, 7 skipped: nothing was changed (--dry-run)");
        for (const e of built) expect(run.stdout + run.stderr).not.toContain(e.password);
    });

    it("adopts each environment in turn with exactly these Pulumi commands, each pulumi up creating only that environment's resources", async () => {
        stack.pulumi.commands.length = 0;
        const run = await cli(["adopt", "--json"]);
        expect(run.code, run.stderr + run.stdout).toBe(0);
        const report = JSON.parse(run.stdout);
        expect(report.environments.filter((e: { status: string }) => e.status === "adopted").map((e: { name: string }) => e.name)).toEqual(
            ENVIRONMENTS,
        );
        for (const name of ENVIRONMENTS) expect(report.measurements[name].writesRefusedMs).toBeGreaterThan(0);
        process.stderr.write(`adopt: writes refused (ms): ${JSON.stringify(report.measurements)}\n`);
        // How long a normal start takes (the gate's START_BOUND_MS is a margin over it).
        process.stderr.write(
            `adopt: ${run.stderr
                .split("\n")
                .filter((l) => l.includes("after its container started"))
                .join("; ")}\n`,
        );

        const anonymous = report.environments.find((e: { name: string }) => e.name === "kb").vault.data.name;
        const data: Record<string, string> = {
            kb: anonymous,
            contact: `${runId}-contact-vault-data`,
            links: folder,
            user: `${runId}-user-redis`,
            locker: `${runId}-locker-redis`,
        };
        const gets = [
            "platform",
            "image",
            "network",
            "createNetwork",
            "bindAddress",
            "containerPrefix",
            "portOffset",
            "memoryLimitMb",
            "environments",
            "passwords",
            "vaultData",
        ].map((k) => ["pulumi", "config", "get", k]);
        const expected: string[][] = [
            ...gets,
            ["pulumi", "config", "set", "network", network],
            ["pulumi", "config", "set", "createNetwork", "false"],
        ];
        const passwords: Record<string, { vault: string }> = {};
        // The passwords go on stdin, by the index of their command.
        const secrets = new Map<number, string>();
        const vaultData: Record<string, string> = {};
        ENVIRONMENTS.forEach((name, i) => {
            passwords[name] = { vault: env(name).password };
            vaultData[name] = data[name];
            secrets.set(expected.length, JSON.stringify(passwords));
            expected.push(
                ["pulumi", "config", "set", "--secret", "passwords"],
                ["pulumi", "config", "set", "vaultData", JSON.stringify(vaultData)],
                ["pulumi", "config", "set", "--path", `environments[${i}]`, name],
                ["pulumi", "preview", "--diff"],
                ["pulumi", "up", "--yes", "--skip-preview"],
                ["pulumi", "stack", "output", "--json", "--show-secrets"],
            );
        });
        expect(stack.pulumi.commands).toEqual(expected);
        expect(stack.pulumi.inputs).toEqual(secrets);

        // A plain pulumi up touched only what had been adopted: nothing replaced or deleted.
        expect(stack.applied.map((a) => a.replaced)).toEqual([[], [], [], [], []]);
        expect(stack.applied.map((a) => a.deleted)).toEqual([[], [], [], [], []]);
        expect(stack.applied.map((a) => a.created.filter((r) => /-(vault|operational)$/.test(r)))).toEqual([
            ["kb-vault", "kb-operational"],
            ["contact-vault", "contact-operational"],
            ["links-vault", "links-operational"],
            ["user-vault"],
            ["locker-vault"],
        ]);
        // The old containers are gone, never a volume.
        const left = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL_KEY}=${runId}`] } });
        expect(left.map((c) => c.Names[0]).filter((n) => n.includes(".adopted-"))).toEqual([]);
        for (const v of volumes) await docker.getVolume(v).inspect();
        expect(readdirSync(folder).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    });

    it("keeps every key: each vault's digest is what it was", async () => {
        for (const e of built) expect(await stack.fleet.digest(e.name, "vault"), e.name).toBe(before[e.name]);
    });

    it("started each new vault on the AOF its old vault wrote while it ran: nothing to convert", async () => {
        for (const e of built) {
            const log = await logsOf(docker, stack.fleet.containerName(e.name, "vault"));
            expect(log, e.name).toContain("nexus-redis vault: starting on the append-only file in /data/appendonlydir");
            expect(log, e.name).not.toContain("converting");
        }
    });

    it("left a dump.rdb with every key beside it, so the old container would have found them too (save points set on a vault that had none)", async () => {
        const files = await stack.fleet.cli("locker", "vault", ["CONFIG", "GET", "dir"]);
        expect(files).toBe("dir\n/data");
        const listed = await exec(docker, stack.fleet.containerName("locker", "vault"), ["ls", "/data"]);
        expect(listed.stdout.split(/\s+/).filter(Boolean).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    });

    it("keeps every password: each old vault password still authenticates, on the same port", async () => {
        for (const e of built) {
            expect(stack.fleet.outputs[e.name].vault.port).toBe(e.vault.port);
            const client = handBuiltClient(e.vault.port, e.password);
            await client.connect();
            expect(await client.get(`${e.name}:0`)).toBe("value-0");
            expect(await client.set("after-adoption", "1")).toBe("OK");
            client.disconnect();
        }
    });

    it("leaves every environment healthy: check exits 0, every link up, each operational a copy of its vault", async () => {
        const run = await cli(["check", "--outputs", "-", "--wait", "60000"], JSON.stringify({ environments: stack.fleet.outputs }));
        expect(run.code, run.stdout).toBe(0);
        expect(run.stdout).toContain("5 environments: 5 ok");
        for (const e of built.filter((b) => b.operational)) {
            const info = parseInfo(await stack.fleet.cli(e.name, "operational", ["INFO", "replication"]));
            expect(info.master_link_status).toBe("up");
            await waitFor(`${e.name}'s copy`, async () =>
                (await stack.fleet.digest(e.name, "operational")) === (await stack.fleet.digest(e.name, "vault")) ? true : undefined,
            );
        }
    });

    it("keeps every key across a restart of every vault: AOF is on now", async () => {
        const digests: Record<string, string> = {};
        for (const e of built) {
            expect(await stack.fleet.cli(e.name, "vault", ["CONFIG", "GET", "appendonly"])).toBe("appendonly\nyes");
            digests[e.name] = await stack.fleet.digest(e.name, "vault");
        }
        for (const e of built) await stack.fleet.container(e.name, "vault").restart({ t: 60 });
        for (const e of built) {
            await waitFor(
                `${e.name}'s vault after the restart`,
                async () => (parseInfo(await stack.fleet.cli(e.name, "vault", ["INFO", "persistence"])).loading === "0" ? true : undefined),
                120_000,
                200,
            );
            expect(await stack.fleet.digest(e.name, "vault"), e.name).toBe(digests[e.name]);
            expect(totalKeys(parseKeyspace(parseInfo(await stack.fleet.cli(e.name, "vault", ["INFO", "keyspace"]))))).toBe(KEYS + 1);
        }
        const run = await cli(["check", "--outputs", "-", "--wait", "60000"], JSON.stringify({ environments: stack.fleet.outputs }));
        expect(run.code, run.stdout).toBe(0);
    });

    it("finds nothing left to adopt afterwards", async () => {
        const run = await cli(["adopt", "--dry-run"]);
        expect(run.code).toBe(0);
        expect(run.stdout).toContain("12 environments: 12 skipped: nothing to adopt");
        expect(run.stdout).toMatch(/kb +standard +skipped/);
    });
});
