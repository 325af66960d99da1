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
