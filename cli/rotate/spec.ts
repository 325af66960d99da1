/** `nexus-redis rotate ENV ROLE`: its options, usage and examples, the one place they are described. */
import { OUTPUTS, STACK } from "../core/options";
import { type CommandSpec, HELP_OPTION } from "../core/spec";

export const ROTATE = {
    name: "rotate",
    placement: "anywhere",
    usage: "ENV ROLE (--from-file FILE | --generate FILE) [--dry-run] [--outputs FILE|-] [--stack NAME] [--timeout MS]",
    summary: [
        "Starts changing one password of ENV (ROLE: vault, replication, operationalAdmin,",
        "backup): the running server accepts the old and the new one (ACL SETUSER), and",
        "the stack's secret passwords config gets the new one. Switch the clients, then",
        "run `pulumi up`: one restart, after which only the new password works.",
    ],
    arguments: [
        { name: "ENV", what: "environment" },
        { name: "ROLE", what: "password role" },
    ],
    options: {
        "from-file": { type: "string", value: "FILE", help: ["rotate: the new password, read from FILE (one line)"] },
        generate: { type: "string", value: "FILE", help: ["rotate: make a new password (32 letters and digits) into FILE (created 0600)"] },
        outputs: OUTPUTS,
        stack: STACK,
        // Listed on no help page: the shared page has never had a line for rotate's --timeout.
        timeout: { type: "string", value: "MS" },
        "dry-run": { type: "boolean", help: ["rotate: print what it would do"] },
        help: HELP_OPTION,
    },
    examples: ["./bin/nexus-redis.js rotate contact vault --generate contact-vault.pw"],
} as const satisfies CommandSpec;
