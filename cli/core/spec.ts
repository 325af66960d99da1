/**
 * A command described in one place: its options (their parseArgs types and their help lines),
 * usage, summary, examples and exit codes. The parser and --help are both built from the specs
 * (cli/<command>/spec.ts), which are plain data: --help loads them and no command's run.
 */
import { UsageError } from "./errors";
/** One option: how parseArgs reads it, and what --help says of it. */
export interface OptionSpec {
    type: "string" | "boolean";
    multiple?: true;
    short?: string;
    /** Its value's placeholder in the help's options: FILE, MS, NAME. */
    value?: string;
    /** Its help lines, the first beside the option; none: the option is listed in no help page. */
    help?: readonly string[];
    /** More entries of the same option, each with its own placeholder (restore's --from restic:ID). */
    more?: readonly { value: string; help: readonly string[] }[];
}

/** A command's own help page (backup, restore): what the shared page does not say of it. */
export interface OwnPage {
    /** The usage after `nexus-redis NAME `, wrapped; continuation lines indented under the first. */
    usage: readonly string[];
    description: string;
    /** A paragraph after the options (what the command needs on the machine). */
    notes?: string;
    /** Width of the options' first column. */
    width: number;
    exits: string;
}

export interface CommandSpec {
    name: string;
    /** Its line of the shared page's usage, after `nexus-redis NAME `. */
    usage: string;
    /** Its lines of the shared page's commands. */
    summary: readonly string[];
    /**
     * "anywhere": its options share the one parse of the shared page (check, recover, adopt,
     * rotate). "first": the command parses its own options, so it must come first on the line.
     */
    placement: "anywhere" | "first";
    /**
     * Its arguments (not options), in order, as its usage names them (ENV, ROLE) and as an
     * error says them ("environment"): none for a command that chooses environments with --env.
     */
    arguments: readonly { name: string; what: string }[];
    options: Readonly<Record<string, OptionSpec>>;
    /** Options that mean something only beside another (check's --force beside --fix): refused alone. */
    needs?: Readonly<Record<string, string>>;
    examples: readonly string[];
    /** How many of its examples the shared page shows (default: all). */
    sharedExamples?: number;
    page?: OwnPage;
}

/**
 * The rules of a command's line that its spec states: how many arguments it takes, and the
 * options that need another. Throws the UsageError that names them; `own` for a command with
 * its own help page (its errors point there).
 */
export function checkCommandLine(
    spec: Pick<CommandSpec, "name" | "arguments" | "options" | "needs">,
    args: readonly string[],
    values: Readonly<Record<string, unknown>>,
    own?: "own page",
): void {
    const command = own ? spec.name : undefined;
    const expected = spec.arguments;
    if (args.length !== expected.length) {
        const got = args.length === 0 ? "none" : `"${args.join(" ")}"`;
        if (expected.length === 0) {
            const hint = Object.hasOwn(spec.options, "env") ? " (use --env NAME to choose environments)" : "";
            throw new UsageError(`${spec.name} takes no arguments, got ${got}${hint}`, command);
        }
        const takes =
            expected.length === 1
                ? `exactly one ${expected[0].what}`
                : expected.map((a) => `${/^[aeiou]/.test(a.what) ? "an" : "a"} ${a.what}`).join(" and ");
        throw new UsageError(`${spec.name} takes ${takes}, got ${got}`, command);
    }
    for (const [option, needed] of Object.entries(spec.needs ?? {}))
        if (values[option] !== undefined && values[needed] === undefined)
            throw new UsageError(`--${option} only applies to --${needed}`, command);
}

/** -h/--help, which every command takes. */
export const HELP_OPTION = { type: "boolean", short: "h", help: ["this text"] } as const satisfies OptionSpec;

/** Options as parseArgs reads them, typed so that its values are (`multiple` gives an array). */
export type ParserConfig<O extends Readonly<Record<string, OptionSpec>>> = {
    [K in keyof O]: { type: O[K]["type"]; multiple: O[K] extends { multiple: true } ? true : false; short?: string };
};

/** Options as parseArgs's strict config (their help left out). */
export function parserConfig<O extends Readonly<Record<string, OptionSpec>>>(options: O): ParserConfig<O> {
    const config: Record<string, { type: "string" | "boolean"; multiple: boolean; short?: string }> = {};
    for (const [name, option] of Object.entries(options))
        config[name] = { type: option.type, multiple: option.multiple === true, ...(option.short ? { short: option.short } : {}) };
    return config as ParserConfig<O>;
}

/** The options' lines of a help page: each name (and placeholder) in a column `width` wide, then its help. */
export function renderOptions(entries: readonly [string, OptionSpec][], width: number): string[] {
    const lines: string[] = [];
    const entry = (name: string, short: string | undefined, value: string | undefined, help: readonly string[]) => {
        const label = `${short ? `-${short}, ` : ""}--${name}${value ? ` ${value}` : ""}`;
        for (const [i, text] of help.entries()) lines.push(`  ${(i === 0 ? label : "").padEnd(width)}${text}`);
    };
    for (const [name, option] of entries) {
        if (!option.help) continue;
        entry(name, option.short, option.value, option.help);
        for (const more of option.more ?? []) entry(name, undefined, more.value, more.help);
    }
    return lines;
}

/** A command's own help page: Usage, description, Options, notes, Examples, Exit codes. */
export function renderCommandHelp(spec: CommandSpec): string {
    const page = spec.page;
    if (!page) throw new Error(`renderCommandHelp: ${spec.name} has no page of its own`);
    const head = `  nexus-redis ${spec.name} `;
    const usage = page.usage.map((line, i) => (i === 0 ? head : " ".repeat(head.length)) + line);
    return [
        "Usage:",
        ...usage,
        "",
        page.description,
        "",
        "Options:",
        ...renderOptions(Object.entries(spec.options), page.width),
        ...(page.notes ? ["", page.notes] : []),
        "",
        "Examples:",
        ...spec.examples.map((e) => `  ${e}`),
        "",
        "Exit codes:",
        page.exits,
    ].join("\n");
}

/**
 * The shared page: every command's usage and summary, then `notes` (prose about several
 * commands), the options of the "anywhere" commands (each once, where it first appears; its
 * help lines from every command that has some, identical ones once), the examples, and
 * `exits`.
 */
export function renderMainHelp(specs: readonly CommandSpec[], parts: { notes: string; width: number; exits: string }): string {
    const options = new Map<string, OptionSpec>();
    for (const spec of specs.filter((s) => s.placement === "anywhere"))
        for (const [name, option] of Object.entries(spec.options)) {
            if (name === "help") continue;
            const seen = options.get(name);
            const help = [...(seen?.help ?? [])];
            for (const line of option.help ?? []) if (!help.includes(line)) help.push(line);
            options.set(name, { ...(seen ?? option), help: help.length > 0 ? help : undefined });
        }
    options.set("help", HELP_OPTION);
    return [
        "Usage:",
        ...specs.map((s) => `  nexus-redis ${s.name} ${s.usage}`),
        "",
        "Commands:",
        ...specs.flatMap((s) => s.summary.map((line, i) => `  ${(i === 0 ? s.name : "").padEnd(10)}${line}`)),
        "",
        parts.notes,
        "",
        "Options:",
        ...renderOptions([...options], parts.width),
        "",
        "Examples:",
        ...specs.flatMap((s) => s.examples.slice(0, s.sharedExamples).map((e) => `  ${e}`)),
        "",
        "Exit codes:",
        parts.exits,
    ].join("\n");
}

type ValueOf<O extends OptionSpec> = O extends { multiple: true }
    ? O["type"] extends "boolean"
        ? boolean[]
        : string[]
    : O["type"] extends "boolean"
      ? boolean
      : string;

/** A command's parsed options, by name, as its run receives them. */
export type ValuesOf<S extends { options: Readonly<Record<string, OptionSpec>> }> = {
    [K in keyof S["options"]]?: ValueOf<S["options"][K]>;
};
