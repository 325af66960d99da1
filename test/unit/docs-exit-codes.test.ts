/**
 * The README's tables of exit codes must list every code cli/core/exit.ts defines, and no
 * other, each with the meaning exit.ts gives it (`EXIT_CODES`) and a word for each command, so
 * a code added to the CLI alone, or to the README alone, turns this red. The same holds for the
 * "Exit codes:" section of every --help page.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import * as exit from "../../cli/core/exit";
import { cli } from "./cliRun";
import { ROOT } from "./docsFiles";

const README = readFileSync(path.join(ROOT, "README.md"), "utf8");

/** The README's two tables: every command but backup and restore, then those two. */
const TABLES = ["### Exit codes", "### Exit codes of backup and restore"];

/** The header and rows of the first table after `heading` (a line of its own), cells trimmed. */
function tableAfter(page: string, heading: string): { header: string[]; rows: string[][] } {
    const at = page.indexOf(`\n${heading}\n`);
    expect(at, heading).toBeGreaterThanOrEqual(0);
    const lines = page.slice(at + heading.length + 2).split("\n");
    const first = lines.findIndex((l) => l.startsWith("|"));
    const table = lines.slice(first);
    const end = table.findIndex((l) => !l.startsWith("|"));
    const cells = (line: string) =>
        line
            .slice(1, -1)
            .split("|")
            .map((c) => c.trim());
    const [header, , ...rows] = table.slice(0, end === -1 ? undefined : end).map(cells);
    return { header, rows };
}

describe("extracting a table", () => {
    it("reads the header and the rows under the heading, and no table before it", () => {
        const page = "| x |\n| - |\n| y |\n\n### Exit codes\n\n| Code | Meaning |\n| --- | --- |\n| 0 | success |\n\nafter\n";
        expect(tableAfter(page, "### Exit codes")).toEqual({ header: ["Code", "Meaning"], rows: [["0", "success"]] });
    });
});

describe("cli/core/exit.ts", () => {
    it("lists in EXIT_CODES every EXIT_ constant it exports, once each", () => {
        const constants = Object.entries(exit)
            .filter(([name, value]) => name.startsWith("EXIT_") && typeof value === "number")
            .map(([, value]) => value as number);
        const listed = exit.EXIT_CODES.map((c) => c.code);
        expect(new Set(listed).size).toBe(listed.length);
        expect([...listed].sort()).toEqual([...constants].sort());
    });
});

describe.each(TABLES)("the README's table under %s", (heading) => {
    const { header, rows } = tableAfter(README, heading);

    it("lists every exit code, in order, with the meaning exit.ts gives it, and no other", () => {
        expect(header.slice(0, 2)).toEqual(["Code", "Meaning"]);
        expect(rows.map(([code, meaning]) => ({ code: Number(code), meaning }))).toEqual(exit.EXIT_CODES);
    });

    it("says for each command what each code means to it", () => {
        expect(header.length).toBeGreaterThan(2);
        for (const row of rows) {
            expect(row, row[0]).toHaveLength(header.length);
            for (const cell of row.slice(2)) expect(cell, `${heading} ${row[0]}`).not.toBe("");
        }
    });
});

describe.each([["--help"], ["backup", "--help"], ["restore", "--help"]])("the exit codes of nexus-redis %s %s", (...argv) => {
    it("list every code exit.ts defines, in order, and no other; usage and internal errors in exit.ts's words", async () => {
        const run = await cli(argv);
        expect(run.code).toBe(0);
        const section = run.stdout.slice(run.stdout.indexOf("\nExit codes:\n"));
        expect(section).not.toBe(run.stdout);
        // A code's entry is a line "  N  text", continued on lines indented further.
        const entries = [...section.matchAll(/^ {2}(\d+) {2}(.*)$/gm)].map(([, code, text]) => ({ code: Number(code), text }));
        expect(entries.map((e) => e.code)).toEqual(exit.EXIT_CODES.map((c) => c.code));
        for (const code of [exit.EXIT_USAGE, exit.EXIT_INTERNAL]) {
            const meaning = exit.EXIT_CODES.find((c) => c.code === code)!.meaning;
            expect(entries.find((e) => e.code === code)!.text.startsWith(meaning), `${code}: ${meaning}`).toBe(true);
        }
    });
});
