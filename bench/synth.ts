/**
 * synth-12, synth-120, synth-1200: how long the offline plan (`npm run synth`) takes and
 * how much memory it needs, for the protocol's table and for tables 10x and 100x larger.
 *
 * Each plan runs as its own process, exactly as `npm run synth` does (tsx plan/synth.ts),
 * so start-up is included and nothing from one plan lingers in the next (Pulumi keeps its
 * runtime in process globals). Peak memory comes from GNU time (`/usr/bin/time -v`,
 * largest process of the tree) or, where it is not installed, from every node process
 * reporting `process.resourceUsage().maxRSS` at exit (bench/maxrss.cjs).
 */
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { PROTOCOL_ENVIRONMENTS } from "../components/protocol";
import { TEST_IMAGE } from "../harness/fleet";
import type { Plan } from "../plan/plan";
import { type BenchResult, failed, median, result, round, samplesText } from "./results";
import { type BenchRun, ROOT } from "./resources";

const TSX_CLI = path.join(ROOT, "node_modules/tsx/dist/cli.mjs");
const SYNTH = path.join(ROOT, "plan/synth.ts");
const GNU_TIME = "/usr/bin/time";

export interface SynthRun {
    ms: number;
    /** Peak RSS of the largest process, in bytes; null when it could not be measured. */
    maxRssBytes: number | null;
    plan: Plan;
}

type RssMethod = "gnu-time" | "preload";
let rssMethod: RssMethod | undefined;

/** GNU time when it works here, else the preload; decided once. */
export function memoryMethod(): RssMethod {
    if (rssMethod === undefined) {
        const probe = spawnSync(GNU_TIME, ["-v", "true"], { encoding: "utf8" });
        rssMethod = probe.status === 0 && /Maximum resident set size/.test(probe.stderr ?? "") ? "gnu-time" : "preload";
    }
    return rssMethod;
}

export function memoryMethodText(): string {
    return memoryMethod() === "gnu-time"
        ? "peak RSS by /usr/bin/time -v"
        : "peak RSS by process.resourceUsage().maxRSS of every node process (no /usr/bin/time)";
}

/** Largest peak RSS (KiB) reported in a command's stderr, by either method. */
export function parseMaxRssKb(stderr: string): number | null {
    const values = [...stderr.matchAll(/Maximum resident set size \(kbytes\): (\d+)|nexus-redis-bench-maxrss-kb=(\d+)/g)].map((m) =>
        Number(m[1] ?? m[2]),
    );
    return values.length === 0 ? null : Math.max(...values);
}

/** `-c KEY=VALUE` arguments of a plan of a test stack: the same keys the live harness sets. */
export function synthArgs(config: Record<string, string>, showSecrets: boolean): string[] {
    return [TSX_CLI, SYNTH, ...(showSecrets ? ["--show-secrets"] : []), ...Object.entries(config).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
}

/** Runs the offline plan as `npm run synth` does and measures it. */
export async function runSynth(config: Record<string, string>, opts: { showSecrets: boolean }): Promise<SynthRun> {
    const args = synthArgs(config, opts.showSecrets);
    const method = memoryMethod();
    const [command, commandArgs, env] =
        method === "gnu-time"
            ? [GNU_TIME, ["-v", process.execPath, ...args], process.env]
            : [
                  process.execPath,
                  args,
                  {
                      ...process.env,
                      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(ROOT, "bench/maxrss.cjs")}`.trim(),
                  },
              ];
    const started = performance.now();
    const child = spawn(command, commandArgs, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve, reject) => {
        child.on("error", reject);
        child.on("close", resolve);
    });
    const ms = performance.now() - started;
    if (code !== 0)
        throw new Error(
            `synth exited ${code}: ${stderr
                .replace(/\t.*\n/g, "")
                .trim()
                .split("\n")
                .slice(-3)
                .join(" | ")}`,
        );
    const plan = JSON.parse(Buffer.concat(out).toString("utf8")) as Plan;
    const kb = parseMaxRssKb(stderr);
    return { ms, maxRssBytes: kb === null ? null : kb * 1024, plan };
}

/**
 * A table of `count` environments in the `environments` config syntax, with the protocol's
 * mix (one secure environment in six, as 2 of its 12): `e0001=20000/20001`, `e0006=20010`.
 */
export function generatedEnvironments(count: number): string[] {
    return Array.from({ length: count }, (_, i) => {
        const name = `e${String(i + 1).padStart(4, "0")}`;
        const vault = 20_000 + 2 * i;
        return i % 6 === 5 ? `${name}=${vault}` : `${name}=${vault}/${vault + 1}`;
    });
}

/** The config of a plan-only test stack: the keys the live harness sets, so synth-12 and the fleet's plan are the same work. */
export function testStackConfig(name: string, environments: string[], portOffset: number): Record<string, string> {
    return {
        image: TEST_IMAGE,
        containerPrefix: name,
        network: `${name}-net`,
        createNetwork: "true",
        portOffset: String(portOffset),
        environments: JSON.stringify(environments),
    };
}

export interface SynthScaleOptions {
    /** Table sizes, 12 (the protocol's) first, each with how many plans to time in all. */
    plans: { size: number; repetitions: number }[];
    /** Samples of the 12-environment plan already taken (the live fleet's own plan): they count as repetitions. */
    earlier12: { ms: number; maxRssBytes: number | null }[];
}

const MIB = 1024 * 1024;

export async function benchSynth(run: BenchRun, options: SynthScaleOptions): Promise<BenchResult[]> {
    const samples = new Map<number, { ms: number; rss: number | null }[]>();
    samples.set(
        12,
        options.earlier12.map((s) => ({ ms: s.ms, rss: s.maxRssBytes })),
    );
    const protocolNames = PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    const sizes = options.plans.map((p) => p.size);
    if (sizes[0] !== 12) throw new Error("synth: the protocol's 12 environments are the reference and come first");
    const failures = new Map<number, unknown>();
    for (const { size, repetitions: wanted } of options.plans) {
        const list = samples.get(size) ?? [];
        samples.set(size, list);
        while (list.length < wanted && !failures.has(size)) {
            run.log(`synth-${size}: planning ${size} environments (${list.length + 1}/${wanted})`);
            try {
                const environments = size === 12 ? protocolNames : generatedEnvironments(size);
                const measured = await runSynth(testStackConfig(run.fleetName("synth"), environments, 0), { showSecrets: false });
                const containers = measured.plan.resources.filter((r) => r.type === "docker:index/container:Container").length;
                const expected =
                    size === 12
                        ? 22
                        : environments.filter((e) => e.includes("/")).length * 2 + environments.filter((e) => !e.includes("/")).length;
                if (containers !== expected)
                    throw new Error(`the plan of ${size} environments has ${containers} containers, expected ${expected}`);
                list.push({ ms: measured.ms, rss: measured.maxRssBytes });
                run.log(
                    `synth-${size}: ${(measured.ms / 1000).toFixed(1)} s, peak ${measured.maxRssBytes === null ? "?" : (measured.maxRssBytes / MIB).toFixed(0)} MiB`,
                );
            } catch (e) {
                failures.set(size, e);
            }
        }
    }

    const perEnv = (size: number) => {
        const list = samples.get(size) ?? [];
        return list.length === 0 ? null : median(list.map((s) => s.ms)) / size;
    };
    const totalMs = (size: number) => {
        const list = samples.get(size) ?? [];
        return list.length === 0 ? null : median(list.map((s) => s.ms));
    };
    const rss = (size: number) => {
        const values = (samples.get(size) ?? []).map((s) => s.rss).filter((v): v is number => v !== null);
        return values.length === 0 ? null : Math.max(...values) / MIB;
    };
    const base = perEnv(12);
    const results: BenchResult[] = [];
    for (const [i, size] of sizes.entries()) {
        const name = `synth-${size}`;
        if (failures.has(size) && (samples.get(size) ?? []).length === 0) {
            results.push(failed(name, "ms/env", failures.get(size)));
            continue;
        }
        const total = totalMs(size)!;
        const previous = i > 0 ? sizes[i - 1] : undefined;
        // The start-up (node, tsx, the Pulumi SDK) is paid once per plan, so time per environment
        // falls as tables grow; whether the cost itself is linear shows in the marginal cost.
        let marginal = "";
        if (previous !== undefined && totalMs(previous) !== null) {
            const step = (total - totalMs(previous)!) / (size - previous);
            marginal = `; marginal cost ${step.toFixed(1)} ms per environment from ${previous} to ${size}`;
            if (i > 1 && totalMs(sizes[i - 2]) !== null) {
                const before = (totalMs(previous)! - totalMs(sizes[i - 2])!) / (previous - sizes[i - 2]);
                marginal += ` (${round(step / before, 2)}x the marginal cost from ${sizes[i - 2]} to ${previous}: ${step / before <= 1.25 ? "linear" : "SUPERLINEAR"})`;
            }
        }
        const memory = rss(size);
        results.push(
            result({
                name,
                value: round(perEnv(size)!, 1),
                unit: "ms/env",
                baseline: base === null ? null : round(base, 1),
                note:
                    `offline plan of ${size === 12 ? "the protocol's 12 environments" : `${size} generated environments (1 in 6 secure)`}, ` +
                    `${(total / 1000).toFixed(1)} s in all (${samplesText(
                        (samples.get(size) ?? []).map((s) => s.ms / 1000),
                        1,
                    )} s), ` +
                    `peak ${memory === null ? "?" : `${memory.toFixed(0)} MiB`}; baseline: time per environment of synth-12` +
                    (size === 12 ? " (this is the reference)" : "") +
                    marginal,
            }),
        );
        results.push(
            result({
                name: `${name}-rss`,
                value: memory === null ? null : round(memory, 0),
                unit: "MiB",
                baseline: rss(12) === null ? null : round(rss(12)!, 0),
                note:
                    `peak memory of the plan of ${size} environments (${memoryMethodText()}); baseline: synth-12's` +
                    (memory === null ? "" : `; ${((memory * 1024) / size).toFixed(0)} KiB per environment`),
            }),
        );
    }
    return results;
}
