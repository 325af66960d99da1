/**
 * Prometheus's text exposition format, shared by `check --prometheus FILE` and `backup
 * --prometheus FILE`: each command writes what it found as gauges for node_exporter's textfile
 * collector (which serves every `*.prom` file of its folder along with its own metrics, read
 * afresh at each scrape: hence the atomic write, a temporary file that is no `*.prom` renamed
 * over the last one).
 *
 * The exposition goes through prom-client, loaded only when a file is rendered (loading
 * prom-client costs a process about 0.1 s of CPU, two thirds of a whole check's: BENCHMARKS.md,
 * check --prometheus). Each command's samples are in its own folder (check/metrics.ts,
 * backup/metrics.ts).
 *
 * Every metric is a gauge: each file is a snapshot that the next run replaces, so nothing here
 * counts up over runs (no `_total`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "./errors";
import type { CliIo } from "./io";
import { EXIT_HEALTHY, EXIT_USAGE } from "./exit";

type LabelName = "environment" | "role" | "code" | "reason";

export interface MetricDefinition {
    help: string;
    labels: readonly LabelName[];
}

/** One value of one metric: what a line of the exposition says. */
export interface Sample {
    name: string;
    labels: Readonly<Record<string, string>>;
    value: number;
}

/** The labels of a metric about one server. */
export const SERVER: readonly LabelName[] = ["environment", "role"];

/**
 * What identifies a file as one this command writes: replacing anything else could destroy a
 * file someone keeps (a typo in --prometheus), and backup's file holds the last success, which
 * check's would erase.
 */
const MARKER: Record<"check" | "backup", string> = {
    check: "# TYPE nexus_redis_check_timestamp_seconds gauge",
    backup: "# TYPE nexus_redis_backup_last_run_timestamp_seconds gauge",
};

/** --prometheus's value, checked before anything runs; throws UsageError (of `command` when it has its own help). */
export function parsePrometheusFile(value: string | undefined, command?: string): string | undefined {
    if (value === undefined) return undefined;
    if (!value.endsWith(".prom") || path.basename(value) === ".prom")
        throw new UsageError(
            `--prometheus needs a file whose name ends in .prom (node_exporter's textfile collector reads only those), got "${value}"`,
            command,
        );
    return value;
}

/** The exit code of a run that wrote metrics: its own verdict first, then 2 when the file could not be written. Pure. */
export function exitCodeWithMetrics(verdict: number, metricsWritten: boolean): number {
    if (verdict !== EXIT_HEALTHY || metricsWritten) return verdict;
    return EXIT_USAGE;
}

/**
 * The samples of an exposition (the text format, version 0.0.4): one per line that is neither
 * a comment nor blank; label values unescaped. A line this cannot read is an error naming it.
 * Pure. Used on the previous file only, which this module wrote.
 */
export function parseSamples(text: string): Sample[] {
    const samples: Sample[] = [];
    const lines = text.split("\n");
    for (const [i, line] of lines.entries()) {
        if (line.trim() === "" || line.startsWith("#")) continue;
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/.exec(line);
        const labels = match ? parseLabels(match[2] ?? "") : undefined;
        const value = match ? parseValue(match[3]) : undefined;
        if (!match || !labels || value === undefined) throw new Error(`line ${i + 1} is not a metric sample: ${line.slice(0, 200)}`);
        samples.push({ name: match[1], labels, value });
    }
    return samples;
}

function parseLabels(text: string): Record<string, string> | undefined {
    const labels: Record<string, string> = {};
    const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
    let offset = 0;
    while (offset < text.length) {
        pattern.lastIndex = offset;
        const match = pattern.exec(text);
        if (!match) return undefined;
        labels[match[1]] = match[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
        offset = pattern.lastIndex;
    }
    return labels;
}

function parseValue(text: string): number | undefined {
    if (text === "+Inf") return Number.POSITIVE_INFINITY;
    if (text === "-Inf") return Number.NEGATIVE_INFINITY;
    if (text === "NaN") return Number.NaN;
    const value = Number(text);
    return text.trim() === "" || Number.isNaN(value) ? undefined : value;
}

/** The exposition of `samples` (every metric of `definitions`, HELP and TYPE first), by prom-client's Registry. */
export async function renderExposition(definitions: Readonly<Record<string, MetricDefinition>>, samples: Sample[]): Promise<string> {
    const { Gauge, Registry } = await import("prom-client");
    const registry = new Registry();
    const gauges = new Map<string, InstanceType<typeof Gauge>>();
    for (const [name, definition] of Object.entries(definitions)) {
        gauges.set(name, new Gauge({ name, help: definition.help, labelNames: [...definition.labels], registers: [registry] }));
    }
    for (const sample of samples) {
        const gauge = gauges.get(sample.name);
        if (!gauge) throw new Error(`${sample.name} is not among the metrics this command writes`);
        gauge.set({ ...sample.labels }, sample.value);
    }
    return registry.metrics();
}

/**
 * Replaces `file` with `content`: a temporary file in the same folder (not `*.prom`, so the
 * textfile collector never reads it half written), mode 0644 (node_exporter runs as another
 * user), fsynced, renamed over `file`, and the folder fsynced.
 */
export function writeAtomically(file: string, content: string): void {
    const folder = path.dirname(file);
    const temp = path.join(folder, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    const fd = fs.openSync(temp, "wx", 0o644);
    try {
        try {
            fs.fchmodSync(fd, 0o644); // whatever the umask
            fs.writeFileSync(fd, content); // every byte, however many writes it takes
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(temp, file);
    } catch (e) {
        fs.rmSync(temp, { force: true });
        throw e;
    }
    const dir = fs.openSync(folder, "r");
    try {
        fs.fsyncSync(dir);
    } finally {
        fs.closeSync(dir);
    }
}

/** `file`'s text, or undefined when there is none; throws when it is not a file this command writes. */
function previousFile(file: string, command: "check" | "backup"): string | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
    if (text !== "" && !text.split("\n").includes(MARKER[command])) {
        const other = command === "check" ? "backup" : "check";
        const whose = text.split("\n").includes(MARKER[other]) ? `nexus-redis ${other}'s metrics` : "no metrics of nexus-redis";
        throw new Error(`it holds ${whose}: not replaced (give each command a file of its own)`);
    }
    return text;
}

/**
 * Writes the metrics of a run that has printed its verdict, and returns its exit code: the
 * verdict, or 2 when the run was healthy and the file could not be written. A failure is said
 * on stderr, naming the file; it never hides the verdict.
 */
export async function publish(
    command: "check" | "backup",
    file: string,
    definitions: Readonly<Record<string, MetricDefinition>>,
    samplesFrom: (previous: string | undefined) => Sample[],
    io: CliIo,
    verdict: number,
    lockWaitMs = LOCK_WAIT_MS,
): Promise<number> {
    try {
        await withFileLock(file, lockWaitMs, async () =>
            writeAtomically(file, await renderExposition(definitions, samplesFrom(previousFile(file, command)))),
        );
        return verdict;
    } catch (e) {
        const prefix = command === "check" ? "nexus-redis" : "nexus-redis backup";
        io.stderr.write(`${prefix}: --prometheus ${file}: ${(e as Error).message}\n`);
        return exitCodeWithMetrics(verdict, false);
    }
}

/** How long a run waits for another run writing the same file: each holds it for milliseconds. */
const LOCK_WAIT_MS = 10_000;

/**
 * Runs `update` (read the previous file, write the new one) holding `file`'s lock: a file
 * `.NAME.lock` beside it (never `*.prom`, so the collector does not read it), created
 * exclusively, holding its owner's `host:pid`. Without it, two runs writing the same file at
 * once (a backup from the timer and one by hand, each of other environments) both read the
 * same previous file and the last to rename wins: the other's success, or its failure, is lost.
 * A lock whose owner has died on this host (a killed run) is taken over; one a live run holds
 * is waited for, then refused, saying how to go on.
 */
async function withFileLock(file: string, waitMs: number, update: () => Promise<void>): Promise<void> {
    // Loaded here, when a file is written: check without --prometheus loads this module too,
    // and owner.ts brings node:os, which a plain check does not load (cli-bin-run's test).
    const { ownerState, ownerTag } = await import("./owner.js");
    const lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
    const me = ownerTag();
    const deadline = Date.now() + waitMs;
    for (;;) {
        if (createWithContent(lock, me)) break;
        const holder = readHolder(lock);
        if (holder !== undefined && ownerState(holder) === "dead") {
            // Taken over only if it still names the dead owner: another run may have just taken
            // it over itself. (Two take-overs in the same instant can still both go on: what is
            // at stake is one run's metrics, which the next run writes again.)
            if (readHolder(lock) === holder) fs.rmSync(lock, { force: true });
            continue;
        }
        if (Date.now() >= deadline)
            throw new Error(
                `another run (${holder ?? "unknown"}) has been writing it for ${waitMs / 1000} s: not replaced; if no nexus-redis run writes it any more, remove ${lock}`,
            );
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
        await update();
    } finally {
        // Only this run's own lock: one another run took over meanwhile is that run's.
        if (readHolder(lock) === me) fs.rmSync(lock, { force: true });
    }
}

/**
 * Creates `file` holding `content`, or returns false when it exists: written under a name of
 * its own, then hard-linked into place (link fails when the name is taken), so the lock is
 * never seen empty, even when its run is killed while making it.
 */
function createWithContent(file: string, content: string): boolean {
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(temp, content, { flag: "wx", mode: 0o644 });
    try {
        fs.linkSync(temp, file);
        return true;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        return false;
    } finally {
        fs.rmSync(temp, { force: true });
    }
}

/** A lock file's owner, or undefined when it is gone (or empty: made by hand). */
function readHolder(lock: string): string | undefined {
    try {
        return fs.readFileSync(lock, "utf8").trim() || undefined;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
    }
}
