/**
 * Failures the CLI reports as a message and an exit code of their own: the user's input or
 * the fleet, never a bug in nexus-redis (anything else is an internal error, exit 3).
 * Kept apart from every command so the dispatcher knows them without loading any command.
 */
import { EXIT_USAGE } from "./report";

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

/** A bad command line: the message is followed by a pointer to --help. Exit 2. */
export class UsageError extends CliError {
    constructor(message: string) {
        super(message, EXIT_USAGE);
        this.name = "UsageError";
    }
}

/** A duration option: a whole number of milliseconds above 0, else `fallback` when absent. */
export function parseMs(option: string, value: string | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) <= 0)
        throw new UsageError(`${option} must be a whole number of milliseconds above 0, got "${value}"`);
    return Number(value);
}
