/**
 * A `pulumi preview` or `pulumi up` of this program as the real engine and providers would run
 * it, from a prior state, with no Pulumi CLI: the program runs under the SDK's mock runtime, and
 * at each registration the mocks ask the engine's step generator (plan/engine.ts) what happens
 * to the resource and answer with the outputs the engine would give the program:
 * - same: what the state holds;
 * - update: in a preview, the state with the new inputs over it; after the update, what Read stores;
 * - create or replace: in a preview, the inputs alone (everything the provider computes, IDs
 *   and generated passwords among them, stays unknown, so what is built from it is unknown);
 *   after the create, what Read stores plus what the provider computes.
 * Apply returns the state after the run, which the next run starts from. A generated password
 * stays what the state holds, as with the real engine.
 *
 * Pulumi keeps its runtime in process globals: one run per process.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash, randomInt } from "node:crypto";
import { type EngineFacts, readBack } from "./engineModel";
import { type EngineState, type StateResource, type Step, StepGenerator } from "./engine";
import { PlanMocks, SECRET_SIG_KEY, SECRET_SIG_VALUE, mockImageId, tlsState } from "./mocks";
import { TLS_TYPES, tlsOutputs } from "./tlsStandIn";
import { type Plan, type PlanOptions, type PlanRun, plainValue, runPlan } from "./plan";

export interface EngineRunOptions extends Omit<PlanOptions, "mocks" | "preview" | "unknownOutputs"> {
    /** The state after the last `pulumi up`; none: a stack never deployed. */
    prior?: EngineState;
    /** `preview` (what `pulumi preview` shows) or `apply` (what `pulumi up` does, and the state after). */
    mode: "preview" | "apply";
    /** What the engine that answers knows: networks' IDs, a registry's digests, swap accounting. */
    facts?: EngineFacts;
    /** `pulumi up --replace URN`, for each URN here. */
    replace?: string[];
}

export interface EngineRun {
    /** Per resource: create, same, update, replace or delete, in the order the engine takes them (deletions last). */
    steps: Step[];
    /** Apply: the state after the run. Preview: the state the preview expects (what is not known yet absent). */
    state: EngineState;
    /** The program's plan as this run saw it (inputs unknown where the engine would not know them yet). */
    plan: Plan;
    run: PlanRun;
}

const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

class EngineMocks extends PlanMocks {
    readonly generator: StepGenerator;
    readonly state = new Map<string, StateResource>();

    constructor(
        prior: EngineState,
        private readonly mode: "preview" | "apply",
        private readonly facts: EngineFacts,
        existingNetworks: string[] | undefined,
        replace: string[] = [],
    ) {
        super({ existingNetworks, preview: mode === "preview" });
        this.generator = new StepGenerator(prior, facts, replace);
    }

    /** The first error a registration met here: the SDK reports it only as a resource never registered. */
    failure: unknown;

    override async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
        try {
            return await this.step(args);
        } catch (e) {
            this.failure ??= e;
            throw e;
        }
    }

    private async step(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, unknown> }> {
        // The root stack is the engine's own, no resource of the program's.
        if (args.type === "pulumi:pulumi:Stack") return { id: undefined, state: {} };
        const key = `${args.type}::${args.name}`;
        const registration = this.registered.get(key);
        if (!registration) throw new Error(`${key} reached the mocks without its registration request`);
        const raw = args.inputs as Record<string, unknown>;
        const custom = args.custom !== false;
        const step = this.generator.register({
            urn: registration.urn,
            type: args.type,
            name: args.name,
            custom,
            inputs: plainValue(raw) as Record<string, unknown>,
            propertyDependencies: registration.propertyDependencies,
            dependencies: registration.dependencies,
            options: registration.options,
        });
        if (step.op === "delete") throw new Error(`${key}: a registration cannot be a deletion`);
        const old = this.generator.old(registration.urn);
        let id: string | undefined;
        let outputs: Record<string, unknown>;
        if (!custom) {
            outputs = {};
        } else if (step.op === "same") {
            id = old!.id;
            outputs = old!.outputs;
        } else if (this.mode === "preview") {
            id = step.op === "update" ? old!.id : undefined;
            // Raw inputs, so that what is unknown or secret stays so in the program.
            outputs = step.op === "update" ? { ...old!.outputs, ...raw } : { ...raw };
        } else {
            id = step.op === "update" ? old!.id : nextId(args.name, old?.id);
            outputs = {
                ...readBack(args.type, step.inputs, this.facts),
                ...(await this.computed(args.type, args.name, step.inputs, step.op === "update" ? old : undefined, old)),
            };
        }
        this.resources.set(key, { type: args.type, name: args.name, custom, inputs: raw, state: outputs });
        if (custom && (this.mode === "apply" || step.op !== "create")) {
            this.state.set(registration.urn, {
                urn: registration.urn,
                type: args.type,
                name: args.name,
                custom,
                id,
                inputs: step.inputs,
                outputs: plainValue(outputs) as Record<string, unknown>,
                propertyDependencies: registration.propertyDependencies,
                dependencies: registration.dependencies,
                options: registration.options,
            });
        } else if (!custom) {
            this.state.set(registration.urn, {
                urn: registration.urn,
                type: args.type,
                name: args.name,
                custom,
                inputs: {},
                outputs: {},
                propertyDependencies: registration.propertyDependencies,
                dependencies: registration.dependencies,
                options: registration.options,
            });
        }
        if (TLS_TYPES.includes(args.type)) return { id, state: tlsState(args.type, outputs, this.generatedSecrets) };
        return { id, state: args.type === RANDOM_PASSWORD ? secretResult(outputs) : outputs };
    }

    /**
     * What the provider computes on create (or keeps across an update). `updated` is the state
     * before an update in place; `old` the state before an update or a replacement.
     */
    private async computed(
        type: string,
        name: string,
        inputs: Record<string, unknown>,
        updated: StateResource | undefined,
        old: StateResource | undefined,
    ): Promise<Record<string, unknown>> {
        if (TLS_TYPES.includes(type)) {
            // An update in place (earlyRenewalHours) keeps the key or certificate (the provider's
            // updatedUsingPlan); a create or a replacement makes a new one.
            if (updated) return Object.fromEntries(Object.entries(updated.outputs).filter(([k]) => !(k in inputs)));
            return tlsOutputs(type, inputs);
        }
        switch (type) {
            case RANDOM_PASSWORD: {
                const result = typeof old?.outputs.result === "string" ? old.outputs.result : password(inputs);
                this.generatedSecrets.add(result);
                return { result };
            }
            case "random:index/randomId:RandomId": {
                const bytes = createHash("sha256")
                    .update(`${name}:${old?.id ?? ""}`)
                    .digest()
                    .subarray(0, Number(inputs.byteLength ?? 1));
                return { hex: bytes.toString("hex"), b64Std: bytes.toString("base64"), b64Url: bytes.toString("base64url") };
            }
            case "docker:index/remoteImage:RemoteImage":
                return { imageId: mockImageId(String(inputs.name)), repoDigest: `${inputs.name}@${mockImageId(String(inputs.name))}` };
            case "docker:index/volume:Volume":
                return { driver: "local", mountpoint: `/var/lib/docker/volumes/${inputs.name}/_data` };
            case "docker:index/network:Network":
                return { driver: inputs.driver ?? "bridge", scope: inputs.driver === "overlay" ? "swarm" : "local" };
            default:
                return {};
        }
    }
}

/** A replacement gets a new ID from the provider: `NAME-id`, then `NAME-id.2`, `NAME-id.3`... */
function nextId(name: string, old: string | undefined): string {
    if (old === undefined) return `${name}-id`;
    const generation = /\.(\d+)$/.exec(old);
    return `${name}-id.${generation ? Number(generation[1]) + 1 : 2}`;
}

/** The random provider marks a password's result secret. */
function secretResult(outputs: Record<string, unknown>): Record<string, unknown> {
    if (typeof outputs.result !== "string") return outputs;
    return { ...outputs, result: { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: outputs.result } };
}

function password(inputs: Record<string, unknown>): string {
    const alphabet = `ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789${inputs.special === false ? "" : "!@#$%&*()-_=+[]{}<>:?"}`;
    return Array.from({ length: Number(inputs.length ?? 16) }, () => alphabet[randomInt(alphabet.length)]).join("");
}

/** Runs the program once as `pulumi preview` or `pulumi up` would from `prior`. */
export async function runEngine(options: EngineRunOptions): Promise<EngineRun> {
    const prior = options.prior ?? { resources: [] };
    const mocks = new EngineMocks(prior, options.mode, options.facts ?? {}, options.existingNetworks, options.replace);
    let run: PlanRun;
    try {
        run = await runPlan({ ...options, mocks, preview: options.mode === "preview" });
    } catch (e) {
        throw mocks.failure ?? e;
    }
    const plan = await run.render(true);
    const steps = mocks.generator.finish();
    const order = [...run.registrations.keys()];
    const state: EngineState = { resources: order.flatMap((urn) => mocks.state.get(urn) ?? []) };
    return { steps, state, plan, run };
}
