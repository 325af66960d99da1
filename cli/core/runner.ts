/**
 * How the CLI runs other programs (the Pulumi CLI, redis-cli, restic). Injected everywhere
 * it is used, so the tests check the exact command without those programs installed.
 */
import type { StdioOptions } from "node:child_process";

export interface RunOptions {
    cwd?: string;
    /** true: collect stdout and stderr; false: let the child print to ours (a long `pulumi up`). */
    capture: boolean;
    /** Written to the child's stdin (a secret value: never on its command line, which `ps` shows). */
    input?: string;
    /**
     * Variables added to the child's environment (on top of this process's). Secrets a program
     * reads from its environment (REDISCLI_AUTH, RESTIC_PASSWORD_FILE) go here, never into argv,
     * which any user of the machine can read in /proc.
     */
    env?: Readonly<Record<string, string>>;
    /** Stop the child (SIGTERM, then SIGKILL 5 s later) once it has run this long; the result says `timedOut`. */
    timeoutMs?: number;
}

export interface RunResult {
    exitCode: number;
    stdout: string;
    stderr: string;
    /** The child was stopped because it ran past `timeoutMs`. */
    timedOut?: boolean;
}

/** Runs `command[0]` with the rest as arguments; rejects with the spawn error (`code: "ENOENT"` when it is not installed). */
export type CommandRunner = (command: string[], options: RunOptions) => Promise<RunResult>;

export const spawnRunner: CommandRunner = async (command, options) => {
    // Loaded here, not with the CLI: most runs (a check given --outputs) start no program.
    const { spawn } = await import("node:child_process");
    return new Promise((resolve, reject) => {
        const stdio: StdioOptions = [
            options.input === undefined ? "ignore" : "pipe",
            // Not captured: the child writes to our stderr, so our stdout keeps only the CLI's result.
            options.capture ? "pipe" : process.stderr,
            options.capture ? "pipe" : process.stderr,
        ];
        const child = spawn(command[0], command.slice(1), {
            cwd: options.cwd,
            env: options.env ? { ...process.env, ...options.env } : undefined,
            stdio,
        });
        if (options.input !== undefined) child.stdin?.end(options.input);
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        let killer: NodeJS.Timeout | undefined;
        const timer =
            options.timeoutMs === undefined
                ? undefined
                : setTimeout(() => {
                      timedOut = true;
                      child.kill("SIGTERM");
                      killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
                  }, options.timeoutMs);
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", (e) => {
            clearTimeout(timer);
            clearTimeout(killer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            clearTimeout(killer);
            resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr, ...(timedOut ? { timedOut } : {}) });
        });
    });
};
