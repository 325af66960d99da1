/**
 * The CLI in this process, as an operator runs it against a live fleet: `main(argv, io)` with
 * `--outputs -` and the stack's outputs on stdin, the real command runner, and its output kept
 * in memory. For the live tests and the docs' screenshot (scripts/docs-screenshot.ts).
 */
import * as path from "node:path";
import { main } from "../cli/main";
import type { CliIo } from "../cli/core/io";
import { spawnRunner } from "../cli/core/runner";
import type { EnvironmentOutput } from "./fleet";

const ROOT = path.resolve(__dirname, "..");

export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** `nexus-redis ARGV --outputs -`, with `outputs` (the stack output `environments`) on stdin. */
export async function runCli(outputs: Record<string, EnvironmentOutput>, argv: string[]): Promise<CliRun> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => JSON.stringify({ environments: outputs }),
        run: spawnRunner,
        projectDir: ROOT,
        env: process.env,
    };
    const code = await main([...argv, "--outputs", "-"], io);
    return { code, stdout, stderr };
}
