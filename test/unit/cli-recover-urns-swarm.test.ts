/**
 * The URN `nexus-redis recover` replaces on Swarm, against the program's own Swarm plan.
 * Its own file: Pulumi keeps its runtime in process globals, one plan per process.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SERVICE_TYPE, swarmOperationalUrn } from "../../cli/recover/recover";
import { type Plan, planProgram } from "../../plan/plan";

let plan: Plan;

beforeAll(async () => {
    plan = await planProgram({
        stack: "staging",
        values: {
            platform: "swarm",
            image: `sha256:${"f".repeat(64)}`,
            containerPrefix: "blue",
            swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy"}',
        },
    });
});

describe("the URN recover replaces on Swarm", () => {
    it("is each standard environment's operational service in the plan, and no vault's", () => {
        const standard = Object.entries(plan.outputs.environments as Record<string, { kind: string }>).filter(
            ([, e]) => e.kind === "standard",
        );
        expect(standard).toHaveLength(10);
        for (const [name] of standard) {
            const service = plan.resources.find((r) => r.type === SERVICE_TYPE && r.name === `${name}-operational`);
            expect(swarmOperationalUrn(plan.project, plan.stack, name)).toBe(service?.urn);
            expect(service?.inputs.name).toBe(`blue-${name}-operational`);
        }
        const vaults = plan.resources.filter((r) => r.type === SERVICE_TYPE && r.name.endsWith("-vault")).map((r) => r.urn);
        for (const [name] of standard) expect(vaults).not.toContain(swarmOperationalUrn(plan.project, plan.stack, name));
    });
});
