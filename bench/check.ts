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
import { type CheckSamples, checkResults } from "./checkResults";
import type { BenchResult } from "./results";
import { type BenchRun, ROOT } from "./resources";

export {
    CHECK_CLI_TARGET,
    CHECK_HUNG_BOUND_TARGET,
    CHECK_HUNG_TARGET,
    type CheckSamples,
    checkResultNames,
    checkResults,
} from "./checkResults";

/** The CLI as the README writes it: relative to the project's folder, where timedProcess runs it. */
export const BIN = "./bin/nexus-redis.js";

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

export async function benchCheck(run: BenchRun, fleet: LiveFleet, options: CheckBenchOptions): Promise<BenchResult[]> {
    const rig = checkRig(run, fleet, options);
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
        const healthyFile = rig.writeOutputs(rig.environments);
        await timeHealthy(run, rig, options, healthyFile, samples);
        await timeHung(run, rig, options, servers, samples);
        run.log(`check-in-process: ${options.healthyRepetitions} x`);
        for (let i = 0; i < options.healthyRepetitions; i++) {
            const check = await runCheck(rig.environments as Record<string, unknown>, options.timeoutMs);
            if (check.exitCode !== 0) throw new Error("nexus-redis check in process found the healthy fleet unhealthy");
            samples.inProcess.push(check.ms);
        }
        if (options.npxRepetitions > 0) {
            run.log(`check-cli-npx: ${options.npxRepetitions} x`);
            for (let i = 0; i < options.npxRepetitions; i++) {
                const check = await timedProcess(
                    "npx",
                    ["--no-install", "nexus-redis", "check", "--outputs", healthyFile, "--timeout", String(options.timeoutMs)],
                    rig.env,
                );
                rig.expectRun("npx nexus-redis check", check, 0, []);
                samples.npx.push(check.ms);
            }
        }
    } finally {
        await servers.close();
        fs.rmSync(rig.folder, { recursive: true, force: true });
    }
    return checkResults(samples, { environments: rig.names.length, operationals: rig.operationals.length, timeoutMs: options.timeoutMs });
}

/** What every timed run of the group uses: the fleet's names, the processes it spawns, and what it expects of them. */
interface CheckRig {
    environments: Environments;
    names: string[];
    operationals: string[];
    env: NodeJS.ProcessEnv;
    /** This run's folder: outputs files (passwords: this user's only), the floor's build, the metrics file. */
    folder: string;
    metricsFile: string;
    writeOutputs(outputs: Environments): string;
    cli(file: string, ...more: string[]): Promise<ProcessRun>;
    script(ports: number[], bounded: boolean): Promise<ProcessRun>;
    portsOf(outputs: Environments): number[];
    expectRun(what: string, r: ProcessRun, code: number, problems: string[]): void;
    expectAnswers(what: string, r: ProcessRun, answers: number): void;
}

function checkRig(run: BenchRun, fleet: LiveFleet, options: CheckBenchOptions): CheckRig {
    const environments = fleet.outputs as Environments;
    const names = Object.keys(environments);
    const operationals = names.filter((n) => environments[n].kind === "standard");
    for (const name of options.hung) if (!operationals.includes(name)) throw new Error(`check: ${name} has no operational to hang`);
    const { timeoutMs } = options;
    // The bin through its shebang finds `node` on PATH: this one, so both runs use the same Node.
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` };
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), `${run.id}-check-`));
    return {
        environments,
        names,
        operationals,
        env,
        folder,
        metricsFile: path.join(folder, "nexus-redis-check.prom"),
        writeOutputs: (outputs) => {
            const file = path.join(folder, `outputs-${Math.random().toString(36).slice(2)}.json`);
            // The stack output holds every password: readable by this user only, removed at the end.
            fs.writeFileSync(file, JSON.stringify({ environments: outputs }), { mode: 0o600 });
            return file;
        },
        cli: async (file, ...more) => timedProcess(BIN, ["check", "--outputs", file, "--timeout", String(timeoutMs), ...more], env),
        script: async (ports, bounded) => timedProcess("bash", ["-c", protocolScript(ports, bounded ? timeoutMs / 1000 : undefined)], env),
        portsOf: (outputs) => operationals.map((n) => outputs[n].operational!.port),
        expectRun: (what, r, code, problems) => {
            const statuses = tableStatuses(r.stdout);
            const wrong = names.filter((n) => (statuses[n] === "PROBLEM") !== problems.includes(n));
            if (r.code !== code || wrong.length > 0)
                throw new Error(
                    `${what}: exit ${r.code}, unexpected rows ${wrong.join(", ") || "none"}: ${r.stderr.trim()} ${r.stdout.trim()}`,
                );
        },
        expectAnswers: (what, r, answers) => {
            const got = (r.stdout.match(/^role:slave/gm) ?? []).length;
            if (got !== answers) throw new Error(`${what}: ${got} operationals answered, expected ${answers}`);
        },
    };
}

/** cli-help, check-cli, the floors and check-cli-prometheus on the healthy fleet, alternated with their baselines. */
async function timeHealthy(
    run: BenchRun,
    rig: CheckRig,
    options: CheckBenchOptions,
    healthyFile: string,
    samples: CheckSamples,
): Promise<void> {
    const { names, operationals, env, cli, script, expectRun, expectAnswers, metricsFile } = rig;
    const ports = rig.portsOf(rig.environments);
    const floorFile = path.join(rig.folder, "check-floor.js");
    await buildFloor(floorFile);
    const floor = async (...flags: string[]) => {
        const r = await timedProcess(process.execPath, [floorFile, healthyFile, ...flags], env);
        const expected = names.length + operationals.length;
        if (r.code !== 0 || r.stdout !== `${expected} servers answered\n`)
            throw new Error(`check-floor: exit ${r.code}, expected ${expected} servers to answer: ${r.stderr.trim()} ${r.stdout.trim()}`);
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
}

/** check-cli-N-hung: the last operational hung alone, then all of `options.hung`, each run against the bounded script. */
async function timeHung(
    run: BenchRun,
    rig: CheckRig,
    options: CheckBenchOptions,
    servers: HungServers,
    samples: CheckSamples,
): Promise<void> {
    const { operationals } = rig;
    const { timeoutMs } = options;
    const hungPorts = new Map<string, number>();
    for (const name of options.hung) hungPorts.set(name, await servers.open());
    const counts = options.hung.length > 1 ? [1, options.hung.length] : [1];
    for (const n of counts) {
        const hung = options.hung.slice(-n);
        const outputs = JSON.parse(JSON.stringify(rig.environments)) as Environments;
        for (const name of hung) outputs[name].operational!.port = hungPorts.get(name)!;
        const file = rig.writeOutputs(outputs);
        const runs = { cli: [] as number[], script: [] as number[] };
        samples.hung.set(n, runs);
        run.log(`check-cli-${n}-hung: ${hung.join(", ")} hung, --timeout ${timeoutMs} ms, ${options.hungRepetitions} x each`);
        for (let i = 0; i < options.hungRepetitions; i++) {
            const check = await rig.cli(file);
            rig.expectRun(`nexus-redis check with ${hung.join(", ")} hung`, check, 1, hung);
            runs.cli.push(check.ms);
            const baseline = await rig.script(rig.portsOf(outputs), true);
            rig.expectAnswers(`the protocol's script with ${hung.join(", ")} hung`, baseline, operationals.length - n);
            runs.script.push(baseline.ms);
        }
    }
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
