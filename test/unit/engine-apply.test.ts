/**
 * The provider calls the engine makes for a run's steps, in its order (plan/engineApply.ts):
 * what the stand-in for `pulumi up` carries out on a real engine.
 */
import { describe, expect, it } from "vitest";
import type { EngineState, StateResource, Step } from "../../plan/engine";
import { type Operation, destroySteps, operations, summarize } from "../../plan/engineApply";

/** A resource of the state: `custom` unless a component; options as given. */
function res(name: string, more: Partial<StateResource> = {}): StateResource {
    return {
        urn: `urn:${name}`,
        type: more.type ?? "docker:index/container:Container",
        name,
        custom: true,
        id: `${name}-id`,
        inputs: {},
        outputs: {},
        propertyDependencies: {},
        dependencies: [],
        options: {},
        ...more,
    };
}

const state = (...resources: StateResource[]): EngineState => ({ resources });

const step = (op: Step["op"], name: string, more: Record<string, unknown> = {}): Step =>
    ({ urn: `urn:${name}`, type: "docker:index/container:Container", name, op, inputs: {}, changes: [], ...more }) as Step;

/** `op name` of each operation, `retain` for a deletion the engine makes without the provider. */
const calls = (ops: Operation[]) => ops.map((o) => `${o.op} ${o.resource.name}`);

const network = res("network");
const volume = res("volume", { type: "docker:index/volume:Volume", options: { retainOnDelete: true } });
const vault = res("vault", { dependencies: ["urn:network", "urn:volume"] });
const operational = res("operational", { dependencies: ["urn:network", "urn:vault"] });
const env = res("env", { custom: false, type: "nexus-redis:redis:StandardEnvironment" });
const secret = res("secret", { type: "docker:index/secret:Secret" });
const service = res("service", { type: "docker:index/service:Service", dependencies: ["urn:secret"] });
const prior = state(env, network, volume, vault, operational);
const next = state(env, network, volume, { ...vault, id: "vault-id.2" }, operational);

describe.each<[string, EngineState, EngineState, Step[], string[]]>([
    [
        "a first up creates every custom resource in the order registered, components not called",
        state(),
        prior,
        [
            step("create", "env"),
            step("create", "network"),
            step("create", "volume"),
            step("create", "vault"),
            step("create", "operational"),
        ],
        ["create network", "create volume", "create vault", "create operational"],
    ],
    ["a run of `same` steps calls nothing", prior, prior, [step("same", "network"), step("same", "vault")], []],
    [
        "an update calls Update, in place",
        prior,
        prior,
        [step("same", "network"), step("update", "operational", { changes: [{ path: "memory", replace: false }] })],
        ["update operational"],
    ],
    [
        "a delete-first replacement deletes the old one before it creates the new one",
        prior,
        next,
        [step("replace", "vault", { deleteFirst: true, deletesFirst: [] }), step("same", "operational")],
        ["delete vault", "create vault"],
    ],
    [
        "a delete-first replacement deletes the dependents it condemned first, then creates each when it is registered",
        prior,
        next,
        [
            step("replace", "network", { deleteFirst: true, deletesFirst: ["urn:operational", "urn:vault"] }),
            step("same", "volume"),
            step("replace", "vault", { deleteFirst: true, deletesFirst: [], dependentOf: "urn:network" }),
            step("replace", "operational", { deleteFirst: true, deletesFirst: [], dependentOf: "urn:network" }),
        ],
        ["delete operational", "delete vault", "delete network", "create network", "create vault", "create operational"],
    ],
    [
        "a create-first replacement creates the new one at once and deletes the old one last, after what uses it moved",
        state(secret, service),
        state({ ...secret, id: "secret-id.2" }, service),
        [step("replace", "secret", { deleteFirst: false, deletesFirst: [] }), step("update", "service")],
        ["create secret", "update service", "delete secret"],
    ],
    [
        "resources no longer registered are deleted last, dependents first; a retained one is left in place",
        prior,
        state(network),
        [step("same", "network"), step("delete", "env"), step("delete", "volume"), step("delete", "vault"), step("delete", "operational")],
        ["delete operational", "delete vault", "retain volume"],
    ],
    [
        "a retained resource replaced delete-first is left in place, and created anew (for a volume: the same one)",
        prior,
        prior,
        [step("replace", "volume", { deleteFirst: true, deletesFirst: [] })],
        ["retain volume", "create volume"],
    ],
])("%s", (_what, before, after, steps, expected) => {
    it("calls the providers as the engine does", () => {
        expect(calls(operations(steps, before, after))).toEqual(expected);
    });
});

describe("pulumi destroy", () => {
    it("deletes every resource, dependents first, and leaves the retained volume where it is", () => {
        const ops = operations(destroySteps(prior), prior, state());
        expect(calls(ops)).toEqual(["delete operational", "delete vault", "retain volume", "delete network"]);
    });

    it("summarizes the retained volume apart from what the provider deleted, components left out", () => {
        expect(summarize(destroySteps(prior), prior, state())).toEqual({
            created: [],
            updated: [],
            replaced: [],
            deleted: ["operational", "vault", "network"],
            retained: ["volume"],
        });
    });
});

it("refuses a step for a resource the states do not hold", () => {
    expect(() => operations([step("update", "ghost")], prior, prior)).toThrow(
        /urn:ghost: a update step for a resource the next state does not hold/,
    );
});
