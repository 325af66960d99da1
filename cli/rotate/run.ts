/** `nexus-redis rotate ENV ROLE`: opens a password rotation (old and new accepted) and puts the new one in the stack's config. */
import { DEFAULT_CHECK_TIMEOUT_MS } from "../core/defaults";
import { parseMs } from "../core/errors";
import type { CliIo, Invocation } from "../core/io";
import type { ValuesOf } from "../core/spec";
import type { ROTATE } from "./spec";
import { loadFleet } from "../fleet/load";
import { rotate } from "./rotate";

export async function run({ values, args, opened }: Invocation<ValuesOf<typeof ROTATE>>, io: CliIo): Promise<number> {
    const environments = await loadFleet("rotate", { file: values.outputs, stack: values.stack }, io, opened, 0);
    const result = await rotate(
        {
            environment: args[0],
            role: args[1],
            fromFile: values["from-file"],
            generate: values.generate,
            stack: values.stack,
            dryRun: values["dry-run"] ?? false,
            timeoutMs: parseMs("--timeout", values.timeout, DEFAULT_CHECK_TIMEOUT_MS),
        },
        environments,
        { run: io.run, projectDir: io.projectDir, log: (message) => io.stderr.write(`${message}\n`) },
    );
    const lines = [
        values["dry-run"] ? "Would do:" : "Done:",
        ...result.steps.map((step) => `  - ${step}`),
        values["dry-run"] ? "Then:" : "Next:",
        ...result.next.map((step, i) => `  ${i + 1}. ${step}`),
    ];
    io.stdout.write(`${lines.join("\n")}\n`);
    return 0;
}
