/**
 * The options of the commands that share the main help page (check, recover, adopt, rotate),
 * parsed strictly in one pass: main checks each against its command's list.
 */
import { parseCommandLine } from "./errors";

export const OPTIONS = {
    fix: { type: "boolean" },
    force: { type: "boolean" },
    json: { type: "boolean" },
    prometheus: { type: "string" },
    env: { type: "string", multiple: true },
    outputs: { type: "string" },
    stack: { type: "string" },
    timeout: { type: "string" },
    wait: { type: "string" },
    "sync-timeout": { type: "string" },
    "dry-run": { type: "boolean" },
    passwords: { type: "string" },
    "from-file": { type: "string" },
    generate: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

export function parse(argv: string[]) {
    return parseCommandLine(argv, OPTIONS);
}

/** The parsed options, as every command receives them. */
export type OptionValues = ReturnType<typeof parse>["values"];
