/**
 * Platform swarm with generated passwords: see secretLeaks.ts for what is checked and how.
 * On Swarm the stakes are higher: `docker service inspect` shows every input of a service,
 * and `docker secret ls` / `docker config inspect` every name and every config's content.
 */
import { Buffer } from "node:buffer";
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { isSecretEnvelope } from "../../plan/mocks";
import { type PlanRun, runPlan } from "../../plan/plan";
import { leaks, sha256 } from "./secretLeaks";

/** Roles of the protocol's table: a vault per environment, an operational per standard one. */
const ROLES = PROTOCOL_ENVIRONMENTS.length + PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").length;

let run: PlanRun;
beforeAll(async () => {
    run = await runPlan({
        stack: "dev",
        values: {
            platform: "swarm",
            image: `redis:7.2@sha256:${"f".repeat(64)}`,
            swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy"}',
        },
    });
});

const ofType = (type: string) => [...run.rawInputs].filter(([urn]) => urn.includes(`$${type}::`));

describe("the swarm stack with generated passwords", () => {
    it("knows every password and every private key of the stack (so the search below is not vacuous)", () => {
        const keys = run.secrets.filter((s) => s.includes("PRIVATE KEY-----"));
        expect(run.secrets.length - keys.length).toBe(44);
        // TLS is on by default on swarm: the CA's key and one per role, each as SEC1 and PKCS#8.
        expect(keys).toHaveLength(2 * (1 + ROLES));
    });

    it("puts no password, and no password's hash, in any input that is not a Pulumi secret (base64 decoded too)", () => {
        expect(leaks(run)).toEqual([]);
    });

    it("holds the passwords and the private keys only in the Swarm secrets' data, a Pulumi secret, base64", () => {
        const needles = run.secrets.flatMap((s) => [s, sha256(s)]);
        const secrets = ofType("docker:index/secret:Secret");
        // A config per role, and its TLS key.
        expect(secrets).toHaveLength(2 * ROLES);
        for (const [urn, inputs] of secrets) {
            expect(isSecretEnvelope(inputs.data), urn).toBe(true);
            const decoded = Buffer.from(String((inputs.data as { value: unknown }).value), "base64").toString("utf8");
            expect(
                needles.some((n) => decoded.includes(n)),
                urn,
            ).toBe(true);
            expect(isSecretEnvelope(inputs.name), urn).toBe(false);
        }
    });

    it("gives services no secret input at all, and the start scripts no secret either", () => {
        for (const [urn, inputs] of [...ofType("docker:index/service:Service"), ...ofType("docker:index/serviceConfig:ServiceConfig")]) {
            expect(run.secretInputs.get(urn), urn).toEqual([]);
            expect(JSON.stringify(inputs)).not.toContain("4dabf18193072939515e22adb298388d");
        }
    });

    it("publishes nothing by default", () => {
        for (const [urn, inputs] of ofType("docker:index/service:Service")) {
            expect(inputs.endpointSpec, urn).toEqual({ mode: "dnsrr", ports: [] });
        }
    });
});
