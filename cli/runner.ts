/**
 * How the CLI runs other programs (the Pulumi CLI). Injected everywhere it is used, so the
 * tests check the exact command without Pulumi installed.
 */
import { spawn } from "node:child_process";

export interface RunOptions {
    cwd?: string;
    /** true: collect stdout and stderr; false: let the child print to ours (a long `pulumi up`). */
    capture: boolean;
}

export interface RunResult {
    exitCode: number;
    stdout: string;
    stderr: string;
}

/** Runs `command[0]` with the rest as arguments; rejects with the spawn error (`code: "ENOENT"` when it is not installed). */
export type CommandRunner = (command: string[], options: RunOptions) => Promise<RunResult>;

export const spawnRunner: CommandRunner = (command, options) =>
    new Promise((resolve, reject) => {
        const child = spawn(command[0], command.slice(1), {
            cwd: options.cwd,
            // Not captured: the child writes to our stderr, so our stdout keeps only the CLI's result.
            stdio: options.capture ? ["ignore", "pipe", "pipe"] : ["ignore", process.stderr, process.stderr],
        });
        let stdout = "";
        let stderr = "";
        child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        child.on("error", reject);
        child.on("close", (code, signal) => resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
