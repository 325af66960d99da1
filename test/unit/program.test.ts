/**
 * The whole program under Pulumi's mock runtime, dev stack: the resource graph a
 * `pulumi up` would create, checked resource by resource.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { type Plan, type PlannedResource, runPlan } from "../../plan/plan";
import type { LifecycleOptions } from "../../plan/types";

const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard");
const SECURE = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "secure");

let plan: Plan;
let redacted: Plan;
let secrets: string[];
let secretInputs: Map<string, string[]>;
let options: Map<string, LifecycleOptions>;

beforeAll(async () => {
    const run = await runPlan({ stack: "dev" });
    plan = await run.render(true);
    redacted = await run.render(false);
    secrets = run.secrets;
    secretInputs = run.secretInputs;
    options = run.options;
});

function resource(type: string, name: string): PlannedResource {
    const found = plan.resources.filter((r) => r.type === type && r.name === name);
    expect(found, `${type} ${name}`).toHaveLength(1);
    return found[0];
}
const container = (name: string) => resource("docker:index/container:Container", name);
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
interface Upload {
    file: string;
    content: string;
    permissions: string;
    owner: string;
    group: string;
}
/** The file a container gets at `path` before its first start. */
function upload(name: string, path: string): Upload {
    const found = (container(name).inputs.uploads as Upload[]).filter((u) => u.file === path);
    expect(found, `${name} ${path}`).toHaveLength(1);
    return found[0];
}
/** The words after `setting` in a container's config file. */
function setting(name: string, path: string, key: string): string[] | undefined {
    const line = upload(name, path)
        .content.split("\n")
        .find((l) => l.startsWith(`${key} `));
    return line?.split(" ").slice(1);
}
const operationalSetting = (env: string, key: string) => setting(`${env}-operational`, "/etc/nexus-redis/operational.conf", key);
/** The password hash of `user`'s `#<sha256>` rule in a config file. */
function userHash(name: string, path: string, user: string): string | undefined {
    return setting(name, path, `user ${user}`)?.find((w) => w.startsWith("#"));
}
const outputs = () => plan.outputs.environments as Record<string, any>;

describe("the dev stack's resources", () => {
    it("are exactly the ones the protocol needs, and nothing else", () => {
        const expected = [
            "docker:index/remoteImage:RemoteImage::redis-image",
            "docker:index/network:Network::storage-network",
            ...STANDARD.flatMap((e) => [
                `nexus-redis:redis:StandardEnvironment::${e.name}`,
                `random:index/randomPassword:RandomPassword::${e.name}-vault-password`,
                `random:index/randomPassword:RandomPassword::${e.name}-replication-password`,
                `random:index/randomPassword:RandomPassword::${e.name}-operational-admin-password`,
                `random:index/randomPassword:RandomPassword::${e.name}-backup-password`,
                `docker:index/volume:Volume::${e.name}-vault-data`,
                `docker:index/container:Container::${e.name}-vault`,
                `docker:index/volume:Volume::${e.name}-operational-data`,
                `docker:index/container:Container::${e.name}-operational`,
            ]),
            ...SECURE.flatMap((e) => [
                `nexus-redis:redis:SecureEnvironment::${e.name}`,
                `random:index/randomPassword:RandomPassword::${e.name}-vault-password`,
                `random:index/randomPassword:RandomPassword::${e.name}-backup-password`,
                `docker:index/volume:Volume::${e.name}-vault-data`,
                `docker:index/container:Container::${e.name}-vault`,
            ]),
        ];
        expect(plan.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual(expected.sort());
    });

    it("has the URNs the Pulumi engine gives them, so they can be used with --target", () => {
        expect(resource("docker:index/remoteImage:RemoteImage", "redis-image").urn).toBe(
            "urn:pulumi:dev::nexus-redis::docker:index/remoteImage:RemoteImage::redis-image",
        );
        expect(resource("nexus-redis:redis:StandardEnvironment", "contact").urn).toBe(
            "urn:pulumi:dev::nexus-redis::nexus-redis:redis:StandardEnvironment::contact",
        );
        expect(container("contact-vault").urn).toBe(
            "urn:pulumi:dev::nexus-redis::nexus-redis:redis:StandardEnvironment$docker:index/container:Container::contact-vault",
        );
        expect(resource("nexus-redis:redis:StandardEnvironment", "contact").parent).toBe(
            "urn:pulumi:dev::nexus-redis::pulumi:pulumi:Stack::nexus-redis-dev",
        );
    });

    it("creates the protocol's network as a bridge", () => {
        expect(resource("docker:index/network:Network", "storage-network").inputs).toMatchObject({
            name: "nexus-storage-network",
            driver: "bridge",
        });
    });

    it("parents every environment's resources to its component", () => {
        for (const env of PROTOCOL_ENVIRONMENTS) {
            const type = env.kind === "standard" ? "nexus-redis:redis:StandardEnvironment" : "nexus-redis:redis:SecureEnvironment";
            const componentUrn = resource(type, env.name).urn;
            const children = plan.resources.filter((r) => r.name.startsWith(`${env.name}-`));
            expect(children.length).toBe(env.kind === "standard" ? 8 : 4);
            for (const child of children) expect(child.parent, child.name).toBe(componentUrn);
        }
    });
});

describe.each(STANDARD)("standard environment $name", (env) => {
    it("publishes the vault and the operational on loopback at the table's ports, internal port 6379", () => {
        expect(container(`${env.name}-vault`).inputs.ports).toEqual([
            { internal: 6379, external: env.vaultPort, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        expect(container(`${env.name}-operational`).inputs.ports).toEqual([
            { internal: 6379, external: env.operationalPort, ip: "127.0.0.1", protocol: "tcp" },
        ]);
    });

    it("names both containers after the environment and attaches them to the network by name", () => {
        for (const role of ["vault", "operational"]) {
            const inputs = container(`${env.name}-${role}`).inputs;
            expect(inputs.name).toBe(`nexus3-${env.name}-${role}`);
            expect(inputs.networksAdvanced).toEqual([{ name: "nexus-storage-network" }]);
            expect(inputs.volumes).toEqual([{ volumeName: `nexus3-${env.name}-${role}-data`, containerPath: "/data" }]);
            expect(inputs.restart).toBe("unless-stopped");
            expect(resource("docker:index/volume:Volume", `${env.name}-${role}-data`).inputs.name).toBe(`nexus3-${env.name}-${role}-data`);
        }
    });

    it("replicates from its own vault by container name on 6379, authenticated as the replication user", () => {
        expect(operationalSetting(env.name, "replicaof")).toEqual([`nexus3-${env.name}-vault`, "6379"]);
        expect(operationalSetting(env.name, "masteruser")).toEqual(["replicator"]);
    });

    it("gives the operational the replication user's password as masterauth, and the vault only its hash", () => {
        const [masterauth] = operationalSetting(env.name, "masterauth")!;
        expect(masterauth).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(masterauth).toBe(outputs()[env.name].replication.password);
        expect(userHash(`${env.name}-vault`, "/etc/nexus-redis/vault.conf", "replicator")).toBe(`#${sha256(masterauth)}`);
        expect(masterauth).not.toBe(outputs()[env.name].vault.password);
    });

    it("starts both roles through the start script with their config, no password on either command line", () => {
        expect(container(`${env.name}-vault`).inputs.command).toEqual([
            "sh",
            "/etc/nexus-redis/start-redis.sh",
            "vault",
            "/etc/nexus-redis/vault.conf",
        ]);
        expect(container(`${env.name}-operational`).inputs.command).toEqual([
            "sh",
            "/etc/nexus-redis/start-redis.sh",
            "operational",
            "/etc/nexus-redis/operational.conf",
        ]);
        for (const role of ["vault", "operational"]) {
            expect(upload(`${env.name}-${role}`, "/etc/nexus-redis/start-redis.sh")).toMatchObject({ permissions: "0555", owner: "0" });
        }
        for (const [name, path] of [
            [`${env.name}-vault`, "/etc/nexus-redis/vault.conf"],
            [`${env.name}-operational`, "/etc/nexus-redis/operational.conf"],
        ]) {
            expect(upload(name, path)).toMatchObject({ permissions: "0400", owner: "999", group: "999" });
        }
    });

    it("stops each container gracefully, so Redis can fsync before a replacement or a deletion", () => {
        for (const role of ["vault", "operational"]) {
            expect(container(`${env.name}-${role}`).inputs).toMatchObject({ stopTimeout: 60, destroyGraceSeconds: 60 });
        }
    });

    it("replaces its fixed-name containers and volumes delete-first, keeping only the vault's data", () => {
        for (const role of ["vault", "operational"]) {
            expect(options.get(container(`${env.name}-${role}`).urn)).toMatchObject({ deleteBeforeReplace: true });
        }
        expect(options.get(resource("docker:index/volume:Volume", `${env.name}-vault-data`).urn)).toEqual({
            deleteBeforeReplace: true,
            retainOnDelete: true,
            ignoreChanges: ["name"],
        });
        // The operational's volume is what the protocol's recovery wipes.
        expect(options.get(resource("docker:index/volume:Volume", `${env.name}-operational-data`).urn)).toEqual({
            deleteBeforeReplace: true,
            retainOnDelete: false,
            ignoreChanges: undefined,
        });
    });

    it("starts the operational only after its vault", () => {
        expect(container(`${env.name}-operational`).dependsOn).toEqual([container(`${env.name}-vault`).urn]);
    });

    it("reports its endpoints in the stack output", () => {
        const out = outputs()[env.name];
        expect(out).toEqual({
            kind: "standard",
            vault: {
                container: `nexus3-${env.name}-vault`,
                host: "127.0.0.1",
                port: env.vaultPort,
                password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
            },
            replication: { user: "replicator", password: operationalSetting(env.name, "masterauth")![0] },
            operational: {
                container: `nexus3-${env.name}-operational`,
                host: "127.0.0.1",
                port: env.operationalPort,
                adminUser: "admin",
                adminPassword: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
            },
            backup: { user: "backup", password: expect.stringMatching(/^[A-Za-z0-9]{32}$/) },
        });
        const conf = "/etc/nexus-redis/vault.conf";
        expect(userHash(`${env.name}-vault`, conf, "default")).toBe(`#${sha256(out.vault.password)}`);
        expect(userHash(`${env.name}-vault`, conf, "backup")).toBe(`#${sha256(out.backup.password)}`);
        expect(userHash(`${env.name}-operational`, "/etc/nexus-redis/operational.conf", "admin")).toBe(
            `#${sha256(out.operational.adminPassword)}`,
        );
    });
});

describe.each(SECURE)("secure environment $name", (env) => {
    it("is a password-protected vault with a backup user, no replication user and no operational", () => {
        const out = outputs()[env.name];
        const conf = "/etc/nexus-redis/vault.conf";
        expect(userHash(`${env.name}-vault`, conf, "default")).toBe(`#${sha256(out.vault.password)}`);
        expect(userHash(`${env.name}-vault`, conf, "backup")).toBe(`#${sha256(out.backup.password)}`);
        expect(setting(`${env.name}-vault`, conf, "user replicator")).toBeUndefined();
        expect(plan.resources.some((r) => r.name === `${env.name}-operational`)).toBe(false);
        expect(container(`${env.name}-vault`).inputs.ports).toEqual([
            { internal: 6379, external: env.vaultPort, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        expect(out).toEqual({
            kind: "secure",
            vault: {
                container: `nexus3-${env.name}-vault`,
                host: "127.0.0.1",
                port: env.vaultPort,
                password: expect.stringMatching(/^[A-Za-z0-9]{32}$/),
            },
            backup: { user: "backup", password: expect.stringMatching(/^[A-Za-z0-9]{32}$/) },
        });
    });
});

describe("secrets", () => {
    it("generates a different password for every environment and role", () => {
        expect(secrets).toHaveLength(STANDARD.length * 4 + SECURE.length * 2);
        expect(new Set(secrets).size).toBe(secrets.length);
    });

    it("never shows a password unless asked", () => {
        const text = JSON.stringify(redacted);
        for (const secret of secrets) expect(text).not.toContain(secret);
        expect(text).toContain("[secret]");
    });

    it("keeps every password in the stack output secret", () => {
        for (const env of Object.values(redacted.outputs.environments as Record<string, any>)) {
            expect(env.vault.password).toBe("[secret]");
            expect(env.backup.password).toBe("[secret]");
            if (env.kind === "standard") {
                expect(env.replication.password).toBe("[secret]");
                expect(env.operational.adminPassword).toBe("[secret]");
            }
        }
    });

    it("keeps every container's uploaded files secret, and shows them with each password and hash as [secret]", () => {
        const containers = redacted.resources.filter((r) => r.type === "docker:index/container:Container");
        expect(containers).toHaveLength(STANDARD.length * 2 + SECURE.length);
        const hashes = secrets.map(sha256);
        for (const c of containers) {
            expect(secretInputs.get(c.urn), c.name).toEqual(["uploads"]);
            const text = JSON.stringify(c.inputs.uploads);
            expect(text).toContain(c.name.endsWith("-vault") ? "user default on #[secret] " : "masterauth [secret]");
            for (const hidden of [...secrets, ...hashes]) expect(text).not.toContain(hidden);
        }
    });
});
