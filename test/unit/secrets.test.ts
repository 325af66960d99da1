/** Generated passwords: see secretLeaks.ts for what is checked and how. */
import { beforeAll, describe, expect, it } from "vitest";
import { isSecretEnvelope } from "../../plan/mocks";
import { type PlanRun, runPlan } from "../../plan/plan";
import { leaks, sha256 } from "./secretLeaks";

let run: PlanRun;
beforeAll(async () => {
    run = await runPlan({ stack: "dev" });
});

describe("the dev stack with generated passwords", () => {
    it("knows every password of the stack (so the search below is not vacuous)", () => {
        // 10 standard environments × 4 passwords (vault, replication, admin, backup) + 2 secure × 2.
        expect(run.secrets).toHaveLength(44);
    });

    it("puts no password, and no password's hash, in any input that is not a Pulumi secret", () => {
        expect(leaks(run)).toEqual([]);
    });

    it("does find the passwords inside the secret inputs (the containers' uploaded config files)", () => {
        const needles = run.secrets.flatMap((s) => [s, sha256(s)]);
        const containers = [...run.rawInputs].filter(([urn]) => urn.includes("docker:index/container:Container"));
        expect(containers).toHaveLength(22);
        for (const [urn, inputs] of containers) {
            expect(isSecretEnvelope(inputs.uploads), urn).toBe(true);
            expect(
                needles.some((n) => JSON.stringify(inputs.uploads).includes(n)),
                urn,
            ).toBe(true);
        }
    });
});
