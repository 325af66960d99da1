/** `nexus-redis recover ENV`: its options, usage and examples, the one place they are described. */
import { DEFAULT_RECOVER_WAIT_MS } from "../core/defaults";
import { FORCE, OUTPUTS, STACK } from "../core/options";
import { type CommandSpec, HELP_OPTION } from "../core/spec";

export const RECOVER = {
    name: "recover",
    placement: "anywhere",
    usage: "ENV [--dry-run] [--force] [--outputs FILE|-] [--stack NAME] [--timeout MS]",
    summary: [
        "The protocol's disaster recovery through Pulumi: replaces ENV's operational",
        "container and volume (pulumi up --target ... --replace ...), then waits until",
        "check reports ENV synced. Refused for a secure environment.",
    ],
    arguments: [{ name: "ENV", what: "environment" }],
    options: {
        force: FORCE,
        outputs: OUTPUTS,
        stack: STACK,
        timeout: {
            type: "string",
            value: "MS",
            help: [`recover: how long to wait for the sync (default ${DEFAULT_RECOVER_WAIT_MS});`],
        },
        "dry-run": { type: "boolean", help: ["recover: print the Pulumi command instead of running it;"] },
        help: HELP_OPTION,
    },
    examples: ["./bin/nexus-redis.js recover contact --stack dev --dry-run"],
} as const satisfies CommandSpec;
