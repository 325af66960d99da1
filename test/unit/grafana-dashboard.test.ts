/**
 * The Grafana dashboard users import (docs/grafana/nexus-redis.json): an export Grafana imports
 * anywhere (its datasource an input, an environment variable), each query accepted by
 * Prometheus's own parser (promtool), and naming only metrics that exist: those check and
 * backup write, taken from their exposition made by the real code on sample data
 * (metricsSamples.ts), or node_exporter's textfile metrics, which the live test sees it serve.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { BACKUP_METRICS } from "../../cli/backup/metrics";
import { CHECK_METRICS } from "../../cli/check/metrics";
import { parseSamples, renderExposition } from "../../cli/core/prometheus";
import {
    type Dashboard,
    NODE_EXPORTER_METRICS,
    allPanels,
    dashboardQueries,
    expandVariables,
    metricNames,
    unknownMetrics,
    variableExpr,
} from "../../harness/dashboard";
import { prometheusAvailable, promtool } from "../../harness/prometheus";
import { PANELS, graphUrl, panelQueries } from "../../scripts/docs-screenshot";
import { backupScenarios, checkScenarios } from "./metricsSamples";

const ROOT = path.resolve(__dirname, "../..");
const FILE = path.join(ROOT, "docs/grafana/nexus-redis.json");
const dashboard = (): any => JSON.parse(readFileSync(FILE, "utf8"));
/** What Grafana puts for `$environment` when All is chosen (the variable's allValue). */
const ALL = { environment: ".+" };
const DATASOURCE = { type: "prometheus", uid: "${DS_PROMETHEUS}" };

const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** The names of the samples check and backup write, in exposition made by their own code on sample fleets and runs. */
async function emittedMetrics(): Promise<Set<string>> {
    const names = new Set<string>();
    for (const [definitions, scenarios] of [
        [CHECK_METRICS, checkScenarios()],
        [BACKUP_METRICS, backupScenarios()],
    ] as const) {
        for (const [, samples] of scenarios)
            for (const sample of parseSamples(await renderExposition(definitions, samples))) names.add(sample.name);
    }
    return names;
}

/** A copy of the dashboard with the first target of the panel titled `title` replaced by `expr`. */
function withExpr(title: string, expr: string): Dashboard {
    const copy = dashboard();
    const panel = allPanels(copy).find((p) => p.title === title);
    if (!panel?.targets) throw new Error(`no panel ${title}`);
    panel.targets[0].expr = expr;
    return copy;
}

/** `promtool check rules` on every query of `d`, each a recording rule; its output and status. */
async function promtoolCheck(d: Dashboard) {
    const rules = dashboardQueries(d).map((q, i) => ({ record: `dashboard:query_${i}`, expr: expandVariables(q.expr, ALL) }));
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-dashboard-"));
    made.push(dir);
    const file = path.join(dir, "dashboard.rules.yml");
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    return { count: rules.length, run: await promtool(["check", "rules", file]) };
}

describe("metric names in PromQL", () => {
    describe.each<[string, string, string[]]>([
        ["a bare name", "nexus_redis_keys", ["nexus_redis_keys"]],
        [
            "a comparison inside an aggregation, or a constant",
            'count(nexus_redis_replication_link_up{environment=~".+"} == 0) or vector(0)',
            ["nexus_redis_replication_link_up"],
        ],
        [
            "an aggregation's label list before its argument",
            "sum by (environment, role, code) (nexus_redis_check_problems)",
            ["nexus_redis_check_problems"],
        ],
        ["an aggregation's label list after its argument", "sum(a) without (instance, job)", ["a"]],
        ["vector matching and grouping", "a / on (environment, role) group_left (reason) b", ["a", "b"]],
        ["grouping without a label list", "a * on (x) group_left b", ["a", "b"]],
        ["set operators and atan2, in any case", "a AND b unless c or d atan2 e", ["a", "b", "c", "d", "e"]],
        ["a range, an offset and a subquery", "rate(x_total[5m] offset 1h) + max_over_time(y[10m:1m])", ["x_total", "y"]],
        ["numbers in every form", "1e+06 < y and 0x1f > z or -.5 * w and inf > v and NaN != u", ["y", "z", "w", "v", "u"]],
        ["label values that look like PromQL", 'x{a="} or (y)", b=~"sum(z)"}', ["x"]],
        ["single-quoted and raw strings", "x{a='}', b=`{`}", ["x"]],
        ["a name given by __name__", '{__name__="up", job="node"} + {__name__ = \'other\'}', ["up", "other"]],
        ["a comment", "# not_a_metric\nx", ["x"]],
        ["time() and the same name twice", "time() - a + a", ["a"]],
        ["names with colons (recording rules)", "job:requests:rate5m", ["job:requests:rate5m"]],
    ])("%s", (_what, expr, names) => {
        it(`reads ${JSON.stringify(names)}`, () => {
            expect(metricNames(expr)).toEqual(names);
        });
    });

    it.each([
        ['{__name__=~"nexus_.*"}', /matches metric names by pattern/],
        ['x{a="open', /unterminated string/],
        ["sum by (environment x", /unclosed \(/],
        ["rate(x[5m)", /unclosed \[/],
    ])("refuses %s, which cannot be checked", (expr, error) => {
        expect(() => metricNames(expr)).toThrow(error);
    });

    it.each([
        ['x{environment=~"$environment"}', 'x{environment=~".+"}'],
        ['x{environment=~"${environment}"}', 'x{environment=~".+"}'],
        ['x{environment=~"${environment:regex}"}', 'x{environment=~".+"}'],
        ['x{environment=~"[[environment]]"}', 'x{environment=~".+"}'],
        ['label_replace(x, "a", "$1", "b", "(.*)")', 'label_replace(x, "a", "$1", "b", "(.*)")'],
    ])("gives Grafana's variables their values: %s", (expr, expanded) => {
        expect(expandVariables(expr, ALL)).toBe(expanded);
    });

    it("names a variable that has no value", () => {
        expect(() => expandVariables("rate(x[$__rate_interval])", ALL)).toThrow(/unknown variable \$__rate_interval/);
    });

    it.each([
        ["label_values(nexus_redis_keys, environment)", "nexus_redis_keys"],
        ['label_values(nexus_redis_keys{role="vault"}, environment)', 'nexus_redis_keys{role="vault"}'],
        ["query_result(max by (environment) (x))", "max by (environment) (x)"],
    ])("reads the PromQL of the variable query %s", (query, expr) => {
        expect(variableExpr(query)).toBe(expr);
    });

    it.each(["label_values(environment)", "label_names()", "metrics(nexus_.*)"])(
        "refuses the variable query %s, which names no metric",
        (query) => {
            expect(() => variableExpr(query)).toThrow();
        },
    );
});

describe("the Grafana dashboard", () => {
    it("is an export Grafana imports anywhere: its Prometheus an input, used by every panel, target and variable", () => {
        const d = dashboard();
        expect(d.__inputs).toEqual([expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" })]);
        expect(d.__requires).toContainEqual(expect.objectContaining({ type: "datasource", id: "prometheus" }));
        // Grafana's classic JSON model at Grafana 12.0's version; a newer Grafana migrates it on import.
        expect(d.schemaVersion).toBe(41);
        expect(d.id).toBeNull();
        expect(d.uid).toBe("nexus-redis");
        const panels = allPanels(d).filter((p) => p.type !== "row");
        expect(panels.length).toBeGreaterThan(10);
        for (const panel of panels as any[]) {
            expect(panel.datasource, panel.title).toEqual(DATASOURCE);
            for (const target of panel.targets) expect(target.datasource, panel.title).toEqual(DATASOURCE);
        }
        for (const variable of d.templating.list) expect(variable.datasource).toEqual(DATASOURCE);
        // Nothing of the machine it was made on: no datasource uid, no URL.
        expect(JSON.stringify(d)).not.toMatch(/"uid":\s*"(?!\$\{DS_PROMETHEUS\}|-- Grafana --|nexus-redis")/);
        expect(JSON.stringify(d)).not.toMatch(/https?:\/\//);
    });

    it("has an environment variable of the environments check reports (several, or all), and every query of ours filters by it", () => {
        const d = dashboard();
        const variable = d.templating.list.find((v: any) => v.name === "environment");
        expect(variable).toMatchObject({ type: "query", multi: true, includeAll: true, allValue: ".+" });
        expect(variableExpr(variable.query.query)).toBe("nexus_redis_check_timestamp_seconds");
        for (const q of dashboardQueries(d).filter((x) => x.where.startsWith("panel"))) {
            const selectors = [...q.expr.matchAll(/nexus_redis_[a-z_]+(\{[^}]*\})?/g)];
            for (const s of selectors) expect(s[1] ?? "", `${q.where}: ${q.expr}`).toContain('environment=~"$environment"');
        }
    });

    it("names only metrics check and backup write (from their real exposition) or node_exporter's textfile metrics", async () => {
        const known = new Set([...(await emittedMetrics()), ...NODE_EXPORTER_METRICS]);
        expect(unknownMetrics(dashboard(), known, ALL)).toEqual([]);
        const used = new Set(dashboardQueries(dashboard()).flatMap((q) => metricNames(expandVariables(q.expr, ALL))));
        expect(used.size).toBeGreaterThan(15);
    });

    it("would name a panel that queries a metric nobody writes, and a variable that does", async () => {
        const known = new Set([...(await emittedMetrics()), ...NODE_EXPORTER_METRICS]);
        const typo = withExpr("Replication lag", 'nexus_redis_replication_lag{environment=~"$environment"}');
        expect(unknownMetrics(typo, known, ALL)).toEqual([
            { where: expect.stringMatching(/^panel "Replication lag" \(id \d+\), target A$/), metric: "nexus_redis_replication_lag" },
        ]);
        const variable = dashboard();
        (variable.templating!.list![0] as any).query.query = "label_values(nexus_redis_up, environment)";
        expect(unknownMetrics(variable, known, ALL)).toEqual([{ where: "variable $environment", metric: "nexus_redis_up" }]);
        // A metric that is defined but never written (no sample) is no metric either.
        expect(unknownMetrics(dashboard(), new Set([...known].filter((m) => m !== "nexus_redis_keys")), ALL)).toEqual([
            { where: expect.stringMatching(/^panel "Keys" /), metric: "nexus_redis_keys" },
        ]);
    });

    it("shows per environment the link, the lag and the backup age, and what an operator looks at first", () => {
        const d = dashboard();
        const panel = (title: string) => allPanels(d).find((p) => p.title === title) as any;
        const per = (title: string, metric: string) => {
            const p = panel(title);
            expect(p, title).toBeDefined();
            expect(metricNames(expandVariables(p.targets[0].expr, ALL)), title).toContain(metric);
            expect(p.targets[0].legendFormat, title).toContain("{{environment}}");
        };
        per("Replication link", "nexus_redis_replication_link_up");
        per("Replication lag", "nexus_redis_replication_lag_bytes");
        per("Time since the last good backup", "nexus_redis_backup_last_success_timestamp_seconds");
        per("Last good backup", "nexus_redis_backup_last_success_timestamp_seconds");
        per("Vault accepts writes", "nexus_redis_accepts_writes");
        per("Why writes are refused", "nexus_redis_writes_refused");
        per("Keys", "nexus_redis_keys");
        per("Memory used and its limit", "nexus_redis_memory_used_bytes");
        per("Problems by code", "nexus_redis_check_problems");
        expect(panel("Why writes are refused").targets[0].legendFormat).toContain("{{reason}}");
        expect(panel("Problems by code").targets[0].legendFormat).toContain("{{code}}");
        const used = new Set(dashboardQueries(d).flatMap((q) => metricNames(expandVariables(q.expr, ALL))));
        for (const metric of [
            "nexus_redis_memory_max_bytes",
            "nexus_redis_check_timestamp_seconds",
            "nexus_redis_backup_last_run_failed",
            "node_textfile_mtime_seconds",
        ])
            expect(used).toContain(metric);
    });

    it.each<[string, string]>([
        ["Replication lag", "bytes"],
        ["Since the operational last heard from its vault", "s"],
        ["Oldest last good backup", "s"],
        ["Time since the last good backup", "s"],
        ["Last good backup", "dateTimeFromNow"],
        ["Last good backup's size", "bytes"],
        ["Last good backup's duration", "s"],
        ["Memory used and its limit", "bytes"],
        ["Memory used of the limit", "percentunit"],
        ["Age of check's report", "s"],
        ["Metrics files' age (node_exporter)", "s"],
    ])("gives %s the unit %s", (title, unit) => {
        const panel = allPanels(dashboard()).find((p) => p.title === title) as any;
        expect(panel.fieldConfig.defaults.unit).toBe(unit);
    });

    it("feeds dateTimeFromNow milliseconds, which it reads, not Prometheus's seconds", () => {
        for (const panel of allPanels(dashboard()) as any[]) {
            if (panel.fieldConfig?.defaults?.unit !== "dateTimeFromNow") continue;
            for (const target of panel.targets) expect(target.expr, panel.title).toMatch(/_timestamp_seconds\{[^}]*\} \* 1000$/);
        }
    });

    it("lays its panels out without overlap, each with its own id and a description", () => {
        const panels = allPanels(dashboard()) as any[];
        expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
        const cells = new Set<string>();
        for (const p of panels) {
            const { x, y, w, h } = p.gridPos;
            expect(x + w, p.title).toBeLessThanOrEqual(24);
            for (let i = x; i < x + w; i++)
                for (let j = y; j < y + h; j++) {
                    expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
                    cells.add(`${i},${j}`);
                }
            if (p.type !== "row") expect(p.description, p.title).toBeTruthy();
        }
    });

    it.skipIf(!prometheusAvailable())(
        "has queries Prometheus's own parser accepts (promtool check rules), and would catch one it rejects",
        async () => {
            const { count, run } = await promtoolCheck(dashboard());
            expect(run.output).toContain(`SUCCESS: ${count} rules found`);
            expect(run.status).toBe(0);
            const broken = await promtoolCheck(withExpr("Keys", 'sum by (environment (nexus_redis_keys{environment=~"$environment"})'));
            expect(broken.run.status).toBe(1);
            expect(broken.run.output).toMatch(/FAILED/);
        },
    );
});

describe("the docs' screenshot (scripts/docs-screenshot.ts)", () => {
    it("draws panels the dashboard has: the first query of each, for every environment", () => {
        const queries = panelQueries(dashboard(), PANELS);
        expect(queries).toHaveLength(PANELS.length);
        expect(queries[0]).toBe('nexus_redis_replication_link_up{environment=~".+"}');
        for (const q of queries) expect(q).not.toContain("$");
    });

    it("names a panel the dashboard does not have", () => {
        expect(() => panelQueries(dashboard(), ["Replication link", "Uptime"])).toThrow('the dashboard has no panel "Uptime" with a query');
    });

    it("asks Prometheus's graph page for one graph per query, each over the whole run", () => {
        const url = new URL(graphUrl("http://127.0.0.1:9090", ["a", 'b{x=~".+"}'], 170));
        expect(url.origin + url.pathname).toBe("http://127.0.0.1:9090/graph");
        expect(Object.fromEntries(url.searchParams)).toEqual({
            "g0.expr": "a",
            "g0.tab": "0",
            "g0.range_input": "170s",
            "g1.expr": 'b{x=~".+"}',
            "g1.tab": "0",
            "g1.range_input": "170s",
        });
    });
});
