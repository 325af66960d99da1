/**
 * Mocks for Pulumi's mock runtime: realistic state per resource type, explicit answers to
 * the invokes the program makes, and an error for anything else, so a new resource type
 * or invoke in the program cannot slip through the offline plan or the tests unseen.
 */
import type * as pulumi from "@pulumi/pulumi";
import { createHash, randomInt } from "node:crypto";
import type { Registration } from "./types";
import { TLS_SECRET_OUTPUTS, TLS_TYPES, tlsOutputs } from "./tlsStandIn";

/** How the SDK wraps a secret value when it crosses the RPC boundary to the mocks. */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
/** The SDK's marker for a value not known during a preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isSecretEnvelope(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG_VALUE;
}

function secretEnvelope(value: unknown): Record<string, unknown> {
    return { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value };
}

/** A value with every secret envelope taken off (what a provider receives). */
export function unwrapSecrets(value: unknown): unknown {
    if (isSecretEnvelope(value)) return unwrapSecrets(value.value);
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/**
 * The TLS provider's outputs of a resource as the program receives them: the private keys
 * in secret envelopes (the provider's additionalSecretOutputs, which the mock runtime does not
 * apply), and every key recorded in `secrets` so that the plan and the leak tests know it.
 */
export function tlsState(type: string, outputs: Record<string, unknown>, secrets: Set<string>): Record<string, unknown> {
    const state = { ...outputs };
    for (const key of TLS_SECRET_OUTPUTS[type] ?? []) {
        if (typeof state[key] !== "string") continue;
        secrets.add(state[key] as string);
        state[key] = secretEnvelope(state[key]);
    }
    return state;
}

/** The image ID the mocked `RemoteImage` reports for an image reference (the live harness maps it back). */
export function mockImageId(reference: string): string {
    return `sha256:${createHash("sha256").update(reference).digest("hex")}`;
}

/** A random password honouring RandomPassword's length and character-class inputs. */
function randomPassword(inputs: Record<string, unknown>): string {
    const classes = [
        inputs.upper === false ? "" : "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        inputs.lower === false ? "" : "abcdefghijklmnopqrstuvwxyz",
        inputs.numeric === false ? "" : "0123456789",
        inputs.special === false ? "" : typeof inputs.overrideSpecial === "string" ? inputs.overrideSpecial : "!@#$%&*()-_=+[]{}<>:?",
    ].join("");
    const length = typeof inputs.length === "number" ? inputs.length : 16;
    return Array.from({ length }, () => classes[randomInt(classes.length)]).join("");
}

export interface RecordedResource {
    type: string;
    name: string;
    custom: boolean;
    /** Inputs as the provider would receive them (secrets still in their envelopes). */
    inputs: Record<string, unknown>;
    /** State the mock answered with. */
    state: Record<string, unknown>;
}

export interface PlanMocksOptions {
    /** Networks `docker.getNetwork` finds; `undefined` means any name (the offline plan cannot look). */
    existingNetworks?: string[];
    /** As in `pulumi preview`: a resource not yet created has only its inputs; what the provider computes is unknown. */
    preview?: boolean;
    /**
     * Preview only: resources whose every output stays unknown, as if each were being replaced
     * with all of its outputs computed anew (what a test asks to find every input that would
     * follow them).
     */
    unknownOutputs?: (type: string, name: string) => boolean;
}

export class PlanMocks implements pulumi.runtime.Mocks {
    /** Every registration, in order, keyed by `type::name`. */
    readonly resources = new Map<string, RecordedResource>();
    /** Every secret value generated here, so the plan can redact it wherever it appears. */
    readonly generatedSecrets = new Set<string>();
    /** What the engine records of each registration (plan.ts fills it in before newResource runs), by `type::name`. */
    readonly registered = new Map<string, Registration>();

    constructor(protected readonly options: PlanMocksOptions = {}) {}

    newResource(
        args: pulumi.runtime.MockResourceArgs,
    ): { id: string | undefined; state: Record<string, unknown> } | Promise<{ id: string | undefined; state: Record<string, unknown> }> {
        const key = `${args.type}::${args.name}`;
        if (this.resources.has(key)) throw new Error(`two resources of type ${args.type} are named ${args.name}`);
        const inputs = args.inputs as Record<string, unknown>;
        if (this.options.preview && this.options.unknownOutputs?.(args.type, args.name)) {
            // No id and no state: the SDK leaves every output unknown in a preview.
            this.resources.set(key, { type: args.type, name: args.name, custom: args.custom !== false, inputs, state: {} });
            return { id: undefined, state: {} };
        }
        if (TLS_TYPES.includes(args.type) && !(this.options.preview && !this.options.unknownOutputs)) {
            // Signing is asynchronous (WebCrypto): the SDK waits on a promise from the mocks.
            this.resources.set(key, { type: args.type, name: args.name, custom: true, inputs, state: {} });
            return tlsOutputs(args.type, unwrapSecrets(inputs) as Record<string, unknown>).then((outputs) => {
                const state = { ...inputs, ...tlsState(args.type, outputs, this.generatedSecrets) };
                this.resources.set(key, { type: args.type, name: args.name, custom: true, inputs, state });
                return { id: `${args.name}-id`, state };
            });
        }
        const state = this.stateFor(args.type, args.name, inputs, args.custom !== false);
        this.resources.set(key, { type: args.type, name: args.name, custom: args.custom !== false, inputs, state });
        return { id: args.custom === false ? undefined : `${args.name}-id`, state };
    }

    private stateFor(type: string, name: string, inputs: Record<string, unknown>, custom: boolean): Record<string, unknown> {
        if (!custom) return {};
        // With unknownOutputs, every other resource answers as if it existed already, so that
        // the only values not known are the ones that follow the resources asked about.
        if (this.options.preview && !this.options.unknownOutputs) return { ...inputs };
        switch (type) {
            case "random:index/randomPassword:RandomPassword": {
                const result = randomPassword(inputs);
                this.generatedSecrets.add(result);
                // The real provider marks `result` secret; mocks must say so themselves.
                return { ...inputs, result: secretEnvelope(result) };
            }
            case "random:index/randomId:RandomId": {
                // Records a name at creation (components/redisNode.ts vaultVolumeName); its bytes are not used.
                const bytes = createHash("sha256")
                    .update(name)
                    .digest()
                    .subarray(0, Number(inputs.byteLength ?? 1));
                return { ...inputs, hex: bytes.toString("hex"), b64Std: bytes.toString("base64"), b64Url: bytes.toString("base64url") };
            }
            case "docker:index/remoteImage:RemoteImage":
                return {
                    ...inputs,
                    imageId: mockImageId(String(inputs.name)),
                    repoDigest: `${inputs.name}@${mockImageId(String(inputs.name))}`,
                };
            case "docker:index/network:Network":
                return { ...inputs, driver: inputs.driver ?? "bridge", scope: "local", internal: false };
            case "docker:index/volume:Volume":
                return { ...inputs, driver: "local", mountpoint: `/var/lib/docker/volumes/${inputs.name}/_data` };
            case "docker:index/container:Container":
                return { ...inputs, exitCode: null, hostname: String(inputs.name).slice(0, 12) };
            // Swarm objects: the provider reads back what it sent. A secret's data is never
            // returned by the Engine API; the provider keeps the input, marked secret.
            case "docker:index/secret:Secret":
            case "docker:index/serviceConfig:ServiceConfig":
                return { ...inputs };
            case "docker:index/service:Service":
                return { ...inputs, endpointSpec: inputs.endpointSpec ?? { mode: "vip", ports: [] } };
            default:
                throw new Error(`the mocks have no state for resource type ${type} (${name}); add it to plan/mocks.ts`);
        }
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        if (args.token === "docker:index/getNetwork:getNetwork") {
            const name = String(args.inputs.name);
            const known = this.options.existingNetworks;
            if (known !== undefined && !known.includes(name)) throw new Error(`Error: network ${name} not found`);
            return { id: `${name}-id`, name, driver: "bridge", scope: "local", internal: false, ipamConfigs: [], options: {} };
        }
        throw new Error(`the mocks do not answer invoke ${args.token}; add it to plan/mocks.ts`);
    }
}
