/**
 * The rules of a command line that the specs state (cli/<command>/spec.ts `arguments` and
 * `needs`), driven through main() as a user types them: the usage that --help shows and the
 * parser that refuses a line come from the same entries, for every command.
 */
import { describe, expect, it } from "vitest";
import { ADOPT } from "../../cli/adopt/spec";
import { BACKUP } from "../../cli/backup/spec";
import { CHECK } from "../../cli/check/spec";
import { checkCommandLine } from "../../cli/core/spec";
import { EXIT_USAGE } from "../../cli/core/exit";
import { RECOVER } from "../../cli/recover/spec";
import { RESTORE } from "../../cli/restore/spec";
import { ROTATE } from "../../cli/rotate/spec";
import { cli } from "./cliRun";

const SPECS = [CHECK, RECOVER, ADOPT, ROTATE, BACKUP, RESTORE];

describe.each(SPECS.map((spec) => [spec.name, spec] as const))("%s's arguments", (name, spec) => {
    const names = spec.arguments.map((a) => a.name);

    it("are the words its usage starts with, in order", () => {
        const words = spec.usage.split(" ").slice(0, names.length);
        expect(words).toEqual(names);
        // The next word is an option (or nothing): the usage names no argument the parser does not take.
        expect(spec.usage.split(" ")[names.length] ?? "").not.toMatch(/^[A-Z]+$/);
    });

    it("one too many is refused before anything runs (exit 2), naming the command", async () => {
        const argv = [name, ...names.map((n) => n.toLowerCase()), "extra", ...(name === "restore" ? ["--from", "x.rdb"] : [])];
        const run = await cli(argv);
        expect(run.code).toBe(EXIT_USAGE);
        expect(run.stderr).toContain(`${name} takes `);
        expect(run.stderr).toContain("extra");
    });

    it.runIf(names.length > 0)("one too few is refused, saying it got none or what it got", () => {
        const given = names.slice(0, -1).map((n) => n.toLowerCase());
        expect(() => checkCommandLine(spec, given, {})).toThrow(
            new RegExp(`^${name} takes .*${spec.arguments.at(-1)?.what}, got ${given.length === 0 ? "none" : `"${given.join(" ")}"`}$`),
        );
    });

    it("exactly its arguments pass", () => {
        expect(() => checkCommandLine(spec, names, {})).not.toThrow();
    });
});

describe("options that need another", () => {
    it("check's --force and --sync-timeout need --fix, and pass beside it", () => {
        expect(() => checkCommandLine(CHECK, [], { force: true })).toThrow("--force only applies to --fix");
        expect(() => checkCommandLine(CHECK, [], { "sync-timeout": "90000" })).toThrow("--sync-timeout only applies to --fix");
        expect(() => checkCommandLine(CHECK, [], { fix: true, force: true, "sync-timeout": "90000" })).not.toThrow();
    });

    it("recover's --force needs nothing: the rule is check's, not the shared option's", () => {
        expect(() => checkCommandLine(RECOVER, ["contact"], { force: true })).not.toThrow();
    });

    it("every option a rule names is one of the command's own", () => {
        for (const spec of SPECS)
            for (const [option, needed] of Object.entries("needs" in spec ? spec.needs : {})) {
                expect(Object.keys(spec.options)).toContain(option);
                expect(Object.keys(spec.options)).toContain(needed);
            }
    });
});

describe("the messages name what the command takes", () => {
    it.each<[string, string[], RegExp]>([
        ["rotate with no role", ["rotate", "contact", "--generate", "x"], /rotate takes an environment and a password role, got "contact"/],
        ["rotate with nothing", ["rotate", "--generate", "x"], /rotate takes an environment and a password role, got none/],
        ["backup with an argument", ["backup", "contact"], /backup takes no arguments, got "contact" \(use --env NAME/],
        ["restore without an environment", ["restore", "--from", "x.rdb"], /restore takes exactly one environment, got none/],
    ])("%s", async (_, argv, message) => {
        const run = await cli(argv);
        expect(run.code).toBe(EXIT_USAGE);
        expect(run.stderr).toMatch(message);
    });
});
