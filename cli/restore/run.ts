/** `nexus-redis restore ENV --from ...`: its options are its own (cli/restore/spec.ts parses them). */
import { UsageError } from "../core/errors";
import type { CliIo } from "../core/io";
import { connectDockerFor } from "../docker/client";
import { loadOutputs } from "../fleet/outputs";
import { renderRestoreJson, renderRestoreText } from "./report";
import { SWARM_REFUSAL, restore, restoreExitCode } from "./restore";
import { RESTORE_HELP, parseRestoreArgs } from "./spec";

/** `nexus-redis restore ARGS`: the exit code. */
export async function runArgv(argv: string[], io: CliIo): Promise<number> {
    const options = parseRestoreArgs(argv, io.env);
    if (options === "help") {
        io.stdout.write(`${RESTORE_HELP}\n`);
        return 0;
    }
    const environments = await loadOutputs({ file: options.outputs, stack: options.stack }, io);
    if (Object.values(environments).some((e) => e.platform === "swarm")) throw new UsageError(SWARM_REFUSAL, "restore");
    const env = environments[options.environment];
    if (!env)
        throw new UsageError(
            `unknown environment "${options.environment}"; the stack's are ${Object.keys(environments).join(", ")}`,
            "restore",
        );
    const docker = await connectDockerFor("restore", "restore works on the vault's container (DOCKER_HOST, else /var/run/docker.sock)");
    const log = (message: string) => {
        if (!options.json) io.stderr.write(`${message}\n`);
    };
    const report = await restore(env, options, { docker, run: io.run, env: io.env, log, now: () => new Date() });
    io.stdout.write(options.json ? renderRestoreJson(report) : renderRestoreText(report));
    return restoreExitCode(report);
}
