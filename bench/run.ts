/**
 * `npm run bench -- [--quick] [--json] [--only GROUP]...`
 *
 * What users of nexus-redis wait for (bringing the fleet up, recovering an operational,
 * checking the fleet, planning), each measured against a baseline in the same run on the
 * same Docker engine: these machines are noisy and absolute times drift, ratios much less.
 * Uses the live harness (the program's own plan, created on the local engine) and the
 * operator CLI's bin, run as users run it.
 */
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { parseArgs } from "node:util";
import { DEFAULT_CHECK_TIMEOUT_MS } from "../cli/main";
import type { LiveFleet } from "../harness/fleet";
import type { PlannedRun } from "../harness/engineApply";
import { type AdoptSettings, adoptResultNames, benchAdopt } from "./adopt";
import { type SizeOptions, benchBackup, benchRestore } from "./backup";
import { benchCheck, checkResultNames } from "./check";
import { PROTOCOL_NAMES, expectHealthy, fleetFor, planFleet, waitHealthy } from "./fleet";
import { benchFleetUp } from "./fleetUp";
import { benchPartialResync } from "./partialResync";
import { type RotateSettings, benchRotateVault } from "./rotate";
import { benchRecovery } from "./recovery";
import { info } from "../harness/resp";
import { type BenchResult, failed, renderJson, renderTable } from "./results";
import { BenchRun } from "./resources";
import { benchSwarm } from "./swarm";
import { benchSynth } from "./synth";

export const BENCH_HELP = `Usage: npm run bench -- [--quick] [--json] [--only GROUP]...

Measures what users of nexus-redis wait for, each against a baseline measured in the
same run on the same Docker engine, and reports value, baseline and their ratio:
  fleet-up          the protocol's 12 environments from nothing to every link up,
                    vs. the engine starting 22 bare Redis containers
  check             nexus-redis check as a whole process over the fleet, healthy and
                    with hung hosts, vs. the protocol's sequential redis-cli script; and
                    check-floor, a bare Node process holding the check's conversations
                    (check-connections-floor: the same, one command per server)
  partial-resync    an operational's 10 s network cut under writes: partial resync?
                    bytes the vault sent vs. a full sync's
  recovery          wipe an operational and its volume, re-create it from the plan,
                    until its DEBUG DIGEST equals the vault's, vs. Redis's default
                    replication settings and vs. a plain full sync (100k, 1M keys)
  synth             the offline plan of 12, 120 and 1200 environments: time and memory,
                    each vs. the size before (12 vs. its start-up alone)
  adopt             nexus-redis adopt of a fleet built by the protocol's steps (the whole
                    table, 100k keys per vault): how long writes are refused per
                    environment and in total, vs. docker restart of the same vaults
  backup            nexus-redis backup of a 1M-key vault vs. a bare redis-cli --rdb of it,
                    and a steady writer's p99 latency during the backup vs. without
  restore           how long writes fail while nexus-redis restore brings a flushed 1M-key
                    vault back, vs. docker restart of the vault on the same data
  rotate            rotate-vault: how long writes are refused while a vault password is
                    rotated as the README says (nexus-redis rotate, clients switch, pulumi
                    up), under a writer, every acknowledged write checked, vs. docker restart
  swarm             on a three-node Docker Swarm built on this machine (not in --quick
                    unless named with --only): swarm-fleet-up, the table from nothing
                    to healthy vs. as many bare services; swarm-operational-failover,
                    the loss of the node that runs operationals until each is healthy
                    elsewhere vs. recover of the same environments on one host
Every container, volume and network it creates is labelled and removed at the end,
also on failure or Ctrl-C (a detached watchdog sweeps even after kill -9).

Options:
  --quick        smoke run for CI, one to two minutes: smaller datasets, fewer
                 repetitions, --timeout 1000 for check, no npx, no recovery-1m,
                 plans of 12 and 24 environments, backup and restore of 20k keys,
                 rotate-vault on 10k keys, no adopt (--quick --only adopt: one
                 environment with 10k keys)
  --json         print exactly one JSON document on stdout:
                 {"results": [{"name", "value", "unit", "baseline", "ratio", "note"}]}
                 (progress goes to stderr either way)
  --only GROUP   run only this group (repeatable): fleet-up, check, partial-resync,
                 recovery, synth, adopt, backup, restore, rotate, swarm
  -h, --help     this text

Prerequisites: a Docker engine and the test image (scripts/ensure-docker.sh,
scripts/build-test-image.sh), redis-cli, bash and coreutils' timeout on PATH. GNU time
(/usr/bin/time) is used for peak memory when installed.

Exit codes: 0 every benchmark ran (whether it met its target is in its note),
1 a benchmark could not run (its results say why), 2 usage error or no Docker.

Examples:
  npm run --silent bench -- --quick --json | jq '.results[] | {name, ratio}'
  npm run bench -- --only recovery
  npm run bench`;

export const GROUPS = [
    "fleet-up",
    "check",
    "partial-resync",
    "recovery",
    "synth",
    "adopt",
    "backup",
    "restore",
    "rotate",
    "swarm",
] as const;
export type Group = (typeof GROUPS)[number];
/** The groups that run on the benchmark fleet (the program's plan, created by the harness). */
const FLEET_GROUPS: readonly Group[] = ["fleet-up", "check", "partial-resync", "backup", "restore", "rotate", "recovery"];

/** Everything that differs between a full run and --quick. */
export interface Settings {
    /** Environments of the benchmark fleet. */
    fleetEnvironments: string[];
    fleetUpRepetitions: number;
    checkTimeoutMs: number;
    checkHealthyRepetitions: number;
    /** Operationals replaced by hung hosts: the last one alone, then all of them. */
    checkHung: string[];
    checkHungRepetitions: number;
    checkNpxRepetitions: number;
    partialResyncKeys: number;
    partialResyncCutSeconds: number;
    recovery: { name: string; keys: number; repetitions: number }[];
    synth: { size: number; repetitions: number }[];
    /** backup-N and restore-N: keys in the vault, repetitions. */
    backup: SizeOptions;
    restore: SizeOptions;
    /** rotate-vault: keys in the vault, repetitions. */
    rotate: RotateSettings;
    /**
     * Plan (synth) while partial-resync's operational is cut off, instead of after the live
     * benchmarks: what keeps --quick short. partial-resync measures bytes and the
     * kind of resync, which a busy CPU does not change; the plans' times are smoke values then.
     */
    synthDuringPartialResync: boolean;
    /** adopt: the fleet built by hand that it takes over (in --quick only when named: it would not fit in the minute). */
    adopt: AdoptSettings;
    /** Repetitions of swarm-fleet-up (the failover runs once). */
    swarmRepetitions: number;
}

export function settingsFor(quick: boolean): Settings {
    return quick
        ? {
              // Starting a container takes the engine most of a second here: four environments
              // (7 containers) cover every benchmark; the whole fleet would take a minute alone.
              fleetEnvironments: ["contact", "links", "track", "user"],
              fleetUpRepetitions: 1,
              checkTimeoutMs: 1_000,
              checkHealthyRepetitions: 5,
              checkHung: ["links", "track"],
              checkHungRepetitions: 1,
              checkNpxRepetitions: 0,
              partialResyncKeys: 10_000,
              partialResyncCutSeconds: 10,
              recovery: [{ name: "recovery-100k", keys: 100_000, repetitions: 1 }],
              // 24 generated environments take the path of the larger tables at a fraction of
              // 120's cost (half a minute on a loaded machine).
              synth: [
                  { size: 12, repetitions: 1 },
                  { size: 24, repetitions: 1 },
              ],
              synthDuringPartialResync: true,
              adopt: { environments: ["contact"], keys: 10_000 },
              backup: { name: "backup-20k", keys: 20_000, repetitions: 1 },
              restore: { name: "restore-20k", keys: 20_000, repetitions: 1 },
              rotate: { keys: 10_000, repetitions: 1 },
              // Run only when named (--only swarm): building a Swarm and losing a node take minutes.
              swarmRepetitions: 1,
          }
        : {
              fleetEnvironments: PROTOCOL_NAMES,
              fleetUpRepetitions: 3,
              checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
              checkHealthyRepetitions: 20,
              checkHung: ["kb", "web", "chrono"],
              checkHungRepetitions: 5,
              checkNpxRepetitions: 5,
              partialResyncKeys: 100_000,
              partialResyncCutSeconds: 10,
              recovery: [
                  { name: "recovery-100k", keys: 100_000, repetitions: 5 },
                  { name: "recovery-1m", keys: 1_000_000, repetitions: 3 },
              ],
              synth: [
                  { size: 12, repetitions: 3 },
                  { size: 120, repetitions: 2 },
                  { size: 1200, repetitions: 1 },
              ],
              synthDuringPartialResync: false,
              adopt: { environments: PROTOCOL_NAMES, keys: 100_000 },
              backup: { name: "backup-1m", keys: 1_000_000, repetitions: 3 },
              restore: { name: "restore-1m", keys: 1_000_000, repetitions: 3 },
              rotate: { keys: 100_000, repetitions: 3 },
              swarmRepetitions: 2,
          };
}

/** Result names of a group, for reporting a group that could not run. */
export function resultNames(group: Group, settings: Settings): { name: string; unit: string }[] {
    switch (group) {
        case "fleet-up":
            return [{ name: "fleet-up", unit: "ms" }];
        case "check":
            return checkResultNames({ hung: settings.checkHung, npxRepetitions: settings.checkNpxRepetitions }).map((name) => ({
                name,
                unit: "ms",
            }));
        case "partial-resync":
            return [{ name: "partial-resync", unit: "bytes" }];
        case "recovery":
            return settings.recovery.flatMap((d) => [d.name, `${d.name}-vs-full-sync`]).map((name) => ({ name, unit: "ms" }));
        case "backup":
            return [
                { name: settings.backup.name, unit: "ms" },
                { name: `${settings.backup.name}-verified`, unit: "ms" },
                { name: `${settings.backup.name}-p99`, unit: "ms" },
            ];
        case "restore":
            return [{ name: settings.restore.name, unit: "ms" }];
        case "rotate":
            return [{ name: "rotate-vault", unit: "ms" }];
        case "swarm":
            return [
                { name: "swarm-fleet-up", unit: "ms" },
                { name: "swarm-operational-failover", unit: "ms" },
            ];
        case "synth":
            return [
                ...settings.synth.flatMap((s) => [
                    { name: `synth-${s.size}`, unit: "ms" },
                    { name: `synth-${s.size}-rss`, unit: "MiB" },
                ]),
                ...(settings.synth.length >= 3
                    ? [{ name: `synth-marginal-${settings.synth[settings.synth.length - 1].size}`, unit: "ms/env" }]
                    : []),
            ];
        case "adopt":
            return adoptResultNames(settings.adopt.environments).map((name) => ({ name, unit: "ms" }));
    }
}

interface Parsed {
    quick: boolean;
    json: boolean;
    groups: Group[];
}

export class UsageError extends Error {}

export function parseBenchArgs(argv: string[]): Parsed | "help" {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                quick: { type: "boolean" },
                json: { type: "boolean" },
                only: { type: "string", multiple: true },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    if (parsed.values.help) return "help";
    const only = parsed.values.only ?? [];
    const unknown = only.filter((g) => !(GROUPS as readonly string[]).includes(g));
    if (unknown.length > 0)
        throw new UsageError(`unknown group ${unknown.map((g) => `"${g}"`).join(", ")} in --only; the groups are ${GROUPS.join(", ")}`);
    const quick = parsed.values.quick ?? false;
    return {
        quick,
        json: parsed.values.json ?? false,
        // Swarm and adopt take minutes: a --quick run has them only when asked for by name.
        groups:
            only.length === 0 ? GROUPS.filter((g) => !(quick && (g === "swarm" || g === "adopt"))) : GROUPS.filter((g) => only.includes(g)),
    };
}

function firstLine(command: string, args: string[]): string {
    try {
        return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
            .split("\n")[0]
            .trim();
    } catch {
        return "unknown";
    }
}

/** The machine, for the record (stderr; BENCHMARKS.md quotes it). Redis's version comes from the fleet, once up. */
function describeMachine(run: BenchRun): void {
    run.log(
        `machine: ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, Linux ${os.release()}, ` +
            `Docker engine ${firstLine("docker", ["version", "--format", "{{.Server.Version}}"])}, node ${process.version}, ` +
            `load average ${loadText()}`,
    );
}

/** The load averages over 1, 5 and 15 minutes: other work on the machine, which these figures share it with. */
function loadText(): string {
    return os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(", ");
}

async function runBenchmarks(
    run: BenchRun,
    options: Parsed,
    settings: Settings,
    setFleet: (f: LiveFleet | undefined) => void,
): Promise<{ results: BenchResult[]; ok: boolean }> {
    const results = new Map<Group, BenchResult[]>();
    let ok = true;
    const attempt = async (group: Group, body: () => Promise<BenchResult[]>) => {
        if (!options.groups.includes(group)) return;
        try {
            results.set(group, await body());
        } catch (e) {
            ok = false;
            run.log(`${group} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
            results.set(
                group,
                resultNames(group, settings).map((r) => failed(r.name, r.unit, e)),
            );
        }
    };

    const synth = () => attempt("synth", () => benchSynth(run, { plans: settings.synth }));
    let synthDone: Promise<void> | undefined;

    if (options.groups.some((g) => FLEET_GROUPS.includes(g))) {
        const name = run.fleetName("fleet");
        let fleet: LiveFleet | undefined;
        let planned: PlannedRun | undefined;
        let defaults: Record<string, string> | undefined;
        let fleetError: unknown;
        try {
            const environments = settings.fleetEnvironments;
            run.log(`planning the benchmark fleet's first up (${environments.length} environments)`);
            planned = await planFleet(name, environments);
        } catch (e) {
            fleetError = e;
        }
        await attempt("fleet-up", async () => {
            if (!planned) throw fleetError;
            // A failure here is also why the benchmarks that need the fleet cannot run.
            const up = await benchFleetUp(run, name, planned, settings.fleetUpRepetitions).catch((e) => {
                fleetError = e;
                throw e;
            });
            fleet = up.fleet;
            defaults = up.defaults;
            setFleet(fleet);
            return up.results;
        });
        if (!fleet && planned && !options.groups.includes("fleet-up")) {
            try {
                fleet = fleetFor(run, name, planned);
                setFleet(fleet);
                run.log("creating the benchmark fleet (untimed: fleet-up was not selected)");
                await fleet.createAll();
                await waitHealthy(fleet);
            } catch (e) {
                fleetError = e;
            }
        }
        if (fleet && !fleetError) {
            try {
                // Every benchmark below starts from a fleet that check calls healthy.
                await expectHealthy(fleet.outputs as Record<string, unknown>, settings.checkTimeoutMs);
                const vault = Object.values(fleet.outputs)[0].vault;
                const server = await info(vault.port, "server", { password: vault.password });
                run.log(`fleet healthy; Redis ${server.redis_version}`);
            } catch (e) {
                fleetError = e;
            }
        }
        const withFleet = (body: (f: LiveFleet) => Promise<BenchResult[]>) => async () => {
            if (!fleet) throw fleetError ?? new Error("the benchmark fleet could not be created");
            if (fleetError) throw fleetError;
            return body(fleet);
        };
        await attempt(
            "check",
            withFleet((f) =>
                benchCheck(run, f, {
                    timeoutMs: settings.checkTimeoutMs,
                    healthyRepetitions: settings.checkHealthyRepetitions,
                    hung: settings.checkHung,
                    hungRepetitions: settings.checkHungRepetitions,
                    npxRepetitions: settings.checkNpxRepetitions,
                }),
            ),
        );
        if (settings.synthDuringPartialResync && options.groups.includes("partial-resync")) synthDone = synth();
        await attempt(
            "partial-resync",
            withFleet((f) =>
                benchPartialResync(run, f, { keys: settings.partialResyncKeys, cutSeconds: settings.partialResyncCutSeconds }),
            ),
        );
        // Nothing timed runs beside a plan: the recovery drills wait for it.
        await synthDone;
        // On the secure vault `user`, which the benchmarks above leave alone.
        await attempt(
            "backup",
            withFleet((f) => benchBackup(run, f, settings.backup)),
        );
        await attempt(
            "restore",
            withFleet((f) => benchRestore(run, f, settings.restore)),
        );
        await attempt(
            "rotate",
            withFleet((f) => benchRotateVault(run, f, settings.rotate)),
        );
        // Last on the fleet: it changes one environment's replication settings.
        await attempt(
            "recovery",
            withFleet((f) => benchRecovery(run, f, { datasets: settings.recovery, defaults })),
        );
        if (fleet) {
            run.log("removing the benchmark fleet");
            await fleet.destroy();
            setFleet(undefined);
        }
    }
    // Its own fleet, built by hand, once the benchmark fleet is gone.
    await attempt("adopt", () => benchAdopt(run, settings.adopt));
    // Otherwise planning comes last, with no fleet running: the largest plan needs gigabytes.
    if (!synthDone) await synth();
    // Last, alone on the machine: its nodes are namespaces of this one.
    await attempt("swarm", () => benchSwarm(run, { repetitions: settings.swarmRepetitions }));
    return { results: GROUPS.flatMap((g) => results.get(g) ?? []), ok };
}

async function main(argv: string[]): Promise<number> {
    let options: Parsed;
    try {
        const parsed = parseBenchArgs(argv);
        if (parsed === "help") {
            process.stdout.write(`${BENCH_HELP}\n`);
            return 0;
        }
        options = parsed;
    } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`bench: ${e.message}\n\nRun \`npm run bench -- --help\` for usage.\n`);
        return 2;
    }
    const run = new BenchRun();
    const needsDocker = options.groups.some((g) => g !== "synth");
    const missing = needsDocker ? await run.connect() : undefined;
    if (missing) {
        process.stderr.write(`bench: ${missing}: run scripts/ensure-docker.sh and scripts/build-test-image.sh\n`);
        return 2;
    }

    const settings = settingsFor(options.quick);
    let fleet: LiveFleet | undefined;
    const cleanUp = async () => {
        await fleet?.destroy().catch(() => undefined);
        const left = await run.removeAll();
        const total = left.containers + left.volumes + left.networks;
        if (total > 0) run.log(`removed ${total} leftover Docker resource(s) of this run`);
    };
    const onSignal = (signal: NodeJS.Signals) => {
        run.log(`${signal}: removing this run's containers (the watchdog finishes if this is cut short)`);
        cleanUp().finally(() => process.exit(130));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);

    run.log(`benchmark run ${run.id}, ${options.quick ? "quick" : "full"}: ${options.groups.join(", ")}`);
    describeMachine(run);
    if (needsDocker) await run.startWatchdog();
    let outcome: { results: BenchResult[]; ok: boolean };
    try {
        outcome = await runBenchmarks(run, options, settings, (f) => (fleet = f));
    } finally {
        if (needsDocker) await cleanUp();
    }
    run.log(`done: ${outcome.results.length} results${outcome.ok ? "" : ", some benchmarks FAILED"}; load average ${loadText()}`);
    process.stdout.write(options.json ? renderJson(outcome.results) : renderTable(outcome.results));
    return outcome.ok ? 0 : 1;
}

// Run as a script (npm run bench); imported, it only exports its pure parts (unit-tested).
if (require.main === module)
    main(process.argv.slice(2)).then(
        // Exit once stdout is drained: a piped JSON document must never be cut short.
        (code) => process.stdout.write("", () => process.exit(code)),
        (e) => {
            process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
            process.exit(1);
        },
    );
