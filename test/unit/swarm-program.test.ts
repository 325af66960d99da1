/**
 * The whole program under Pulumi's mock runtime with `platform: swarm`: the services,
 * secrets and configs a `pulumi up` against a Swarm manager would create, checked one by
 * one. (One plan per file: Pulumi keeps its runtime in process globals.)
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { contentName, offNode, onNode, serviceArgs } from "../../components/swarmSpec";
import { type Plan, type PlannedResource, runPlan } from "../../plan/plan";
import type { LifecycleOptions } from "../../plan/types";

const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard");
const SECURE = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "secure");
const N1 = "n1n1n1n1n1n1n1n1n1n1n1n1n";
const N2 = "n2n2n2n2n2n2n2n2n2n2n2n2n";
/** kb's and user's vaults on N2, every other vault on N1. */
const nodeOf = (env: string) => (env === "kb" || env === "user" ? N2 : N1);
/** A registry image pinned by digest: swarm accepts no bare tag (config.ts isPinnedImage). */
const IMAGE = `redis:7.2@sha256:${"e".repeat(64)}`;
const START_SCRIPT = readFileSync(path.resolve(__dirname, "../../components/start-redis.sh"), "utf8");

let plan: Plan;
let options: Map<string, LifecycleOptions>;
let secretInputs: Map<string, string[]>;

beforeAll(async () => {
    const run = await runPlan({
        stack: "dev",
        values: {
            platform: "swarm",
            image: IMAGE,
            swarmNodes: JSON.stringify({ vault: N1, vaults: { kb: N2, user: N2 } }),
            swarmPublish: '["vault"]',
            memoryLimitMb: "512",
        },
    });
    plan = await run.render(true);
    options = run.options;
    secretInputs = run.secretInputs;
});

function resource(type: string, name: string): PlannedResource {
    const found = plan.resources.filter((r) => r.type === type && r.name === name);
    expect(found, `${type} ${name}`).toHaveLength(1);
    return found[0];
}
const service = (name: string) => resource("docker:index/service:Service", name);
const secret = (name: string) => resource("docker:index/secret:Secret", name);
const script = (name: string) => resource("docker:index/serviceConfig:ServiceConfig", name);
const containerSpec = (name: string) => (service(name).inputs.taskSpec as any).containerSpec;
const decode = (data: unknown) => Buffer.from(String(data), "base64").toString("utf8");
/** The words after `key` in the config file a secret carries. */
function setting(secretName: string, key: string): string[] | undefined {
    const line = decode(secret(secretName).inputs.data)
        .split("\n")
        .find((l) => l.startsWith(`${key} `));
    return line?.split(" ").slice(1);
}
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const outputs = () => plan.outputs.environments as Record<string, any>;
/** A role's TLS resources (tls defaults to on for swarm): its key, request and certificate, the key as a secret, the certificate as a config. */
const tlsResources = (env: string, role: string) => [
    `tls:index/privateKey:PrivateKey::${env}-${role}-tls-key`,
    `tls:index/certRequest:CertRequest::${env}-${role}-tls-csr`,
    `tls:index/locallySignedCert:LocallySignedCert::${env}-${role}-tls-cert`,
    `docker:index/secret:Secret::${env}-${role}-tls-key`,
    `docker:index/serviceConfig:ServiceConfig::${env}-${role}-tls-cert`,
];
/** The stack's CA config every service mounts. */
const caReference = () => ({
    configId: "tls-ca-id",
    configName: script("tls-ca").inputs.name,
    fileName: "/etc/nexus-redis/tls/ca.crt",
    fileUid: "999",
    fileGid: "999",
    fileMode: 0o444,
});

describe("the swarm stack's resources", () => {
    it("are one service per role with its secret and the start script as a config, a record of each vault's volume name, and no container, volume or image pull", () => {
        const expected = [
            "docker:index/network:Network::storage-network",
            "tls:index/privateKey:PrivateKey::tls-ca-key",
            "tls:index/selfSignedCert:SelfSignedCert::tls-ca",
            "docker:index/serviceConfig:ServiceConfig::tls-ca",
            ...STANDARD.flatMap((e) => [
                `nexus-redis:redis:StandardEnvironment::${e.name}`,
                ...["vault", "replication", "operational-admin", "backup"].map(
                    (p) => `random:index/randomPassword:RandomPassword::${e.name}-${p}-password`,
                ),
                `docker:index/secret:Secret::${e.name}-vault-config`,
                `docker:index/serviceConfig:ServiceConfig::${e.name}-vault-script`,
                `random:index/randomId:RandomId::${e.name}-vault-volume`,
                `docker:index/service:Service::${e.name}-vault`,
                `docker:index/secret:Secret::${e.name}-operational-config`,
                `docker:index/serviceConfig:ServiceConfig::${e.name}-operational-script`,
                `docker:index/service:Service::${e.name}-operational`,
                ...tlsResources(e.name, "vault"),
                ...tlsResources(e.name, "operational"),
            ]),
            ...SECURE.flatMap((e) => [
                `nexus-redis:redis:SecureEnvironment::${e.name}`,
                `random:index/randomPassword:RandomPassword::${e.name}-vault-password`,
                `random:index/randomPassword:RandomPassword::${e.name}-backup-password`,
                `docker:index/secret:Secret::${e.name}-vault-config`,
                `docker:index/serviceConfig:ServiceConfig::${e.name}-vault-script`,
                `random:index/randomId:RandomId::${e.name}-vault-volume`,
                `docker:index/service:Service::${e.name}-vault`,
                ...tlsResources(e.name, "vault"),
            ]),
        ];
        expect(plan.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual(expected.sort());
    });

    it("creates the protocol's network as an attachable overlay, so clients and the operator tools on any node can join it", () => {
        expect(resource("docker:index/network:Network", "storage-network").inputs).toEqual({
            name: "nexus-storage-network",
            driver: "overlay",
            attachable: true,
            labels: [{ label: "nexus-redis.network", value: "nexus-storage-network" }],
        });
    });

    it("has the URNs `nexus-redis recover` replaces", () => {
        expect(service("contact-operational").urn).toBe(
            "urn:pulumi:dev::nexus-redis::nexus-redis:redis:StandardEnvironment$docker:index/service:Service::contact-operational",
        );
    });

    it("puts no password in any service input: `docker service inspect` shows them all", () => {
        const services = plan.resources.filter((r) => r.type === "docker:index/service:Service");
        expect(services).toHaveLength(STANDARD.length * 2 + SECURE.length);
        for (const s of services) expect(secretInputs.get(s.urn), s.name).toEqual([]);
    });
});

describe.each(PROTOCOL_ENVIRONMENTS)("$name's vault", (env) => {
    const name = `${env.name}-vault`;

    it("is one replica of the service named after the environment, on the overlay by its ID, in DNS round-robin mode", () => {
        const inputs = service(name).inputs as any;
        expect(inputs.name).toBe(`nexus3-${env.name}-vault`);
        expect(inputs.mode).toEqual({ replicated: { replicas: 1 } });
        // The mocked network's ID: the provider reads back only the ID, never the name.
        expect(inputs.taskSpec.networksAdvanceds).toEqual([{ id: "storage-network-id" }]);
        expect(inputs.endpointSpec.mode).toBe("dnsrr");
    });

    it("is pinned to exactly its node by the node's ID, and keeps its data in a named volume there", () => {
        expect((service(name).inputs.taskSpec as any).placement).toEqual({ constraints: [`node.id==${nodeOf(env.name)}`] });
        expect(containerSpec(name).mounts).toEqual([
            {
                type: "volume",
                source: `nexus3-${env.name}-vault-data`,
                target: "/data",
                volumeOptions: {
                    labels: [
                        { label: "nexus-redis.environment", value: env.name },
                        { label: "nexus-redis.role", value: "vault" },
                    ],
                },
            },
        ]);
    });

    it("stops the old task before starting its replacement, on update and on rollback: two vaults never share the volume", () => {
        expect(service(name).inputs.updateConfig).toEqual({ order: "stop-first", parallelism: 1 });
        expect(service(name).inputs.rollbackConfig).toEqual({ order: "stop-first", parallelism: 1 });
        // 60 s, spelled as the provider reads it back.
        expect(containerSpec(name).stopGracePeriod).toBe("1m");
        expect((service(name).inputs.taskSpec as any).restartPolicy).toEqual({ condition: "any", delay: "2s", window: "0s" });
    });

    it("keeps its volume's name in a record that ignores later changes, as the Docker volume does", () => {
        const record = resource("random:index/randomId:RandomId", `${env.name}-vault-volume`);
        expect(record.inputs.keepers).toEqual({ volume: `nexus3-${env.name}-vault-data` });
        expect(options.get(record.urn)).toMatchObject({ ignoreChanges: ["keepers"] });
    });

    it("leaves the image's platforms, which Docker adds to the placement on create when a registry answers, out of every diff", () => {
        expect(options.get(service(name).urn)).toMatchObject({ ignoreChanges: ["taskSpec.placement.platforms"] });
    });

    it("starts through the image's entrypoint (args, not commands) with its start script and its config from a secret", () => {
        const spec = containerSpec(name);
        expect(spec.args).toEqual(["sh", "/etc/nexus-redis/start-redis.sh", "vault", "/run/secrets/vault.conf"]);
        expect(spec.commands).toBeUndefined();
        expect(spec.env).toBeUndefined();
        expect(spec.image).toBe(IMAGE);
    });

    it("gets its config and its TLS key as secrets readable by the redis user alone, its start script, certificate and the stack's CA as configs", () => {
        const spec = containerSpec(name);
        expect(spec.secrets).toEqual([
            {
                secretId: `${env.name}-vault-config-id`,
                secretName: secret(`${env.name}-vault-config`).inputs.name,
                fileName: "/run/secrets/vault.conf",
                fileUid: "999",
                fileGid: "999",
                fileMode: 0o400,
            },
            {
                secretId: `${env.name}-vault-tls-key-id`,
                secretName: secret(`${env.name}-vault-tls-key`).inputs.name,
                fileName: "/run/secrets/tls.key",
                fileUid: "999",
                fileGid: "999",
                fileMode: 0o400,
            },
        ]);
        expect(spec.configs).toEqual([
            {
                configId: `${env.name}-vault-script-id`,
                configName: script(`${env.name}-vault-script`).inputs.name,
                fileName: "/etc/nexus-redis/start-redis.sh",
                fileUid: "0",
                fileGid: "0",
                fileMode: 0o555,
            },
            {
                configId: `${env.name}-vault-tls-cert-id`,
                configName: script(`${env.name}-vault-tls-cert`).inputs.name,
                fileName: "/etc/nexus-redis/tls/server.crt",
                fileUid: "999",
                fileGid: "999",
                fileMode: 0o444,
            },
            caReference(),
        ]);
        expect(decode(script(`${env.name}-vault-script`).inputs.data)).toBe(START_SCRIPT);
    });

    it("names its secret and config after the service and a hash of their content (both are immutable)", () => {
        const data = decode(secret(`${env.name}-vault-config`).inputs.data);
        expect(secret(`${env.name}-vault-config`).inputs.name).toBe(contentName(`nexus3-${env.name}-vault-config`, data));
        expect(secret(`${env.name}-vault-config`).inputs.name).toMatch(new RegExp(`^nexus3-${env.name}-vault-config-[0-9a-f]{10}$`));
        expect(script(`${env.name}-vault-script`).inputs.name).toBe(contentName(`nexus3-${env.name}-vault-script`, START_SCRIPT));
    });

    it("holds only the hashes of its passwords in its secret, as on Docker", () => {
        const out = outputs()[env.name];
        expect(setting(`${env.name}-vault-config`, "user default")).toContain(`#${sha256(out.vault.password)}`);
        expect(setting(`${env.name}-vault-config`, "appendonly")).toEqual(["yes"]);
        expect(setting(`${env.name}-vault-config`, "maxmemory")).toEqual([String(384 * 1024 * 1024)]);
    });

    it("is published in host mode on its port (swarmPublish: vault), and limited to the memory limit", () => {
        expect((service(name).inputs.endpointSpec as any).ports).toEqual([
            { targetPort: 6379, publishedPort: env.vaultPort, publishMode: "host", protocol: "tcp" },
        ]);
        expect((service(name).inputs.taskSpec as any).resources).toEqual({ limits: { memoryBytes: 512 * 1024 * 1024 } });
    });

    it("is replaced delete-first (a fixed name), and its secret is not", () => {
        expect(options.get(service(name).urn)).toMatchObject({ deleteBeforeReplace: true });
        expect(options.get(secret(`${env.name}-vault-config`).urn)?.deleteBeforeReplace).toBeUndefined();
    });
});

describe.each(STANDARD)("$name's operational", (env) => {
    const name = `${env.name}-operational`;

    it("runs anywhere but its vault's node (Swarm has no anti-affinity between services: a hard constraint)", () => {
        expect((service(name).inputs.taskSpec as any).placement).toEqual({ constraints: [`node.id!=${nodeOf(env.name)}`] });
    });

    it("starts empty on a tmpfs wherever it lands, and copies its vault", () => {
        expect(containerSpec(name).mounts).toEqual([{ type: "tmpfs", target: "/data" }]);
    });

    it("replicates from its vault's service name on 6379 as the replication user, the masterauth only in its secret", () => {
        expect(setting(`${env.name}-operational-config`, "replicaof")).toEqual([`nexus3-${env.name}-vault`, "6379"]);
        expect(setting(`${env.name}-operational-config`, "masteruser")).toEqual(["replicator"]);
        expect(setting(`${env.name}-operational-config`, "masterauth")).toEqual([outputs()[env.name].replication.password]);
        expect(containerSpec(name).args).toEqual(["sh", "/etc/nexus-redis/start-redis.sh", "operational", "/run/secrets/operational.conf"]);
        expect(containerSpec(name).secrets).toEqual([
            expect.objectContaining({ fileName: "/run/secrets/operational.conf", fileUid: "999", fileGid: "999", fileMode: 0o400 }),
            expect.objectContaining({ fileName: "/run/secrets/tls.key", fileUid: "999", fileGid: "999", fileMode: 0o400 }),
        ]);
        expect(containerSpec(name).configs).toEqual([
            expect.objectContaining({ fileName: "/etc/nexus-redis/start-redis.sh", fileUid: "0", fileGid: "0", fileMode: 0o555 }),
            expect.objectContaining({ fileName: "/etc/nexus-redis/tls/server.crt", fileUid: "999", fileGid: "999", fileMode: 0o444 }),
            caReference(),
        ]);
        expect(decode(script(`${env.name}-operational-script`).inputs.data)).toBe(START_SCRIPT);
    });

    it("is not published (swarmPublish does not name it): reads without a password stay on the overlay", () => {
        expect(service(name).inputs.endpointSpec as any).toEqual({ mode: "dnsrr", ports: [] });
    });

    it("starts after its vault and stops before its replacement starts", () => {
        expect(service(name).dependsOn).toEqual([service(`${env.name}-vault`).urn]);
        expect(service(name).inputs.updateConfig).toEqual({ order: "stop-first", parallelism: 1 });
    });

    it("reports the services, the overlay and the vault's node in the stack output", () => {
        expect(outputs()[env.name]).toEqual({
            kind: "standard",
            platform: "swarm",
            swarm: { network: "nexus-storage-network", image: IMAGE, vaultNode: nodeOf(env.name) },
            vault: {
                container: `nexus3-${env.name}-vault`,
                host: `nexus3-${env.name}-vault`,
                port: 6379,
                publishedPort: env.vaultPort,
                tls: { serverName: `nexus3-${env.name}-vault` },
                password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
            },
            replication: { user: "replicator", password: expect.stringMatching(/^[A-Za-z0-9]{32}$/) },
            operational: {
                container: `nexus3-${env.name}-operational`,
                host: `nexus3-${env.name}-operational`,
                port: 6379,
                tls: { serverName: `nexus3-${env.name}-operational` },
                adminUser: "admin",
                adminPassword: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
            },
            backup: { user: "backup", password: expect.stringMatching(/^[A-Za-z0-9]{32}$/) },
        });
    });
});

describe("the pure service arguments", () => {
    const base = {
        serviceName: "p-kb-operational",
        image: "redis:7.2",
        args: ["redis-server", "/run/secrets/operational.conf"],
        files: [],
        networkId: "net-id",
        data: { tmpfs: true as const },
        constraints: [offNode(N1)],
        environment: "kb",
        role: "operational" as const,
    };

    it("publishes an operational in host mode when asked, on the protocol's internal port", () => {
        expect(serviceArgs({ ...base, publishedPort: 6626 }).endpointSpec).toEqual({
            mode: "dnsrr",
            ports: [{ targetPort: 6379, publishedPort: 6626, publishMode: "host", protocol: "tcp" }],
        });
    });

    it("writes placement constraints by node ID", () => {
        expect(onNode(N1)).toBe(`node.id==${N1}`);
        expect(offNode(N1)).toBe(`node.id!=${N1}`);
    });

    it("names content by its hash: new content a new name, the same content the same name, never over 64 characters", () => {
        expect(contentName("s-vault-config", "a")).not.toBe(contentName("s-vault-config", "b"));
        expect(contentName("s-vault-config", "a")).toBe(contentName("s-vault-config", "a"));
        const long = contentName("x".repeat(80), "a");
        expect(long.length).toBe(64);
        expect(long).toMatch(/-[0-9a-f]{10}$/);
    });
});
