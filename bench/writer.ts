/**
 * A writer as a client of the fleet is: a SET every 10 ms, each on a fresh connection that
 * logs in with the password of the moment (500 ms bound), recording which writes the vault
 * acknowledged and when. The outage a benchmark reports is read from those times.
 */
import { performance } from "node:perf_hooks";
import { redisCommands } from "../harness/resp";
import { sleep } from "./resources";

/** What a probing writer saw: writes failing in all, and the longest stretch without a write. */
export interface WriteOutage {
    totalMs: number;
    longestMs: number;
}

/**
 * The outage in a writer's successful write times: every stretch between two successes longer
 * than `slackMs` (the writer's own period and a connection's cost) counts in full. A restore
 * that lets one write through between two refusals is two outages, not the longer one alone.
 */
export function writeOutage(successes: number[], slackMs = 100): WriteOutage {
    let totalMs = 0;
    let longestMs = 0;
    for (let i = 1; i < successes.length; i++) {
        const gap = successes[i] - successes[i - 1];
        if (gap > slackMs) totalMs += gap;
        longestMs = Math.max(longestMs, gap);
    }
    return { totalMs, longestMs };
}

export interface VaultEndpoint {
    port: number;
    /** The password a client uses at this moment (a rotation switches it). */
    password: () => string;
}

/** One AUTH and SET on a fresh connection; whether the vault acknowledged the write. */
async function tryWrite(vault: VaultEndpoint, key: string, value: string): Promise<boolean> {
    try {
        const replies = await redisCommands(
            vault.port,
            [
                ["AUTH", vault.password()],
                ["SET", key, value],
            ],
            { timeoutMs: 500 },
        );
        return replies[1] === "OK";
    } catch {
        return false; // Refused, closed or timed out: not written.
    }
}

/** A writer trying a SET of `prefix:i` every 10 ms until stopped; it reports the outage and the keys acknowledged. */
export function probingWriter(vault: VaultEndpoint, prefix = "probe"): { stop(): Promise<WriteOutage & { acked: string[] }> } {
    const successes: number[] = [];
    const acked: string[] = [];
    let running = true;
    const loop = (async () => {
        for (let i = 0; running; i++) {
            const started = performance.now();
            const key = `${prefix}:${i}`;
            if (await tryWrite(vault, key, String(i))) {
                successes.push(performance.now());
                acked.push(key);
            }
            await sleep(Math.max(0, 10 - (performance.now() - started)));
        }
    })();
    return {
        async stop() {
            running = false;
            await loop;
            return { ...writeOutage(successes), acked };
        },
    };
}

/** Resolves once the vault acknowledges a write, polling every 10 ms; throws after `timeoutMs`. */
export async function writable(vault: VaultEndpoint, what: string, timeoutMs = 300_000): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (!(await tryWrite(vault, "probe", "x"))) {
        if (performance.now() > until) throw new Error(`${what} took no write within ${timeoutMs} ms`);
        await sleep(10);
    }
}
