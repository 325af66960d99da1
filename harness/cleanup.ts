/**
 * Removal of one run's Docker resources (a live-test fleet or a benchmark run), and the
 * watchdog that does it even when the run is killed. Kept apart from the fleet harness
 * (and from Pulumi) so the watchdog, harness/watchdog.ts, needs little to load; it loads
 * this module and dockerode only once its run has ended.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { type Docker, isNotFound } from "./docker";

/** Whether a resource's run label value belongs to run `id`. */
export function belongsTo(labelValue: string | undefined, id: string): boolean {
    return labelValue === id || (labelValue?.startsWith(`${id}-`) ?? false);
}

export interface RemovedCounts {
    containers: number;
    volumes: number;
    networks: number;
}

/**
 * Removes run `id`'s Docker resources: every container (force, with its anonymous volumes),
 * then volume, then network whose `labelKey` label belongs to the run (`id`, or `id-...` for
 * the parts of a benchmark run). The one way a fleet's destroy, the benchmarks and the
 * watchdog clean up. Resources already gone, or being removed by someone else, are fine;
 * other failures are thrown after trying everything.
 */
export async function removeRun(docker: Docker, labelKey: string, id: string): Promise<RemovedCounts> {
    // An empty id or key would match other runs' resources (and other engineers share the engine).
    if (!labelKey || !id || labelKey.includes("=") || id.includes("=")) {
        throw new Error(`removeRun: a label key and a run id are both needed, got "${labelKey}" and "${id}"`);
    }
    const counts: RemovedCounts = { containers: 0, volumes: 0, networks: 0 };
    const failures: string[] = [];
    const attempt = async (kind: keyof RemovedCounts, name: string, remove: () => Promise<void>) => {
        try {
            await remove();
            counts[kind]++;
        } catch (e) {
            // Gone already, or being removed by someone else (the fleet's own destroy): fine.
            if (!isNotFound(e) && !/already in progress/.test((e as Error).message))
                failures.push(`${kind} ${name}: ${(e as Error).message}`);
        }
    };
    // The engine filters by the bare key; only this run's values are kept.
    const filters = { label: [labelKey] };
    for (const c of await docker.listContainers({ all: true, filters })) {
        if (belongsTo(c.Labels[labelKey], id))
            await attempt("containers", c.Names[0] ?? c.Id, () => docker.getContainer(c.Id).remove({ force: true, v: true }));
    }
    // The engine sends null, not [], when there are no volumes.
    for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
        if (belongsTo(v.Labels?.[labelKey], id)) await attempt("volumes", v.Name, () => docker.getVolume(v.Name).remove({ force: true }));
    }
    for (const n of await docker.listNetworks({ filters })) {
        if (belongsTo(n.Labels?.[labelKey], id)) await attempt("networks", n.Name, () => docker.getNetwork(n.Id).remove());
    }
    if (failures.length > 0) throw new Error(`removing run ${id}: removed ${JSON.stringify(counts)}, failed:\n${failures.join("\n")}`);
    return counts;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the watchdog: a detached process (its own session, so Ctrl-C in this terminal
 * does not reach it) that waits for this process to end, however it ends (kill -9 too),
 * then removes run `id`'s resources. Resolves once the watchdog is watching.
 */
export function startWatchdog(labelKey: string, id: string): Promise<void> {
    const root = path.resolve(__dirname, "..");
    const child = spawn(
        process.execPath,
        ["--require", "tsx/cjs", path.join(__dirname, "watchdog.ts"), labelKey, id, String(process.pid)],
        {
            cwd: root,
            detached: true,
            stdio: ["ignore", "pipe", "inherit"],
        },
    );
    return new Promise((resolve, reject) => {
        let text = "";
        child.on("error", reject);
        child.on("exit", (code) => reject(new Error(`the cleanup watchdog exited early (${code})`)));
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
            text += chunk;
            if (!text.includes("watching")) return;
            child.removeAllListeners("exit");
            child.stdout!.destroy();
            child.unref();
            resolve();
        });
    });
}
