/**
 * recovery-100k, recovery-1m: the protocol's disaster recovery. An operational is removed
 * with its volume and re-created from the plan (what `pulumi up --replace` does, through
 * the harness's `recreate`); the clock runs until it reports its link up, and the drill
 * counts only once its DEBUG DIGEST equals the vault's (the digest's own time is not
 * counted: it is the same work for every variant).
 *
 * Three variants, alternated, on the same fleet and engine, with the same dataset:
 * - the program's settings (environment `contact`);
 * - baseline, Redis's default replication settings (environment `links`): every `repl-*`
 *   setting the plan declares is put back to the default a bare redis-server of the same
 *   image reports (CONFIG GET). On the vault by CONFIG SET; the operational, which the
 *   drill re-creates, from a copy of its state entry with those lines of its redis.conf changed and
 *   nothing else;
 * - the limit, a plain full sync: an empty, already running replica with the program's
 *   operational settings is told REPLICAOF the vault; the clock runs until its link is up.
 *   No container or volume is created inside that measurement.
 *
 * The datasets are made with DEBUG POPULATE on the vaults (inside the containers, where
 * DEBUG is allowed): it is not replicated, which does not matter, since every drill starts
 * from an empty operational.
 */
import { performance } from "node:perf_hooks";
import { exec } from "../harness/docker";
import type { LiveFleet } from "../harness/fleet";
import { info, redisCommands } from "../harness/resp";
import { type BenchResult, type Target, median, result, round, samplesText } from "./results";
import { type BenchRun, until } from "./resources";

export const PROGRAM_ENV = "contact";
export const DEFAULTS_ENV = "links";
export const RECOVERY_TARGET: Target = { maxRatio: 0.3, text: "at most 0.3 of the default-settings baseline" };
export const FULL_SYNC_TARGET: Target = { maxRatio: 1.5, text: "within 1.5x of a plain full sync" };

/** `CONFIG GET` output of redis-cli (name and value on alternate lines) as an object. */
export function configLines(output: string): Record<string, string> {
    const lines = output.split("\n");
    const config: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) config[lines[i].trim()] = lines[i + 1].trim();
    return config;
}

/** Every `repl-*` setting of a redis.conf (as the plan renders it: `name value` per line), in order. */
export function replicationSettings(config: string): Record<string, string> {
    const found: Record<string, string> = {};
    for (const line of config.split("\n")) {
        const match = /^(repl-[a-z-]+) (.*)$/.exec(line);
        if (match) found[match[1]] = match[2];
    }
    return found;
}

/** The config with each `repl-*` value replaced by `values[name]`; every other line unchanged. */
export function withReplicationValues(config: string, values: Record<string, string>): string {
    return config
        .split("\n")
        .map((line) => {
            const match = /^(repl-[a-z-]+) /.exec(line);
            if (!match) return line;
            if (!(match[1] in values)) throw new Error(`no default known for ${match[1]}`);
            return `${match[1]} ${values[match[1]]}`;
        })
        .join("\n");
}

/** The config without its `replicaof HOST PORT` line: the same server, started as an empty master. */
export function withoutReplicaof(config: string): string {
    const lines = config.split("\n");
    const kept = lines.filter((line) => !line.startsWith("replicaof "));
    if (kept.length !== lines.length - 1) throw new Error("the operational's config has no replicaof line");
    return kept.join("\n");
}

/** Redis's own replication defaults: `CONFIG GET repl-*` of a bare redis-server (no arguments) of the test image, by container name. */
export async function replicationDefaults(run: BenchRun, container: string): Promise<Record<string, string>> {
    const answer = await until(
        "a bare redis-server answering CONFIG GET",
        async () => {
            const r = await exec(run.docker, container, ["redis-cli", "CONFIG", "GET", "repl-*"]);
            return r.exitCode === 0 && r.stdout.includes("repl-") ? r.stdout : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50 },
    );
    return configLines(answer.trim());
}

/** The defaults from a bare container started for the purpose. */
async function probeDefaults(run: BenchRun): Promise<Record<string, string>> {
    const probe = await run.runContainer({ name: `${run.id}-defaults` });
    try {
        return await replicationDefaults(run, probe.name);
    } finally {
        await run.removeContainer(probe.name);
    }
}

function containerResourceIndex(fleet: LiveFleet, env: string, role: "vault" | "operational"): number {
    const i = fleet.state.resources.findIndex((r) => r.type === "docker:index/container:Container" && r.name === `${env}-${role}`);
    if (i < 0) throw new Error(`the stack's state has no container ${env}-${role}`);
    return i;
}

interface Upload {
    file: string;
    content: string;
    permissions?: string;
    owner?: string;
    group?: string;
}

function uploadsOf(fleet: LiveFleet, env: string, role: "vault" | "operational"): Upload[] {
    return (fleet.state.resources[containerResourceIndex(fleet, env, role)].inputs.uploads as Upload[] | undefined) ?? [];
}

/** The redis.conf the plan uploads into a container (the `.conf` upload). */
function configUpload(fleet: LiveFleet, env: string, role: "vault" | "operational"): Upload {
    const upload = uploadsOf(fleet, env, role).find((u) => u.file.endsWith(".conf"));
    if (!upload) throw new Error(`the plan uploads no redis.conf into ${env}-${role}`);
    return upload;
}

function commandOf(fleet: LiveFleet, env: string, role: "vault" | "operational"): string[] {
    return fleet.state.resources[containerResourceIndex(fleet, env, role)].inputs.command as string[];
}

function describeChanges(role: string, from: Record<string, string>, to: Record<string, string>): string {
    const changed = Object.keys(from).filter((k) => from[k] !== to[k]);
    return `${role}: ${changed.length === 0 ? "no change" : changed.map((k) => `${k} ${from[k]}->${to[k]}`).join(", ")}`;
}

/**
 * Puts DEFAULTS_ENV on Redis's default replication settings: its vault now (CONFIG SET),
 * its operational at its next re-creation (the fleet's state entry, which recreate creates from). Returns what changed.
 */
async function applyDefaults(fleet: LiveFleet, defaults: Record<string, string>): Promise<string> {
    const vaultDeclared = replicationSettings(configUpload(fleet, DEFAULTS_ENV, "vault").content);
    for (const name of Object.keys(vaultDeclared)) {
        if (!(name in defaults)) throw new Error(`a bare redis-server reports no default for ${name}`);
        await fleet.cli(DEFAULTS_ENV, "vault", ["CONFIG", "SET", name, defaults[name]]);
    }
    const index = containerResourceIndex(fleet, DEFAULTS_ENV, "operational");
    const entry = fleet.state.resources[index];
    const config = configUpload(fleet, DEFAULTS_ENV, "operational");
    const uploads = uploadsOf(fleet, DEFAULTS_ENV, "operational").map((u) =>
        u === config ? { ...u, content: withReplicationValues(u.content, defaults) } : u,
    );
    fleet.state.resources[index] = { ...entry, inputs: { ...entry.inputs, uploads } };
    const operationalDeclared = replicationSettings(config.content);
    return `${describeChanges("vault", vaultDeclared, defaults)}; ${describeChanges("operational", operationalDeclared, defaults)}`;
}

interface Drill {
    /** From the start of the re-creation (or REPLICAOF) to link up with a dataset equal to the vault's. */
    ms: number;
    /** Of which: removing and re-creating the container and volume (zero for the full sync). */
    recreateMs: number;
}

async function digestEquals(read: () => Promise<string>, expected: string): Promise<void> {
    await until("DEBUG DIGEST equal to the vault's", async () => ((await read()) === expected ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 50,
    });
}

/** The protocol's recovery of `env`'s operational: remove it and its volume, re-create from the plan, wait for the link. */
async function recoveryDrill(fleet: LiveFleet, env: string, vaultDigest: string): Promise<Drill> {
    const port = fleet.outputs[env].operational!.port;
    const started = performance.now();
    await fleet.recreate(env, "operational");
    const recreateMs = performance.now() - started;
    // A fresh connection per poll: the server behind the port is being replaced.
    await until(
        `${env} operational link up`,
        async () => ((await info(port, "replication", { timeoutMs: 1_000 })).master_link_status === "up" ? true : undefined),
        {
            timeoutMs: 180_000,
            intervalMs: 10,
        },
    );
    const ms = performance.now() - started;
    await digestEquals(() => fleet.digest(env, "operational"), vaultDigest);
    return { ms, recreateMs };
}

/** A plain full sync: an empty running replica with the program's operational settings, told REPLICAOF the vault. */
async function fullSyncDrill(run: BenchRun, fleet: LiveFleet, network: string, vaultDigest: string): Promise<Drill> {
    const out = fleet.outputs[PROGRAM_ENV].operational!;
    const name = `${run.id}-fullsync`;
    const files = uploadsOf(fleet, PROGRAM_ENV, "operational").map((u) => ({
        path: u.file,
        content: u.file.endsWith(".conf") ? withoutReplicaof(u.content) : u.content,
        mode: Number.parseInt(u.permissions ?? "0644", 8),
        uid: Number(u.owner ?? 0),
        gid: Number(u.group ?? 0),
    }));
    const replica = await run.runContainer({ name, cmd: commandOf(fleet, PROGRAM_ENV, "operational"), network, publish: true, files });
    try {
        const port = replica.port!;
        const admin = { timeoutMs: 1_000 };
        await until("the fresh replica answering", async () => ((await info(port, "replication")).role === "master" ? true : undefined), {
            timeoutMs: 30_000,
            intervalMs: 10,
        });
        const started = performance.now();
        // AUTH as the admin user (the default user may not run REPLICAOF), then REPLICAOF, on one connection.
        const replies = await redisCommands(
            port,
            [
                ["AUTH", out.adminUser, out.adminPassword],
                ["REPLICAOF", fleet.containerName(PROGRAM_ENV, "vault"), "6379"],
            ],
            admin,
        );
        const failure = replies.find((r) => r instanceof Error);
        if (failure) throw failure;
        await until(
            "the fresh replica's link up",
            async () => ((await info(port, "replication", { timeoutMs: 1_000 })).master_link_status === "up" ? true : undefined),
            {
                timeoutMs: 180_000,
                intervalMs: 10,
            },
        );
        const ms = performance.now() - started;
        await digestEquals(async () => {
            const r = await exec(run.docker, name, ["redis-cli", "--user", out.adminUser, "DEBUG", "DIGEST"], {
                env: [`REDISCLI_AUTH=${out.adminPassword}`],
            });
            return r.stdout.trim();
        }, vaultDigest);
        return { ms, recreateMs: 0 };
    } finally {
        await run.removeContainer(name);
    }
}

export interface RecoveryOptions {
    /** Datasets, smallest first: keys of about 40 bytes each. */
    datasets: { name: string; keys: number; repetitions: number }[];
    /** Redis's replication defaults when already read (fleet-up's bare containers); else a bare container is started to read them. */
    defaults?: Record<string, string>;
}

export async function benchRecovery(run: BenchRun, fleet: LiveFleet, options: RecoveryOptions): Promise<BenchResult[]> {
    const network = fleet.plan.resources.find((r) => r.type === "docker:index/network:Network")!.inputs.name as string;
    run.log(`recovery: putting ${DEFAULTS_ENV} on Redis's default replication settings (the baseline)`);
    const changes = await applyDefaults(fleet, options.defaults ?? (await probeDefaults(run)));
    run.log(`recovery: ${changes}`);
    const results: BenchResult[] = [];
    for (const dataset of options.datasets) {
        run.log(`${dataset.name}: DEBUG POPULATE ${dataset.keys} in the vaults of ${PROGRAM_ENV} and ${DEFAULTS_ENV}`);
        for (const env of [PROGRAM_ENV, DEFAULTS_ENV])
            await fleet.cli(env, "vault", ["DEBUG", "POPULATE", String(dataset.keys), "key", "40"]);
        const digests = {
            [PROGRAM_ENV]: await fleet.digest(PROGRAM_ENV, "vault"),
            [DEFAULTS_ENV]: await fleet.digest(DEFAULTS_ENV, "vault"),
        };
        const memory = await info(fleet.outputs[PROGRAM_ENV].vault.port, "memory", { password: fleet.outputs[PROGRAM_ENV].vault.password });

        const program: Drill[] = [];
        const defaults: Drill[] = [];
        const full: Drill[] = [];
        for (let i = 1; i <= dataset.repetitions; i++) {
            defaults.push(await recoveryDrill(fleet, DEFAULTS_ENV, digests[DEFAULTS_ENV]));
            program.push(await recoveryDrill(fleet, PROGRAM_ENV, digests[PROGRAM_ENV]));
            full.push(await fullSyncDrill(run, fleet, network, digests[PROGRAM_ENV]));
            run.log(
                `${dataset.name} (${i}/${dataset.repetitions}): program ${(program[i - 1].ms / 1000).toFixed(2)} s, ` +
                    `Redis defaults ${(defaults[i - 1].ms / 1000).toFixed(2)} s, plain full sync ${(full[i - 1].ms / 1000).toFixed(2)} s`,
            );
        }
        const ms = (drills: Drill[]) => drills.map((d) => d.ms);
        const value = median(ms(program));
        const syncPart = median(program.map((d) => d.ms - d.recreateMs));
        const dataText = `${dataset.keys} keys (DEBUG POPULATE, ${(Number(memory.used_memory_dataset) / 1024 / 1024).toFixed(1)} MiB dataset)`;
        results.push(
            result({
                name: dataset.name,
                value,
                unit: "ms",
                baseline: median(ms(defaults)),
                note:
                    `${dataText}: operational removed with its volume, re-created from the plan, until link up with DEBUG DIGEST equal to the vault's, ` +
                    `${samplesText(ms(program))} ms (of which re-creating container and volume ${Math.round(median(program.map((d) => d.recreateMs)))} ms); ` +
                    `baseline: the same drill in a second environment of the same fleet with Redis's default replication settings ` +
                    `(vault by CONFIG SET, operational re-created with the repl-* lines of its redis.conf at the defaults; ${changes}), ${samplesText(ms(defaults))} ms`,
                target: RECOVERY_TARGET,
            }),
            result({
                name: `${dataset.name}-vs-full-sync`,
                value,
                unit: "ms",
                baseline: median(ms(full)),
                note:
                    `${dataset.name} against the limit: a running empty replica with the program's operational settings, told REPLICAOF the vault, until link up with equal digest, ` +
                    `${samplesText(ms(full))} ms; the recovery's extra is removing and re-creating the container and volume and Redis starting: ` +
                    `after the re-creation the recovery took ${Math.round(syncPart)} ms (${round(syncPart / median(ms(full)), 2)}x the full sync)`,
                target: FULL_SYNC_TARGET,
            }),
        );
    }
    return results;
}
