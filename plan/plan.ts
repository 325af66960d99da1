/**
 * Runs the Pulumi program under the SDK's mock runtime and records its resource graph:
 * every resource with its parent, its explicit dependencies and exactly the inputs the
 * provider would receive. Used by `npm run synth`, the unit tests and the live harness.
 *
 * Pulumi keeps its runtime in process globals: run one plan per process.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { type ConfigOverrides, loadProjectConfig } from "./projectConfig";
import { PlanMocks, type PlanMocksOptions, UNKNOWN, isSecretEnvelope } from "./mocks";
import type { LifecycleOptions, Registration } from "./types";

export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    /** URN of the parent (the stack for top-level resources). */
    parent: string | undefined;
    /** URNs of explicit `dependsOn` resources. */
    dependsOn: string[];
    /** Provider inputs; secrets are `[secret]` unless revealed, unknowns (preview) `[unknown]`. */
    inputs: Record<string, unknown>;
}

export interface Plan {
    project: string;
    stack: string;
    resources: PlannedResource[];
    outputs: Record<string, unknown>;
}

export interface PlanOptions extends ConfigOverrides, PlanMocksOptions {
    /** The mocks to run the program with (plan/engineRun.ts's, which answer as the engine would from a prior state). Default: PlanMocks. */
    mocks?: PlanMocks;
    /** Folder with Pulumi.yaml and index.ts. Default: this repository. */
    projectDir?: string;
    /** Stack whose Pulumi.<stack>.yaml applies. Default `dev`. */
    stack?: string;
    /** Print secret values instead of `[secret]`. */
    showSecrets?: boolean;
    /** Run as `pulumi preview` does: values not yet known stay unknown. */
    preview?: boolean;
}

export const SECRET = "[secret]";
export const UNKNOWN_VALUE = "[unknown]";
const REPO_ROOT = path.resolve(__dirname, "..");
/** Runs of the program in this process: each imports it under a URL of its own. */
let runs = 0;

interface Declared {
    resource: pulumi.Resource;
    type: string;
    name: string;
    parent: pulumi.Resource | undefined;
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> | pulumi.Input<pulumi.Resource> | undefined;
    options: LifecycleOptions;
}

/** One run of the program under mocks. */
export interface PlanRun {
    /** Every secret value the plan knows (generated passwords, secret config): for tests that look for leaks. */
    secrets: string[];
    /** Per resource URN, the top-level inputs Pulumi treats as secret (stored encrypted in state). */
    secretInputs: Map<string, string[]>;
    /**
     * Per resource URN, its inputs exactly as the SDK sent them, every secret value still
     * wrapped in the SDK's envelope (`isSecretEnvelope`): what tests inspect for leaks.
     */
    rawInputs: Map<string, Record<string, unknown>>;
    /** Per resource URN, its lifecycle options. */
    options: Map<string, LifecycleOptions>;
    /** Per resource URN, what the engine records of its registration, in the order the engine saw them. */
    registrations: Map<string, Registration>;
    render(showSecrets: boolean): Promise<Plan>;
}

/**
 * Runs the program (index.ts) under the mocks already set, and returns every resource it
 * declared, with the options a stack transformation sees, and its exports.
 */
async function runProgram(projectDir: string): Promise<{ registrations: Declared[]; exports: Record<string, unknown> }> {
    const registrations: Declared[] = [];
    let exports: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        // Mocks never see parents or dependsOn; a stack transformation sees every resource's options.
        pulumi.runtime.registerStackTransformation((args) => {
            registrations.push({
                resource: args.resource,
                type: args.type,
                name: args.name,
                parent: args.opts.parent,
                dependsOn: args.opts.dependsOn,
                options: {
                    deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
                    retainOnDelete: args.opts.retainOnDelete,
                    ignoreChanges: args.opts.ignoreChanges,
                    replaceOnChanges: args.opts.replaceOnChanges,
                },
            });
            return undefined;
        });
        // The program creates its resources when its module is evaluated: evaluate it anew on
        // every run (its components are plain modules and may stay cached), so that one process
        // can run it several times, each under fresh mocks (setMocks resets the runtime's state).
        const program = path.join(projectDir, "index.ts");
        delete require.cache[program];
        exports = { ...(await import(`${pathToFileURL(program).href}?run=${++runs}`)) };
        return undefined;
    });
    // Waiting on one output is not enough: registrations behind dependsOn finish later.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return { registrations, exports };
}

export async function runPlan(options: PlanOptions = {}): Promise<PlanRun> {
    const projectDir = options.projectDir ?? REPO_ROOT;
    const stack = options.stack ?? "dev";
    const loaded = loadProjectConfig(projectDir, stack, options);
    const mocks =
        options.mocks ??
        new PlanMocks({ existingNetworks: options.existingNetworks, preview: options.preview, unknownOutputs: options.unknownOutputs });
    await pulumi.runtime.setMocks(mocks, loaded.project, stack, options.preview ?? false);
    pulumi.runtime.setAllConfig(loaded.config, loaded.secretKeys);
    const recorded = recordRegistrations(mocks);

    const { registrations, exports } = await runProgram(projectDir);

    const secrets = new Set<string>(mocks.generatedSecrets);
    for (const key of loaded.secretKeys) collectStrings(tryJson(loaded.config[key]), secrets);
    // What the display hides: each secret and its SHA-256 (the vault's config holds password
    // hashes), so a config file stays readable with `#[secret]` where a hash was.
    const redactions = new Set([...secrets, ...[...secrets].map((s) => createHash("sha256").update(s).digest("hex"))]);
    const stackUrn = `urn:pulumi:${stack}::${loaded.project}::pulumi:pulumi:Stack::${loaded.project}-${stack}`;
    // The mock monitor puts the root stack's type into top-level URNs; the engine does not,
    // and a URN copied from the plan into `pulumi up --target` must be the engine's.
    const urnOf = async (r: pulumi.Resource) => engineUrn((await settle(r.urn)).value as string);

    // Resolved once; rendered with or without secrets as often as the caller likes.
    const graph: (Omit<PlannedResource, "inputs"> & { rawInputs: Record<string, unknown>; options: LifecycleOptions })[] = [];
    for (const reg of registrations) {
        const recorded = mocks.resources.get(`${reg.type}::${reg.name}`);
        if (!recorded) throw new Error(`${reg.type} ${reg.name} was declared but never registered`);
        graph.push({
            urn: await urnOf(reg.resource),
            type: reg.type,
            name: reg.name,
            parent: reg.parent ? await urnOf(reg.parent) : stackUrn,
            dependsOn: await Promise.all((await resolveResources(reg.dependsOn)).map(urnOf)),
            rawInputs: recorded.inputs,
            options: reg.options,
        });
    }
    const exported = Object.entries(exports).filter(([name]) => name !== "default" && name !== "__esModule");

    return {
        secrets: [...secrets],
        options: new Map(graph.map((r) => [r.urn, r.options])),
        registrations: new Map(recorded.map((r) => [r.urn, r])),
        secretInputs: new Map(graph.map((r) => [r.urn, Object.keys(r.rawInputs).filter((k) => isSecretEnvelope(r.rawInputs[k]))])),
        rawInputs: new Map(graph.map((r) => [r.urn, r.rawInputs])),
        async render(showSecrets: boolean): Promise<Plan> {
            const resources = graph.map(({ rawInputs, options: _options, ...rest }) => ({
                ...rest,
                inputs: reveal(rawInputs, redactions, showSecrets) as Record<string, unknown>,
            }));
            const outputs: Record<string, unknown> = {};
            for (const [name, value] of exported) outputs[name] = await resolveOutput(value, showSecrets);
            return { project: loaded.project, stack, resources, outputs };
        },
    };
}

/** Runs the program once and renders its plan. */
export async function planProgram(options: PlanOptions = {}): Promise<Plan> {
    return (await runPlan(options)).render(options.showSecrets ?? false);
}

/** The engine's URN for a URN the mock monitor made (it puts the root stack's type into top-level ones). */
export function engineUrn(mockUrn: string): string {
    return mockUrn.replace("::pulumi:pulumi:Stack$", "::");
}

interface MonitorRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(f: (deps: { getUrnsList(): string[] }, key: string) => void): void };
    getDeletebeforereplace(): boolean;
    getDeletebeforereplacedefined(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getRetainondelete(): boolean | undefined;
}

/**
 * Records each registration request the mock monitor receives, which carries what the mocks
 * are not given: the property dependencies of every input (the SDK sends them with the
 * request, resource.js's registerResource) and the resource options. The mocks can read a
 * registration's record from `registered` when their newResource runs (after the record).
 */
function recordRegistrations(mocks: PlanMocks): Registration[] {
    const monitor = (pulumi.runtime as unknown as { getMonitor(): Record<string, unknown> }).getMonitor();
    const newUrn = monitor.newUrn as (parent: string, type: string, name: string) => string;
    const register = monitor.registerResource as (req: MonitorRequest, callback: unknown) => Promise<void>;
    const recorded: Registration[] = [];
    monitor.registerResource = (req: MonitorRequest, callback: unknown) => {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps, key) => {
            propertyDependencies[key] = deps.getUrnsList().map(engineUrn);
        });
        const registration: Registration = {
            urn: engineUrn(newUrn.call(monitor, req.getParent(), req.getType(), req.getName())),
            type: req.getType(),
            name: req.getName(),
            custom: req.getCustom(),
            propertyDependencies,
            dependencies: req.getDependenciesList().map(engineUrn),
            options: {
                ...(req.getDeletebeforereplacedefined() ? { deleteBeforeReplace: req.getDeletebeforereplace() } : {}),
                ...(req.getRetainondelete() ? { retainOnDelete: true } : {}),
                ...(req.getIgnorechangesList().length > 0 ? { ignoreChanges: req.getIgnorechangesList() } : {}),
                ...(req.getReplaceonchangesList().length > 0 ? { replaceOnChanges: req.getReplaceonchangesList() } : {}),
            },
        };
        recorded.push(registration);
        mocks.registered.set(`${registration.type}::${registration.name}`, registration);
        return register.call(monitor, req, callback);
    };
    return recorded;
}

function tryJson(value: string | undefined): unknown {
    if (value === undefined) return undefined;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

function collectStrings(value: unknown, into: Set<string>): void {
    if (typeof value === "string") {
        if (value !== "") into.add(value);
    } else if (Array.isArray(value)) {
        for (const v of value) collectStrings(v, into);
    } else if (value && typeof value === "object") {
        for (const v of Object.values(value)) collectStrings(v, into);
    }
}

function redactString(value: string, secrets: Set<string>): string {
    let result = value;
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
        if (result.includes(secret)) result = result.split(secret).join(SECRET);
    }
    return result;
}

/** Inputs as the SDK sent them, as plain data: secrets unwrapped, values not yet known `[unknown]`. */
export function plainValue(raw: unknown): unknown {
    return reveal(raw, new Set(), true);
}

/**
 * Unwraps secret envelopes. Without showSecrets, the secret values themselves become
 * `[secret]` wherever they appear (so a command stays readable: `--requirepass [secret]`);
 * an enveloped value with no known secret in it is replaced whole.
 */
function reveal(value: unknown, secrets: Set<string>, showSecrets: boolean): unknown {
    if (isUnknownValue(value)) return UNKNOWN_VALUE;
    if (isSecretEnvelope(value)) {
        // In preview, @pulumi/pulumi 3.276 keeps a secret's envelope around a value not yet
        // known (3.248 sent the bare unknown): there is nothing to hide yet, so say it is unknown.
        if (isUnknownValue(value.value)) return UNKNOWN_VALUE;
        const inner = reveal(value.value, secrets, showSecrets);
        if (showSecrets) return inner;
        return JSON.stringify(inner)?.includes(SECRET) ? inner : SECRET;
    }
    if (typeof value === "string") return showSecrets ? value : redactString(value, secrets);
    if (Array.isArray(value)) return value.map((v) => reveal(v, secrets, showSecrets));
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v, secrets, showSecrets)]));
    }
    return value;
}

/** The SDK marks a value unknown during preview with a sentinel string, or an object flag in newer versions. */
function isUnknownValue(value: unknown): boolean {
    return (
        value === UNKNOWN || (typeof value === "object" && value !== null && (value as Record<string, unknown>).__pulumiUnknown === true)
    );
}

interface Settled {
    value: unknown;
    known: boolean;
    secret: boolean;
}

/** An output's value, whether it is known, and whether it is secret, without `apply` (which never runs on unknowns). */
async function settle(output: pulumi.Output<unknown>): Promise<Settled> {
    const internal = output as unknown as {
        promise(withUnknowns?: boolean): Promise<unknown>;
        isKnown: Promise<boolean>;
        isSecret: Promise<boolean>;
    };
    const [value, known, secret] = await Promise.all([internal.promise(true), internal.isKnown, internal.isSecret]);
    return { value, known, secret };
}

async function resolveResources(input: Declared["dependsOn"]): Promise<pulumi.Resource[]> {
    if (input === undefined) return [];
    const value = pulumi.Output.isInstance(input) ? (await settle(input)).value : await input;
    const list = Array.isArray(value) ? value : [value];
    const resolved = await Promise.all(list.map(async (r) => (pulumi.Output.isInstance(r) ? (await settle(r)).value : await r)));
    return resolved as pulumi.Resource[];
}

/** A stack output as `pulumi stack output --json` shows it: secrets `[secret]` unless shown. */
async function resolveOutput(value: unknown, showSecrets: boolean): Promise<unknown> {
    if (pulumi.Output.isInstance(value)) {
        const settled = await settle(value);
        if (!settled.known || settled.value === undefined) return UNKNOWN_VALUE;
        if (settled.secret && !showSecrets) return SECRET;
        return resolveOutput(settled.value, showSecrets);
    }
    if (pulumi.Resource.isInstance(value)) return undefined;
    if (Array.isArray(value)) return Promise.all(value.map((v) => resolveOutput(v, showSecrets)));
    if (value && typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutput(v, showSecrets)] as const));
        return Object.fromEntries(entries);
    }
    return value;
}
