/** `nexus-redis adopt`: its options, usage and examples, the one place they are described. */
import { DEFAULT_ADOPT_TIMEOUT_MS } from "../core/defaults";
import { ENV, JSON_OUTPUT, STACK } from "../core/options";
import { type CommandSpec, HELP_OPTION } from "../core/spec";

export const ADOPT = {
    name: "adopt",
    placement: "anywhere",
    usage: "[--dry-run] [--json] [--env NAME]... [--stack NAME] [--passwords FILE] [--timeout MS]",
    summary: [
        "Puts a fleet built by hand (containers {prefix}-{env}-vault/-operational,",
        "--requirepass, any /data) under the stack, keeping every key and password:",
        "finds it through Docker, refuses what it cannot take over safely (every setting",
        "of the old vault is compared with the new one's), sets the stack's config",
        "(pulumi config set: passwords, vaultData, network, one more environments item),",
        "then per environment turns AOF on in the old vault, stops and renames the old",
        "containers, runs pulumi up, waits until the new vault serves every database's",
        "keys and check reports it healthy, and removes the old containers (never a",
        "volume). A takeover that fails is put back by adopt itself (exit 1).",
    ],
    arguments: [],
    options: {
        "dry-run": {
            type: "boolean",
            help: ["adopt: print what was found and the commands, change nothing;"],
        },
        json: JSON_OUTPUT,
        env: ENV,
        stack: STACK,
        passwords: {
            type: "string",
            value: "FILE",
            help: [
                'adopt: JSON {"ENV": {"vault": "..."}} for vaults started without',
                "--requirepass on their command line (checked with AUTH first)",
            ],
        },
        timeout: {
            type: "string",
            value: "MS",
            help: [`adopt: bound of each wait (AOF rewrite, new vault, healthy; default ${DEFAULT_ADOPT_TIMEOUT_MS})`],
        },
        help: HELP_OPTION,
    },
    examples: ["./bin/nexus-redis.js adopt --dry-run"],
} as const satisfies CommandSpec;
