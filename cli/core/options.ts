/**
 * The options several commands of the shared help page take, described once: their parseArgs
 * types and their lines of the shared page (each command's spec lists the ones it takes).
 */
import type { OptionSpec } from "./spec";

export const FORCE = {
    type: "boolean",
    help: ["with --fix or recover: re-sync even when that could lose data"],
} as const satisfies OptionSpec;
export const JSON_OUTPUT = {
    type: "boolean",
    help: ["check, adopt: print one JSON document on stdout instead of the table"],
} as const satisfies OptionSpec;
export const ENV = {
    type: "string",
    multiple: true,
    value: "NAME",
    help: ["check, adopt: only this environment (repeatable; default: all of the", "stack's; adopt: every environment it finds)"],
} as const satisfies OptionSpec;
export const OUTPUTS = {
    type: "string",
    value: "FILE",
    help: [
        "the stack's outputs: a file with the JSON of",
        "`pulumi stack output --json --show-secrets` (or of",
        "`npm run --silent synth -- --show-secrets`), - for stdin;",
        "default: run `pulumi stack output --json --show-secrets`",
    ],
} as const satisfies OptionSpec;
export const STACK = {
    type: "string",
    value: "NAME",
    help: ["the Pulumi stack (default: PULUMI_STACK, else the selected stack)"],
} as const satisfies OptionSpec;

/** --outputs and --stack as a command's own page (backup, restore) says them: briefly, pointing to the shared page. */
export const OWN_PAGE_OUTPUTS = {
    type: "string",
    value: "FILE",
    help: ["the stack's outputs (see nexus-redis --help); - for stdin"],
} as const satisfies OptionSpec;
export const OWN_PAGE_STACK = { type: "string", value: "NAME", help: ["the Pulumi stack"] } as const satisfies OptionSpec;
