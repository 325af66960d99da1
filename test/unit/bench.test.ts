/**
 * The benchmarks' own arithmetic and verdicts (bench/): medians, ratios of unrounded figures,
 * verdicts decided before anything is rounded for display, every baseline a figure of the
 * same run, and the shapes of what they print. Pure parts only: no Docker, no process.
 */
import { describe, expect, it } from "vitest";
import {
    CHECK_CLI_TARGET,
    CHECK_HUNG_TARGET,
    type CheckSamples,
    checkResultNames,
    checkResults,
    protocolScript,
    tableStatuses,
} from "../../bench/check";
import { checkReport } from "../../bench/fleet";
import { resultNames, settingsFor } from "../../bench/run";
import { failed, median, meets, ratioOf, renderJson, renderTable, result, round, samplesText, verdict } from "../../bench/results";
import { marginalMsPerEnvironment, synthResults } from "../../bench/synth";

describe("median", () => {
    it.each([
        [[3], 3],
        [[5, 1, 3], 3],
        [[4, 1, 3, 2], 2.5],
        [[10, 10, 1000], 10],
    ])("of %j is %d, whatever the order", (values, expected) => {
        expect(median(values)).toBe(expected);
    });

    it("refuses no values instead of inventing one", () => {
        expect(() => median([])).toThrow("median of no values");
    });

    it("leaves its input in the order it was measured", () => {
        const samples = [3, 1, 2];
        median(samples);
        expect(samples).toEqual([3, 1, 2]);
    });
});

describe("ratios and verdicts", () => {
    it("is null without a value, without a baseline, or with a baseline of 0", () => {
        expect(ratioOf(null, 10)).toBeNull();
        expect(ratioOf(10, null)).toBeNull();
        expect(ratioOf(10, 0)).toBeNull();
        expect(ratioOf(3, 2)).toBe(1.5);
    });

    it("judges the unrounded ratio: 1.5004 misses 'at most 1.5' though it shows as 1.5", () => {
        const r = result({ name: "x", value: 1500.4, unit: "ms", baseline: 1000, note: "n", target: CHECK_CLI_TARGET });
        expect(r.ratio).toBe(1.5);
        expect(r.value).toBe(1500);
        expect(r.note).toMatch(/MISSED$/);
        expect(result({ name: "x", value: 1500, unit: "ms", baseline: 1000, note: "n", target: CHECK_CLI_TARGET }).note).toMatch(/: met$/);
    });

    it("judges a value that rounds up to the limit as met only if it is within it", () => {
        // 149.96 / 100 = 1.4996: shows as 1.5 and is met; the rounded value (150) would say the same, 150.04 would not.
        expect(result({ name: "x", value: 149.96, unit: "ms", baseline: 100, note: "n", target: CHECK_CLI_TARGET }).note).toMatch(/: met$/);
        expect(result({ name: "x", value: 150.04, unit: "ms", baseline: 100, note: "n", target: CHECK_CLI_TARGET }).note).toMatch(
            /MISSED$/,
        );
    });

    it("computes the ratio from unrounded value and baseline, not from their rounded display", () => {
        // Rounded first, 2/1 would be 2; unrounded it is 1.5/1.4.
        const r = result({ name: "x", value: 1.5, unit: "ms", baseline: 1.4, note: "n" });
        expect(r.ratio).toBe(round(1.5 / 1.4, 3));
        expect([r.value, r.baseline]).toEqual([2, 1]);
    });

    it("shows value and baseline with the decimals asked for", () => {
        const r = result({ name: "x", value: 81.349, unit: "ms/env", baseline: 95.71, decimals: 1, note: "n" });
        expect([r.value, r.baseline, r.ratio]).toEqual([81.3, 95.7, 0.85]);
    });

    it("says 'ahead' only strictly: equal to the script is not ahead", () => {
        expect(meets(1, CHECK_HUNG_TARGET)).toBe(false);
        expect(meets(0.999, CHECK_HUNG_TARGET)).toBe(true);
        expect(meets(1.5, CHECK_CLI_TARGET)).toBe(true);
        expect(verdict(1, CHECK_HUNG_TARGET)).toBe(
            "target ahead of the script (with the same per-host bound) when hosts hang (ratio < 1): MISSED",
        );
        expect(verdict(null, CHECK_CLI_TARGET)).toBe(
            "target the whole check process within 1.5x of the protocol's sequential script: not measured",
        );
    });

    it("lists a failed benchmark with no figures and the first line of its reason", () => {
        expect(failed("check-cli", "ms", new Error("no fleet\nstack trace"))).toEqual({
            name: "check-cli",
            value: null,
            unit: "ms",
            baseline: null,
            ratio: null,
            note: "FAILED: no fleet",
        });
    });
});

describe("what the benchmarks print", () => {
    const results = [
        result({ name: "check-cli", value: 81.4, unit: "ms", baseline: 60.2, note: "whole process", target: CHECK_CLI_TARGET }),
        failed("recovery-1m", "ms", "no fleet"),
    ];

    it("--json: exactly {results: [...]}, keys in a fixed order", () => {
        const document = JSON.parse(renderJson(results));
        expect(Object.keys(document)).toEqual(["results"]);
        expect(document.results.map((r: object) => Object.keys(r))).toEqual([
            ["name", "value", "unit", "baseline", "ratio", "note"],
            ["name", "value", "unit", "baseline", "ratio", "note"],
        ]);
        expect(document.results[0]).toMatchObject({ value: 81, baseline: 60, ratio: 1.352 });
    });

    it("the table: a row per result with its note below, '-' for what is missing", () => {
        expect(renderTable(results).split("\n")).toEqual([
            "NAME         VALUE  BASELINE  UNIT  RATIO",
            "check-cli       81        60  ms    1.352",
            `    whole process; target the whole check process within 1.5x of the protocol's sequential script (ratio <= 1.5): met`,
            "recovery-1m      -         -  ms        -",
            "    FAILED: no fleet",
            "",
        ]);
    });

    it("lists every sample behind a median", () => {
        expect(samplesText([120.4, 131.6])).toBe("2 runs: 120, 132");
        expect(samplesText([3.04], 1)).toBe("1 run: 3.0");
    });
});

describe("check-cli", () => {
    it("runs the protocol's own script, bounded per host by timeout only when asked", () => {
        expect(protocolScript([6616, 6621])).toBe("for p in 6616 6621; do redis-cli -p $p INFO replication; done");
        expect(protocolScript([6616, 6621], 3)).toBe("for p in 6616 6621; do timeout 3 redis-cli -p $p INFO replication; done");
    });

    it("reads each environment's status from the check's table", () => {
        const table = [
            "ENV          KIND      STATUS   LAG       PROBLEM",
            "workflow     standard  ok       0 B, 1 s  -",
            "kb           standard  PROBLEM  -         the operational is not a replica",
            "user         secure    FIXED    -         repaired: 1 change",
            "",
            "kb:",
            "  - ok fine",
        ].join("\n");
        expect(tableStatuses(table)).toEqual({ workflow: "ok", kb: "PROBLEM", user: "FIXED" });
    });

    const samples = (): CheckSamples => ({
        help: [60, 50, 70],
        bareNode: [40, 45, 41],
        cli: [90, 80, 100],
        script: [60, 70, 50],
        floor: [72, 75, 70],
        connections: [55, 48, 66],
        prometheus: [200, 190, 210],
        hung: new Map([
            [1, { cli: [3100, 3090], script: [3060, 3080] }],
            [3, { cli: [3110, 3100], script: [9080, 9100] }],
        ]),
        inProcess: [30, 25, 35],
        npx: [600, 700, 650],
    });

    it("compares medians of the same run: the whole process to the script, hung to hung, several hung to one", () => {
        const results = checkResults(samples(), { environments: 12, operationals: 10, timeoutMs: 3000 });
        const byName = Object.fromEntries(results.map((r) => [r.name, r]));
        expect(results.map((r) => r.name)).toEqual(checkResultNames({ hung: ["kb", "web", "chrono"], npxRepetitions: 5 }));
        expect(byName["cli-help"]).toMatchObject({ value: 60, baseline: 41, ratio: round(60 / 41, 3) });
        expect(byName["check-cli"]).toMatchObject({ value: 90, baseline: 60, ratio: 1.5 });
        expect(byName["check-cli"].note).toMatch(/\(ratio <= 1\.5\): met$/);
        expect(byName["check-floor"]).toMatchObject({ value: 72, baseline: 60, ratio: 1.2 });
        expect(byName["check-cli-vs-floor"]).toMatchObject({ value: 90, baseline: 72, ratio: 1.25 });
        expect(byName["check-connections-floor"]).toMatchObject({ value: 55, baseline: 60, ratio: round(55 / 60, 3) });
        expect(byName["check-cli-prometheus"]).toMatchObject({ value: 200, baseline: 60, ratio: round(200 / 60, 3) });
        expect(byName["check-cli-prometheus-vs-cli"]).toMatchObject({ value: 200, baseline: 90, ratio: round(200 / 90, 3) });
        expect(byName["check-cli-1-hung"]).toMatchObject({ value: 3095, baseline: 3070 });
        expect(byName["check-cli-1-hung"].note).toMatch(/timeout 3 \(redis-cli alone would wait forever\)/);
        expect(byName["check-cli-1-hung"].note).toMatch(/MISSED$/);
        expect(byName["check-cli-3-hung"]).toMatchObject({ value: 3105, baseline: 9090 });
        expect(byName["check-cli-3-hung"].note).toMatch(/: met$/);
        expect(byName["check-cli-3-vs-1-hung"]).toMatchObject({ value: 3105, baseline: 3095 });
        expect(byName["check-in-process"]).toMatchObject({ value: 30, baseline: 90, ratio: 0.333 });
        expect(byName["check-cli-npx"]).toMatchObject({ value: 650, baseline: 90 });
    });

    it("has no several-vs-one comparison with a single hung host, and no npx row without npx runs", () => {
        const s = samples();
        s.hung.delete(3);
        s.npx = [];
        const names = checkResults(s, { environments: 4, operationals: 3, timeoutMs: 1000 }).map((r) => r.name);
        expect(names).toEqual(checkResultNames({ hung: ["track"], npxRepetitions: 0 }));
        expect(names).not.toContain("check-cli-npx");
    });
});

describe("the in-process check's report", () => {
    it("is the JSON document when the check judged the fleet (exit 0 or 1)", () => {
        expect(checkReport(1, '{"healthy":false,"environments":[]}', "")).toEqual({ healthy: false, environments: [] });
    });

    it.each([
        [2, "nexus-redis: --bogus is not an option", /usage or configuration error: nexus-redis: --bogus/],
        [3, "nexus-redis: internal error: TypeError: x is undefined", /internal error: nexus-redis: internal error: TypeError/],
        [3, "", /internal error: no message/],
    ])("is an error saying why on exit %d, not a JSON parse error", (code, stderr, message) => {
        expect(() => checkReport(code, "", stderr)).toThrow(message);
    });
});

describe("synth", () => {
    const startup = { ms: 3000, rssMiB: 150 };
    const figures = [
        { size: 12, ms: 4000, rssMiB: 220 },
        { size: 120, ms: 12_640, rssMiB: 500 },
        { size: 1200, ms: 116_000, rssMiB: 3300 },
    ];

    it("computes the marginal cost per environment between two sizes", () => {
        expect(marginalMsPerEnvironment(figures[0], figures[1])).toBe(80);
        expect(marginalMsPerEnvironment(figures[1], figures[2])).toBeCloseTo(95.7, 1);
        expect(() => marginalMsPerEnvironment(figures[1], figures[0])).toThrow("sizes must grow");
    });

    it("measures every plan against a measured one: synth-12 against its start-up, each larger plan against the one before", () => {
        const results = synthResults(startup, figures, new Map());
        const byName = Object.fromEntries(results.map((r) => [r.name, r]));
        expect(results.map((r) => r.name)).toEqual(resultNames("synth", settingsFor(false)).map((r) => r.name));
        expect(byName["synth-12"]).toMatchObject({ value: 4000, baseline: 3000, ratio: 1.333 });
        expect(byName["synth-120"]).toMatchObject({ value: 12640, baseline: 4000, ratio: 3.16 });
        expect(byName["synth-1200-rss"]).toMatchObject({ value: 3300, baseline: 500, ratio: 6.6 });
        expect(byName["synth-12-rss"]).toMatchObject({ value: 220, baseline: 150 });
        // No result is its own baseline.
        for (const r of results) expect(r.ratio).not.toBe(1);
    });

    it("judges linearity on the marginal costs, unrounded", () => {
        const marginal = synthResults(startup, figures, new Map()).find((r) => r.name === "synth-marginal-1200")!;
        expect(marginal).toMatchObject({ value: 95.7, baseline: 80, unit: "ms/env", ratio: 1.196 });
        expect(marginal.note).toMatch(/: met$/);
        const steeper = synthResults(
            startup,
            [figures[0], figures[1], { size: 1200, ms: 12_640 + 1080 * 100.01, rssMiB: null }],
            new Map(),
        );
        // 100.01 / 80 = 1.250125: shows as 1.25, misses "at most 1.25".
        const r = steeper.find((x) => x.name === "synth-marginal-1200")!;
        expect(r.ratio).toBe(1.25);
        expect(r.note).toMatch(/MISSED$/);
    });

    it("has no linearity result with two sizes (--quick)", () => {
        const quick = settingsFor(true).synth.map((p, i) => ({ size: p.size, ms: 4000 * (i + 1), rssMiB: 200 }));
        expect(quick).toHaveLength(2);
        const names = synthResults(startup, quick, new Map()).map((r) => r.name);
        expect(names).toEqual(resultNames("synth", settingsFor(true)).map((r) => r.name));
        expect(names.some((n) => n.startsWith("synth-marginal"))).toBe(false);
    });
});

describe("settings", () => {
    it.each([false, true])("name every result a group reports when it cannot run (quick: %s)", (quick) => {
        const settings = settingsFor(quick);
        expect(resultNames("check", settings).map((r) => r.name)).toEqual(
            checkResultNames({ hung: settings.checkHung, npxRepetitions: settings.checkNpxRepetitions }),
        );
        for (const name of settings.checkHung) expect(settings.fleetEnvironments).toContain(name);
    });
});
