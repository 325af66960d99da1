/**
 * The URNs `nexus-redis recover` targets, against the program's own plan. Its own file:
 * Pulumi keeps its runtime in process globals, one plan per process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Plan, planProgram } from "../../plan/plan";
import { CONTAINER_TYPE, STANDARD_ENVIRONMENT_TYPE, VOLUME_TYPE, operationalUrns } from "../../cli/recover/recover";

let plan: Plan;

beforeAll(async () => {
    // Another stack and prefix than the defaults: URNs follow the stack, never the container names.
    plan = await planProgram({ stack: "staging", values: { containerPrefix: "blue", portOffset: "1000" } });
});

const standardNames = () =>
    Object.entries(plan.outputs.environments as Record<string, { kind: string }>)
        .filter(([, e]) => e.kind === "standard")
        .map(([name]) => name);

describe("the URNs recover replaces", () => {
    it("are the URNs of each standard environment's operational container and volume in the plan", () => {
        const names = standardNames();
        expect(names).toHaveLength(10);
        for (const name of names) {
            const urns = operationalUrns(plan.project, plan.stack, name);
            const container = plan.resources.find((r) => r.type === CONTAINER_TYPE && r.name === `${name}-operational`);
            const volume = plan.resources.find((r) => r.type === VOLUME_TYPE && r.name === `${name}-operational-data`);
            expect(urns).toEqual({ container: container?.urn, volume: volume?.urn });
        }
    });

    it("touch nothing but operational containers and volumes: never a vault, its volume or a password", () => {
        const targeted = new Set(standardNames().flatMap((name) => Object.values(operationalUrns(plan.project, plan.stack, name))));
        const replaced = plan.resources.filter((r) => targeted.has(r.urn));
        expect(replaced).toHaveLength(20);
        for (const r of replaced) {
            expect([CONTAINER_TYPE, VOLUME_TYPE]).toContain(r.type);
            expect(r.name).toMatch(/-operational(-data)?$/);
        }
    });

    it("name resources whose parent is the environment's component, whose type the URN carries", () => {
        // The engine puts every ancestor's type in a child's URN except the stack's. The mock
        // runtime writes `pulumi:pulumi:Stack$` into top-level URNs (the components'), but the
        // operational's resources are one level down, where its URNs and the engine's agree.
        for (const name of standardNames()) {
            const container = plan.resources.find((r) => r.urn === operationalUrns(plan.project, plan.stack, name).container)!;
            const parent = plan.resources.find((r) => r.urn === container.parent)!;
            expect(parent).toMatchObject({ type: STANDARD_ENVIRONMENT_TYPE, name });
            expect(parent.parent).toBe(`urn:pulumi:staging::${plan.project}::pulumi:pulumi:Stack::${plan.project}-staging`);
        }
    });
});
