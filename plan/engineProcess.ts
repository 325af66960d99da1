/**
 * One run of plan/engineCli.ts in its own process (Pulumi keeps its runtime in process
 * globals): how tests and the live harness plan several runs of the program in a row, each
 * from the state the last one left.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { EngineState, Step } from "./engine";
import type { EngineFacts } from "./engineModel";
import type { Plan } from "./plan";

export interface EngineRequest {
    mode: "preview" | "apply";
    prior?: EngineState;
    facts?: EngineFacts;
    stack?: string;
    /** Folder with Pulumi.yaml and index.ts (another checkout of the program). Default: this repository. */
    projectDir?: string;
    /** `-c KEY=VALUE`. */
    values?: Record<string, string>;
    /** `--secret KEY=VALUE`. */
    secrets?: Record<string, string>;
    /** `--replace URN`. */
    replace?: string[];
}

export interface EngineResult {
    steps: Step[];
    state: EngineState;
    plan: Plan;
}

const ROOT = path.resolve(__dirname, "..");

export async function runEngineProcess(request: EngineRequest): Promise<EngineResult> {
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), path.join(ROOT, "plan/engineCli.ts")], {
        cwd: ROOT,
        stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b) => out.push(b));
    child.stderr.on("data", (b) => err.push(b));
    child.stdin.end(JSON.stringify(request));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    if (code !== 0) throw new Error(`plan/engineCli.ts exited ${code}: ${Buffer.concat(err).toString()}`);
    return JSON.parse(Buffer.concat(out).toString()) as EngineResult;
}
