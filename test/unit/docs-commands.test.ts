/**
 * Every command line the docs show (README.md, docs/, examples/) that runs the CLI
 * (`./bin/nexus-redis.js ...`, `nexus-redis ...`, the bin by its full path in a unit or a cron
 * line) names a command that exists and only options that command's usage, as `--help` prints
 * it, lists. The help comes from the CLI itself, in-process, so a renamed or removed option
 * turns a page that still shows it red.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Code, InlineCode, Nodes } from "mdast";
import { fromMarkdown } from "mdast-util-from-markdown";
import { parse } from "shell-quote";
import { describe, expect, it } from "vitest";
import type { CliIo } from "../../cli/core/io";
import { main } from "../../cli/main";
import { ROOT, markdownFiles } from "./docsFiles";

/** What `main(argv)` prints on stdout, run in-process with nothing else reachable. */
async function printed(argv: string[]): Promise<string> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => "",
        run: async () => {
            throw new Error("--help runs nothing");
        },
        projectDir: ROOT,
        env: {},
    };
    const code = await main(argv, io);
    expect(stderr, argv.join(" ")).toBe("");
    expect(code, argv.join(" ")).toBe(0);
    return stdout;
}

/** The `--options` of each command's usage, as `--help` (and each command's own `--help`) prints it. */
async function usages(): Promise<Map<string, Set<string>>> {
    const help = await printed(["--help"]);
    const commands = [...help.matchAll(/^ {2}nexus-redis ([a-z]+) /gm)].map((m) => m[1]);
    const result = new Map<string, Set<string>>();
    for (const command of commands) {
        const own = await printed([command, "--help"]);
        const text = own === help ? help : own;
        // The usage: from the command's line to the next one that does not continue it (indented deeper).
        const lines = text.split("\n");
        const start = lines.findIndex((l) => l.startsWith(`  nexus-redis ${command} `));
        expect(start, command).toBeGreaterThanOrEqual(0);
        let end = start + 1;
        while (end < lines.length && /^ {4,}\S/.test(lines[end])) end++;
        const usage = lines.slice(start, end).join("\n");
        result.set(command, new Set(["--help", "-h", ...[...usage.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0])]));
    }
    return result;
}

/** Code of the page: fenced and indented blocks, and inline code, each a list of lines (continuations joined). */
function codeLines(markdown: string): string[] {
    const texts: string[] = [];
    const visit = (node: Nodes) => {
        if (node.type === "code" || node.type === "inlineCode") texts.push((node as Code | InlineCode).value);
        if ("children" in node) for (const child of node.children) visit(child as Nodes);
    };
    visit(fromMarkdown(markdown));
    return texts.flatMap((text) => text.replace(/\\\n\s*/g, " ").split("\n"));
}

/**
 * The bin as the docs name it (`nexus-redis` on PATH, `./bin/nexus-redis.js`, or its full path),
 * where a command starts: at the start of the line (after a `$ ` prompt or `VAR=value` words),
 * after `&&`, `;`, `|` or `(`, or as a unit's `ExecStart=`. Elsewhere the name is prose or a path.
 */
const BIN =
    /(?:^\s*(?:\$\s+)?|(?:&&|;|\||\(|^ExecStart=)\s*)(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\S*\/)?(?:bin\/nexus-redis\.js|nexus-redis)(?=\s+\S|$)/g;

interface Call {
    /** The words after the bin, up to a pipe, `&&`, `;`, a redirection or a comment. */
    argv: string[];
    /** A usage line (`[--opt]`, `(A | B)`, `...`): only its command and options count, not its shape. */
    synopsis: boolean;
}

/** Where the shell ends a command: a pipe, `&&`, `;`, a redirection or a comment. */
const SHELL_END = /\s(?:\||&&|;|>>?|2>|#)(?:\s|$)/;

/** The CLI calls in one line of code, if any. */
function callsIn(line: string): Call[] {
    const calls: Call[] = [];
    for (const match of line.matchAll(BIN)) {
        const after = line.slice(match.index + match[0].length);
        const first = after.split(SHELL_END)[0];
        // A message printed under the program's name (`nexus-redis recover: ...`) is no call.
        if (/^\s*[a-z-]+:(\s|$)/.test(first)) continue;
        if (/\[|\(|\.\.\./.test(first)) {
            // A synopsis: its alternatives (`(A | B)`) may hold what looks like a pipe.
            calls.push({
                argv: after
                    .split(/\s(?:&&|;|#)\s/)[0]
                    .trim()
                    .split(/\s+/),
                synopsis: true,
            });
            continue;
        }
        const words: string[] = [];
        for (const entry of parse(after, (name) => `$${name}`)) {
            if (typeof entry !== "string") break; // an operator, a redirection, a glob or a comment ends the call
            words.push(entry);
        }
        if (words.length > 0) calls.push({ argv: words, synopsis: false });
    }
    return calls;
}

/** The `--options` a call gives, without their values. */
function optionsOf(call: Call): string[] {
    const words = call.synopsis ? (call.argv.join(" ").match(/--[a-z][a-z-]*/g) ?? []) : call.argv;
    return words.filter((w) => w.startsWith("-") && w !== "-").map((w) => w.split("=")[0]);
}

describe("finding the CLI's calls in a line of code", () => {
    it.each<[string, Call[]]>([
        ["./bin/nexus-redis.js check --fix", [{ argv: ["check", "--fix"], synopsis: false }]],
        [
            "$ ./bin/nexus-redis.js recover contact --dry-run   # what it would run",
            [{ argv: ["recover", "contact", "--dry-run"], synopsis: false }],
        ],
        [
            "pulumi stack output --json --show-secrets | ./bin/nexus-redis.js check --outputs - --wait 60000",
            [{ argv: ["check", "--outputs", "-", "--wait", "60000"], synopsis: false }],
        ],
        ["./bin/nexus-redis.js check --json | jq '.environments[] | .status'", [{ argv: ["check", "--json"], synopsis: false }]],
        [
            "17 * * * * root cd /opt/nexus-redis && ./bin/nexus-redis.js backup --stack dev --to /var/backups >> /var/log/b.log 2>&1",
            [{ argv: ["backup", "--stack", "dev", "--to", "/var/backups"], synopsis: false }],
        ],
        ["ExecStart=/opt/nexus-redis/bin/nexus-redis.js check --stack dev", [{ argv: ["check", "--stack", "dev"], synopsis: false }]],
        [
            'nexus-redis rotate contact vault --from-file "new password.txt"',
            [{ argv: ["rotate", "contact", "vault", "--from-file", "new password.txt"], synopsis: false }],
        ],
        [
            "nexus-redis check [--fix [--force]] [--outputs FILE|-] [--env NAME]...",
            [{ argv: ["check", "[--fix", "[--force]]", "[--outputs", "FILE|-]", "[--env", "NAME]..."], synopsis: true }],
        ],
        [
            "nexus-redis restore ENV --from FILE|restic:SNAPSHOT [--force]",
            [{ argv: ["restore", "ENV", "--from", "FILE|restic:SNAPSHOT", "[--force]"], synopsis: true }],
        ],
        [
            "./bin/nexus-redis.js check && ./bin/nexus-redis.js backup --to DIR",
            [
                { argv: ["check"], synopsis: false },
                { argv: ["backup", "--to", "DIR"], synopsis: false },
            ],
        ],
        ["nexus-redis", []],
        ["nexus-redis: invalid stack outputs (2 problems):", []],
        ["docker logs nexus3-contact-vault", []],
        ["cat /etc/cron.d/nexus-redis-check", []],
    ])("%s", (line, calls) => {
        expect(callsIn(line)).toEqual(calls);
    });

    it("joins lines continued with a backslash, in a fenced block and in an indented one", () => {
        const page =
            "```sh\n./bin/nexus-redis.js backup --to /b \\\n  --restic-repo /r\n```\n\n    nexus-redis check \\\n      --json\n\nand `nexus-redis recover ENV`.\n";
        expect(
            codeLines(page)
                .flatMap(callsIn)
                .map((c) => c.argv.join(" ")),
        ).toEqual(["backup --to /b --restic-repo /r", "check --json", "recover ENV"]);
    });

    it("reads the options of a call and of a synopsis, without their values", () => {
        expect(optionsOf({ argv: ["check", "--outputs=-", "--json", "-h", "-"], synopsis: false })).toEqual(["--outputs", "--json", "-h"]);
        expect(optionsOf({ argv: ["check", "[--fix", "[--force]]", "[--env", "NAME]..."], synopsis: true })).toEqual([
            "--fix",
            "--force",
            "--env",
        ]);
    });
});

describe("the docs' command lines", async () => {
    const options = await usages();
    const calls = markdownFiles().flatMap((file) =>
        codeLines(readFileSync(path.join(ROOT, file), "utf8")).flatMap((line) => callsIn(line).map((call) => ({ file, line, call }))),
    );

    it("are found on the pages: every command, in the README and in docs/", () => {
        expect([...options.keys()].sort()).toEqual(["adopt", "backup", "check", "recover", "restore", "rotate"]);
        expect(new Set(calls.map((c) => c.call.argv[0]))).toEqual(new Set([...options.keys(), "--help"]));
        expect(calls.filter((c) => c.file === "README.md").length).toBeGreaterThan(5);
        expect(calls.length).toBeGreaterThan(50);
    });

    it.each(calls.map((c) => [`${c.file}: ${c.line.trim()}`, c] as const))("%s", (_, { call }) => {
        const [command] = call.argv;
        if (command === "--help" || command === "-h") {
            expect(call.argv).toHaveLength(1);
            return;
        }
        const known = options.get(command);
        expect(known, `no command ${command}; the commands are ${[...options.keys()].join(", ")}`).toBeDefined();
        for (const option of optionsOf(call)) expect([...known!], `${option} is not an option of ${command}`).toContain(option);
    });
});
