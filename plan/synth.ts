/**
 * `npm run --silent synth -- [--stack NAME | --stack-file FILE] [-c KEY=VALUE]... [--secret KEY=VALUE]... [--show-secrets]`
 *
 * The offline plan: runs index.ts under Pulumi's mock runtime (no Pulumi CLI, no Docker,
 * no credentials) and prints one JSON document with every resource and its exact inputs.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config";
import { planProgram } from "./plan";
import { runMain, userErrorExit } from "./cliMain";
import { ProjectConfigError } from "./projectConfig";

export const SYNTH_HELP = `Usage: npm run --silent synth -- [options]

Prints the resources the Pulumi program would create, as one JSON document, without
the Pulumi CLI, Docker or credentials (Pulumi's mock runtime). Secrets print as "[secret]".

Options:
  --stack NAME          stack whose Pulumi.<NAME>.yaml applies (default: dev)
  --stack-file FILE     a stack file elsewhere (an example's); the stack is NAME of its Pulumi.NAME.yaml
  -c, --config K=V      override a config value, like \`pulumi up -c\` (K may omit "nexus-redis:")
  --secret K=V          a config value that is a secret, like \`pulumi config set --secret\`
  --show-secrets        print secret values instead of "[secret]"
  -h, --help            this text

Exit codes: 0 plan printed, 2 usage or configuration error.

Examples:
  npm run --silent synth | jq '.resources[] | select(.type == "docker:index/container:Container") | .inputs.command'
  npm run --silent synth -- -c portOffset=1000 -c containerPrefix=staging
  npm run --silent synth -- --stack-file examples/swarm/Pulumi.swarm.yaml
  npm run --silent synth -- --show-secrets | jq .outputs.environments.contact`;

function keyValues(list: string[] | undefined, flag: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const item of list ?? []) {
        const eq = item.indexOf("=");
        if (eq <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got "${item}"`);
        result[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return result;
}

class UsageError extends Error {}

/** `examples/swarm/Pulumi.swarm.yaml` → `swarm`, as the Pulumi CLI names a stack's file. */
function stackNameOf(file: string): string {
    const name = /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
    if (!name) throw new UsageError(`--stack-file expects a file named Pulumi.NAME.yaml, got "${file}"`);
    return name;
}

async function main(argv: string[]): Promise<number> {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                stack: { type: "string" },
                "stack-file": { type: "string" },
                config: { type: "string", short: "c", multiple: true },
                secret: { type: "string", multiple: true },
                "show-secrets": { type: "boolean" },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (e) {
        process.stderr.write(`synth: ${(e as Error).message}\n\n${SYNTH_HELP}\n`);
        return 2;
    }
    if (parsed.values.help) {
        process.stdout.write(`${SYNTH_HELP}\n`);
        return 0;
    }
    try {
        const stackFile = parsed.values["stack-file"];
        const plan = await planProgram({
            stack: parsed.values.stack ?? (stackFile === undefined ? undefined : stackNameOf(stackFile)),
            stackFile,
            values: keyValues(parsed.values.config, "-c"),
            secrets: keyValues(parsed.values.secret, "--secret"),
            showSecrets: parsed.values["show-secrets"] ?? false,
        });
        process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
        return 0;
    } catch (e) {
        return userErrorExit("synth", e, [ConfigError, ProjectConfigError, UsageError]);
    }
}

runMain("synth", () => main(process.argv.slice(2)));
