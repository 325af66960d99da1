/**
 * The Pulumi engine's plan, as pure functions over plain data: given what the engine's state
 * holds after the last `pulumi up` and the resources the program registers now, what each
 * resource gets: create, same, update (which fields), replace (why, and whether the old one is
 * deleted first), delete. Field by field it asks the model (plan/engineModel.ts) what the
 * provider's Diff would say.
 *
 * What the engine does, from pulumi/pulumi pkg/resource/deploy/step_generator.go:
 * - Inputs are diffed against the state the provider stored (its outputs), after the engine
 *   resets every `ignoreChanges` path to the old input (`processIgnoreChanges`); the bridge also
 *   drops the provider's diffs under those paths (pulumi-terraform-bridge tfbridge/diff.go
 *   `computeIgnoreChanges`). `replaceOnChanges` turns a change under its paths into a
 *   replacement (`applyReplaceOnChanges`).
 * - A replacement deletes the old resource first when the program asks (`deleteBeforeReplace`)
 *   or the provider does. Then every dependent is deleted first too whose inputs, set unknown
 *   where they come from the replaced resource's outputs, the provider would replace for
 *   (`calculateDependentReplacements`): transitively, over the old state's dependency graph,
 *   property dependencies only (a bare dependsOn never replaces).
 * - In a preview the outputs of a resource being created or replaced are not known yet: the
 *   program's inputs built from them are unknown, and an unknown ForceNew field replaces.
 *   (plan/engineRun.ts runs the program so; here an unknown input is the string `[unknown]`.)
 * - A resource the program no longer registers is deleted, last, unless `retainOnDelete`.
 */
import { type EngineFacts, type FieldModel, UNKNOWN, checkKnown, isUnknown, resourceModel, zeroValue } from "./engineModel";
import type { LifecycleOptions } from "./types";

/** A resource as the engine's state holds it after an `up`. */
export interface StateResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    /** The provider's ID (`NAME-id` for the mocks; `NAME-id.2` after a replacement, and so on). */
    id?: string;
    /** The inputs the program sent (after ignoreChanges), secrets shown. */
    inputs: Record<string, unknown>;
    /** What the provider stored: plan/engineModel.ts readBack, plus what it computes (IDs, passwords). */
    outputs: Record<string, unknown>;
    /** Input property → URNs its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** Every resource it depends on (dependsOn and property dependencies). */
    dependencies: string[];
    options: LifecycleOptions;
}

/** The engine's state: resources in the order they were registered (dependencies first). */
export interface EngineState {
    resources: StateResource[];
}

/** A resource as the program registers it now. */
export interface Goal {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    /** Inputs as plan.ts renders them, secrets shown; `[unknown]` where not known yet. */
    inputs: Record<string, unknown>;
    propertyDependencies: Record<string, string[]>;
    dependencies: string[];
    options: LifecycleOptions;
}

/** A change the provider's Diff reports: the path of the input, and whether it replaces. */
export interface FieldChange {
    path: string;
    replace: boolean;
}

interface StepBase {
    urn: string;
    type: string;
    name: string;
}

export type Step =
    | (StepBase & { op: "create"; inputs: Record<string, unknown> })
    | (StepBase & { op: "same"; inputs: Record<string, unknown> })
    | (StepBase & { op: "update"; inputs: Record<string, unknown>; changes: FieldChange[] })
    | (StepBase & {
          op: "replace";
          inputs: Record<string, unknown>;
          /** The old one goes before the new one is created (its name is fixed). */
          deleteFirst: boolean;
          /** The changes that force it; empty for a dependent replacement. */
          changes: FieldChange[];
          /** Set when replaced because an input follows a resource replaced delete-first: that resource's URN. */
          dependentOf?: string;
          /** Dependents the engine deletes before this one (deleteFirst only), in the order it deletes them. */
          deletesFirst: string[];
      })
    | (StepBase & { op: "delete"; retain: boolean });

/** The provider's Diff of new inputs against the stored state, per field (ignoreChanges and replaceOnChanges applied). */
export function diffResource(
    type: string,
    stored: Record<string, unknown>,
    inputs: Record<string, unknown>,
    options: LifecycleOptions = {},
): FieldChange[] {
    const model = resourceModel(type);
    checkKnown(type, model.fields, inputs, "");
    if (model.component) return [];
    const changes: FieldChange[] = [];
    for (const [key, field] of Object.entries(model.fields)) diffField(field, stored[key], inputs[key], key, changes);
    const ignored = options.ignoreChanges ?? [];
    const replaceOn = options.replaceOnChanges ?? [];
    return changes
        .filter((c) => !ignored.some((p) => contains(p, c.path)))
        .map((c) => (replaceOn.some((p) => contains(p, c.path)) ? { ...c, replace: true } : c));
}

/** Whether property path `outer` is `inner` or one of its ancestors (Pulumi's PropertyPath.Contains). */
function contains(outer: string, inner: string): boolean {
    return inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
}

function diffField(model: FieldModel, stored: unknown, sent: unknown, path: string, out: FieldChange[]): void {
    if (isUnknown(sent)) {
        out.push({ path, replace: model.forceNew });
        return;
    }
    if (sent === undefined) {
        if (model.computed) return;
        sent = model.default ?? zeroValue(model);
    }
    const old = stored ?? model.default ?? zeroValue(model);
    switch (model.type) {
        case "block": {
            const inner: FieldChange[] = [];
            for (const [key, sub] of Object.entries(model.fields ?? {})) {
                diffField(sub, (old as Record<string, unknown>)[key], (sent as Record<string, unknown>)[key], `${path}.${key}`, inner);
            }
            out.push(...inner);
            return;
        }
        case "list":
            if (model.fields) {
                diffElements(model, old as Record<string, unknown>[], sent as unknown[], path, out);
                return;
            }
            if (!sameJson(old, sent)) out.push({ path, replace: model.forceNew || (sent as unknown[]).some(isUnknown) });
            return;
        case "set": {
            const canonical = (list: unknown[]) => list.map((e) => JSON.stringify(normalize(model, e))).sort();
            const before = canonical(old as unknown[]);
            const after = canonical(sent as unknown[]);
            if (sameJson(before, after)) return;
            // An element changed: Terraform removes the old and adds the new one, each field of both
            // diffed as removed and added: a ForceNew field among them replaces.
            const added = (sent as unknown[]).filter((e) => !before.includes(JSON.stringify(normalize(model, e))));
            const removed = (old as unknown[]).filter((e) => !after.includes(JSON.stringify(normalize(model, e))));
            const replace = model.forceNew || [...added, ...removed].some((e) => hasForceNewValue(model, e));
            out.push({ path, replace });
            return;
        }
        case "map":
            if (!sameJson(sortKeys(old), sortKeys(sent))) out.push({ path, replace: model.forceNew });
            return;
        default:
            if (scalar(model, old) !== scalar(model, sent)) out.push({ path, replace: model.forceNew });
    }
}

/** Lists of blocks are diffed by index; an added or removed element counts as each of its fields changing. */
function diffElements(model: FieldModel, old: Record<string, unknown>[], sent: unknown[], path: string, out: FieldChange[]): void {
    for (let i = 0; i < Math.max(old.length, sent.length); i++) {
        const at = `${path}[${i}]`;
        if (i >= old.length || i >= sent.length) {
            out.push({ path: at, replace: model.forceNew || hasForceNewValue(model, sent[i] ?? old[i]) });
            continue;
        }
        if (isUnknown(sent[i])) {
            out.push({ path: at, replace: model.forceNew });
            continue;
        }
        const inner: FieldChange[] = [];
        for (const [key, sub] of Object.entries(model.fields ?? {})) {
            diffField(sub, old[i]?.[key], (sent[i] as Record<string, unknown>)[key], `${at}.${key}`, inner);
        }
        out.push(...inner.map((c) => ({ ...c, replace: c.replace || (model.forceNew && inner.length > 0) })));
    }
}

/** Whether an element of a collection of blocks has a ForceNew field with a value (or not known). */
function hasForceNewValue(model: FieldModel, element: unknown): boolean {
    if (isUnknown(element)) return true;
    return Object.entries(model.fields ?? {}).some(([key, sub]) => {
        const v = (element as Record<string, unknown> | undefined)?.[key];
        if (v === undefined) return false;
        if (isUnknown(v)) return sub.forceNew;
        return sub.forceNew && !sameJson(v, zeroValue(sub));
    });
}

/** An element as the diff sees it: every field filled with its default or zero (computed ones left out when absent). */
function normalize(model: FieldModel, value: unknown): unknown {
    if (!model.fields || isUnknown(value)) return value;
    const element = (value ?? {}) as Record<string, unknown>;
    const result: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(model.fields)) {
        let v = element[key];
        if (v === undefined) {
            if (sub.computed) continue;
            v = sub.default ?? zeroValue(sub);
        }
        if (sub.type === "set" && Array.isArray(v)) {
            result[key] = v
                .map((e) => (sub.fields ? normalize(sub, e) : e))
                .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
        } else if (sub.type === "block") {
            result[key] = normalize(sub, v);
        } else if (sub.type === "list" && Array.isArray(v) && sub.fields) {
            result[key] = v.map((e) => normalize(sub, e));
        } else {
            result[key] = sub.type === "int" || sub.type === "bool" || sub.type === "string" ? scalar(sub, v) : v;
        }
    }
    return result;
}

function scalar(model: FieldModel, value: unknown): unknown {
    if (isUnknown(value)) return value;
    if (model.type === "int") return Number(value);
    if (model.type === "bool") return value === true || value === "true";
    return value === null ? "" : String(value);
}

function sortKeys(value: unknown): unknown {
    if (!value || typeof value !== "object" || Array.isArray(value)) return value;
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)));
}

function sameJson(a: unknown, b: unknown): boolean {
    return JSON.stringify(a) === JSON.stringify(b);
}

/** Resets each `ignoreChanges` path of the new inputs to the old inputs' value there (absent if absent). */
export function applyIgnoreChanges(
    inputs: Record<string, unknown>,
    oldInputs: Record<string, unknown>,
    ignoreChanges: string[] = [],
): Record<string, unknown> {
    const result = structuredClone(inputs);
    for (const path of ignoreChanges) {
        const keys = path.split(".");
        let from: unknown = oldInputs;
        for (const k of keys) from = (from as Record<string, unknown> | undefined)?.[k];
        let into = result as Record<string, unknown>;
        for (const k of keys.slice(0, -1)) {
            if (!into[k] || typeof into[k] !== "object") into[k] = {};
            into = into[k] as Record<string, unknown>;
        }
        const last = keys[keys.length - 1];
        if (from === undefined) delete into[last];
        else into[last] = structuredClone(from);
    }
    return result;
}

/**
 * Dependents the engine replaces (deleting them first) when `root`, in the old state, is
 * replaced delete-first: calculateDependentReplacements. In the order it finds them
 * (dependencies before dependents); it deletes them in the reverse order.
 */
export function dependentReplacements(state: EngineState, root: string): { urn: string; changes: FieldChange[] }[] {
    const start = state.resources.findIndex((r) => r.urn === root);
    if (start < 0) return [];
    const dependents = new Set([root]);
    const replaced = new Set([root]);
    const found: { urn: string; changes: FieldChange[] }[] = [];
    for (const r of state.resources.slice(start + 1)) {
        const allDependencies = [...r.dependencies, ...Object.values(r.propertyDependencies).flat()];
        if (!allDependencies.some((u) => dependents.has(u))) continue;
        dependents.add(r.urn);
        if (!r.custom) continue;
        // Inputs that come from a replaced resource's outputs are not known; the provider decides.
        const inputs = { ...r.inputs };
        let follows = false;
        for (const [property, urns] of Object.entries(r.propertyDependencies)) {
            if (urns.some((u) => replaced.has(u)) && property in inputs) {
                inputs[property] = UNKNOWN;
                follows = true;
            }
        }
        if (!follows) continue;
        const changes = diffResource(r.type, r.outputs, inputs, r.options).filter((c) => c.replace);
        if (changes.length > 0) {
            replaced.add(r.urn);
            found.push({ urn: r.urn, changes });
        }
    }
    return found;
}

/**
 * The engine's step generator for one run of the program: register each resource as the
 * program does, in order, then finish() for the deletions. Deterministic, no I/O: the run of
 * the program under mocks (plan/engineRun.ts) asks it at each registration, and
 * planSteps() below does the same for a whole list of goals.
 */
export class StepGenerator {
    private readonly prior: Map<string, StateResource>;
    private readonly steps: Step[] = [];
    private readonly seen = new Set<string>();
    /** Resources deleted already as dependents of a delete-first replacement → that resource. */
    private readonly condemned = new Map<string, string>();

    private readonly replaceTargets: ReadonlySet<string>;

    constructor(
        private readonly state: EngineState = { resources: [] },
        readonly facts: EngineFacts = {},
        /** `pulumi up --replace URN`: these resources are replaced whatever their diff says (step_generator.go isTargetedReplace). */
        replace: readonly string[] = [],
    ) {
        this.prior = new Map(state.resources.map((r) => [r.urn, r]));
        this.replaceTargets = new Set(replace);
    }

    /** The state entry of a resource before this run. */
    old(urn: string): StateResource | undefined {
        return this.prior.get(urn);
    }

    register(goal: Goal): Step {
        if (this.seen.has(goal.urn)) throw new Error(`${goal.urn} is registered twice`);
        this.seen.add(goal.urn);
        const base = { urn: goal.urn, type: goal.type, name: goal.name };
        const old = this.prior.get(goal.urn);
        const model = resourceModel(goal.type);
        checkKnown(goal.type, model.fields, goal.inputs, "");
        const inputs = old ? applyIgnoreChanges(goal.inputs, old.inputs, goal.options.ignoreChanges) : goal.inputs;
        let step: Step;
        if (!old) {
            step = { ...base, op: "create", inputs };
        } else if (this.condemned.has(goal.urn)) {
            step = {
                ...base,
                op: "replace",
                inputs,
                deleteFirst: true,
                changes: [],
                dependentOf: this.condemned.get(goal.urn),
                deletesFirst: [],
            };
        } else {
            const changes = diffResource(goal.type, old.outputs, inputs, goal.options);
            const targeted = this.replaceTargets.has(goal.urn);
            if (changes.length === 0 && !targeted) step = { ...base, op: "same", inputs };
            else if (!changes.some((c) => c.replace) && !targeted) step = { ...base, op: "update", inputs, changes };
            else {
                const deleteFirst = goal.options.deleteBeforeReplace ?? model.deleteBeforeReplace ?? false;
                const dependents = deleteFirst ? dependentReplacements(this.state, goal.urn) : [];
                for (const d of dependents) this.condemned.set(d.urn, goal.urn);
                step = {
                    ...base,
                    op: "replace",
                    inputs,
                    deleteFirst,
                    changes: changes.filter((c) => c.replace),
                    deletesFirst: dependents.map((d) => d.urn).reverse(),
                };
            }
        }
        this.steps.push(step);
        return step;
    }

    /** Every step of the run: the registrations' in order, then the deletions, dependents first. */
    finish(): Step[] {
        const deletes: Step[] = this.state.resources
            .filter((r) => !this.seen.has(r.urn))
            .reverse()
            .map((r) => ({ urn: r.urn, type: r.type, name: r.name, op: "delete", retain: r.options.retainOnDelete === true }));
        return [...this.steps, ...deletes];
    }
}

/** The steps of a run whose goals are known in advance (their inputs already carry what is unknown). */
export function planSteps(state: EngineState, goals: Goal[], facts: EngineFacts = {}): Step[] {
    const generator = new StepGenerator(state, facts);
    for (const goal of goals) generator.register(goal);
    return generator.finish();
}

/**
 * The state after a refresh (`pulumi refresh`, `pulumi preview --refresh`): each resource read
 * again by its provider; one whose Read finds nothing leaves the state, and the next plan
 * creates it anew. For a container: resource_docker_container_funcs.go
 * resourceDockerContainerRead lists the engine's containers and looks for the state's ID; none,
 * and it clears the ID (`d.SetId("")`), which pulumi/pulumi's RefreshStep takes as the resource
 * gone. A container of the same name with another ID (one re-created by hand) is not it.
 * `exists` answers the provider's Read; what Read would store otherwise is left as it was.
 */
export function refreshState(state: EngineState, exists: (resource: StateResource) => boolean): EngineState {
    return { resources: state.resources.filter((r) => !r.custom || exists(r)) };
}
