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
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_RECOVER_WAIT_MS } from "./core/defaults";
import { CliError, UsageError, parseCommandLine } from "./core/errors";
import type { CliIo, Closeable, Command, ContainerSource, OwnCommand } from "./core/io";
import { type CommandSpec, checkCommandLine, parserConfig, renderMainHelp } from "./core/spec";
import { EXIT_INTERNAL } from "./core/exit";
import { spawnRunner } from "./core/runner";
import { ADOPT } from "./adopt/spec";
import { BACKUP } from "./backup/spec";
import { CHECK } from "./check/spec";
import { RECOVER } from "./recover/spec";
import { RESTORE } from "./restore/spec";
import { ROTATE } from "./rotate/spec";

export { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_RECOVER_WAIT_MS };

/**
 * The commands: each one's spec (cli/<command>/spec.ts: options, usage, help lines, plain
 * data) and its module, imported only when it runs. To add one: a folder with a spec.ts and a
 * run.ts exporting `run` (or `runArgv`, for a command that parses its own options), and a row here.
 */
type Entry = SharedEntry | FirstEntry;
interface SharedEntry {
    spec: CommandSpec & { placement: "anywhere" };
    load: () => Promise<Command>;
}
interface FirstEntry {
    spec: CommandSpec & { placement: "first" };
    load: () => Promise<OwnCommand>;
}
const isFirst = (entry: Entry | undefined): entry is FirstEntry => entry?.spec.placement === "first";

const COMMANDS: Entry[] = [
    { spec: CHECK, load: () => import("./check/run.js") },
    { spec: RECOVER, load: () => import("./recover/run.js") },
    { spec: ADOPT, load: () => import("./adopt/run.js") },
    { spec: ROTATE, load: () => import("./rotate/run.js") },
    // "first": they parse their own options (backup's --to, --restic-repo, --keep-*; restore's
    // --from) from everything after their name, which must therefore come first.
    { spec: BACKUP, load: () => import("./backup/run.js") },
    { spec: RESTORE, load: () => import("./restore/run.js") },
];

/** The options of the commands that share the main help page, parsed strictly in one pass: run checks each against its command's. */
const OPTIONS = parserConfig({ ...CHECK.options, ...RECOVER.options, ...ADOPT.options, ...ROTATE.options });

/** What the shared page says of several commands at once: Swarm, and the exit codes. */
const SWARM_NOTE = `Docker Swarm (the stack's outputs say "platform": "swarm"): run on a manager, or with
DOCKER_HOST naming one. check and recover reach each service through a short-lived probe
container on its overlay network, and report a service that runs no task with the cause
(its node down, nowhere to run); recover replaces the operational's service. adopt, rotate,
backup and restore are Docker-only there.`;
const EXITS = `  0  every environment is healthy (check), synced again (recover), the rotation's overlap is open (rotate),
     or every environment found was adopted (adopt; with --dry-run: none refused)
  1  a problem remains (check), recovery or adoption failed or was refused, or the server refused the new
     password (rotate)
  2  usage or configuration error (bad option, unknown environment, unreadable outputs)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr), nothing was judged
backup and restore: see their own --help.`;

export const HELP = renderMainHelp(
    COMMANDS.map((c) => c.spec),
    { notes: SWARM_NOTE, width: 18, exits: EXITS },
);

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
    const first = COMMANDS.find((c) => c.spec.name === argv[0]);
    if (isFirst(first)) return (await first.load()).runArgv(argv.slice(1), io);
    const { values, positionals } = parseCommandLine(argv, OPTIONS);
    const [name, ...args] = positionals;
    if (values.help || name === "help") {
        io.stdout.write(`${HELP}\n`);
        return 0;
    }
    const names = COMMANDS.map((c) => c.spec.name).join(", ");
    if (name === undefined) throw new UsageError(`a command is required: ${names}`);
    const command = COMMANDS.find((c) => c.spec.name === name);
    if (isFirst(command)) throw new UsageError(`${name} must come first: nexus-redis ${name} [options]`);
    if (!command) throw new UsageError(`unknown command "${name}"; the commands are ${names}`);
    for (const [option, value] of Object.entries(values)) {
        if (value !== undefined && !Object.hasOwn(command.spec.options, option)) {
            throw new UsageError(`--${option} is not an option of ${name}`);
        }
    }
    checkCommandLine(command.spec, args, values);
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
