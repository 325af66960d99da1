/**
 * What users do to the TLS of a stack, planned as the real engine and the TLS and Docker
 * providers would plan it (plan/engineRun.ts): certificates kept from the state on every
 * other change, a role's certificate or key replaced (`pulumi up --replace`), the CA replaced,
 * TLS turned off. On Swarm a certificate is a config under a name with its content's hash, so a
 * new one is a new config and the service is updated; on Docker it is an upload, which
 * replaces the container.
 */
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineRequest, EngineResult } from "../../plan/engineProcess";
import { changes, runAll, stepOf } from "./engineRuns";

const IMAGE = `redis:7.2@sha256:${"a".repeat(64)}`;
const swarm = {
    platform: "swarm",
    image: IMAGE,
    swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy"}',
    environments: '["contact","user"]',
};
const docker = { environments: '["contact","user"]', tls: "true" };

let runs: Record<string, EngineResult>;

const urnOf = (result: EngineResult, name: string, type: string) =>
    result.state.resources.find((r) => r.name === name && r.type === type)!.urn;
const CERT = "tls:index/locallySignedCert:LocallySignedCert";
const KEY = "tls:index/privateKey:PrivateKey";
const CA = "tls:index/selfSignedCert:SelfSignedCert";
const certOf = (result: EngineResult, name: string) =>
    new X509Certificate(String(result.state.resources.find((r) => r.name === name && r.type === CERT)!.outputs.certPem));

beforeAll(async () => {
    const { swarmBase, dockerBase } = await runAll({
        swarmBase: { mode: "apply", values: swarm },
        dockerBase: { mode: "apply", values: docker },
    });
    const fromSwarm = (more: Partial<EngineRequest>): EngineRequest => ({ mode: "apply", prior: swarmBase.state, values: swarm, ...more });
    runs = {
        swarmBase,
        dockerBase,
        ...(await runAll({
            swarmSecond: fromSwarm({ mode: "preview" }),
            swarmCert: fromSwarm({ replace: [urnOf(swarmBase, "contact-vault-tls-cert", CERT)] }),
            swarmKey: fromSwarm({ replace: [urnOf(swarmBase, "contact-operational-tls-key", KEY)] }),
            swarmCa: fromSwarm({ replace: [urnOf(swarmBase, "tls-ca", CA)] }),
            swarmOff: fromSwarm({ values: { ...swarm, tls: "false" } }),
            swarmEncrypted: fromSwarm({ mode: "preview", values: { ...swarm, encryptedOverlay: "true" } }),
            dockerSecond: { mode: "preview", prior: dockerBase.state, values: docker },
            dockerCert: {
                mode: "apply",
                prior: dockerBase.state,
                values: docker,
                replace: [urnOf(dockerBase, "contact-vault-tls-cert", CERT)],
            },
        })),
    };
}, 600_000);

describe("a TLS stack under the engine", () => {
    it.each([
        ["swarm", "swarmSecond"],
        ["docker", "dockerSecond"],
    ])("plans nothing on a second up with no change (%s): every key and certificate comes back from the state", (_platform, run) => {
        expect(changes(runs[run])).toEqual([]);
    });

    it("makes real certificates: each role's is signed by the stack's CA and names its service", () => {
        const ca = new X509Certificate(String(runs.swarmBase.state.resources.find((r) => r.name === "tls-ca")!.outputs.certPem));
        expect(ca.ca).toBe(true);
        const vault = certOf(runs.swarmBase, "contact-vault-tls-cert");
        expect(vault.verify(ca.publicKey)).toBe(true);
        expect(vault.checkIssued(ca)).toBe(true);
        expect(vault.subjectAltName).toBe("DNS:nexus3-contact-vault, DNS:tasks.nexus3-contact-vault");
        expect(certOf(runs.dockerBase, "contact-operational-tls-cert").subjectAltName).toBe(
            "DNS:nexus3-contact-operational, IP Address:127.0.0.1",
        );
    });
});

describe("replacing one role's certificate (pulumi up --replace its URN) on swarm", () => {
    it("makes a new certificate and config, created before the old config goes, and updates that role's service alone", () => {
        expect(changes(runs.swarmCert)).toEqual([
            "replace contact-vault-tls-cert",
            "replace contact-vault-tls-cert",
            "update contact-vault",
        ]);
        expect(stepOf(runs.swarmCert, "contact-vault-tls-cert", "docker:index/serviceConfig:ServiceConfig")).toMatchObject({
            deleteFirst: false,
        });
        expect(certOf(runs.swarmCert, "contact-vault-tls-cert").serialNumber).not.toBe(
            certOf(runs.swarmBase, "contact-vault-tls-cert").serialNumber,
        );
    });
});

describe("replacing one role's key", () => {
    it("replaces the key, its request and its certificate, their secret and config, and updates that role's service alone", () => {
        expect(changes(runs.swarmKey)).toEqual([
            "replace contact-operational-tls-cert",
            "replace contact-operational-tls-cert",
            "replace contact-operational-tls-csr",
            "replace contact-operational-tls-key",
            "replace contact-operational-tls-key",
            "update contact-operational",
        ]);
    });
});

describe("replacing the CA", () => {
    it("re-issues every role's certificate (their keys stay) and updates every service", () => {
        const roles = ["contact-operational", "contact-vault", "user-vault"];
        expect(changes(runs.swarmCa)).toEqual(
            [
                "replace tls-ca",
                "replace tls-ca",
                ...roles.flatMap((r) => [`replace ${r}-tls-cert`, `replace ${r}-tls-cert`]),
                ...roles.map((r) => `update ${r}`),
            ].sort(),
        );
    });
});

describe("turning TLS off on swarm", () => {
    it("deletes the CA, every key and certificate, writes new configs without TLS and updates every service", () => {
        const roles = ["contact-operational", "contact-vault", "user-vault"];
        expect(changes(runs.swarmOff)).toEqual(
            [
                "delete tls-ca",
                "delete tls-ca",
                "delete tls-ca-key",
                ...roles.flatMap((r) => [
                    `delete ${r}-tls-cert`,
                    `delete ${r}-tls-cert`,
                    `delete ${r}-tls-csr`,
                    `delete ${r}-tls-key`,
                    `delete ${r}-tls-key`,
                    `replace ${r}-config`,
                    `update ${r}`,
                ]),
            ].sort(),
        );
    });
});

describe("replacing one role's certificate on docker", () => {
    it("replaces that container, delete-first (an upload cannot change), and keeps its data volume", () => {
        expect(changes(runs.dockerCert)).toEqual(["replace contact-vault", "replace contact-vault-tls-cert"]);
        expect(stepOf(runs.dockerCert, "contact-vault", "docker:index/container:Container")).toMatchObject({ deleteFirst: true });
    });
});

describe("turning encryptedOverlay on (untested live here: such an overlay carries nothing on this kernel)", () => {
    it("creates the overlay with Docker's encrypted option, which replaces the network (options is ForceNew) and every service on it, delete-first", () => {
        const network = runs.swarmEncrypted.plan.resources.find((r) => r.type === "docker:index/network:Network")!;
        expect(network.inputs.options).toEqual({ encrypted: "" });
        expect(stepOf(runs.swarmEncrypted, "storage-network")).toMatchObject({ op: "replace", deleteFirst: true });
        expect(changes(runs.swarmEncrypted)).toEqual([
            "replace contact-operational",
            "replace contact-vault",
            "replace storage-network",
            "replace user-vault",
        ]);
    });
});
