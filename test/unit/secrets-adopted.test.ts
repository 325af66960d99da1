/** Passwords adopted from secret config: see secretLeaks.ts for what is checked and how. */
import { beforeAll, describe, expect, it } from "vitest";
import { type PlanRun, runPlan } from "../../plan/plan";
import { leaks } from "./secretLeaks";

const ADOPTED = {
    contact: { vault: "Adopted-Vault-Pw1", replication: "Adopted-Repl-Pw2", operationalAdmin: "Adopted-Admin-Pw3", backup: "Adopted-Bk4" },
    user: { vault: "Adopted-User-Pw5" },
};

let run: PlanRun;
beforeAll(async () => {
    run = await runPlan({ stack: "dev", secrets: { passwords: JSON.stringify(ADOPTED) } });
});

describe("the dev stack with passwords adopted from secret config", () => {
    it("knows the adopted passwords", () => {
        for (const password of ["Adopted-Vault-Pw1", "Adopted-Repl-Pw2", "Adopted-Admin-Pw3", "Adopted-Bk4", "Adopted-User-Pw5"]) {
            expect(run.secrets).toContain(password);
        }
    });

    it("puts no password, and no password's hash, in any input that is not a Pulumi secret", () => {
        expect(leaks(run)).toEqual([]);
    });
});
