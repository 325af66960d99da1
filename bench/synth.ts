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
import { testStackConfig } from "../harness/fleet";
import type { Plan } from "../plan/plan";
import { type BenchResult, type Target, failed, median, result, samplesText } from "./results";
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

/** Runs `tsx plan/synth.ts ARGS` as `npm run synth` does and measures it: wall time and peak memory. */
async function runSynthProcess(args: string[]): Promise<{ ms: number; maxRssBytes: number | null; stdout: Buffer }> {
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
    const kb = parseMaxRssKb(stderr);
    return { ms, maxRssBytes: kb === null ? null : kb * 1024, stdout: Buffer.concat(out) };
}

/** Runs the offline plan as `npm run synth` does and measures it. */
export async function runSynth(config: Record<string, string>, opts: { showSecrets: boolean }): Promise<SynthRun> {
    const measured = await runSynthProcess(synthArgs(config, opts.showSecrets));
    return { ms: measured.ms, maxRssBytes: measured.maxRssBytes, plan: JSON.parse(measured.stdout.toString("utf8")) as Plan };
}

/**
 * `npm run synth -- --help`, measured the same way: the same process up to where planning
 * starts (node, tsx, the Pulumi SDK and the program's config modules loaded), then exits.
 */
export function runSynthStartup(): Promise<{ ms: number; maxRssBytes: number | null }> {
    return runSynthProcess([TSX_CLI, SYNTH, "--help"]);
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

export interface SynthScaleOptions {
    /** Table sizes, 12 (the protocol's) first, each with how many plans to time in all. */
    plans: { size: number; repetitions: number }[];
}

const MIB = 1024 * 1024;

/** "Planning cost grows linearly": the marginal cost per environment at most this much higher from one step of table size to the next. */
export const LINEAR_TARGET: Target = {
    maxRatio: 1.25,
    text: "planning cost grows linearly (marginal cost per environment at most 1.25x that of the step before)",
};

/** Medians of one size's samples: time of a whole plan (ms) and peak memory (MiB), null when none was measured. */
export interface SynthFigures {
    size: number;
    ms: number;
    rssMiB: number | null;
}

/**
 * The marginal cost per environment from one table size to the next: (time of the larger
 * plan - time of the smaller) / (difference in environments). Pure.
 */
export function marginalMsPerEnvironment(from: SynthFigures, to: SynthFigures): number {
    if (to.size <= from.size) throw new Error(`marginal cost from ${from.size} to ${to.size} environments: sizes must grow`);
    return (to.ms - from.ms) / (to.size - from.size);
}

/**
 * The synth results from medians: each plan against the plan one size smaller (synth-12
 * against its own start-up, `synth --help`), both measured in this run; and, with three sizes
 * or more, the last step's marginal cost per environment against the step before's. Pure.
 */
export function synthResults(
    startup: { ms: number; rssMiB: number | null },
    figures: SynthFigures[],
    notes: Map<number, string>,
): BenchResult[] {
    const results: BenchResult[] = [];
    const describe = (size: number) => (size === 12 ? "the protocol's 12 environments" : `${size} generated environments (1 in 6 secure)`);
    figures.forEach((f, i) => {
        const previous = i === 0 ? undefined : figures[i - 1];
        const baselineText = previous
            ? `baseline: the plan of ${previous.size} environments, ${(previous.ms / 1000).toFixed(1)} s`
            : `baseline: its start-up alone (npm run synth -- --help: node, tsx, the Pulumi SDK and the config modules loaded), ${(startup.ms / 1000).toFixed(1)} s`;
        const marginal = previous
            ? `; marginal cost ${marginalMsPerEnvironment(previous, f).toFixed(1)} ms per environment from ${previous.size} to ${f.size}`
            : "";
        results.push(
            result({
                name: `synth-${f.size}`,
                value: f.ms,
                unit: "ms",
                baseline: previous ? previous.ms : startup.ms,
                note: `offline plan of ${describe(f.size)}, ${(f.ms / f.size).toFixed(1)} ms per environment (${notes.get(f.size) ?? ""}); ${baselineText}${marginal}`,
            }),
            result({
                name: `synth-${f.size}-rss`,
                value: f.rssMiB,
                unit: "MiB",
                baseline: previous ? previous.rssMiB : startup.rssMiB,
                note:
                    `peak memory of the plan of ${f.size} environments (${memoryMethodText()}); baseline: ${previous ? `the plan of ${previous.size}` : "its start-up alone (synth --help)"}` +
                    (f.rssMiB === null ? "" : `; ${((f.rssMiB * 1024) / f.size).toFixed(0)} KiB per environment`),
            }),
        );
    });
    if (figures.length >= 3) {
        const [a, b, c] = figures.slice(-3);
        const before = marginalMsPerEnvironment(a, b);
        const last = marginalMsPerEnvironment(b, c);
        results.push(
            result({
                name: `synth-marginal-${c.size}`,
                value: last,
                unit: "ms/env",
                baseline: before,
                decimals: 1,
                note: `marginal cost per environment from ${b.size} to ${c.size} environments; baseline: from ${a.size} to ${b.size} (both from this run's plans)`,
                target: LINEAR_TARGET,
            }),
        );
    }
    return results;
}

export async function benchSynth(run: BenchRun, options: SynthScaleOptions): Promise<BenchResult[]> {
    const samples = new Map<number, { ms: number; rss: number | null }[]>();
    const protocolNames = PROTOCOL_ENVIRONMENTS.map((e) => e.name);
    const sizes = options.plans.map((p) => p.size);
    if (sizes[0] !== 12) throw new Error("synth: the protocol's 12 environments are the reference and come first");
    const startupSamples: { ms: number; rss: number | null }[] = [];
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
        // The start-up, as many times as the protocol's plan, alternated with nothing else running.
        while (size === 12 && startupSamples.length < Math.max(1, Math.min(wanted, 3))) {
            const startup = await runSynthStartup();
            startupSamples.push({ ms: startup.ms, rss: startup.maxRssBytes });
            run.log(`synth start-up (synth --help): ${(startup.ms / 1000).toFixed(1)} s`);
        }
    }

    const figures: SynthFigures[] = [];
    const notes = new Map<number, string>();
    const failed_: BenchResult[] = [];
    for (const size of sizes) {
        const list = samples.get(size) ?? [];
        if (list.length === 0) {
            failed_.push(failed(`synth-${size}`, "ms", failures.get(size)), failed(`synth-${size}-rss`, "MiB", failures.get(size)));
            continue;
        }
        const rss = list.map((s) => s.rss).filter((v): v is number => v !== null);
        figures.push({ size, ms: median(list.map((s) => s.ms)), rssMiB: rss.length === 0 ? null : Math.max(...rss) / MIB });
        notes.set(
            size,
            `${samplesText(
                list.map((s) => s.ms / 1000),
                1,
            )} s`,
        );
    }
    const startupRss = startupSamples.map((s) => s.rss).filter((v): v is number => v !== null);
    const startup = { ms: median(startupSamples.map((s) => s.ms)), rssMiB: startupRss.length === 0 ? null : Math.max(...startupRss) / MIB };
    return [...synthResults(startup, figures, notes), ...failed_];
}
