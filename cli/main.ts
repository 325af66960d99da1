/**
 * nexus-redis: the operator CLI of the Redis Environment Protocol's fleet.
 *
 * `main(argv, io)` does everything and returns the exit code, so tests call it in-process
 * with their own stdout, stdin and command runner; `bin/nexus-redis.js` calls `runAsProcess`
 * on the JavaScript build of this folder (dist/, made by `npm run build:cli`).
 *
 * Each command's run is a module of its folder (cli/check/run.ts...), loaded only when it runs (COMMANDS below): a
 * check loads neither recover's YAML parser nor what other commands need (Docker's client),
 * and --help loads no command at all. That is most of the CLI's start-up.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_ADOPT_TIMEOUT_MS, DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_RECOVER_WAIT_MS, DEFAULT_SYNC_TIMEOUT_MS } from "./core/defaults";
import { CliError, UsageError } from "./core/errors";
import type { CliIo, Closeable, Command, ContainerSource, OwnCommand } from "./core/io";
import { type OPTIONS, parse } from "./core/options";
import { EXIT_INTERNAL } from "./core/exit";
import { spawnRunner } from "./core/runner";

export { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_RECOVER_WAIT_MS };

export const HELP = `Usage:
  nexus-redis check [--fix [--force] [--sync-timeout MS]] [--json] [--prometheus FILE] [--env NAME]... [--outputs FILE|-] [--stack NAME] [--timeout MS] [--wait MS]
  nexus-redis recover ENV [--dry-run] [--force] [--outputs FILE|-] [--stack NAME] [--timeout MS]
  nexus-redis adopt [--dry-run] [--json] [--env NAME]... [--stack NAME] [--passwords FILE] [--timeout MS]
  nexus-redis rotate ENV ROLE (--from-file FILE | --generate FILE) [--dry-run] [--outputs FILE|-] [--stack NAME] [--timeout MS]
  nexus-redis backup [--env NAME]... [--to DIR] [--json] [--prometheus FILE] [--restic-repo URL [--keep-last N ...]] [--outputs FILE|-] [--stack NAME] [--timeout MS]
  nexus-redis restore ENV --from FILE|restic:SNAPSHOT [--force] [--json] [--restic-repo URL] [--outputs FILE|-] [--stack NAME] [--timeout MS]

Commands:
  check     Checks every environment of the stack at once: vault reachable, password
            accepted and persistence on; operational a replica of its vault's container on
            6379 (never localhost), link up, lag, replication user; no replica on a secure
            environment; and runtime drift (CONFIG SET or REPLICAOF by hand) from the
            settings the program declares. One row per environment.
  recover   The protocol's disaster recovery through Pulumi: replaces ENV's operational
            container and volume (pulumi up --target ... --replace ...), then waits until
            check reports ENV synced. Refused for a secure environment.
  adopt     Puts a fleet built by hand (containers {prefix}-{env}-vault/-operational,
            --requirepass, any /data) under the stack, keeping every key and password:
            finds it through Docker, refuses what it cannot take over safely (every setting
            of the old vault is compared with the new one's), sets the stack's config
            (pulumi config set: passwords, vaultData, network, one more environments item),
            then per environment turns AOF on in the old vault, stops and renames the old
            containers, runs pulumi up, waits until the new vault serves every database's
            keys and check reports it healthy, and removes the old containers (never a
            volume). A takeover that fails is put back by adopt itself (exit 1).
  rotate    Starts changing one password of ENV (ROLE: vault, replication, operationalAdmin,
            backup): the running server accepts the old and the new one (ACL SETUSER), and
            the stack's secret passwords config gets the new one. Switch the clients, then
            run \`pulumi up\`: one restart, after which only the new password works.
  backup    A verified point-in-time snapshot of every vault, over the network as its
            backup user, to ./backups/ENV/UTC-STAMP.rdb with a manifest; optionally into
            restic with retention. \`nexus-redis backup --help\` for its options.
  restore   Brings ENV's vault up on a verified snapshot (and its operational re-syncs),
            refusing to replace data that differs unless --force.
            \`nexus-redis restore --help\` for its options.

Docker Swarm (the stack's outputs say "platform": "swarm"): run on a manager, or with
DOCKER_HOST naming one. check and recover reach each service through a short-lived probe
container on its overlay network, and report a service that runs no task with the cause
(its node down, nowhere to run); recover replaces the operational's service. adopt, rotate,
backup and restore are Docker-only there.

Options:
  --fix             check: repair the operational as its admin user (REPLICAOF the vault,
                    restore masteruser/masterauth and drifted settings), wait for the link,
                    report what changed. Never writes to a vault. Refuses a re-sync that
                    could lose data (vault empty while the operational holds keys, or the
                    vault's replication id is not one the operational followed).
  --force           with --fix or recover: re-sync even when that could lose data
  --json            check, adopt: print one JSON document on stdout instead of the table
  --prometheus FILE check: also write what it found as Prometheus metrics into FILE (*.prom,
                    for node_exporter's textfile collector), replaced atomically; the table or
                    JSON and the exit code as usual (2 when healthy but FILE cannot be written)
  --env NAME        check, adopt: only this environment (repeatable; default: all of the
                    stack's; adopt: every environment it finds)
  --outputs FILE    the stack's outputs: a file with the JSON of
                    \`pulumi stack output --json --show-secrets\` (or of
                    \`npm run --silent synth -- --show-secrets\`), - for stdin;
                    default: run \`pulumi stack output --json --show-secrets\`
  --stack NAME      the Pulumi stack (default: PULUMI_STACK, else the selected stack)
  --timeout MS      check: bound of each environment's check and repair (default ${DEFAULT_CHECK_TIMEOUT_MS});
                    recover: how long to wait for the sync (default ${DEFAULT_RECOVER_WAIT_MS});
                    adopt: bound of each wait (AOF rewrite, new vault, healthy; default ${DEFAULT_ADOPT_TIMEOUT_MS})
  --passwords FILE  adopt: JSON {"ENV": {"vault": "..."}} for vaults started without
                    --requirepass on their command line (checked with AUTH first)
  --sync-timeout MS check --fix: how long to wait for the link to come up after a repair
                    that re-syncs (a full sync of a real dataset takes a while; default ${DEFAULT_SYNC_TIMEOUT_MS})
  --wait MS         check: until every environment is healthy, check again (every second)
                    for up to MS, e.g. right after a deployment (default 0: check once)
  --dry-run         recover: print the Pulumi command instead of running it;
                    adopt: print what was found and the commands, change nothing;
                    rotate: print what it would do
  --from-file FILE  rotate: the new password, read from FILE (one line)
  --generate FILE   rotate: make a new password (32 letters and digits) into FILE (created 0600)
  -h, --help        this text

Examples:
  ./bin/nexus-redis.js check
  ./bin/nexus-redis.js check --env contact --env kb --json | jq '.environments[].status'
  pulumi stack output --json --show-secrets | ./bin/nexus-redis.js check --outputs - --wait 60000
  ./bin/nexus-redis.js check --fix
  ./bin/nexus-redis.js check --prometheus /var/lib/prometheus/node-exporter/nexus-redis-check.prom
  ./bin/nexus-redis.js recover contact --stack dev --dry-run
  ./bin/nexus-redis.js adopt --dry-run
  ./bin/nexus-redis.js rotate contact vault --generate contact-vault.pw
  ./bin/nexus-redis.js backup --to /var/backups/nexus-redis

Exit codes:
  0  every environment is healthy (check), synced again (recover), the rotation's overlap is open (rotate),
     or every environment found was adopted (adopt; with --dry-run: none refused)
  1  a problem remains (check), recovery or adoption failed or was refused, or the server refused the new
     password (rotate)
  2  usage or configuration error (bad option, unknown environment, unreadable outputs)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr), nothing was judged
backup and restore: see their own --help.`;

/**
 * The commands: the options each takes (any other is a usage error naming it), and its
 * module, imported only when it runs. To add one: a folder with a run.ts exporting
 * `run`, a row here, its options in OPTIONS if new, and its lines in HELP.
 */
const COMMANDS: Record<string, { options: (keyof typeof OPTIONS)[]; load: () => Promise<Command> }> = {
    check: {
        options: ["fix", "force", "json", "prometheus", "env", "outputs", "stack", "timeout", "wait", "sync-timeout", "help"],
        load: () => import("./check/run.js"),
    },
    recover: {
        options: ["force", "outputs", "stack", "timeout", "dry-run", "help"],
        load: () => import("./recover/run.js"),
    },
    adopt: {
        options: ["dry-run", "json", "env", "stack", "passwords", "timeout", "help"],
        load: () => import("./adopt/run.js"),
    },
    rotate: {
        options: ["from-file", "generate", "outputs", "stack", "timeout", "dry-run", "help"],
        load: () => import("./rotate/run.js"),
    },
};

/**
 * Commands with options of their own (backup's --to, --restic-repo, --keep-*; restore's
 * --from), parsed by their module from everything after the command's name, which must
 * therefore come first. Loaded only when they run, like the others.
 */
const OWN_COMMANDS: Record<string, () => Promise<OwnCommand>> = {
    backup: () => import("./backup/run.js"),
    restore: () => import("./restore/run.js"),
};

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
    try {
        return await run(argv, io);
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr.write(`${e.prefix}: ${e.message}\n\nRun \`${e.help}\` for usage.\n`);
            return e.exitCode;
        }
        if (e instanceof CliError) {
            io.stderr.write(`${e.prefix}: ${e.message}\n`);
            return e.exitCode;
        }
        // Anything else is a bug, not a finding about the fleet: its own code, so a pipeline
        // (or --wait) never mistakes a crash for "a problem remains".
        io.stderr.write(`nexus-redis: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        return EXIT_INTERNAL;
    }
}

async function run(argv: string[], io: CliIo): Promise<number> {
    const own = Object.hasOwn(OWN_COMMANDS, argv[0] ?? "") ? OWN_COMMANDS[argv[0]] : undefined;
    if (own) return (await own()).runArgv(argv.slice(1), io);
    const { values, positionals } = parse(argv);
    const [name, ...args] = positionals;
    if (values.help || name === "help") {
        io.stdout.write(`${HELP}\n`);
        return 0;
    }
    const names = [...Object.keys(COMMANDS), ...Object.keys(OWN_COMMANDS)].join(", ");
    if (name === undefined) throw new UsageError(`a command is required: ${names}`);
    if (Object.hasOwn(OWN_COMMANDS, name)) throw new UsageError(`${name} must come first: nexus-redis ${name} [options]`);
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}"; the commands are ${names}`);
    for (const [option, value] of Object.entries(values)) {
        if (value !== undefined && !command.options.includes(option as keyof typeof OPTIONS)) {
            throw new UsageError(`--${option} is not an option of ${name}`);
        }
    }
    const opened: Closeable[] = [];
    try {
        return await (await command.load()).run({ values, args, opened }, io);
    } finally {
        for (const resource of opened) await resource.close();
    }
}

function readStream(stream: NodeJS.ReadableStream): Promise<string> {
    return new Promise((resolve, reject) => {
        let text = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (text += chunk));
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
    });
}

export function processIo(): CliIo {
    return {
        stdout: process.stdout,
        stderr: process.stderr,
        readStdin: () => readStream(process.stdin),
        run: spawnRunner,
        projectDir: projectDir(),
        env: process.env,
        engine: dockerEngine(process.env.DOCKER_HOST),
    };
}

/** The engine DOCKER_HOST names (else the local socket); its module is loaded only when a server does not answer. */
function dockerEngine(dockerHost: string | undefined): ContainerSource {
    return {
        inspect: async (name, timeoutMs) => new (await import("./docker/engine.js")).EngineContainers(dockerHost).inspect(name, timeoutMs),
    };
}

/**
 * The project's folder (the one with Pulumi.yaml, where the Pulumi CLI runs): this file's
 * parent when run from the sources (cli/), further up from a build (dist/build-.../cli/).
 */
function projectDir(): string {
    for (let dir = path.resolve(__dirname, ".."); ; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
        if (dir === path.dirname(dir)) return path.resolve(__dirname, "..");
    }
}

/** Runs the CLI as this process and exits with its code once stdout and stderr are flushed. */
export function runAsProcess(argv: string[] = process.argv.slice(2)): void {
    main(argv).then(
        (code) => exitWhenFlushed(code),
        (e) => {
            // main() already turns every error into EXIT_INTERNAL; this is the last resort.
            process.stderr.write(`nexus-redis: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
            exitWhenFlushed(EXIT_INTERNAL);
        },
    );
}

function exitWhenFlushed(code: number): void {
    // process.exit right after a write can cut a piped stdout short; exit once both are drained.
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

if (require.main === module) runAsProcess();
