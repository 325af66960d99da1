/**
 * The check group's results from its samples (bench/check.ts takes them): pure, medians first,
 * ratios and verdicts from them, rounding last; and the targets the issues set.
 */
import { type BenchResult, type Target, median, result, samplesText } from "./results";

/** Issue 11: the whole process within 1.5x of the protocol's sequential script. */
export const CHECK_CLI_TARGET: Target = { maxRatio: 1.5, text: "the whole check process within 1.5x of the protocol's sequential script" };
/** Issue 11: ahead of the script whenever a host hangs. */
export const CHECK_HUNG_TARGET: Target = {
    maxRatio: 1,
    strict: true,
    text: "ahead of the script (with the same per-host bound) when hosts hang",
};
/** Issue 5, as docs/benchmarks.md reads it: hung hosts cost one timeout together, not one each. */
export const CHECK_HUNG_BOUND_TARGET: Target = {
    maxRatio: 1.25,
    text: "hung hosts cost one --timeout together, not one each (several hung at most 1.25x one hung)",
};

/** Names of the results of this group, in order, for a group that could not run. */
export function checkResultNames(options: { hung: string[]; npxRepetitions: number }): string[] {
    const n = options.hung.length;
    return [
        "cli-help",
        "check-cli",
        "check-floor",
        "check-cli-vs-floor",
        "check-connections-floor",
        "check-cli-prometheus",
        "check-cli-prometheus-vs-cli",
        "check-cli-1-hung",
        ...(n > 1 ? [`check-cli-${n}-hung`, `check-cli-${n}-vs-1-hung`] : []),
        "check-in-process",
        ...(options.npxRepetitions > 0 ? ["check-cli-npx"] : []),
    ];
}

/** Samples of every timed run, in ms: what the results are computed from. */
export interface CheckSamples {
    help: number[];
    bareNode: number[];
    cli: number[];
    script: number[];
    /** bench/checkFloor.ts as a process: the conversations alone. */
    floor: number[];
    /** bench/checkFloor.ts --first-command-only: Node, the batches built and the connections. */
    connections: number[];
    /** The CLI with --prometheus FILE. */
    prometheus: number[];
    /** By number of hung operationals: the CLI's runs and the script's. */
    hung: Map<number, { cli: number[]; script: number[] }>;
    inProcess: number[];
    npx: number[];
}
/** The results from the samples. Pure: medians first, ratios and verdicts from them, rounding last. */
export function checkResults(
    samples: CheckSamples,
    context: { environments: number; operationals: number; timeoutMs: number },
): BenchResult[] {
    const { environments, operationals, timeoutMs } = context;
    const cliText = `./bin/nexus-redis.js check --outputs FILE --timeout ${timeoutMs} as the README shows it (the bin through its shebang, from the project's folder, stdout piped) over ${environments} environments`;
    const scriptText = `the protocol's script, bash -c 'for p in PORTS; do redis-cli -p $p INFO replication; done' over the ${operationals} operationals`;
    return [...healthyResults(samples, environments, cliText, scriptText), ...moreResults(samples, timeoutMs, cliText)];
}

/** The hung hosts' results, then check-in-process and check-cli-npx. */
function moreResults(samples: CheckSamples, timeoutMs: number, cliText: string): BenchResult[] {
    const results: BenchResult[] = [];
    const counts = [...samples.hung.keys()].sort((a, b) => a - b);
    for (const n of counts) {
        const runs = samples.hung.get(n)!;
        results.push(
            result({
                name: `check-cli-${n}-hung`,
                value: median(runs.cli),
                unit: "ms",
                baseline: median(runs.script),
                note:
                    `${cliText}, ${n} operational${n === 1 ? "" : "s"} replaced by a host that accepts connections and never answers, ${samplesText(runs.cli)} ms; ` +
                    `baseline: the same script over the same ports with each redis-cli bounded by timeout ${timeoutMs / 1000} (redis-cli alone would wait forever), ${samplesText(runs.script)} ms`,
                target: CHECK_HUNG_TARGET,
            }),
        );
    }
    const most = counts[counts.length - 1];
    if (counts.length > 1 && counts[0] === 1) {
        results.push(
            result({
                name: `check-cli-${most}-vs-1-hung`,
                value: median(samples.hung.get(most)!.cli),
                unit: "ms",
                baseline: median(samples.hung.get(1)!.cli),
                note: `check-cli-${most}-hung's CLI runs against check-cli-1-hung's (--timeout ${timeoutMs})`,
                target: CHECK_HUNG_BOUND_TARGET,
            }),
        );
    }
    results.push(
        result({
            name: "check-in-process",
            value: median(samples.inProcess),
            unit: "ms",
            baseline: median(samples.cli),
            note:
                `the check alone: the CLI's main() called in this benchmark's process (no start-up; outputs on stdin, --json), healthy fleet, ${samplesText(samples.inProcess)} ms; ` +
                "baseline: check-cli, the whole process; the ratio is the share of the whole process spent checking, the rest is start-up and exit",
        }),
    );
    if (samples.npx.length > 0) {
        results.push(
            result({
                name: "check-cli-npx",
                value: median(samples.npx),
                unit: "ms",
                baseline: median(samples.cli),
                note: `npx nexus-redis check --outputs FILE --timeout ${timeoutMs} (what the README showed before: npm's own start-up added), healthy fleet, ${samplesText(samples.npx)} ms; baseline: check-cli, ./bin/nexus-redis.js as the README shows it`,
            }),
        );
    }
    return results;
}

/** The healthy fleet's results: cli-help, check-cli, the floors and --prometheus, each against its baseline. */
function healthyResults(samples: CheckSamples, environments: number, cliText: string, scriptText: string): BenchResult[] {
    return [
        result({
            name: "cli-help",
            value: median(samples.help),
            unit: "ms",
            baseline: median(samples.bareNode),
            note: `nexus-redis --help as a whole process, ${samplesText(samples.help)} ms; baseline: node itself starting and exiting (node -e ''), ${samplesText(samples.bareNode)} ms`,
        }),
        result({
            name: "check-cli",
            value: median(samples.cli),
            unit: "ms",
            baseline: median(samples.script),
            note: `${cliText}, healthy fleet, whole process, ${samplesText(samples.cli)} ms; baseline: ${scriptText}, ${samplesText(samples.script)} ms; alternated`,
            target: CHECK_CLI_TARGET,
        }),
        result({
            name: "check-floor",
            value: median(samples.floor),
            unit: "ms",
            baseline: median(samples.script),
            note:
                `bench/checkFloor.ts as a whole process (node, one JavaScript file): a connection to each of the ${environments} environments' servers at once, the check's own batch to each, every reply read (RESP framing only), nothing else, ${samplesText(samples.floor)} ms; ` +
                `baseline: the protocol's script, as for check-cli; alternated with both`,
        }),
        result({
            name: "check-cli-vs-floor",
            value: median(samples.cli),
            unit: "ms",
            baseline: median(samples.floor),
            note: "check-cli's runs against check-floor's: the ratio is the whole check over its conversations alone, the rest being the CLI's own work (loading, options, outputs, reading what the replies say, diagnosis, the table)",
        }),
        result({
            name: "check-connections-floor",
            value: median(samples.connections),
            unit: "ms",
            baseline: median(samples.script),
            note:
                `bench/checkFloor.ts --first-command-only as a whole process: the same ${environments} environments' servers at once, each sent only its batch's first command (the vault's AUTH, the operational's INFO), ${samplesText(samples.connections)} ms; ` +
                "baseline: the protocol's script, as for check-cli; alternated with both. Node's start-up, the check's batches built (password hashes too) and the connections",
        }),
        result({
            name: "check-cli-prometheus",
            value: median(samples.prometheus),
            unit: "ms",
            baseline: median(samples.script),
            note: `${cliText} --prometheus FILE (prom-client loaded, the metrics rendered and the file replaced atomically), healthy fleet, ${samplesText(samples.prometheus)} ms; baseline: the protocol's script, as for check-cli; alternated with both`,
        }),
        result({
            name: "check-cli-prometheus-vs-cli",
            value: median(samples.prometheus),
            unit: "ms",
            baseline: median(samples.cli),
            note: "check-cli-prometheus's runs against check-cli's: what --prometheus adds to a check",
        }),
    ];
}
