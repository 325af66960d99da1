/**
 * The program in preview with every vault's outputs unknown, as when each vault is being
 * replaced: what shows which inputs of the other resources would follow a vault. (One run per
 * test file: Pulumi keeps its runtime in process globals.)
 */
import { type Plan, type PlanRun, UNKNOWN_VALUE, runPlan } from "../../plan/plan";

const VAULT_TYPES = ["docker:index/container:Container", "docker:index/service:Service"];

/** A vault's container or service (its volume, secrets and passwords are other resources). */
export function isVault(type: string, name: string): boolean {
    return VAULT_TYPES.includes(type) && name.endsWith("-vault");
}

export async function previewWithVaultsUnknown(values: Record<string, string>): Promise<{ run: PlanRun; plan: Plan }> {
    const run = await runPlan({ stack: "dev", preview: true, values, unknownOutputs: isVault });
    return { run, plan: await run.render(true) };
}

function unknownPaths(value: unknown, path: string, into: string[]): void {
    if (value === UNKNOWN_VALUE) {
        into.push(path);
    } else if (Array.isArray(value)) {
        for (const [i, v] of value.entries()) unknownPaths(v, `${path}[${i}]`, into);
    } else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) unknownPaths(v, path ? `${path}.${k}` : k, into);
    }
}

/** `name: path` of every input of a resource other than a vault that is not known. */
export function unknownInputs(plan: Plan): string[] {
    const found: string[] = [];
    for (const r of plan.resources.filter((r) => !isVault(r.type, r.name))) {
        const paths: string[] = [];
        unknownPaths(r.inputs, "", paths);
        found.push(...paths.map((p) => `${r.name}: ${p}`));
    }
    return found;
}

/** `name.property ← vault` for every input of another resource whose value comes from a vault's outputs. */
export function inputsFromVaults(run: PlanRun): string[] {
    const vaults = new Set([...run.registrations.values()].filter((r) => isVault(r.type, r.name)).map((r) => r.urn));
    const found: string[] = [];
    for (const r of run.registrations.values()) {
        for (const [property, urns] of Object.entries(r.propertyDependencies)) {
            for (const urn of urns.filter((u) => vaults.has(u))) found.push(`${r.name}.${property} ← ${urn.split("::").pop()}`);
        }
    }
    return found;
}
