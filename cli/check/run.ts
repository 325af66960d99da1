/** `nexus-redis check [--fix]`: every environment of the stack at once, one row each. */
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_SYNC_TIMEOUT_MS } from "../core/defaults";
import { UsageError, parseMs } from "../core/errors";
import { buildReport, checkEnvironments } from "../health/checkFleet";
import type { CliIo, Invocation } from "../core/io";
import type { ValuesOf } from "../core/spec";
import type { CHECK } from "./spec";
import { loadFleet } from "../fleet/load";
import { parsePrometheusFile } from "../core/prometheus";
import type { EnvironmentsOutput } from "../fleet/environment";
import { exitCode, renderJson, renderTable } from "../health/report";

export async function run({ values, opened }: Invocation<ValuesOf<typeof CHECK>>, io: CliIo): Promise<number> {
    const timeoutMs = parseMs("--timeout", values.timeout, DEFAULT_CHECK_TIMEOUT_MS);
    const syncTimeoutMs = parseMs("--sync-timeout", values["sync-timeout"], DEFAULT_SYNC_TIMEOUT_MS);
    const waitMs = values.wait === undefined ? 0 : parseMs("--wait", values.wait, 0);
    // Loaded only with --prometheus: prom-client costs a process two thirds of a whole check's CPU.
    const metrics = values.prometheus === undefined ? undefined : await import("./metrics.js");
    parsePrometheusFile(values.prometheus);
    // On Swarm, the probe must outlive every conversation, repair and wait of this run.
    const lifetime = Math.ceil((waitMs + syncTimeoutMs + 10 * timeoutMs) / 1000) + 120;
    const environments = await loadFleet("check", { file: values.outputs, stack: values.stack }, io, opened, lifetime);
    const names = selectEnvironments(environments, values.env ?? []);
    if (!values.json)
        io.stderr.write(
            `checking ${names.length} environment${names.length === 1 ? "" : "s"}${values.fix ? " (repairing what is safe)" : ""}...\n`,
        );
    const options = { timeoutMs, syncTimeoutMs, fix: values.fix ?? false, force: values.force ?? false };
    const started = Date.now();
    let results = await checkEnvironments(environments, names, options);
    let report = buildReport(results);
    if (exitCode(report) !== 0 && waitMs > 0 && !values.json)
        io.stderr.write(`not healthy yet: checking again every second for up to ${Math.round(waitMs / 1000)} s\n`);
    while (exitCode(report) !== 0 && Date.now() - started < waitMs) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        results = await checkEnvironments(environments, names, options);
        report = buildReport(results);
    }
    io.stdout.write(values.json ? renderJson(report) : renderTable(report));
    if (!metrics || values.prometheus === undefined) return exitCode(report);
    return metrics.publishCheckMetrics(values.prometheus, results, report, Object.keys(environments), io, exitCode(report));
}

function selectEnvironments(environments: EnvironmentsOutput, wanted: string[]): string[] {
    const all = Object.keys(environments);
    if (wanted.length === 0) return all;
    const unknown = wanted.filter((name) => !(name in environments));
    if (unknown.length > 0) {
        throw new UsageError(
            `unknown environment${unknown.length === 1 ? "" : "s"} ${unknown.map((n) => `"${n}"`).join(", ")} in --env; the stack's are ${all.join(", ")}`,
        );
    }
    // The stack's order, each once, whatever order --env came in.
    return all.filter((name) => wanted.includes(name));
}
