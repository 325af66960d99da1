/**
 * Runs of the program as the engine would make them (plan/engineRun.ts), for the tests of what
 * users do: a base stack applied once, then previews and applies from it.
 */
import type { Step } from "../../plan/engine";
import type { EngineRequest, EngineResult } from "../../plan/engineProcess";
import { runEngine } from "../../plan/engineRun";

/** `op name` of every step that is not `same`, sorted: what `pulumi preview` would list. */
export function changes(result: EngineResult): string[] {
    return result.steps
        .filter((s) => s.op !== "same")
        .map((s) => `${s.op} ${s.name}`)
        .sort();
}

/** The step of a resource by its name (and type, where two types share a name). */
export function stepOf(result: EngineResult, name: string, type?: string): Step {
    const found = result.steps.filter((s) => s.name === name && (type === undefined || s.type === type));
    if (found.length !== 1) throw new Error(`${found.length} steps for ${name}`);
    return found[0];
}

/** Runs several requests, one after the other (the runtime's globals allow one run at a time in a process). */
export async function runAll<K extends string>(requests: Record<K, EngineRequest>): Promise<Record<K, EngineResult>> {
    const results = {} as Record<K, EngineResult>;
    for (const [key, request] of Object.entries(requests) as [K, EngineRequest][]) {
        const { steps, state, plan } = await runEngine(request);
        results[key] = { steps, state, plan };
    }
    return results;
}

/** The `passwords` secret config with a new password for each environment's role given: what `nexus-redis rotate` writes. */
export function rotated(roles: Record<string, string>): Record<string, string> {
    const passwords = Object.fromEntries(Object.entries(roles).map(([env, role]) => [env, { [role]: `N3w${role}N3wPasswordN3wPassword` }]));
    return { passwords: JSON.stringify(passwords) };
}
