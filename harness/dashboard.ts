/**
 * The Grafana dashboard (docs/grafana/nexus-redis.json) as its tests and the docs' screenshot
 * read it: every PromQL query it holds (panel targets, template variables, annotations), the
 * query with Grafana's variables given values, and the metric names a query selects. Pure.
 *
 * The metric names come from a small PromQL tokenizer rather than Prometheus's parser, which
 * has no command that prints a query's selectors (promtool 2.42 validates, it does not print):
 * the tests validate each query with promtool as well, so a query this reads wrongly is one
 * Prometheus rejects anyway.
 */

/**
 * node_exporter's own metrics the dashboard may use besides ours: its textfile collector's
 * (docs/monitoring.md). The live test sees node_exporter serve each of them.
 */
export const NODE_EXPORTER_METRICS = ["node_textfile_mtime_seconds", "node_textfile_scrape_error"];

export interface DashboardQuery {
    /** Where the query is, for a person: `panel "Replication lag" (id 9), target A`. */
    where: string;
    /** The panel's title, or the variable's or annotation's name. */
    title: string;
    /** PromQL, with Grafana's variables (`$environment`) as written. */
    expr: string;
}

interface Target {
    expr?: string;
    refId?: string;
}
interface Panel {
    id?: number;
    title?: string;
    type?: string;
    targets?: Target[];
    panels?: Panel[];
}
interface Variable {
    name?: string;
    type?: string;
    query?: string | { query?: string };
}
export interface Dashboard {
    panels?: Panel[];
    templating?: { list?: Variable[] };
    annotations?: { list?: { name?: string; expr?: string }[] };
}

/** Every panel, those inside rows included, in the order Grafana lays them out. */
export function allPanels(dashboard: Dashboard): Panel[] {
    return (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * A query variable's PromQL: `label_values(SELECTOR, LABEL)` and `query_result(EXPR)` hold
 * one; `label_values(LABEL)`, `label_names()` and `metrics(REGEX)` name no metric of ours and
 * are refused, so that every variable stays checkable.
 */
export function variableExpr(query: string): string {
    const match = /^\s*(label_values|query_result)\s*\(([\s\S]*)\)\s*$/.exec(query);
    if (!match) throw new Error(`a variable query this cannot check: ${query}`);
    if (match[1] === "query_result") return match[2];
    const comma = match[2].lastIndexOf(",");
    if (comma < 0) throw new Error(`label_values without a metric selector names no metric: ${query}`);
    return match[2].slice(0, comma);
}

/** Every PromQL query of the dashboard, with where it is. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
    const queries: DashboardQuery[] = [];
    for (const panel of allPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
            if (target.expr === undefined) throw new Error(`panel "${panel.title}" (id ${panel.id}) has a target without expr`);
            const title = panel.title ?? "";
            queries.push({ where: `panel "${title}" (id ${panel.id}), target ${target.refId}`, title, expr: target.expr });
        }
    }
    for (const variable of dashboard.templating?.list ?? []) {
        if (variable.type !== "query") continue;
        const query = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
        queries.push({ where: `variable $${variable.name}`, title: variable.name ?? "", expr: variableExpr(query) });
    }
    for (const annotation of dashboard.annotations?.list ?? []) {
        if (annotation.expr)
            queries.push({ where: `annotation "${annotation.name}"`, title: annotation.name ?? "", expr: annotation.expr });
    }
    return queries;
}

/**
 * `expr` with Grafana's variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) replaced
 * by `values`; a variable without a value is an error naming it. `$1` (a regex group, as in
 * label_replace) is not a variable.
 */
export function expandVariables(expr: string, values: Readonly<Record<string, string>>): string {
    return expr.replace(/\$\{([A-Za-z_]\w*)(?::[^}]*)?\}|\[\[([A-Za-z_]\w*)\]\]|\$([A-Za-z_]\w*)/g, (all, a, b, c) => {
        const name: string = a ?? b ?? c;
        if (!Object.hasOwn(values, name)) throw new Error(`unknown variable ${all} in: ${expr}`);
        return values[name];
    });
}

/** Keywords that are neither metrics nor functions (PromQL's lexer: case-insensitive). */
const KEYWORDS = new Set([
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "offset",
    "inf",
    "nan",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
]);
/** Keywords followed by a parenthesized list of label names. */
const LABEL_LISTS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);

/** The index just past the string literal that starts at `start`. */
function endOfString(expr: string, start: number): number {
    const quote = expr[start];
    for (let i = start + 1; i < expr.length; i++) {
        if (expr[i] === "\\" && quote !== "`") i++;
        else if (expr[i] === quote) return i + 1;
    }
    throw new Error(`an unterminated string in: ${expr}`);
}

/** The index just past the bracket that closes the one at `start`, strings skipped. */
function endOfGroup(expr: string, start: number, close: string): number {
    const open = expr[start];
    let depth = 0;
    for (let i = start; i < expr.length; ) {
        const c = expr[i];
        if (c === '"' || c === "'" || c === "`") {
            i = endOfString(expr, i);
            continue;
        }
        if (c === open) depth++;
        else if (c === close && --depth === 0) return i + 1;
        i++;
    }
    throw new Error(`an unclosed ${open} in: ${expr}`);
}

/** The metric names a `{...}` selector body names through `__name__`. */
function namesInMatchers(body: string, expr: string): string[] {
    const names: string[] = [];
    for (const m of body.matchAll(/__name__\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g)) {
        if (m[1] !== "=") throw new Error(`__name__${m[1]} matches metric names by pattern, which cannot be checked: ${expr}`);
        names.push(m[2].slice(1, -1));
    }
    return names;
}

/** The metric names `expr` (PromQL, no Grafana variables) selects, each once, in order. */
export function metricNames(expr: string): string[] {
    const names = new Set<string>();
    let i = 0;
    while (i < expr.length) {
        const c = expr[i];
        if (c === '"' || c === "'" || c === "`") i = endOfString(expr, i);
        else if (c === "#") i = expr.includes("\n", i) ? expr.indexOf("\n", i) : expr.length;
        else if (c === "{") {
            const end = endOfGroup(expr, i, "}");
            for (const name of namesInMatchers(expr.slice(i + 1, end - 1), expr)) names.add(name);
            i = end;
        } else if (c === "[") i = endOfGroup(expr, i, "]");
        else if (/[0-9.]/.test(c)) {
            // A number or a duration: 0, 1.5, 1e+06, 0x1f, 5m, 1h30m.
            i++;
            while (i < expr.length && (/[0-9a-zA-Z_.]/.test(expr[i]) || (/[+-]/.test(expr[i]) && /[eE]/.test(expr[i - 1])))) i++;
        } else if (/[a-zA-Z_:]/.test(c)) {
            const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))![0];
            i += ident.length;
            let next = i;
            while (next < expr.length && /\s/.test(expr[next])) next++;
            const keyword = ident.toLowerCase();
            // `sum by (x) (...)`: an aggregation whose label list comes before its argument.
            const grouped = /^(by|without)\s*\(/i.test(expr.slice(next));
            if (LABEL_LISTS.has(keyword) && expr[next] === "(") i = endOfGroup(expr, next, ")");
            else if (KEYWORDS.has(keyword) || expr[next] === "(" || grouped)
                continue; // a keyword, a function or an aggregation
            else names.add(ident);
        } else i++;
    }
    return [...names];
}

export interface UnknownMetric {
    where: string;
    metric: string;
}

/** The metrics the dashboard's queries name that are not in `known`, with where each is. */
export function unknownMetrics(
    dashboard: Dashboard,
    known: ReadonlySet<string>,
    variables: Readonly<Record<string, string>>,
): UnknownMetric[] {
    return dashboardQueries(dashboard).flatMap((q) =>
        metricNames(expandVariables(q.expr, variables))
            .filter((metric) => !known.has(metric))
            .map((metric) => ({ where: q.where, metric })),
    );
}
