/**
 * How the CLI runs other programs (the Pulumi CLI). Injected everywhere it is used, so the
 * tests check the exact command without Pulumi installed.
 */
import type { StdioOptions } from "node:child_process";

export interface RunOptions {
    cwd?: string;
    /** true: collect stdout and stderr; false: let the child print to ours (a long `pulumi up`). */
    capture: boolean;
    /** Written to the child's stdin (a secret value: never on its command line, which `ps` shows). */
    input?: string;
}

export interface RunResult {
    exitCode: number;
    stdout: string;
    stderr: string;
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
        const child = spawn(command[0], command.slice(1), { cwd: options.cwd, stdio });
        if (options.input !== undefined) child.stdin?.end(options.input);
        let stdout = "";
        let stderr = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
};
