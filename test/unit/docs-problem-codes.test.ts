/**
 * docs/check.md's table of problem codes must name every code check can report, and no other,
 * with the role each is counted under and what recover waits for, so the page cannot fall behind
 * a code added to the judge (`PROBLEM_CODES`, the list `ProblemCode` is made from).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROBLEM_CODES, type ProblemCode, VAULT_PROBLEMS } from "../../cli/health/problems";
import { problemRole } from "../../cli/check/metrics";

const ROOT = path.resolve(__dirname, "../..");
const PAGE = readFileSync(path.join(ROOT, "docs/check.md"), "utf8");

interface Row {
    code: string;
    role: string;
    meaning: string;
    fix: string;
    recover: string;
}

/** The rows of the table under `## Problem codes`. */
function tableRows(page: string): Row[] {
    const section = page.slice(page.indexOf("\n## Problem codes\n"));
    // The table as Biome formats it: cells padded to the column's width.
    const start = section.search(/\n\| Code +\|/);
    expect(start).toBeGreaterThan(0);
    const lines = section.slice(start + 1).split("\n");
    const table = lines.slice(
        2,
        lines.findIndex((l) => !l.startsWith("|")),
    );
    return table.map((line) => {
        const cells = line
            .slice(1, -1)
            .split("|")
            .map((c) => c.trim());
        expect(cells, line).toHaveLength(5);
        const code = /^`([a-z-]+)`$/.exec(cells[0]);
        expect(code, line).not.toBeNull();
        return { code: code![1], role: cells[1], meaning: cells[2], fix: cells[3], recover: cells[4] };
    });
}

/** The codes only --fix adds to a report: recover never runs --fix. */
const FIX_REPORTS = new Set(["not-fixed", "fix-failed"]);

describe("extracting the table", () => {
    it("reads the cells of each row, and fails on a row with a cell missing", () => {
        const page =
            "x\n## Problem codes\n\n| Code | Role | Meaning | f | r |\n| --- | --- | --- | --- | --- |\n| `a-b` | vault | m | no | yes |\n\nafter\n";
        expect(tableRows(page)).toEqual([{ code: "a-b", role: "vault", meaning: "m", fix: "no", recover: "yes" }]);
        expect(() => tableRows(page.replace("| m |", ""))).toThrow();
    });
});

describe("docs/check.md's table of problem codes", () => {
    const rows = tableRows(PAGE);

    it("names every code check reports, once each, and no other", () => {
        const codes = rows.map((r) => r.code);
        expect(new Set(codes).size).toBe(codes.length);
        expect([...codes].sort()).toEqual([...PROBLEM_CODES].sort());
    });

    it.each(rows.map((r) => [r.code, r] as const))("gives %s the role it is counted under, and a meaning", (code, row) => {
        expect(row.meaning.length).toBeGreaterThan(10);
        if (code === "tls-cert-expiring") expect(row.role).toMatch(/^either/);
        else expect(row.role).toBe(problemRole("standard", code as ProblemCode));
    });

    it.each(rows.map((r) => [r.code, r] as const))(
        "says of %s whether recover waits for it, and that --fix never repairs a vault",
        (code, row) => {
            if (FIX_REPORTS.has(code)) expect(row.recover).toMatch(/^—/);
            else expect(row.recover).toBe(VAULT_PROBLEMS.has(code as ProblemCode) ? "no" : "yes");
            if (row.role === "vault") expect(row.fix).toBe("no");
        },
    );
});
