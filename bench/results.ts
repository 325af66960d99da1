/**
 * Benchmark results as data, and their two renderings (one JSON document, a table for
 * people). Pure: no I/O, so the shape of `--json` is decided here and nowhere else.
 */

/** One line of `npm run bench -- --json`. Every benchmark reports against a baseline measured in the same run. */
export interface BenchResult {
    name: string;
    /** The measured figure (median of the repetitions); null when the benchmark failed. */
    value: number | null;
    unit: string;
    /** The baseline in the same unit, measured in the same run on the same engine; null when there is none. */
    baseline: number | null;
    /** value / baseline of the unrounded figures, rounded to 3 decimals; null when either is missing. */
    ratio: number | null;
    /** What was measured, how, against what, and the target with its verdict. */
    note: string;
}

/** A target on a result's ratio, stated as in the issue. */
export interface Target {
    /** The ratio must be at most this (below it, when `strict`). */
    maxRatio: number;
    /** The ratio must be below maxRatio, not equal: "ahead of", "faster than". */
    strict?: boolean;
    /** How the issue words it, e.g. "at most 0.3 of the default-settings baseline". */
    text: string;
}

/** value / baseline, unrounded; null when either is missing (or the baseline is 0). */
export function ratioOf(value: number | null, baseline: number | null): number | null {
    if (value === null || baseline === null || baseline === 0) return null;
    return value / baseline;
}

export function round(value: number, decimals: number): number {
    const f = 10 ** decimals;
    return Math.round(value * f) / f;
}

/** Whether an unrounded ratio meets a target. */
export function meets(ratio: number, target: Target): boolean {
    return target.strict ? ratio < target.maxRatio : ratio <= target.maxRatio;
}

/** "met" / "MISSED" for an unrounded ratio against a target; "not measured" when there is no ratio. */
export function verdict(ratio: number | null, target: Target): string {
    if (ratio === null) return `target ${target.text}: not measured`;
    return `target ${target.text} (ratio ${target.strict ? "<" : "<="} ${target.maxRatio}): ${meets(ratio, target) ? "met" : "MISSED"}`;
}

/**
 * Builds a result from unrounded figures: the ratio and the target's verdict are computed
 * from them, and only then are value and baseline rounded to `decimals` and the ratio to 3
 * decimals for display (a ratio of 1.5004 misses "at most 1.5" even though it shows as 1.5).
 */
export function result(fields: {
    name: string;
    value: number | null;
    unit: string;
    baseline: number | null;
    /** Decimals value and baseline are shown with (default 0). */
    decimals?: number;
    note: string;
    target?: Target;
}): BenchResult {
    const ratio = ratioOf(fields.value, fields.baseline);
    const note = fields.target ? `${fields.note}; ${verdict(ratio, fields.target)}` : fields.note;
    const decimals = fields.decimals ?? 0;
    return {
        name: fields.name,
        value: fields.value === null ? null : round(fields.value, decimals),
        unit: fields.unit,
        baseline: fields.baseline === null ? null : round(fields.baseline, decimals),
        ratio: ratio === null ? null : round(ratio, 3),
        note,
    };
}

/** A benchmark that could not run: its results are still listed, with the reason. */
export function failed(name: string, unit: string, error: unknown): BenchResult {
    const message = error instanceof Error ? error.message : String(error);
    return { name, value: null, unit, baseline: null, ratio: null, note: `FAILED: ${message.split("\n")[0]}` };
}

export function median(values: number[]): number {
    if (values.length === 0) throw new Error("median of no values");
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "3 runs: 120, 131, 140" — every sample, so a reader sees the spread behind a median. */
export function samplesText(values: number[], decimals = 0): string {
    return `${values.length} run${values.length === 1 ? "" : "s"}: ${values.map((v) => v.toFixed(decimals)).join(", ")}`;
}

/** The document `--json` prints: exactly `{ "results": [...] }`, keys in a fixed order. */
export function renderJson(results: BenchResult[]): string {
    const document = {
        results: results.map((r) => ({ name: r.name, value: r.value, unit: r.unit, baseline: r.baseline, ratio: r.ratio, note: r.note })),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

function show(value: number | null): string {
    if (value === null) return "-";
    if (Number.isInteger(value)) return String(value);
    return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 3);
}

/** A table for people: one row per result, the note below each row. */
export function renderTable(results: BenchResult[]): string {
    const header = ["NAME", "VALUE", "BASELINE", "UNIT", "RATIO"];
    const rows = results.map((r) => [r.name, show(r.value), show(r.baseline), r.unit, show(r.ratio)]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) =>
        cells
            .map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
            .join("  ")
            .trimEnd();
    const out = [line(header)];
    results.forEach((r, i) => {
        out.push(line(rows[i]));
        out.push(`    ${r.note}`);
    });
    return `${out.join("\n")}\n`;
}
