/**
 * Prometheus, node_exporter and promtool (Debian's `prometheus` and `prometheus-node-exporter`
 * packages: scripts/ensure-prometheus.sh) for the tests of `--prometheus` and of the alert rules.
 *
 * The servers run as plain processes of the test, on loopback ports of its own choosing (never
 * the packages' 9090 and 9100, where a real one may run), with their data in the test's folder.
 * Each has a guard, a detached shell that ends it by its pid if the test's process dies without
 * stopping it, so nothing is left running even when a test is killed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { waitFor } from "./fleet";
import { TEST_PORTS, freePorts } from "./ports";

const BINARIES = ["promtool", "prometheus", "prometheus-node-exporter"];

/**
 * Whether promtool, Prometheus and node_exporter are installed. Synchronous, for
 * `describe.skipIf`: without them the tests skip loudly; under `npm test`, which installs them
 * (scripts/test.sh sets NEXUS_REDIS_REQUIRE_PROMETHEUS), they fail instead. Not on CI alone:
 * the pipeline's unit-test job runs vitest on a runner without them.
 */
export function prometheusAvailable(): boolean {
    const missing = BINARIES.filter((b) => spawnSync(b, ["--version"], { stdio: "ignore", timeout: 15_000 }).status !== 0);
    if (missing.length === 0) return true;
    const why = `no ${missing.join(", ")} (npm test installs them: scripts/ensure-prometheus.sh)`;
    if (process.env.NEXUS_REDIS_REQUIRE_PROMETHEUS === "1") throw new Error(`the Prometheus tests cannot run: ${why}`);
    process.stderr.write(`\n*** SKIPPING PROMETHEUS TESTS: ${why} ***\n\n`);
    return false;
}

export interface ToolRun {
    status: number | null;
    output: string;
}

/** promtool with `args`, `input` on its stdin; stdout and stderr together, as a person reads them. */
export function promtool(args: string[], input?: string): Promise<ToolRun> {
    return new Promise((resolve, reject) => {
        const child = spawn("promtool", args, { stdio: ["pipe", "pipe", "pipe"] });
        let output = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => (output += s));
        child.stderr.setEncoding("utf8").on("data", (s: string) => (output += s));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, output }));
        child.stdin.end(input ?? "");
    });
}

/**
 * The rules file with every rule's `for` set to `duration`, and nothing else changed: a live
 * test cannot wait the minutes the shipped durations ask for. (The live test compares the
 * rules Prometheus then runs with the shipped file.)
 */
export function withFor(shipped: string, duration: string): string {
    const document = parse(shipped) as { groups: { rules: Record<string, unknown>[] }[] };
    for (const group of document.groups) for (const rule of group.rules) if ("for" in rule) rule.for = duration;
    return stringify(document);
}

/** A server process with its guard. */
class Guarded {
    private readonly exited: Promise<void>;

    private constructor(
        private readonly child: ChildProcess,
        private readonly guard: ChildProcess,
    ) {
        this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    }

    static start(command: string, args: string[], log: string): Guarded {
        const out = fs.openSync(log, "a");
        const child = spawn(command, args, { stdio: ["ignore", out, out] });
        fs.closeSync(out);
        if (child.pid === undefined) throw new Error(`${command} did not start (see ${log})`);
        // Ends the server when this process is gone and the server is not: this process was killed.
        const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; if kill -0 ${child.pid} 2>/dev/null && ! kill -0 ${process.pid} 2>/dev/null; then kill ${child.pid}; fi`;
        const guard = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
        guard.unref();
        return new Guarded(child, guard);
    }

    get running(): boolean {
        return this.child.exitCode === null && this.child.signalCode === null;
    }

    /** SIGTERM, then SIGKILL after 10 s; the guard too. */
    async stop(): Promise<void> {
        if (this.running) {
            this.child.kill("SIGTERM");
            const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
            await this.exited;
            clearTimeout(timer);
        }
        if (this.guard.pid !== undefined && this.guard.exitCode === null) this.guard.kill("SIGTERM");
    }
}

export interface Alert {
    labels: Record<string, string>;
    annotations: Record<string, string>;
    state: "pending" | "firing";
}

export interface Monitoring {
    /** http://127.0.0.1:PORT of Prometheus. */
    prometheusUrl: string;
    /** http://127.0.0.1:PORT of node_exporter. */
    nodeExporterUrl: string;
    /** An instant query's result: each series' labels and value. */
    query(expr: string): Promise<{ labels: Record<string, string>; value: number }[]>;
    /** The alerts pending or firing now. */
    alerts(): Promise<Alert[]>;
    stop(): Promise<void>;
}

/**
 * node_exporter serving `textfileDir` (textfile collector only), and Prometheus scraping it and
 * evaluating `rulesFile` every second; their data and logs in `workDir`. Resolves when both
 * answer; on any failure, stops what it started.
 */
export async function startMonitoring(options: { textfileDir: string; rulesFile: string; workDir: string }): Promise<Monitoring> {
    const [exporterPort, prometheusPort] = await freePorts(2, TEST_PORTS);
    const started: Guarded[] = [];
    const stop = async () => {
        for (const server of started.reverse()) await server.stop();
    };
    try {
        const exporter = Guarded.start(
            "prometheus-node-exporter",
            [
                `--web.listen-address=127.0.0.1:${exporterPort}`,
                "--collector.disable-defaults",
                "--collector.textfile",
                `--collector.textfile.directory=${options.textfileDir}`,
            ],
            path.join(options.workDir, "node-exporter.log"),
        );
        started.push(exporter);
        const config = path.join(options.workDir, "prometheus.yml");
        fs.writeFileSync(
            config,
            stringify({
                global: { scrape_interval: "1s", evaluation_interval: "1s" },
                rule_files: [options.rulesFile],
                scrape_configs: [{ job_name: "node", static_configs: [{ targets: [`127.0.0.1:${exporterPort}`] }] }],
            }),
        );
        const prometheus = Guarded.start(
            "prometheus",
            [
                `--config.file=${config}`,
                `--storage.tsdb.path=${path.join(options.workDir, "tsdb")}`,
                `--web.listen-address=127.0.0.1:${prometheusPort}`,
            ],
            path.join(options.workDir, "prometheus.log"),
        );
        started.push(prometheus);
        const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
        const nodeExporterUrl = `http://127.0.0.1:${exporterPort}`;
        const answers = async (url: string, server: Guarded) => {
            if (!server.running) throw new Error(`it exited (see ${options.workDir})`);
            return (await fetch(url)).ok ? true : undefined;
        };
        await waitFor("node_exporter", () => answers(`${nodeExporterUrl}/metrics`, exporter), 30_000, 200);
        await waitFor("Prometheus", () => answers(`${prometheusUrl}/-/ready`, prometheus), 60_000, 200);
        const api = async (endpoint: string) => {
            const response = await fetch(`${prometheusUrl}/api/v1/${endpoint}`);
            const body = (await response.json()) as { status: string; data: unknown; error?: string };
            if (body.status !== "success") throw new Error(`Prometheus ${endpoint}: ${body.error ?? response.status}`);
            return body.data;
        };
        return {
            prometheusUrl,
            nodeExporterUrl,
            async query(expr) {
                const data = (await api(`query?query=${encodeURIComponent(expr)}`)) as {
                    result: { metric: Record<string, string>; value: [number, string] }[];
                };
                return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
            },
            async alerts() {
                return ((await api("alerts")) as { alerts: Alert[] }).alerts;
            },
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}
