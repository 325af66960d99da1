/**
 * Failures the CLI reports as a message and an exit code of their own: the user's input or
 * the fleet, never a bug in nexus-redis (anything else is an internal error, exit 3).
 * Kept apart from every command so the dispatcher knows them without loading any command.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { EXIT_USAGE } from "./exit";

export class CliError extends Error {
    constructor(
        message: string,
        readonly exitCode: number,
        /** What the message is prefixed with on stderr. */
        readonly prefix = "nexus-redis",
    ) {
        super(message);
        this.name = "CliError";
    }
}

/** A problem with the outputs the CLI was given: exit code 2. */
export class OutputsError extends CliError {
    constructor(message: string) {
        super(message, EXIT_USAGE);
        this.name = "OutputsError";
    }
}

/**
 * A bad command line or configuration: the message is followed by a pointer to --help. Exit 2.
 * `command` names a command with a help of its own (backup, restore): the message is then
 * prefixed with it, and points to its help.
 */
export class UsageError extends CliError {
    constructor(
        message: string,
        readonly command?: string,
    ) {
        super(message, EXIT_USAGE, command ? `nexus-redis ${command}` : "nexus-redis");
        this.name = "UsageError";
    }

    /** The command line whose output explains the usage. */
    get help(): string {
        return `${this.prefix} --help`;
    }
}

/**
 * A command line parsed strictly: options, then arguments. An unknown option, or a value
 * missing or given to a flag, is a UsageError (of `command`, for a command with its own help).
 */
export function parseCommandLine<T extends ParseArgsOptionsConfig>(argv: string[], options: T, command?: string) {
    try {
        return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    } catch (e) {
        throw new UsageError((e as Error).message, command);
    }
}

/** A duration option: a whole number of milliseconds above 0, else `fallback` when absent. */
export function parseMs(option: string, value: string | undefined, fallback: number, command?: string): number {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) <= 0)
        throw new UsageError(`${option} must be a whole number of milliseconds above 0, got "${value}"`, command);
    return Number(value);
}
