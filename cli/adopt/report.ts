/**
 * `nexus-redis adopt`'s report: what was found and what will be (or was) done, as a table
 * for people or one JSON document. Pure; never holds a password.
 */
import { type DataSource, describeData } from "./findings";
import type { EnvironmentPlan } from "./judge";
import { seconds, tableLines } from "../core/format";

/** Status in the report: the plan's, or after a takeover, what happened. */
export type ReportStatus = "adopt" | "adopted" | "refused" | "skipped" | "failed" | "rolled back" | "not reached";

export interface AdoptReport {
    dryRun: boolean;
    plans: EnvironmentPlan[];
    /** The Pulumi commands, printable (secrets shown as [secret]), in order; with --dry-run, those that would run. */
    commands: string[];
    /** After a takeover, per environment. */
    outcomes: Record<string, { status: ReportStatus; writesRefusedMs?: number; message?: string; kept?: string[] }>;
}

function statusOf(report: AdoptReport, plan: EnvironmentPlan): ReportStatus {
    return report.outcomes[plan.name]?.status ?? plan.status;
}

function keysText(plan: EnvironmentPlan): string {
    return plan.vault?.keys === undefined ? "-" : String(plan.vault.keys);
}

const STATUS_TEXT: Record<ReportStatus, string> = {
    adopt: "adopt",
    adopted: "ADOPTED",
    refused: "REFUSED",
    skipped: "skipped",
    failed: "FAILED",
    "rolled back": "ROLLED BACK",
    "not reached": "not reached",
};

/** One row per environment, then each environment's reasons (-) and notes (·), the commands, and a summary. */
export function renderTable(report: AdoptReport): string {
    const header = ["ENV", "KIND", "STATUS", "VAULT", "DATA", "KEYS", "REDIS", ...(report.dryRun ? [] : ["WRITES REFUSED"])];
    const rows = report.plans.map((p) => [
        p.name,
        p.kind,
        STATUS_TEXT[statusOf(report, p)],
        p.vault ? `${p.vault.container} ${p.vault.endpoint}` : "-",
        p.vault ? describeData(p.vault.data) : "-",
        keysText(p),
        p.vault?.version ?? "-",
        ...(report.dryRun ? [] : [seconds(report.outcomes[p.name]?.writesRefusedMs)]),
    ]);
    const out = tableLines(header, rows);
    for (const p of report.plans) {
        const outcome = report.outcomes[p.name];
        const reasons = p.status === "skipped" ? [] : p.reasons;
        const extra = [...(outcome?.message ? [outcome.message] : []), ...(outcome?.kept ?? [])];
        if (reasons.length === 0 && p.notes.length === 0 && extra.length === 0) continue;
        out.push("", `${p.name}:`);
        const item = (mark: string, text: string) => text.split("\n").map((l, i) => (i === 0 ? `  ${mark} ${l}` : `    ${l}`));
        for (const r of reasons) out.push(...item("-", r));
        for (const n of p.notes) out.push(...item("·", n));
        for (const e of extra) out.push(...item(outcome?.status === "adopted" ? "+" : "-", e));
    }
    if (report.commands.length > 0) {
        out.push("", report.dryRun ? "would run, in this order (each environment's config, a preview, then pulumi up):" : "ran:");
        for (const c of report.commands) out.push(`  ${c}`);
    }
    const count = (s: ReportStatus) => report.plans.filter((p) => statusOf(report, p) === s).length;
    const parts = (
        [
            ["adopt", report.dryRun ? "to adopt" : "to adopt"],
            ["adopted", "adopted"],
            ["failed", "failed"],
            ["rolled back", "rolled back"],
            ["not reached", "not reached"],
            ["refused", "refused"],
            ["skipped", "skipped"],
        ] as [ReportStatus, string][]
    )
        .filter(([s]) => count(s) > 0)
        .map(([s, text]) => `${count(s)} ${text}`);
    const total = report.plans.length;
    let verdict = "";
    if (count("refused") > 0) verdict = ": nothing was changed (a refused environment stops the whole run; --env chooses)";
    else if (report.dryRun) verdict = count("adopt") > 0 ? ": nothing was changed (--dry-run)" : ": nothing to adopt";
    else if (count("adopt") + count("adopted") + count("failed") + count("rolled back") === 0) verdict = ": nothing to adopt";
    out.push("", `${total} environment${total === 1 ? "" : "s"}: ${parts.join(", ")}${verdict}`);
    return `${out.join("\n")}\n`;
}

function dataJson(data: DataSource): Record<string, unknown> {
    if (data.kind === "volume") return { kind: data.anonymous ? "anonymous-volume" : "volume", name: data.name };
    if (data.kind === "host") return { kind: "host-folder", path: data.path };
    return { kind: "none", why: data.why };
}

/** One JSON document, keys in a fixed order; durations apart in `measurements`. */
export function renderJson(report: AdoptReport): string {
    const document = {
        dryRun: report.dryRun,
        changed:
            !report.dryRun &&
            Object.values(report.outcomes).some((o) => o.status === "adopted" || o.status === "failed" || o.status === "rolled back"),
        environments: report.plans.map((p) => ({
            name: p.name,
            kind: p.kind,
            status: statusOf(report, p),
            vault: p.vault
                ? {
                      container: p.vault.container,
                      endpoint: p.vault.endpoint,
                      data: dataJson(p.vault.data),
                      network: p.vault.network ?? null,
                      redisVersion: p.vault.version ?? null,
                      keys: p.vault.keys ?? null,
                      keysByDatabase: p.vault.keyspace
                          ? Object.fromEntries(Object.entries(p.vault.keyspace).map(([db, counts]) => [`db${db}`, counts.keys]))
                          : null,
                  }
                : null,
            operational: p.operational ? { container: p.operational.container, endpoint: p.operational.endpoint } : null,
            item: p.item ?? null,
            vaultData: p.vaultData ?? null,
            reasons: p.reasons,
            notes: p.notes,
            message: report.outcomes[p.name]?.message ?? null,
            kept: report.outcomes[p.name]?.kept ?? [],
        })),
        commands: report.commands,
        measurements: Object.fromEntries(
            Object.entries(report.outcomes)
                .filter(([, o]) => o.writesRefusedMs !== undefined)
                .map(([name, o]) => [name, { writesRefusedMs: o.writesRefusedMs }]),
        ),
    };
    return `${JSON.stringify(document, null, 2)}\n`;
}
