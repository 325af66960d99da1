/**
 * `tsx plan/engineCli.ts` reads one JSON document on stdin and prints one on stdout: a run of
 * the program as `pulumi preview` or `pulumi up` would make it from a prior state
 * (plan/engineRun.ts). One run per process: Pulumi keeps its runtime in process globals, so
 * tests and the live harness start one process per run.
 *
 * stdin:  { "mode": "preview" | "apply", "prior"?: EngineState, "facts"?: EngineFacts,
 *           "stack"?: string, "values"?: { KEY: VALUE }, "secrets"?: { KEY: VALUE }, "replace"?: URN[] }
 * stdout: { "steps": Step[], "state": EngineState, "plan": Plan }
 * Exit codes: 0 done, 2 a configuration error (on stderr), 1 anything else.
 */
import { ConfigError } from "../config";
import { UnmodelledInputError } from "./engineModel";
import { type EngineRunOptions, runEngine } from "./engineRun";
import { runMain, userErrorExit } from "./cliMain";
import { ProjectConfigError } from "./projectConfig";

async function main(): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as EngineRunOptions;
    if (request.mode !== "preview" && request.mode !== "apply") throw new Error(`mode must be "preview" or "apply", got ${request.mode}`);
    try {
        const { steps, state, plan } = await runEngine(request);
        process.stdout.write(`${JSON.stringify({ steps, state, plan })}\n`);
        return 0;
    } catch (e) {
        return userErrorExit("engine", e, [ConfigError, ProjectConfigError, UnmodelledInputError]);
    }
}

runMain("engine", () => main());
