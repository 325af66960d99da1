/**
 * The stand-in for `pulumi up`: a run of the program planned as the engine plans it
 * (plan/engineRun.ts, in a process of its own), then each provider call the engine would make
 * for its steps (plan/engineApply.ts `operations`) carried out on a real engine by a
 * stand-in provider (harness/dockerProvider.ts for containers, harness/swarmProvider.ts for
 * services) that calls the Engine API the way the Docker provider's Create, Update and
 * Delete do. The state the run returns (what the provider's Read stores, from the model)
 * is the prior state of the next run.
 */
import type { EngineState, FieldChange, StateResource, Step } from "../plan/engine";
import { type Operation, type StepSummary, destroySteps, operations, summarize } from "../plan/engineApply";
import type { EngineFacts } from "../plan/engineModel";
import { type EngineResult, runEngineProcess } from "../plan/engineProcess";
import type { Plan } from "../plan/plan";
import type { StackConfig } from "./pulumiStack";

export type { StackConfig };

/** Refused plan content: the harness does not know how to carry it out faithfully. */
export class UnsupportedPlanError extends Error {}

/** A stand-in for a provider's Create, Update and Delete of the resources it handles. */
export interface StandInProvider {
    handles(resource: StateResource): boolean;
    create(resource: StateResource): Promise<void>;
    update(old: StateResource, resource: StateResource, changes: FieldChange[]): Promise<void>;
    delete(resource: StateResource): Promise<void>;
}

/**
 * The random and tls providers: their resources (passwords, the recorded volume name, keys
 * and certificates) live in the state alone.
 */
export const STATE_ONLY_PROVIDER: StandInProvider = {
    handles: (r) => r.type.startsWith("random:") || r.type.startsWith("tls:"),
    create: async () => undefined,
    update: async () => undefined,
    delete: async () => undefined,
};

/** A change of the stack's configuration (`pulumi config set`) before an up: keys given replace the stack's. */
export interface StackChanges {
    config?: Record<string, string>;
    secrets?: Record<string, string>;
}

/** A run planned from the stack's state, with the configuration it was planned with. */
export interface PlannedRun extends EngineResult {
    config: StackConfig;
    mode: "preview" | "apply";
}

/** What an up did: its steps, and their resources by what was done to them. */
export interface ApplyResult extends StepSummary {
    steps: Step[];
}

export function mergeConfig(config: StackConfig, changes: StackChanges): StackConfig {
    return { values: { ...config.values, ...changes.config }, secrets: { ...config.secrets, ...changes.secrets } };
}

/** Plans a run of the program (in a process of its own) from `prior`, as `pulumi preview` or `pulumi up` would. */
export async function planRun(
    mode: "preview" | "apply",
    prior: EngineState,
    config: StackConfig,
    options: { facts?: EngineFacts; projectDir?: string; replace?: string[] } = {},
): Promise<PlannedRun> {
    const result = await runEngineProcess({
        mode,
        prior,
        replace: options.replace,
        facts: options.facts,
        projectDir: options.projectDir,
        values: config.values,
        secrets: config.secrets,
    });
    return { ...result, config, mode };
}

/** `op name` of every step that is not `same`, sorted: what `pulumi preview` lists. */
export function changesOf(run: { steps: Step[] }): string[] {
    return run.steps
        .filter((s) => s.op !== "same")
        .map((s) => `${s.op} ${s.name}`)
        .sort();
}

/** Carries out each operation, in order, with the first provider that handles its resource. */
export async function carryOut(ops: Operation[], providers: StandInProvider[]): Promise<void> {
    for (const op of ops) {
        if (op.op === "retain") continue;
        const provider = providers.find((p) => p.handles(op.resource));
        if (!provider) throw new UnsupportedPlanError(`no stand-in provider for ${op.resource.type} ${op.resource.name}`);
        if (op.op === "create") await provider.create(op.resource);
        else if (op.op === "update") await provider.update(op.old, op.resource, op.changes);
        else await provider.delete(op.resource);
    }
}

/** Applies a planned run on the engine from `prior`; returns what it did. Throws, leaving the engine half-changed, where a provider call fails. */
export async function applyRun(prior: EngineState, run: PlannedRun, providers: StandInProvider[]): Promise<ApplyResult> {
    if (run.mode !== "apply") throw new Error("a preview's run cannot be applied: plan it in apply mode");
    await carryOut(operations(run.steps, prior, run.state), providers);
    return { steps: run.steps, ...summarize(run.steps, prior, run.state) };
}

/**
 * A stack deployed by the stand-in: its state and configuration, and `pulumi preview`, `up`
 * and `destroy` against them. The fleets (harness/fleet.ts, harness/swarmFleet.ts) give it
 * their providers and what they know of their engine.
 */
export abstract class StandInStack {
    /** What the engine's state holds: what the providers stored after the last up (empty before the first). */
    state: EngineState = { resources: [] };
    /** The program's plan as the last run saw it (its outputs: how to reach each environment, with passwords). */
    plan: Plan;
    /** The stack's configuration (`pulumi config`), as of the last up. */
    config: StackConfig;
    private pending: PlannedRun | undefined;

    constructor(
        config: StackConfig,
        readonly stackOptions: {
            /** The first run, planned already (createAll applies it). */
            planned?: PlannedRun;
            /** Another checkout of the program to plan with (Pulumi.yaml, index.ts). Default: this repository. */
            projectDir?: string;
        } = {},
    ) {
        this.config = config;
        this.pending = stackOptions.planned;
        this.plan = stackOptions.planned?.plan ?? { project: "nexus-redis", stack: "dev", resources: [], outputs: { environments: {} } };
    }

    /** The stand-in providers, the first that handles a resource carrying out its operations. */
    protected abstract providers(): StandInProvider[];

    /** What the engine knows of the engine the providers talk to. */
    abstract facts(): Promise<EngineFacts>;

    /** The state's entry of a resource (mutable: a test may change what the next re-creation sends). */
    resourceState(type: string, name: string): StateResource {
        const found = this.state.resources.find((r) => r.type === type && r.name === name);
        if (!found) throw new Error(`the stack's state has no ${type} ${name}`);
        return found;
    }

    /** The stack's first `pulumi up`: a create step for every resource, each carried out as the provider would. */
    async createAll(): Promise<ApplyResult> {
        if (this.state.resources.length > 0) throw new Error("createAll is the stack's first up; it has resources already");
        const planned = this.pending ?? (await this.replan());
        const other = planned.steps.filter((s) => s.op !== "create");
        if (other.length > 0) throw new Error(`a first up that is not all creation: ${other.map((s) => `${s.op} ${s.name}`).join(", ")}`);
        return this.apply(planned);
    }

    /** A run of the program from the stack's state with exactly `config` (what `pulumi preview` or `up` would make of it). */
    async planFor(mode: "preview" | "apply", config: StackConfig, options: { replace?: string[] } = {}): Promise<PlannedRun> {
        return planRun(mode, this.state, config, { ...options, facts: await this.facts(), projectDir: this.stackOptions.projectDir });
    }

    /** `pulumi preview` with `changes` to the stack's configuration: what the next up would do; nothing is done. */
    async preview(changes: StackChanges = {}): Promise<PlannedRun> {
        return this.planFor("preview", mergeConfig(this.config, changes));
    }

    /** The run `pulumi up` makes with `changes` to the stack's configuration, planned (apply mode), not applied yet. */
    async replan(changes: StackChanges = {}): Promise<PlannedRun> {
        return this.planFor("apply", mergeConfig(this.config, changes));
    }

    /** `pulumi up` after `pulumi config set` of `changes`: planned, then applied. */
    async up(changes: StackChanges = {}): Promise<ApplyResult> {
        return this.apply(await this.replan(changes));
    }

    /**
     * Carries out a planned run, as `pulumi up` does once it planned it: each provider call of
     * its steps, in the engine's order. Its state and configuration are then the stack's.
     * Throws where a call fails, the engine left as far as it got.
     */
    async apply(next: PlannedRun): Promise<ApplyResult> {
        if (next === this.pending) this.pending = undefined;
        const result = await applyRun(this.state, next, this.providers());
        this.state = next.state;
        this.plan = next.plan;
        this.config = next.config;
        return result;
    }

    /** `pulumi destroy`: every resource of the state deleted, dependents first; a retained one (a vault's volume) stays. */
    async destroyStack(): Promise<ApplyResult> {
        const steps = destroySteps(this.state);
        const empty: EngineState = { resources: [] };
        await carryOut(operations(steps, this.state, empty), this.providers());
        const result = { steps, ...summarize(steps, this.state, empty) };
        this.state = empty;
        this.plan = { ...this.plan, resources: [], outputs: { environments: {} } };
        return result;
    }
}
