/**
 * nexus-redis: the operator CLI of the Redis Environment Protocol's fleet.
 *
 * `main(argv, io)` does everything and returns the exit code, so tests call it in-process
 * with their own stdout, stdin and command runner; `bin/nexus-redis.js` calls `runAsProcess`.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_SYNC_TIMEOUT_MS } from "./fix";
import { checkFleet } from "./fleet";
import { type EnvironmentsOutput, OutputsError, type OutputsSource, loadOutputs } from "./outputs";
import { RecoverError, recover, shellQuote } from "./recover";
import { EXIT_INTERNAL, EXIT_USAGE, exitCode, renderJson, renderTable } from "./report";
import { RotateError, rotate } from "./rotate";
import { attachSwarmRoute } from "./swarm";
import { type CommandRunner, spawnRunner } from "./runner";

export const HELP = `Usage:
  nexus-redis check [--fix [--force] [--sync-timeout MS]] [--json] [--env NAME]... [--outputs FILE|-] [--stack NAME] [--timeout MS] [--wait MS]
  nexus-redis recover ENV [--dry-run] [--force] [--outputs FILE|-] [--stack NAME] [--timeout MS]
  nexus-redis adopt [--dry-run] [--json] [--env NAME]... [--stack NAME] [--passwords FILE] [--timeout MS]
  nexus-redis rotate ENV ROLE (--from-file FILE | --generate FILE) [--dry-run] [--outputs FILE|-] [--stack NAME] [--timeout MS]
  nexus-redis backup [--env NAME]... [--to DIR] [--json] [--restic-repo URL [--keep-last N ...]] [--outputs FILE|-] [--stack NAME] [--timeout MS]
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
            finds it through Docker, refuses what it cannot take over safely, sets the
            stack's config (pulumi config set: passwords, vaultData, network, one more
            environments item), then per environment turns AOF on in the old vault, stops
            and renames the old containers, runs pulumi up, waits until check reports it
            healthy and removes the old containers (never a volume).
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
(its node down, nowhere to run); recover replaces the operational's service. rotate,
backup and restore are Docker-only there.

Options:
  --fix             check: repair the operational as its admin user (REPLICAOF the vault,
                    restore masteruser/masterauth and drifted settings), wait for the link,
                    report what changed. Never writes to a vault. Refuses a re-sync that
                    could lose data (vault empty while the operational holds keys, or the
                    vault's replication id is not one the operational followed).
  --force           with --fix or recover: re-sync even when that could lose data
  --json            check: print one JSON document on stdout instead of the table
  --env NAME        check, adopt: only this environment (repeatable; default: all of the
                    stack's; adopt: every environment it finds)
  --outputs FILE    the stack's outputs: a file with the JSON of
                    \`pulumi stack output --json --show-secrets\` (or of
                    \`npm run --silent synth -- --show-secrets\`), - for stdin;
                    default: run \`pulumi stack output --json --show-secrets\`
  --stack NAME      the Pulumi stack (default: PULUMI_STACK, else the selected stack)
  --timeout MS      check: bound of each environment's check and repair (default ${3000});
                    recover: how long to wait for the sync (default ${120000});
                    adopt: bound of each wait (AOF rewrite, new vault, healthy; default ${300000})
  --passwords FILE  adopt: JSON {"ENV": {"vault": "..."}} for vaults started without
                    --requirepass on their command line (checked with AUTH first)
  --sync-timeout MS check --fix: how long to wait for the link to come up after a repair
                    that re-syncs (a full sync of a real dataset takes a while; default ${60000})
  --wait MS         check: until every environment is healthy, check again (every second)
                    for up to MS, e.g. right after a deployment (default 0: check once)
  --dry-run         recover: print the Pulumi command instead of running it;
                    adopt: print what was found and the commands, change nothing;
                    rotate: print what it would do
  --from-file FILE  rotate: the new password, read from FILE (one line)
  --generate FILE   rotate: make a new password (32 letters and digits) into FILE (created 0600)
  -h, --help        this text

Examples:
  npx nexus-redis check
  npx nexus-redis check --env contact --env kb --json | jq '.environments[].status'
  pulumi stack output --json --show-secrets | npx nexus-redis check --outputs - --wait 60000
  npx nexus-redis check --fix
  npx nexus-redis recover contact --stack dev --dry-run
  npx nexus-redis adopt --dry-run
  npx nexus-redis rotate contact vault --generate contact-vault.pw

Exit codes:
  0  every environment is healthy (check), synced again (recover), the rotation's overlap is open (rotate),
     or every environment found was adopted (adopt; with --dry-run: none refused)
  1  a problem remains (check), recovery or adoption failed or was refused, or the server refused the new
     password (rotate)
  2  usage or configuration error (bad option, unknown environment, unreadable outputs)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr), nothing was judged`;

export const DEFAULT_CHECK_TIMEOUT_MS = 3000;
export const DEFAULT_RECOVER_WAIT_MS = 120_000;
/** adopt's bound of each wait: the AOF rewrite, the new vault answering, the environment healthy. */
export const DEFAULT_ADOPT_TIMEOUT_MS = 300_000;

export interface CliIo {
    stdout: { write(text: string): unknown };
    stderr: { write(text: string): unknown };
    readStdin(): Promise<string>;
    run: CommandRunner;
    /** Folder with Pulumi.yaml, where the Pulumi CLI runs. */
    projectDir: string;
    env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

/**
 * Commands that parse their own options and load what they need (Docker's client) only when
 * they run, so that `check` starts without it: `nexus-redis backup ...`, `nexus-redis restore ...`.
 */
const OWN_COMMANDS: Record<string, () => Promise<(argv: string[], io: CliIo) => Promise<number>>> = {
    backup: async () => (await loadModule<typeof import("./backup")>("./backup")).backupCommand,
    restore: async () => (await loadModule<typeof import("./restore")>("./restore")).restoreCommand,
};

/**
 * A module of the CLI, loaded when first needed: with `require` where the CLI runs (the bin's
 * tsx hook, or compiled JavaScript); vitest's runner resolves TypeScript only through `import()`.
 */
async function loadModule<T>(name: string): Promise<T> {
    try {
        return require(name) as T;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw e;
        return (await import(name)) as T;
    }
}

const OPTIONS = {
    fix: { type: "boolean" },
    force: { type: "boolean" },
    json: { type: "boolean" },
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

/** Options each command takes; any other is a usage error naming it. */
const COMMAND_OPTIONS: Record<string, (keyof typeof OPTIONS)[]> = {
    check: ["fix", "force", "json", "env", "outputs", "stack", "timeout", "wait", "sync-timeout", "help"],
    recover: ["force", "outputs", "stack", "timeout", "dry-run", "help"],
    adopt: ["dry-run", "json", "env", "stack", "passwords", "timeout", "help"],
    rotate: ["from-file", "generate", "outputs", "stack", "timeout", "dry-run", "help"],
};

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
    try {
        return await run(argv, io);
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr.write(`nexus-redis: ${e.message}\n\nRun \`nexus-redis --help\` for usage.\n`);
            return EXIT_USAGE;
        }
        if (e instanceof OutputsError) {
            io.stderr.write(`nexus-redis: ${e.message}\n`);
            return EXIT_USAGE;
        }
        if (e instanceof RecoverError) {
            io.stderr.write(`nexus-redis recover: ${e.message}\n`);
            return e.exitCode;
        }
        if (e instanceof RotateError) {
            io.stderr.write(`nexus-redis rotate: ${e.message}\n`);
            return e.exitCode;
        }
        // Anything else is a bug, not a finding about the fleet: its own code, so a pipeline
        // (or --wait) never mistakes a crash for "a problem remains".
        io.stderr.write(`nexus-redis: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        return EXIT_INTERNAL;
    }
}

/** Something a command opened that must be closed when it ends (a Swarm route's probe container). */
interface Closeable {
    close(): Promise<void>;
}

async function run(argv: string[], io: CliIo): Promise<number> {
    const own = OWN_COMMANDS[argv[0]];
    if (own) return (await own())(argv.slice(1), io);
    const opened: Closeable[] = [];
    try {
        return await runCommand(argv, io, opened);
    } finally {
        for (const resource of opened) await resource.close();
    }
}

/**
 * The stack's environments. On a Swarm deployment (cli/swarm.ts; dockerode is loaded only then) each
 * server is reached through a probe on the overlay and each task's placement is read from
 * the manager; `check` and `recover` work there, other commands are Docker-only.
 */
async function loadFleet(
    command: string,
    source: OutputsSource,
    io: CliIo,
    opened: Closeable[],
    lifetimeSeconds: number,
): Promise<EnvironmentsOutput> {
    const environments = await loadOutputs(source, io);
    if (!Object.values(environments).some((e) => e.platform === "swarm")) return environments;
    if (command !== "check" && command !== "recover") {
        throw new UsageError(`${command} works on platform docker only; on a Swarm deployment use check, check --fix and recover`);
    }
    const route = await attachSwarmRoute(environments, io.env, lifetimeSeconds);
    if (route) opened.push(route);
    return environments;
}

async function runCommand(argv: string[], io: CliIo, opened: Closeable[]): Promise<number> {
    let parsed;
    try {
        parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (values.help || command === "help") {
        io.stdout.write(`${HELP}\n`);
        return 0;
    }
    const commands = [...Object.keys(COMMAND_OPTIONS), ...Object.keys(OWN_COMMANDS)].join(", ");
    if (command === undefined) throw new UsageError(`a command is required: ${commands}`);
    if (command in OWN_COMMANDS) throw new UsageError(`${command} must come first: nexus-redis ${command} [options]`);
    const allowed = COMMAND_OPTIONS[command];
    if (!allowed) throw new UsageError(`unknown command "${command}"; the commands are ${commands}`);
    for (const [name, value] of Object.entries(values)) {
        if (value !== undefined && !allowed.includes(name as keyof typeof OPTIONS)) {
            throw new UsageError(`--${name} is not an option of ${command}`);
        }
    }

    if (command === "check") {
        if (rest.length > 0)
            throw new UsageError(`check takes no arguments, got "${rest.join(" ")}" (use --env NAME to choose environments)`);
        if (values.force && !values.fix) throw new UsageError("--force only applies to --fix");
        if (values["sync-timeout"] !== undefined && !values.fix) throw new UsageError("--sync-timeout only applies to --fix");
        const timeoutMs = parseMs("--timeout", values.timeout, DEFAULT_CHECK_TIMEOUT_MS);
        const syncTimeoutMs = parseMs("--sync-timeout", values["sync-timeout"], DEFAULT_SYNC_TIMEOUT_MS);
        const waitMs = values.wait === undefined ? 0 : parseMs("--wait", values.wait, 0);
        const lifetime = Math.ceil((waitMs + syncTimeoutMs + 10 * timeoutMs) / 1000) + 120;
        const environments = await loadFleet(command, { file: values.outputs, stack: values.stack }, io, opened, lifetime);
        const names = selectEnvironments(environments, values.env ?? []);
        if (!values.json)
            io.stderr.write(
                `checking ${names.length} environment${names.length === 1 ? "" : "s"}${values.fix ? " (repairing what is safe)" : ""}...\n`,
            );
        const options = { timeoutMs, syncTimeoutMs, fix: values.fix ?? false, force: values.force ?? false };
        const started = Date.now();
        let report = await checkFleet(environments, names, options);
        if (exitCode(report) !== 0 && waitMs > 0 && !values.json)
            io.stderr.write(`not healthy yet: checking again every second for up to ${Math.round(waitMs / 1000)} s\n`);
        while (exitCode(report) !== 0 && Date.now() - started < waitMs) {
            await new Promise((resolve) => setTimeout(resolve, 1000));
            report = await checkFleet(environments, names, options);
        }
        io.stdout.write(values.json ? renderJson(report) : renderTable(report));
        return exitCode(report);
    }

    if (command === "adopt") {
        if (rest.length > 0)
            throw new UsageError(`adopt takes no arguments, got "${rest.join(" ")}" (use --env NAME to choose environments)`);
        const timeoutMs = parseMs("--timeout", values.timeout, DEFAULT_ADOPT_TIMEOUT_MS);
        // Loaded here only: adopt brings dockerode, which check never needs. The bin loads
        // TypeScript through tsx's require hook; vitest loads modules through import().
        const { runAdopt } =
            typeof require !== "undefined" && require.extensions?.[".ts"]
                ? (require("./adopt") as typeof import("./adopt"))
                : await import("./adopt.js");
        return runAdopt(
            {
                environments: values.env ?? [],
                dryRun: values["dry-run"] ?? false,
                json: values.json ?? false,
                stack: values.stack,
                passwordsFile: values.passwords,
                timeoutMs,
            },
            io,
        );
    }

    if (command === "rotate") {
        if (rest.length !== 2) throw new UsageError(`rotate takes an environment and a password role, got "${rest.join(" ")}"`);
        const environments = await loadFleet(command, { file: values.outputs, stack: values.stack }, io, opened, 0);
        const result = await rotate(
            {
                environment: rest[0],
                role: rest[1],
                fromFile: values["from-file"],
                generate: values.generate,
                stack: values.stack,
                dryRun: values["dry-run"] ?? false,
                timeoutMs: parseMs("--timeout", values.timeout, DEFAULT_CHECK_TIMEOUT_MS),
            },
            environments,
            { run: io.run, projectDir: io.projectDir, log: (message) => io.stderr.write(`${message}\n`) },
        );
        const lines = [
            values["dry-run"] ? "Would do:" : "Done:",
            ...result.steps.map((step) => `  - ${step}`),
            values["dry-run"] ? "Then:" : "Next:",
            ...result.next.map((step, i) => `  ${i + 1}. ${step}`),
        ];
        io.stdout.write(`${lines.join("\n")}\n`);
        return 0;
    }

    // recover
    if (rest.length !== 1)
        throw new UsageError(`recover takes exactly one environment, got ${rest.length === 0 ? "none" : `"${rest.join(" ")}"`}`);
    const waitMs = parseMs("--timeout", values.timeout, DEFAULT_RECOVER_WAIT_MS);
    // `pulumi up` runs in between: the probe may have to outlive a long update.
    const source = { file: values.outputs, stack: values.stack };
    // --dry-run talks to no server: it needs no route (nor, on Swarm, a manager).
    const environments = values["dry-run"]
        ? await loadOutputs(source, io)
        : await loadFleet(command, source, io, opened, Math.ceil(waitMs / 1000) + 3600);
    const result = await recover(
        {
            environment: rest[0],
            stack: values.stack,
            dryRun: values["dry-run"] ?? false,
            force: values.force ?? false,
            waitMs,
            checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
        },
        environments,
        {
            run: io.run,
            projectDir: io.projectDir,
            env: io.env,
            log: (message) => io.stderr.write(`${message}\n`),
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            now: () => Date.now(),
        },
    );
    if (values["dry-run"]) {
        io.stdout.write(`${shellQuote(result.command)}\n`);
        return result.exitCode;
    }
    // The row is for the operator; the verdict is recover's own. It waited for the
    // operational to be synced and deliberately ignores problems of the vault alone
    // (vault-drift, persistence-off), which the row still shows.
    const report = await checkFleet(environments, [rest[0]], { timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, fix: false, force: false });
    io.stdout.write(renderTable(report));
    return result.exitCode;
}

function parseMs(option: string, value: string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) <= 0)
        throw new UsageError(`${option} must be a whole number of milliseconds above 0, got "${value}"`);
    return Number(value);
}

function selectEnvironments(environments: EnvironmentsOutput, wanted: string[]): string[] {
    const all = Object.keys(environments);
    if (wanted.length === 0) return all;
    const unknown = wanted.filter((name) => !(name in environments));
    if (unknown.length > 0) {
        throw new UsageError(
            `unknown environment${unknown.length === 1 ? "" : "s"} ${unknown.map((n) => `"${n}"`).join(", ")} in --env; the stack's are ${all.join(", ")}`,
        );
    }
    // The stack's order, each once, whatever order --env came in.
    return all.filter((name) => wanted.includes(name));
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
        projectDir: path.resolve(__dirname, ".."),
        env: process.env,
    };
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
