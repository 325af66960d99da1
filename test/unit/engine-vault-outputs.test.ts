/**
 * Replacing a vault must replace nothing else: the engine replaces a dependent of a replaced
 * delete-first resource when an input of it comes from that resource's outputs (pulumi/pulumi
 * step_generator.go calculateDependentReplacements), and in preview those inputs are unknown.
 * So no input of any other resource may come from a vault's outputs.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { Plan, PlanRun } from "../../plan/plan";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { inputsFromVaults, previewWithVaultsUnknown, unknownInputs } from "./vaultOutputs";

describe.each([
    ["docker", {}],
    [
        "swarm",
        {
            platform: "swarm",
            image: `redis:7.2@sha256:${"a".repeat(64)}`,
            swarmNodes: JSON.stringify({ vault: "abcdefghijklmnopqrstuvwxy" }),
        },
    ],
])("the %s stack in preview, every vault's outputs unknown", (_platform, values) => {
    let run: PlanRun;
    let plan: Plan;
    beforeAll(async () => {
        ({ run, plan } = await previewWithVaultsUnknown(values));
    });

    it("has every vault's outputs unknown indeed (the stack output names each vault from them)", () => {
        const environments = plan.outputs.environments as Record<string, { vault: { container: unknown } }>;
        expect(Object.keys(environments)).toHaveLength(PROTOCOL_ENVIRONMENTS.length);
        for (const env of Object.values(environments)) expect(env.vault.container).toBe("[unknown]");
    });

    it("knows every input of every other resource", () => {
        expect(unknownInputs(plan)).toEqual([]);
    });

    it("takes no input of any other resource from a vault's outputs", () => {
        expect(inputsFromVaults(run)).toEqual([]);
    });

    it("still starts each operational after its vault, by a bare dependsOn the engine does not replace it for", () => {
        for (const env of PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard")) {
            const operational = [...run.registrations.values()].find((r) => r.name === `${env.name}-operational`)!;
            expect(operational.dependencies.some((urn) => urn.endsWith(`::${env.name}-vault`))).toBe(true);
        }
    });
});
