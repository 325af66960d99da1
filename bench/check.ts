/**
 * check-cli, check-floor, check-cli-vs-floor, check-connections-floor, check-cli-prometheus,
 * check-cli-prometheus-vs-cli, check-cli-N-hung, check-cli-N-vs-1-hung, check-in-process, cli-help,
 * check-cli-npx: `nexus-redis check` as
 * users run it, a whole process from start to exit, against the protocol's own check, the
 * sequential script
 *
 *     for p in PORT...; do redis-cli -p $p INFO replication; done
 *
 * over the fleet's operationals, also a whole process (bash), both spawned the same way by
 * this benchmark and alternated. The CLI runs as the README shows it, `./bin/nexus-redis.js`
 * from the project's folder (through its shebang: node on PATH, the JavaScript build and its
 * code cache), with `--outputs FILE`. check-cli-npx times `npx nexus-redis check`, what the
 * README showed before, for the cost of npm's start-up.
 * The check does more than the script (it authenticates to every vault and operational and
 * reads their settings and ACLs), but the script is what operators had.
 *
 * check-floor is bench/checkFloor.ts as a whole process: Node, the check's 22 connections and
 * batches, every reply read, and nothing else. It says how much of check-cli its conversations
 * take (these batches, on this engine and Redis), and check-cli-vs-floor how much is the CLI's
 * own work. check-connections-floor is the same program sending each server only its first
 * command (the vault's AUTH, the operational's INFO): Node, the batches built (their
 * password hashes too) and the 22 connections.
 *
 * check-cli-prometheus is the same check with `--prometheus FILE` (prom-client loaded, the metrics
 * rendered and written atomically), against the script and against check-cli.
 *
 * A hung host is a TCP server that accepts connections and never answers, put in place of an
 * operational's port (in the outputs the CLI reads, and in the script's port list). redis-cli
 * has no timeout of its own there (it waits forever), so the script gets the CLI's bound per
 * host, with coreutils' `timeout`: `timeout S redis-cli -p $p INFO replication`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { EnvironmentOutput, LiveFleet } from "../harness/fleet";
import { runCheck } from "./fleet";
import { type BenchResult, type Target, median, result, samplesText } from "./results";
import { type BenchRun, ROOT } from "./resources";

/** The CLI as the README writes it: relative to the project's folder, where timedProcess runs it. */
export const BIN = "./bin/nexus-redis.js";

/** Issue 11: the whole process within 1.5x of the protocol's sequential script. */
export const CHECK_CLI_TARGET: Target = { maxRatio: 1.5, text: "the whole check process within 1.5x of the protocol's sequential script" };
/** Issue 11: ahead of the script whenever a host hangs. */
export const CHECK_HUNG_TARGET: Target = {
    maxRatio: 1,
    strict: true,
    text: "ahead of the script (with the same per-host bound) when hosts hang",
};
/** Issue 5, as BENCHMARKS.md reads it: hung hosts cost one timeout together, not one each. */
export const CHECK_HUNG_BOUND_TARGET: Target = {
    maxRatio: 1.25,
    text: "hung hosts cost one --timeout together, not one each (several hung at most 1.25x one hung)",
};

type Environments = Record<string, EnvironmentOutput>;

export interface ProcessRun {
    ms: number;
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Spawns a command and times it from spawn to exit (its output collected, as a pipe would). */
export function timedProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ProcessRun> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
        child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
        child.on("error", reject);
        child.on("close", (code) => resolve({ ms: performance.now() - started, code, stdout, stderr }));
    });
}

/**
 * The protocol's check as a shell script over `ports`, one after another; with `boundSeconds`,
 * each redis-cli is bounded by coreutils' timeout (as the CLI bounds each host).
 */
export function protocolScript(ports: number[], boundSeconds?: number): string {
    const cli = boundSeconds === undefined ? "redis-cli" : `timeout ${boundSeconds} redis-cli`;
    return `for p in ${ports.join(" ")}; do ${cli} -p $p INFO replication; done`;
}

/** The rows of the check's table: environment name and status (ok, FIXED, PROBLEM). Pure. */
export function tableStatuses(table: string): Record<string, string> {
    const rows: Record<string, string> = {};
    for (const match of table.matchAll(/^(\S+)\s+(?:standard|secure)\s+(ok|FIXED|PROBLEM)\s/gm)) rows[match[1]] = match[2];
    return rows;
}

/** Servers that accept connections and never answer; closed by `close()`. */
export class HungServers {
    private readonly servers: net.Server[] = [];
    private readonly sockets = new Set<net.Socket>();

    async open(): Promise<number> {
        const server = net.createServer((socket) => {
            this.sockets.add(socket);
            socket.on("error", () => undefined);
            socket.on("close", () => this.sockets.delete(socket));
        });
        this.servers.push(server);
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", resolve);
        });
        return (server.address() as net.AddressInfo).port;
    }

    async close(): Promise<void> {
        for (const socket of this.sockets) socket.destroy();
        await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
}

export interface CheckBenchOptions {
    /** The CLI's --timeout, and the script's per-host bound when hosts hang. */
    timeoutMs: number;
    healthyRepetitions: number;
    /** Operationals replaced by hung hosts: the first alone, then all of them. */
    hung: string[];
    hungRepetitions: number;
    /** Also time the check through npx (npm's own start-up added). */
    npxRepetitions: number;
}

/** Names of the results of this group, in order, for a group that could not run. */
export function checkResultNames(options: Pick<CheckBenchOptions, "hung" | "npxRepetitions">): string[] {
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
    const results: BenchResult[] = [
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

export async function benchCheck(run: BenchRun, fleet: LiveFleet, options: CheckBenchOptions): Promise<BenchResult[]> {
    const environments = fleet.outputs as Environments;
    const names = Object.keys(environments);
    const operationals = names.filter((n) => environments[n].kind === "standard");
    for (const name of options.hung) if (!operationals.includes(name)) throw new Error(`check: ${name} has no operational to hang`);
    const { timeoutMs } = options;
    // The bin through its shebang finds `node` on PATH: this one, so both runs use the same Node.
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` };
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), `${run.id}-check-`));
    const writeOutputs = (outputs: Environments) => {
        const file = path.join(folder, `outputs-${Math.random().toString(36).slice(2)}.json`);
        // The stack output holds every password: readable by this user only, removed at the end.
        fs.writeFileSync(file, JSON.stringify({ environments: outputs }), { mode: 0o600 });
        return file;
    };
    const cli = async (file: string, ...more: string[]) =>
        timedProcess(BIN, ["check", "--outputs", file, "--timeout", String(timeoutMs), ...more], env);
    const metricsFile = path.join(folder, "nexus-redis-check.prom");
    const script = async (ports: number[], bounded: boolean) =>
        timedProcess("bash", ["-c", protocolScript(ports, bounded ? timeoutMs / 1000 : undefined)], env);
    const portsOf = (outputs: Environments) => operationals.map((n) => outputs[n].operational!.port);
    const expectRun = (what: string, r: ProcessRun, code: number, problems: string[]) => {
        const statuses = tableStatuses(r.stdout);
        const wrong = names.filter((n) => (statuses[n] === "PROBLEM") !== problems.includes(n));
        if (r.code !== code || wrong.length > 0)
            throw new Error(
                `${what}: exit ${r.code}, unexpected rows ${wrong.join(", ") || "none"}: ${r.stderr.trim()} ${r.stdout.trim()}`,
            );
    };
    const expectAnswers = (what: string, r: ProcessRun, answers: number) => {
        const got = (r.stdout.match(/^role:slave/gm) ?? []).length;
        if (got !== answers) throw new Error(`${what}: ${got} operationals answered, expected ${answers}`);
    };

    const samples: CheckSamples = {
        help: [],
        bareNode: [],
        cli: [],
        script: [],
        floor: [],
        connections: [],
        prometheus: [],
        hung: new Map(),
        inProcess: [],
        npx: [],
    };
    const servers = new HungServers();
    try {
        const healthyFile = writeOutputs(environments);
        const ports = portsOf(environments);
        const floorFile = path.join(folder, "check-floor.js");
        await buildFloor(floorFile);
        const floor = async (...flags: string[]) => {
            const r = await timedProcess(process.execPath, [floorFile, healthyFile, ...flags], env);
            const expected = names.length + operationals.length;
            if (r.code !== 0 || r.stdout !== `${expected} servers answered\n`)
                throw new Error(
                    `check-floor: exit ${r.code}, expected ${expected} servers to answer: ${r.stderr.trim()} ${r.stdout.trim()}`,
                );
            return r.ms;
        };
        await floor();
        await floor("--first-command-only");
        // Untimed first runs: a build made stale by an edit is rebuilt, and the check's code cache written.
        expectRun("nexus-redis check", await cli(healthyFile), 0, []);
        expectRun("nexus-redis check --prometheus", await cli(healthyFile, "--prometheus", metricsFile), 0, []);
        await script(ports, false);

        run.log(
            `cli-help, check-cli, check-floor, check-connections-floor and check-cli-prometheus: ${options.healthyRepetitions} x each, alternated with their baselines`,
        );
        for (let i = 0; i < options.healthyRepetitions; i++) {
            samples.help.push((await timedProcess(BIN, ["--help"], env)).ms);
            samples.bareNode.push((await timedProcess(process.execPath, ["-e", ""], env)).ms);
            const check = await cli(healthyFile);
            expectRun("nexus-redis check on the healthy fleet", check, 0, []);
            samples.cli.push(check.ms);
            const baseline = await script(ports, false);
            expectAnswers("the protocol's script on the healthy fleet", baseline, operationals.length);
            samples.script.push(baseline.ms);
            samples.floor.push(await floor());
            samples.connections.push(await floor("--first-command-only"));
            const withMetrics = await cli(healthyFile, "--prometheus", metricsFile);
            expectRun("nexus-redis check --prometheus on the healthy fleet", withMetrics, 0, []);
            const links = fs.readFileSync(metricsFile, "utf8").match(/^nexus_redis_replication_link_up\{.*\} 1$/gm) ?? [];
            if (links.length !== operationals.length)
                throw new Error(`check --prometheus: ${links.length} links up in its file, expected ${operationals.length}`);
            samples.prometheus.push(withMetrics.ms);
        }

        const hungPorts = new Map<string, number>();
        for (const name of options.hung) hungPorts.set(name, await servers.open());
        const counts = options.hung.length > 1 ? [1, options.hung.length] : [1];
        for (const n of counts) {
            const hung = options.hung.slice(-n);
            const outputs = JSON.parse(JSON.stringify(environments)) as Environments;
            for (const name of hung) outputs[name].operational!.port = hungPorts.get(name)!;
            const file = writeOutputs(outputs);
            const runs = { cli: [] as number[], script: [] as number[] };
            samples.hung.set(n, runs);
            run.log(`check-cli-${n}-hung: ${hung.join(", ")} hung, --timeout ${timeoutMs} ms, ${options.hungRepetitions} x each`);
            for (let i = 0; i < options.hungRepetitions; i++) {
                const check = await cli(file);
                expectRun(`nexus-redis check with ${hung.join(", ")} hung`, check, 1, hung);
                runs.cli.push(check.ms);
                const baseline = await script(portsOf(outputs), true);
                expectAnswers(`the protocol's script with ${hung.join(", ")} hung`, baseline, operationals.length - n);
                runs.script.push(baseline.ms);
            }
        }

        run.log(`check-in-process: ${options.healthyRepetitions} x`);
        for (let i = 0; i < options.healthyRepetitions; i++) {
            const check = await runCheck(environments as Record<string, unknown>, timeoutMs);
            if (check.exitCode !== 0) throw new Error("nexus-redis check in process found the healthy fleet unhealthy");
            samples.inProcess.push(check.ms);
        }

        if (options.npxRepetitions > 0) {
            run.log(`check-cli-npx: ${options.npxRepetitions} x`);
            for (let i = 0; i < options.npxRepetitions; i++) {
                const check = await timedProcess(
                    "npx",
                    ["--no-install", "nexus-redis", "check", "--outputs", healthyFile, "--timeout", String(timeoutMs)],
                    env,
                );
                expectRun("npx nexus-redis check", check, 0, []);
                samples.npx.push(check.ms);
            }
        }
    } finally {
        await servers.close();
        fs.rmSync(folder, { recursive: true, force: true });
    }
    return checkResults(samples, { environments: names.length, operationals: operationals.length, timeoutMs });
}

/** Bundles bench/checkFloor.ts into one JavaScript file, as the CLI's build is (no compiler when it runs). */
async function buildFloor(outfile: string): Promise<void> {
    const esbuild = await import("esbuild");
    await esbuild.build({
        entryPoints: [path.join(ROOT, "bench/checkFloor.ts")],
        outfile,
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node22",
        logLevel: "error",
    });
}
