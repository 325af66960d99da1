/** `nexus-redis backup [options]`: its options are its own (cli/backup/spec.ts parses them). */
import type { CliIo } from "../core/io";
import { loadOutputs } from "../fleet/outputs";
import { backupWithRoute } from "./backup";
import { BACKUP_HELP, parseBackupArgs } from "./spec";

/** `nexus-redis backup ARGS`: the exit code. Configuration errors of the outputs are thrown (OutputsError) for main to report. */
export async function runArgv(argv: string[], io: CliIo): Promise<number> {
    const options = parseBackupArgs(argv, io.env);
    if (options === "help") {
        io.stdout.write(`${BACKUP_HELP}\n`);
        return 0;
    }
    const environments = await loadOutputs({ file: options.outputs, stack: options.stack }, io);
    // On Swarm each vault is reached through the CLI's probe on the overlay (cli/fleet/swarm.ts), for as long as the backup may take.
    const swarm = Object.values(environments).some((e) => e.platform === "swarm") ? await import("../fleet/swarm.js") : undefined;
    const route = swarm ? await swarm.attachSwarmRoute(environments, io.env, Math.ceil(options.timeoutMs / 1000) + 60) : undefined;
    try {
        // On Swarm the scratch server runs on the manager the CLI talks to (DOCKER_HOST names it).
        return await backupWithRoute(environments, options, io, swarm ? () => swarm.connectManager(io.env) : undefined);
    } finally {
        await route?.close();
    }
}
