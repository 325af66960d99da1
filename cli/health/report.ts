/**
 * What `check` found, as data (`FleetReport`), as a table a person reads at a glance, or as
 * one JSON document, and the exit code: all pure.
 *
 * The report itself holds only what describes the fleet's state, so two runs against an
 * unchanged fleet print the same JSON. What varies from run to run even on a healthy fleet
 * (replication lag, durations) sits apart in `measurements`.
 */
import type { Problem, ReplicationState } from "./problems";
import type { EnvironmentKind } from "../../components/protocol";
import { EXIT_HEALTHY, EXIT_PROBLEMS } from "../core/exit";
import { formatBytes, tableLines } from "../core/format";

export type Status = "ok" | "problem" | "fixed";

export interface EnvironmentReport {
    name: string;
    kind: EnvironmentKind;
    /** ok: healthy; fixed: healthy after --fix changed something; problem: something remains. */
    status: Status;
    vault: { container: string; endpoint: string };
    operational: { container: string; endpoint: string } | null;
    replication: ReplicationState | null;
    /** What is wrong, in words; never a password. */
    problems: Problem[];
    /** What --fix changed. */
    changes: string[];
}

export interface Measurement {
    lagBytes: number | null;
    lagSeconds: number | null;
    durationMs: number;
}

export interface FleetReport {
    environments: EnvironmentReport[];
    /** By environment name. */
    measurements: Record<string, Measurement>;
}

/** 0 when every environment is healthy (ok or fixed), 1 when any problem remains. */
export function exitCode(report: FleetReport): number {
    return report.environments.every((e) => e.status !== "problem") ? EXIT_HEALTHY : EXIT_PROBLEMS;
}

export function statusOf(problems: Problem[], changes: string[]): Status {
    if (problems.length > 0) return "problem";
    return changes.length > 0 ? "fixed" : "ok";
}

export function summary(report: FleetReport): { ok: number; fixed: number; problem: number } {
    const count = (s: Status) => report.environments.filter((e) => e.status === s).length;
    return { ok: count("ok"), fixed: count("fixed"), problem: count("problem") };
}

/** One JSON document, keys in a fixed order. */
export function renderJson(report: FleetReport): string {
    const document = {
        healthy: exitCode(report) === EXIT_HEALTHY,
        summary: summary(report),
        environments: report.environments.map((e) => ({
            name: e.name,
            kind: e.kind,
            status: e.status,
            vault: { container: e.vault.container, endpoint: e.vault.endpoint },
            operational: e.operational && { container: e.operational.container, endpoint: e.operational.endpoint },
            replication: e.replication && {
                role: e.replication.role,
                master: e.replication.master,
                link: e.replication.link,
                user: e.replication.user,
            },
            problems: e.problems.map((p) => ({
                code: p.code,
                ...(p.setting ? { setting: p.setting } : {}),
                ...(p.user ? { user: p.user } : {}),
                ...(p.role ? { role: p.role } : {}),
                message: p.message,
            })),
            changes: e.changes,
        })),
        measurements: Object.fromEntries(
            report.environments.map((e) => {
                const m = report.measurements[e.name];
                return [e.name, { lagBytes: m?.lagBytes ?? null, lagSeconds: m?.lagSeconds ?? null, durationMs: m?.durationMs ?? null }];
            }),
        ),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}

const STATUS_TEXT: Record<Status, string> = { ok: "ok", problem: "PROBLEM", fixed: "FIXED" };

function lagText(m: Measurement | undefined): string {
    if (!m || (m.lagBytes === null && m.lagSeconds === null)) return "-";
    const bytes = m.lagBytes === null ? "?" : formatBytes(m.lagBytes);
    const seconds = m.lagSeconds === null ? "?" : `${m.lagSeconds} s`;
    return `${bytes}, ${seconds}`;
}

/**
 * One row per environment (the first problem in words), then every problem and change of
 * the environments that have more than fits in a row, then a one-line summary.
 */
export function renderTable(report: FleetReport): string {
    const header = ["ENV", "KIND", "STATUS", "LAG", "PROBLEM"];
    const rows = report.environments.map((e) => {
        const first =
            e.problems[0]?.message ??
            (e.changes.length > 0 ? `repaired: ${e.changes.length} change${e.changes.length === 1 ? "" : "s"}` : "-");
        const more = e.problems.length > 1 ? ` (+${e.problems.length - 1} more)` : "";
        return [e.name, e.kind, STATUS_TEXT[e.status], lagText(report.measurements[e.name]), first + more];
    });
    const out = tableLines(header, rows);

    const detailed = report.environments.filter((e) => e.problems.length > 1 || e.changes.length > 0);
    for (const e of detailed) {
        out.push("", `${e.name}:`);
        for (const p of e.problems) out.push(`  - ${p.message}`);
        for (const c of e.changes) out.push(`  + ${c}`);
    }
    const s = summary(report);
    const total = report.environments.length;
    out.push(
        "",
        `${total} environment${total === 1 ? "" : "s"}: ${s.ok} ok` +
            (s.fixed > 0 ? `, ${s.fixed} fixed` : "") +
            (s.problem > 0 ? `, ${s.problem} with problems` : ""),
    );
    return `${out.join("\n")}\n`;
}
