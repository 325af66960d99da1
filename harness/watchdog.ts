/**
 * The cleanup watchdog of a live-test fleet or a benchmark run:
 * `node --require tsx/cjs harness/watchdog.ts LABEL_KEY RUN_ID PARENT_PID`.
 *
 * Started detached by startWatchdog (cleanup.ts). Prints "watching", waits until PARENT_PID is gone
 * (finished, crashed, Ctrl-C, or killed), then removes every container, volume and network
 * of RUN_ID (by its LABEL_KEY label). It sweeps again a second later, and until a sweep
 * succeeds (a few tries): a create request the engine was still serving when the parent
 * died can land after the first sweep, and a volume stays in use until its container is gone.
 */

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

async function main(labelKey: string, id: string, parentPid: number): Promise<void> {
    // The id is checked so that a wrong argument can never widen the sweep to other runs.
    if (!labelKey || !/^nr[a-z]{1,3}[0-9a-f]{8}$/.test(id) || !Number.isInteger(parentPid)) {
        throw new Error(`usage: watchdog.ts LABEL_KEY RUN_ID PARENT_PID (got ${process.argv.slice(2).join(" ")})`);
    }
    process.stdout.write("watching\n");
    while (alive(parentPid)) await sleep(250);
    // Loaded only now: dockerode takes about half a second to load, and every run waits for
    // "watching" before it creates anything.
    const { removeRun } = require("./cleanup") as typeof import("./cleanup");
    const { connectDocker } = require("./docker") as typeof import("./docker");
    let total = 0;
    let sweeps = 0;
    let lastError: unknown;
    for (let attempt = 0; attempt < 6 && (sweeps < 2 || lastError); attempt++) {
        await sleep(attempt === 0 ? 0 : 1_000);
        try {
            // Connected after the parent is gone, and again on each try: the engine may have been restarted.
            const counts = await removeRun(await connectDocker(), labelKey, id);
            total += counts.containers + counts.volumes + counts.networks;
            lastError = undefined;
        } catch (e) {
            lastError = e;
        }
        sweeps++;
    }
    if (total > 0) process.stderr.write(`cleanup watchdog: removed ${total} leftover Docker resource(s) of run ${id}\n`);
    if (lastError) throw lastError;
}

main(process.argv[2], process.argv[3], Number(process.argv[4])).then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`cleanup watchdog: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
    },
);
