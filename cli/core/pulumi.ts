/**
 * The Pulumi CLI, wrapped once: every `pulumi ...` argv the commands run (check's `stack
 * output`, recover's `up --target --replace`, rotate's and adopt's `config get/set/rm`,
 * adopt's `preview`, `up` and `destroy`), how a missing CLI is reported, and how a command
 * is quoted for people. The builders are pure; the unit tests pin each argv byte for byte.
 */
import { shellQuote } from "./format";
import type { CommandRunner, RunResult } from "./runner";

/** `--stack NAME` when one is given; Pulumi otherwise acts on the selected stack (or PULUMI_STACK). */
export function stackArgs(stack: string | undefined): string[] {
    return stack ? ["--stack", stack] : [];
}

/** A command to run: its arguments, and what goes to its stdin. */
export interface Invocation {
    command: string[];
    /** A secret value, given on stdin so that no `ps` (and no shell history) ever shows it. */
    input?: string;
}

/** One key `pulumi config set` writes (adopt's ConfigStep is one). */
export interface ConfigSetting {
    key: string;
    value: string;
    secret: boolean;
    /** `--path`: the key names a place inside a structured value (`environments[3]`). */
    path: boolean;
}

/** The `pulumi stack output` command the CLI runs when no `--outputs` is given. */
export function stackOutputCommand(stack: string | undefined): string[] {
    return ["pulumi", "stack", "output", "--json", "--show-secrets", ...stackArgs(stack)];
}

/** What names the stack Pulumi acts on when neither --stack nor PULUMI_STACK does. */
export const SHOW_STACK_COMMAND: readonly string[] = ["pulumi", "stack", "--show-name"];

/**
 * The Pulumi command of a recovery. No `--skip-preview`: the preview prints exactly what
 * will be replaced before it is, and costs a second on two resources.
 */
export function recoverCommand(targets: string[], stack: string | undefined): string[] {
    return [
        "pulumi",
        "up",
        "--yes",
        ...stackArgs(stack),
        ...targets.flatMap((urn) => ["--target", urn]),
        ...targets.flatMap((urn) => ["--replace", urn]),
    ];
}

/** `pulumi config get passwords`: the stack's current value (secret, decrypted). */
export function getPasswordsCommand(stack: string | undefined): string[] {
    return ["pulumi", "config", "get", "passwords", ...stackArgs(stack)];
}

/** `pulumi config set --secret passwords`, the value given on stdin so no `ps` ever shows it. */
export function setPasswordsCommand(stack: string | undefined): string[] {
    return ["pulumi", "config", "set", "--secret", "passwords", ...stackArgs(stack)];
}

/** `pulumi config set ...` of a step; a secret's value goes on stdin, as `pulumi config set` reads it when none is given. */
export function configSetCommand(step: ConfigSetting, stack: string | undefined): Invocation {
    const command = [
        "pulumi",
        "config",
        "set",
        ...stackArgs(stack),
        ...(step.secret ? ["--secret"] : []),
        ...(step.path ? ["--path"] : []),
        step.key,
    ];
    return step.secret ? { command, input: step.value } : { command: [...command, step.value] };
}

/** `pulumi config get KEY`: what adopt reads the stack's configuration with (a secret is printed decrypted). */
export function configGetCommand(key: string, stack: string | undefined): string[] {
    return ["pulumi", "config", "get", ...stackArgs(stack), key];
}

/** `pulumi config rm|set` and the stack, before the key and flags: how adopt's rollback puts a key back. */
export function configCommand(verb: "rm" | "set", stack: string | undefined): string[] {
    return ["pulumi", "config", verb, ...stackArgs(stack)];
}

/**
 * The preview run once the configuration is set and before anything is stopped: a program or
 * configuration Pulumi refuses fails here, while the old vault still takes writes.
 */
export function previewCommand(stack: string | undefined): string[] {
    return ["pulumi", "preview", "--diff", ...stackArgs(stack)];
}

/**
 * The command that applies the stack: a plain `pulumi up` (`environments` lists only what is
 * adopted), without the second preview, which would only lengthen the time writes are refused.
 */
export function upCommand(stack: string | undefined): string[] {
    return ["pulumi", "up", "--yes", "--skip-preview", ...stackArgs(stack)];
}

/** `pulumi destroy`: what removes the stack's containers when no environment is left in it. */
export function destroyCommand(stack: string | undefined): string[] {
    return ["pulumi", "destroy", "--yes", "--skip-preview", ...stackArgs(stack)];
}

/** What `pulumi config get` says about a key the stack does not set. */
export function isConfigNotFound(stderr: string): boolean {
    return /configuration key '[^']*' not found/.test(stderr);
}

/** An invocation for people to read (and paste): a value given on stdin is named, never shown. */
export function printable(invocation: Invocation | string[]): string {
    if (Array.isArray(invocation)) return shellQuote(invocation);
    return `${shellQuote(invocation.command)}${invocation.input === undefined ? "" : "  # the value on stdin (secret)"}`;
}

/** The start of every command's message when the Pulumi CLI is missing; each says why it needs it. */
export const PULUMI_NOT_ON_PATH = "the Pulumi CLI (pulumi) is not on PATH";

/**
 * Runs a Pulumi command in the project. A missing CLI (the spawn's ENOENT) becomes
 * `missing()`, the caller's error naming why it needs Pulumi; anything else is rethrown.
 */
export async function runPulumi(
    run: CommandRunner,
    cwd: string,
    command: string[],
    capture: boolean,
    input: string | undefined,
    missing: () => Error,
): Promise<RunResult> {
    try {
        return await run(command, { cwd, capture, ...(input === undefined ? {} : { input }) });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") throw missing();
        throw e;
    }
}

/**
 * Which stack Pulumi will act on: `stack` (--stack), else PULUMI_STACK, else the selected one.
 * `fail` makes the caller's error of a usage problem (no stack selected, no Pulumi CLI:
 * `missingWhy` says why the command needs it).
 */
export async function resolveStack(
    stack: string | undefined,
    io: { run: CommandRunner; projectDir: string; env: Readonly<Record<string, string | undefined>> },
    fail: (message: string) => Error,
    missingWhy: string,
): Promise<string> {
    if (stack) return stack;
    if (io.env.PULUMI_STACK) return io.env.PULUMI_STACK;
    const command = [...SHOW_STACK_COMMAND];
    const result = await runPulumi(io.run, io.projectDir, command, true, undefined, () => fail(`${PULUMI_NOT_ON_PATH}: ${missingWhy}`));
    const name = result.stdout.trim();
    if (result.exitCode === 0 && name !== "") return name;
    throw fail(
        `\`${command.join(" ")}\` failed (exit ${result.exitCode}): ${result.stderr.trim() || "no stack selected"}; pass --stack NAME`,
    );
}
