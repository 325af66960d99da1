/**
 * `npm run bench -- [--quick] [--json] [--only GROUP]...`
 *
 * What users of nexus-redis wait for (bringing the fleet up, recovering an operational,
 * checking the fleet, planning), each measured against a baseline in the same run on the
 * same Docker engine: these machines are noisy and absolute times drift, ratios much less.
 * Uses the live harness (the program's own plan, created on the local engine) and the
 * operator CLI's bin, run as users run it. The command line is in args.ts, the groups and
 * their settings in groups.ts, the groups on the benchmark fleet in fleetGroups.ts.
 */
import { execFileSync } from "node:child_process";
import * as os from "node:os";
import type { LiveFleet } from "../harness/fleet";
import { benchAdopt } from "./adopt";
import { type Parsed, UsageError, BENCH_HELP, parseBenchArgs } from "./args";
import { runFleetGroups } from "./fleetGroups";
import { type Attempt, FLEET_GROUPS, GROUPS, type Group, type Settings, resultNames, settingsFor } from "./groups";
import { type BenchResult, failed, renderJson, renderTable } from "./results";
import { BenchRun } from "./resources";
import { benchSwarm } from "./swarm";
import { benchSynth } from "./synth";

export { BENCH_HELP, UsageError, parseBenchArgs } from "./args";
export { GROUPS, type Group, type Settings, resultNames, settingsFor } from "./groups";

function firstLine(command: string, args: string[]): string {
    try {
        return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
            .split("\n")[0]
            .trim();
    } catch {
        return "unknown";
    }
}

/** The machine, for the record (stderr; docs/benchmarks.md quotes it). Redis's version comes from the fleet, once up. */
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
    const attempt: Attempt = async (group, body) => {
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
    let synthRan = false;
    if (options.groups.some((g) => FLEET_GROUPS.includes(g))) {
        synthRan = await runFleetGroups({ run, groups: options.groups, settings, attempt, synth, setFleet });
    }
    // Its own fleet, built by hand, once the benchmark fleet is gone.
    await attempt("adopt", () => benchAdopt(run, settings.adopt));
    // Otherwise planning comes last, with no fleet running: the largest plan needs gigabytes.
    if (!synthRan) await synth();
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
