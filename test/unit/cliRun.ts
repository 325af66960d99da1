/**
 * The CLI run in-process, as the unit tests drive it: `main(argv, io)` with its own stdout,
 * stderr and stdin, and a command runner that records every command (and, without a stand-in,
 * behaves as if the Pulumi CLI were not installed).
 */
import * as path from "node:path";
import { main } from "../../cli/main";
import type { CliIo, ContainerSource } from "../../cli/core/io";
import type { CommandRunner, RunOptions } from "../../cli/core/runner";

const ROOT = path.resolve(__dirname, "../..");

export interface Run {
    code: number;
    stdout: string;
    stderr: string;
    commands: [string[], RunOptions][];
}

export async function cli(
    argv: string[],
    options: { stdin?: string | Error; runner?: CommandRunner; env?: Record<string, string>; engine?: ContainerSource } = {},
): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const commands: [string[], RunOptions][] = [];
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => {
            if (options.stdin instanceof Error) throw options.stdin;
            return options.stdin ?? "";
        },
        run: async (command, runOptions) => {
            commands.push([command, runOptions]);
            if (!options.runner) throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
            return options.runner(command, runOptions);
        },
        projectDir: ROOT,
        env: options.env ?? {},
        ...(options.engine ? { engine: options.engine } : {}),
    };
    const code = await main(argv, io);
    return { code, stdout, stderr, commands };
}
