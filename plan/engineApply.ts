/**
 * What the Pulumi engine asks the providers to do for the steps of one run, in the order it
 * asks: the bridge between the plan (plan/engine.ts) and a stand-in that carries it out on a
 * real engine (harness/engineApply.ts). Pure functions over plain data.
 *
 * From pulumi/pulumi pkg/resource/deploy/ (step_generator.go, step.go):
 * - A replacement with delete-before-replace deletes, before the new resource is created, the
 *   dependents the engine condemned with it (`deletesFirst`, in the order given), then the old
 *   resource itself (step_generator.go, the `DeleteBeforeReplace` branch of generateSteps).
 *   A dependent condemned so is registered later with a replace step of its own: by then it is
 *   gone, and only its creation is left.
 * - A create-before-delete replacement creates the new resource and marks the old one for
 *   deletion (step.go CreateStep.Apply: `s.old.Delete = true`); GenerateDeletes, after the last
 *   registration, walks the old state backwards and deletes what is so marked together with
 *   what the program no longer registers. So both kinds of deletion come last, dependents first.
 * - A deletion of a resource with `retainOnDelete` (a replacement's included) leaves the
 *   resource where it is: DeleteStep.Apply calls no provider for it, and the state forgets it.
 * - Components (custom: false) have no provider: nothing to do for them.
 * - `pulumi destroy` deletes every resource of the state, dependents first: the step generator
 *   with nothing registered (its destroy mode).
 */
import { type EngineState, type FieldChange, type StateResource, type Step, StepGenerator } from "./engine";

export type Operation =
    /** The provider's Create, with the resource as the state holds it after. */
    | { op: "create"; resource: StateResource; replacing: boolean }
    /** The provider's Update of `old` to `resource`. */
    | { op: "update"; old: StateResource; resource: StateResource; changes: FieldChange[] }
    /** The provider's Delete of a resource the state held. */
    | { op: "delete"; resource: StateResource; replacing: boolean }
    /** A deletion the engine makes without the provider (retainOnDelete): the resource stays where it is. */
    | { op: "retain"; resource: StateResource; replacing: boolean };

function byUrn(state: EngineState): Map<string, StateResource> {
    return new Map(state.resources.map((r) => [r.urn, r]));
}

/**
 * The provider calls for `steps`, the steps of a run from `prior` whose resulting state is
 * `next` (what plan/engineRun.ts returns), in the order the engine makes them.
 */
export function operations(steps: Step[], prior: EngineState, next: EngineState): Operation[] {
    const before = byUrn(prior);
    const after = byUrn(next);
    const ops: Operation[] = [];
    const gone = new Set<string>();
    const need = (map: Map<string, StateResource>, urn: string, what: string): StateResource => {
        const found = map.get(urn);
        if (!found) throw new Error(`${urn}: a ${what} step for a resource the ${map === before ? "prior" : "next"} state does not hold`);
        return found;
    };
    const remove = (urn: string, replacing: boolean) => {
        if (gone.has(urn)) return;
        gone.add(urn);
        const old = need(before, urn, "deletion");
        if (!old.custom) return;
        ops.push({ op: old.options.retainOnDelete === true ? "retain" : "delete", resource: old, replacing });
    };
    const lastDeletes = new Map<string, boolean>();
    for (const step of steps) {
        switch (step.op) {
            case "same":
                break;
            case "create": {
                const resource = need(after, step.urn, "create");
                if (resource.custom) ops.push({ op: "create", resource, replacing: false });
                break;
            }
            case "update": {
                const resource = need(after, step.urn, "update");
                if (resource.custom) ops.push({ op: "update", old: need(before, step.urn, "update"), resource, changes: step.changes });
                break;
            }
            case "replace": {
                const resource = need(after, step.urn, "replace");
                if (step.deleteFirst) {
                    for (const dependent of step.deletesFirst) remove(dependent, true);
                    remove(step.urn, true);
                    if (resource.custom) ops.push({ op: "create", resource, replacing: true });
                } else {
                    if (resource.custom) ops.push({ op: "create", resource, replacing: true });
                    lastDeletes.set(step.urn, true);
                }
                break;
            }
            case "delete":
                lastDeletes.set(step.urn, false);
                break;
        }
    }
    for (const old of [...prior.resources].reverse()) {
        const replacing = lastDeletes.get(old.urn);
        if (replacing !== undefined) remove(old.urn, replacing);
    }
    return ops;
}

/** The steps of `pulumi destroy` of `state`: every resource deleted, dependents first (retained ones left in place). */
export function destroySteps(state: EngineState): Step[] {
    return new StepGenerator(state).finish();
}

/** A run's steps by what they do, by resource name (components left out): what `pulumi up` prints at its end. */
export interface StepSummary {
    created: string[];
    updated: string[];
    replaced: string[];
    /** Deleted through the provider. */
    deleted: string[];
    /** Deleted from the state only (retainOnDelete): still on the engine. */
    retained: string[];
}

/** The summary of `steps` (the state before tells which are components and which deletions are retained). */
export function summarize(steps: Step[], prior: EngineState, next: EngineState): StepSummary {
    const custom = new Map([...prior.resources, ...next.resources].map((r) => [r.urn, r.custom]));
    const summary: StepSummary = { created: [], updated: [], replaced: [], deleted: [], retained: [] };
    for (const step of steps) {
        if (custom.get(step.urn) === false) continue;
        if (step.op === "create") summary.created.push(step.name);
        else if (step.op === "update") summary.updated.push(step.name);
        else if (step.op === "replace") summary.replaced.push(step.name);
        else if (step.op === "delete") (step.retain ? summary.retained : summary.deleted).push(step.name);
    }
    return summary;
}

/**
 * The containers whose creation Docker refuses because another container has the name (moby
 * daemon/names.go reserveName: "Conflict. The container name ... is already in use"), given the
 * names of the containers on the engine before the run: an up fails there, after the steps before.
 */
export function containerNameConflicts(ops: Operation[], existing: string[]): string[] {
    const taken = new Set(existing);
    const conflicts: string[] = [];
    for (const o of ops) {
        if (o.resource.type !== "docker:index/container:Container") continue;
        const name = String(o.resource.inputs.name);
        if (o.op === "delete") taken.delete(name);
        else if (o.op === "create") {
            if (taken.has(name)) conflicts.push(name);
            taken.add(name);
        }
    }
    return conflicts;
}
