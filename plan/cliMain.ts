/** How the plan's command-line entries (synth, engineCli) end: the exit code once the output is out. */

/** Exits once everything written has reached the pipe: a plain exit truncates large output. */
function exitAfterFlush(code: number): void {
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

/** Runs `main` and exits with its code; an error it throws is printed with its stack, exit 1. */
export function runMain(label: string, main: () => Promise<number>): void {
    main().then(exitAfterFlush, (e) => {
        process.stderr.write(`${label}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        exitAfterFlush(1);
    });
}

/**
 * Exit code 2 for an error the user can fix (`expected`: configuration, usage), printed without
 * a stack; any other error is thrown on.
 */
export function userErrorExit(label: string, e: unknown, expected: (abstract new (...args: never[]) => Error)[]): number {
    if (!expected.some((type) => e instanceof type)) throw e;
    process.stderr.write(`${label}: ${(e as Error).message}\n`);
    return 2;
}
