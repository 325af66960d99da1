/** `nexus-redis recover ENV`: the protocol's disaster recovery of one operational, through Pulumi. */
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_RECOVER_WAIT_MS } from "../core/defaults";
import { parseMs } from "../core/errors";
import { checkFleet } from "../health/checkFleet";
import type { CliIo, Invocation } from "../core/io";
import type { ValuesOf } from "../core/spec";
import type { RECOVER } from "./spec";
import { loadFleet } from "../fleet/load";
import { loadOutputs } from "../fleet/outputs";
import { recover } from "./recover";
import { shellQuote } from "../core/format";
import { renderTable } from "../health/report";

export async function run({ values, args, opened }: Invocation<ValuesOf<typeof RECOVER>>, io: CliIo): Promise<number> {
    const waitMs = parseMs("--timeout", values.timeout, DEFAULT_RECOVER_WAIT_MS);
    const source = { file: values.outputs, stack: values.stack };
    // --dry-run talks to no server: it needs no route (nor, on Swarm, a manager). Otherwise
    // `pulumi up` runs in between: the probe may have to outlive a long update.
    const environments = values["dry-run"]
        ? await loadOutputs(source, io)
        : await loadFleet("recover", source, io, opened, Math.ceil(waitMs / 1000) + 3600);
    const result = await recover(
        {
            environment: args[0],
            stack: values.stack,
            dryRun: values["dry-run"] ?? false,
            force: values.force ?? false,
            waitMs,
            checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
        },
        environments,
        {
            run: io.run,
            projectDir: io.projectDir,
            env: io.env,
            log: (message) => io.stderr.write(`${message}\n`),
            sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
            now: () => Date.now(),
        },
    );
    if (values["dry-run"]) {
        io.stdout.write(`${shellQuote(result.command)}\n`);
        return result.exitCode;
    }
    // The row is for the operator; the verdict is recover's own. It waited for the
    // operational to be synced and deliberately ignores problems of the vault alone
    // (vault-drift, persistence-off), which the row still shows.
    const report = await checkFleet(environments, [args[0]], { timeoutMs: DEFAULT_CHECK_TIMEOUT_MS, fix: false, force: false });
    io.stdout.write(renderTable(report));
    return result.exitCode;
}
