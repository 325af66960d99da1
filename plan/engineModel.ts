/**
 * The model of the Pulumi engine's Docker and random providers for every input this program
 * sends: per resource type and field, whether a change replaces the resource or updates it in
 * place, and what the provider's Read stores (the state the next `pulumi up` diffs the
 * program's inputs against). One table, each entry citing the upstream source it comes from,
 * written per provider in plan/engineTable{Docker,Swarm,Secrets}.ts.
 * An input the table does not know is an error, nested fields too: a new field cannot reach
 * the planner (plan/engine.ts) unmodelled.
 *
 * Sources, read (not run: no Pulumi CLI or provider plugin runs here):
 * - @pulumi/docker 5.2.0 bridges kreuzwerker/terraform-provider-docker: pulumi-docker v5.1.0's
 *   `upstream` is v4.5.0 (commit 5074970c), and nothing in that provider's source changed for the
 *   fields below up to its master of 2026-07-22. 5.2.0's SDK adds upload `owner` and `group`,
 *   which neither has: they are modelled like the other upload fields. Paths below are that
 *   provider's `internal/provider/` files.
 * - pulumi-docker provider/resources.go: the Pulumi names, and Container's provider-level
 *   DeleteBeforeReplace.
 * - @pulumi/random 4.21 bridges hashicorp/terraform-provider-random (internal/provider/).
 * - @pulumi/tls 5.6.1 bridges hashicorp/terraform-provider-tls (internal/provider/), a
 *   plugin-framework provider: every attribute is stored as planned (Create sets the state from
 *   the plan, Read changes nothing but ready_for_renewal), so each input is read back as sent.
 * - Docker Engine behaviour (moby): client/service_create.go (QueryRegistry),
 *   daemon/daemon_unix.go (the default swap limit).
 *
 * Field semantics follow the Terraform plugin SDK v2's diff, which the bridge runs: a field
 * left out compares as its default, or its type's zero value; a "computed" field left out
 * keeps what is stored; a value not known yet differs, and replaces if the field itself is
 * ForceNew (for a whole block: only the block's own ForceNew counts, as `diffList` marks only
 * the count of a computed list).
 */
import type { FieldModel, Platform, ResourceModel } from "./engineFields";
import { DOCKER_MODEL } from "./engineTableDocker";
import { SECRETS_MODEL } from "./engineTableSecrets";
import { SWARM_MODEL } from "./engineTableSwarm";
import { formatGoDuration, parseGoDuration } from "./goDuration";

export type { FieldModel, FieldType, Platform, ReadForm, ResourceModel } from "./engineFields";
export { formatGoDuration, parseGoDuration } from "./goDuration";

/** What the model needs to know of the engine that answers. */
export interface EngineFacts {
    /** Network name or ID → ID: how Docker resolves a service's network. */
    networkIds?: Record<string, string>;
    /** A registry's answer for an image reference; absent: none answers (a local image, or no registry). */
    registry?: Record<string, { digest: string; platforms?: Platform[] }>;
    /** Whether the engine limits swap; without it Docker stores -1 for any swap limit. Default true. */
    swapLimit?: boolean;
}

/** An input the model does not know: the program sends something the planner cannot judge. */
export class UnmodelledInputError extends Error {
    constructor(type: string, path: string) {
        super(
            `${type}: input ${path} is not in the engine model (plan/engineModel.ts, its tables plan/engineTable*.ts); model it from the provider's source first`,
        );
        this.name = "UnmodelledInputError";
    }
}

/** The table: every resource type the program registers, every input it sends. */
export const ENGINE_MODEL: Readonly<Record<string, ResourceModel>> = {
    "nexus-redis:redis:StandardEnvironment": { component: true, fields: {}, source: "components/standardEnvironment.ts" },
    "nexus-redis:redis:SecureEnvironment": { component: true, fields: {}, source: "components/secureEnvironment.ts" },
    ...DOCKER_MODEL,
    ...SWARM_MODEL,
    ...SECRETS_MODEL,
};

/** The model of a resource type; an unknown type is an error. */
export function resourceModel(type: string): ResourceModel {
    const model = ENGINE_MODEL[type];
    if (!model) throw new UnmodelledInputError(type, "(the resource type)");
    return model;
}

/** The value Pulumi's SDK sends for an input not known yet, as plan.ts renders it. */
export const UNKNOWN = "[unknown]";

export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

/** The zero value of a field's type: what a field left out compares as. */
export function zeroValue(model: FieldModel): unknown {
    switch (model.type) {
        case "string":
            return "";
        case "int":
            return 0;
        case "bool":
            return false;
        case "list":
        case "set":
            return [];
        case "map":
        case "block":
            return {};
    }
}

/** Throws on any key of `value` (a block or an element of one) the model does not know. */
export function checkKnown(type: string, fields: Record<string, FieldModel>, value: unknown, path: string): void {
    if (!value || typeof value !== "object" || Array.isArray(value) || isUnknown(value)) return;
    for (const [key, v] of Object.entries(value)) {
        const model = fields[key];
        const at = path ? `${path}.${key}` : key;
        if (!model) throw new UnmodelledInputError(type, at);
        if (model.fields && model.type === "block") checkKnown(type, model.fields, v, at);
        if (model.fields && (model.type === "list" || model.type === "set") && Array.isArray(v)) {
            for (const [i, element] of v.entries()) checkKnown(type, model.fields, element, `${at}[${i}]`);
        }
    }
}

function readField(model: FieldModel, value: unknown, facts: EngineFacts): unknown {
    if (isUnknown(value)) return value;
    switch (model.read) {
        case "goDuration":
            return formatGoDuration(parseGoDuration(String(value)));
        case "networkIds":
            return (value as Record<string, unknown>[]).map((n) => {
                const target = String(n.id ?? n.name);
                return { id: facts.networkIds?.[target] ?? target, ...(n.aliases ? { aliases: n.aliases } : {}) };
            });
        default:
            if (model.fields && model.type === "block") return readFields(model.fields, value as Record<string, unknown>, facts);
            if (model.fields && Array.isArray(value)) {
                return value.map((e) => readFields(model.fields!, e as Record<string, unknown>, facts));
            }
            return value;
    }
}

function readFields(fields: Record<string, FieldModel>, value: Record<string, unknown>, facts: EngineFacts): Record<string, unknown> {
    const stored: Record<string, unknown> = {};
    for (const [key, model] of Object.entries(fields)) {
        if (value[key] !== undefined) stored[key] = readField(model, value[key], facts);
        else if (model.readWhenAbsent !== undefined) stored[key] = model.readWhenAbsent;
        else if (model.default !== undefined) stored[key] = model.default;
    }
    return stored;
}

/** A reference pinned by digest (NAME@sha256:… or NAME:TAG@sha256:…). */
function isCanonical(image: string): boolean {
    return /@sha256:[0-9a-f]{64}$/.test(image);
}

/**
 * What the provider's Read stores after creating (or updating) a resource with `inputs`: the
 * state the engine diffs the next run's inputs against. Inputs as plan.ts renders them
 * (secrets shown). Throws UnmodelledInputError on an input the model does not know.
 */
export function readBack(type: string, inputs: Record<string, unknown>, facts: EngineFacts = {}): Record<string, unknown> {
    const model = resourceModel(type);
    checkKnown(type, model.fields, inputs, "");
    const stored = readFields(model.fields, inputs, facts);
    if (type === "docker:index/container:Container") {
        // moby daemon/daemon_unix.go: a memory limit with no swap limit gets twice the memory as
        // swap; an engine without swap accounting keeps no swap limit (-1).
        const memory = Number(inputs.memory ?? 0);
        if (memory > 0 && inputs.memorySwap === undefined) stored.memorySwap = 2 * memory;
        if (Number(stored.memorySwap ?? 0) > 0 && facts.swapLimit === false) stored.memorySwap = -1;
    }
    if (type === "docker:index/service:Service") {
        // resourceDockerServiceCreate sets QueryRegistry: Docker's client (moby client/service_create.go)
        // asks the registry, pins a tag to its digest and adds the image's platforms to the placement.
        const task = stored.taskSpec as Record<string, Record<string, unknown>> | undefined;
        const image = task?.containerSpec?.image;
        const answer = typeof image === "string" ? facts.registry?.[image] : undefined;
        if (task && answer) {
            if (!isCanonical(image as string)) task.containerSpec.image = `${image}@${answer.digest}`;
            if (answer.platforms && answer.platforms.length > 0) task.placement = { ...task.placement, platforms: answer.platforms };
        }
    }
    return stored;
}
