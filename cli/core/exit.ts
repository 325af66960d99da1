/**
 * The exit codes every command shares, as documented in the help text. They live apart from
 * any command's renderer so that errors, outputs and every command can name them without
 * importing check's report (which imports the judge).
 */
export const EXIT_HEALTHY = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;
/** A bug in nexus-redis (an unexpected exception): distinct from 1, which is a finding about the fleet. */
export const EXIT_INTERNAL = 3;

/**
 * Every exit code and what it means to every command: the README's tables of exit codes have
 * these in their Meaning column (test/unit/docs-exit-codes.test.ts), each command's own column
 * saying what it means there.
 */
export const EXIT_CODES: readonly { code: number; meaning: string }[] = [
    { code: EXIT_HEALTHY, meaning: "success" },
    { code: EXIT_PROBLEMS, meaning: "a finding about the fleet: a problem, a refusal, a failure" },
    { code: EXIT_USAGE, meaning: "usage or configuration error" },
    { code: EXIT_INTERNAL, meaning: "internal error: a bug in nexus-redis" },
];
