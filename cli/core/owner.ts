/**
 * Which process made a temporary thing (a scratch or helper container, a half-written backup
 * file), so that a later run can remove what a killed one left, and never what a running one
 * is using. The owner is written `host:pid`.
 */
import * as os from "node:os";

/** This process, as the owner of what it makes: `host:pid`. */
export function ownerTag(host = os.hostname(), pid = process.pid): string {
    return `${safeHostName(host)}:${pid}`;
}

/** A host name as it can go into a file name or a label: letters, digits, dots and dashes. */
export function safeHostName(host: string): string {
    return host.replace(/[^A-Za-z0-9.-]/g, "_") || "host";
}

/**
 * Whether the process an owner tag names still runs: "dead" only when it is on this host and
 * the kernel says it is gone (a pid taken again by another process counts as alive: never
 * remove what might be in use); "elsewhere" for another host, which this one cannot ask;
 * "unknown" without a tag (made by an older version).
 */
export type OwnerState = "alive" | "dead" | "elsewhere" | "unknown";

export function ownerState(
    tag: string | undefined,
    here: { host: string; alive(pid: number): boolean } = { host: os.hostname(), alive: processAlive },
): OwnerState {
    const match = /^(.+):(\d+)$/.exec(tag ?? "");
    if (!match) return "unknown";
    if (match[1] !== safeHostName(here.host)) return "elsewhere";
    return here.alive(Number(match[2])) ? "alive" : "dead";
}

/** Whether a process of this host runs with that pid (signal 0 asks, and sends nothing). */
export function processAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        // EPERM: it runs, as another user.
        return (e as NodeJS.ErrnoException).code !== "ESRCH";
    }
}
