/** `nexus-redis adopt`: puts a fleet built by hand under the stack, keeping every key and password. */
import { runAdopt } from "./adopt";
import { DEFAULT_ADOPT_TIMEOUT_MS } from "../core/defaults";
import { parseMs } from "../core/errors";
import type { CliIo, Invocation } from "../core/io";
import type { ValuesOf } from "../core/spec";
import type { ADOPT } from "./spec";

export async function run({ values }: Invocation<ValuesOf<typeof ADOPT>>, io: CliIo): Promise<number> {
    return runAdopt(
        {
            environments: values.env ?? [],
            dryRun: values["dry-run"] ?? false,
            json: values.json ?? false,
            stack: values.stack,
            passwordsFile: values.passwords,
            timeoutMs: parseMs("--timeout", values.timeout, DEFAULT_ADOPT_TIMEOUT_MS),
        },
        io,
    );
}
