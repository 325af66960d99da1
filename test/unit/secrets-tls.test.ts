/**
 * A docker stack with `tls: true`: the private keys (the CA's and each role's) are secrets like
 * the passwords, wherever they go. See secretLeaks.ts for what is checked and how.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { isSecretEnvelope } from "../../plan/mocks";
import { type Plan, type PlanRun, runPlan } from "../../plan/plan";
import { leaks } from "./secretLeaks";

const ROLES = PROTOCOL_ENVIRONMENTS.length + PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").length;

let run: PlanRun;
let shown: Plan;
beforeAll(async () => {
    run = await runPlan({ stack: "dev", values: { tls: "true" } });
    shown = await run.render(false);
});

const keys = () => run.secrets.filter((s) => s.includes("PRIVATE KEY-----"));

describe("the docker stack with tls: true", () => {
    it("knows every private key of the stack as a secret (so the search below is not vacuous)", () => {
        // The CA's and each role's, as SEC1 and PKCS#8.
        expect(keys()).toHaveLength(2 * (1 + ROLES));
    });

    it("puts no private key and no password in any input that is not a Pulumi secret", () => {
        expect(leaks(run)).toEqual([]);
    });

    it("uploads each role's key inside the container's secret uploads, readable by the redis user alone", () => {
        const containers = [...run.rawInputs].filter(([urn]) => urn.includes("docker:index/container:Container"));
        expect(containers).toHaveLength(ROLES);
        for (const [urn, inputs] of containers) {
            expect(isSecretEnvelope(inputs.uploads), urn).toBe(true);
            const uploads = (inputs.uploads as { value: { file: string; content: unknown; permissions: string; owner: string }[] }).value;
            const key = uploads.find((u) => u.file === "/etc/nexus-redis/tls/tls.key")!;
            expect(
                keys().some((k) => JSON.stringify(key.content).includes(k.trim().split("\n")[1])),
                urn,
            ).toBe(true);
            expect([key.permissions, key.owner], urn).toEqual(["0400", "999"]);
        }
    });

    it("passes the CA's key to each certificate only as a secret, and the plan shows no key", () => {
        for (const [urn, inputs] of run.rawInputs) {
            if (urn.includes("LocallySignedCert")) expect(isSecretEnvelope(inputs.caPrivateKeyPem), urn).toBe(true);
            if (urn.includes("CertRequest") || urn.includes("SelfSignedCert"))
                expect(isSecretEnvelope(inputs.privateKeyPem), urn).toBe(true);
        }
        expect(JSON.stringify(shown)).not.toContain("PRIVATE KEY");
    });

    it("outputs the CA's certificate in the clear (clients need it) and each endpoint's TLS server name", () => {
        expect(String((shown.outputs.tls as { ca: string }).ca)).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
        const contact = (shown.outputs.environments as Record<string, any>).contact;
        expect(contact.vault.tls).toEqual({ serverName: "nexus3-contact-vault" });
        expect(contact.operational.tls).toEqual({ serverName: "nexus3-contact-operational" });
    });
});
