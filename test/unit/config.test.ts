import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, type RawConfig, isPinnedImage, parseFleetConfig } from "../../config";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { loadProjectConfig } from "../../plan/projectConfig";
import { devConfig } from "./devConfig";

const ROOT = path.resolve(__dirname, "../..");
/** Images a swarm stack accepts: a registry image pinned by digest, and an image ID. */
const PINNED = `redis:7.2@sha256:${"c".repeat(64)}`;
const IMAGE_ID = `sha256:${"d".repeat(64)}`;
const NODE = "a1b2c3d4e5f6g7h8i9j0k1l2m";

function problemsOf(overrides: RawConfig): { key: string; message: string }[] {
    try {
        parseFleetConfig({ ...devConfig(), ...overrides }, new Set(["passwords"]));
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

describe("the dev stack's configuration", () => {
    const config = parseFleetConfig(devConfig());

    it("declares every key the program reads in Pulumi.yaml, with a default", () => {
        // A stack without a stack file gets Pulumi.yaml's defaults alone.
        const { config } = loadProjectConfig(ROOT, "stack-without-a-file");
        expect(Object.keys(config).sort()).toEqual(CONFIG_KEYS.map((k) => `nexus-redis:${k}`).sort());
        expect(() => parseFleetConfig(devConfig())).not.toThrow();
    });

    it("deploys the whole protocol table at the protocol's ports", () => {
        expect(config.environments).toEqual(PROTOCOL_ENVIRONMENTS);
    });

    it("publishes on loopback, on the protocol's network, with the protocol's prefix", () => {
        expect(config).toMatchObject({
            bindAddress: "127.0.0.1",
            network: "nexus-storage-network",
            containerPrefix: "nexus3",
            createNetwork: true,
            memoryLimitMb: 0,
            passwords: {},
        });
        expect(config.image).toMatch(/^redis:7/);
    });
});

describe("environment selection", () => {
    it("applies the port offset to every port", () => {
        const config = parseFleetConfig({ ...devConfig(), portOffset: "1000", environments: '["contact","user"]' });
        expect(config.environments).toEqual([
            { name: "contact", kind: "standard", vaultPort: 7630, operationalPort: 7631 },
            { name: "user", kind: "secure", vaultPort: 7610 },
        ]);
    });

    it("overrides a protocol environment's ports and adds new environments", () => {
        const config = parseFleetConfig({ ...devConfig(), environments: '["contact=7000/7001","billing=7100/7101","vault2=7200"]' });
        expect(config.environments).toEqual([
            { name: "contact", kind: "standard", vaultPort: 7000, operationalPort: 7001 },
            { name: "billing", kind: "standard", vaultPort: 7100, operationalPort: 7101 },
            { name: "vault2", kind: "secure", vaultPort: 7200 },
        ]);
    });
});

describe("invalid configuration", () => {
    it.each<[string, RawConfig, string, RegExp]>([
        ["an unknown environment", { environments: '["contct"]' }, "nexus-redis:environments[0]", /unknown environment "contct"/],
        ["an environment listed twice", { environments: '["kb","kb"]' }, "nexus-redis:environments[1]", /more than once/],
        [
            "a bad environment name",
            { environments: '["Bad_Name=7000/7001"]' },
            "nexus-redis:environments[0]",
            /not a valid environment name/,
        ],
        [
            "a secure environment given an operational port",
            { environments: '["user=7610/7611"]' },
            "nexus-redis:environments[0]",
            /secure environment .* no operational port/,
        ],
        [
            "a standard environment without its operational port",
            { environments: '["contact=7630"]' },
            "nexus-redis:environments[0]",
            /give both ports/,
        ],
        ["environments that are not a list", { environments: '"contact"' }, "nexus-redis:environments", /must be an array/],
        [
            "a port pushed out of range by the offset",
            { portOffset: "60000" },
            "nexus-redis:portOffset",
            /chrono's operational host port 66681 \(offset 60000\) is outside 1-65535/,
        ],
        [
            "a duplicate port",
            { environments: '["contact","billing=6631/6632"]' },
            "nexus-redis:environments[1]",
            /host port 6631 is used by both contact operational and billing vault/,
        ],
        ["a port of zero", { environments: '["solo=0"]' }, "nexus-redis:environments[0]", /port 0 is outside 1-65535/],
        ["a bad bind address", { bindAddress: "localhost" }, "nexus-redis:bindAddress", /not an IPv4 or IPv6 address/],
        ["a bad network name", { network: "-net" }, "nexus-redis:network", /not a valid Docker network name/],
        ["a bad container prefix", { containerPrefix: "nexus 3" }, "nexus-redis:containerPrefix", /not valid in a Docker container name/],
        ["a non-integer port offset", { portOffset: "ten" }, "nexus-redis:portOffset", /not an integer/],
        ["a non-boolean createNetwork", { createNetwork: "yes" }, "nexus-redis:createNetwork", /not a boolean/],
        [
            "a memory limit too small for the replication backlog",
            { memoryLimitMb: "128" },
            "nexus-redis:memoryLimitMb",
            /128 is too small: 0 \(no limit\) or at least 256/,
        ],
        ["an empty image", { image: "" }, "nexus-redis:image", /not an image reference/],
        ["passwords that are not JSON", { passwords: "hunter2" }, "nexus-redis:passwords", /not valid JSON/],
        [
            "a password for an environment not deployed",
            { passwords: '{"nope":{"vault":"x"}}' },
            "nexus-redis:passwords.nope",
            /not an environment this stack deploys/,
        ],
        [
            "an unknown password role",
            { passwords: '{"contact":{"root":"x"}}' },
            "nexus-redis:passwords.contact.root",
            /unknown password role/,
        ],
        [
            "a replication password for a secure environment",
            { passwords: '{"user":{"replication":"x"}}' },
            "nexus-redis:passwords.user.replication",
            /only a vault and a backup password/,
        ],
        ["a password with a space", { passwords: '{"contact":{"vault":"a b"}}' }, "nexus-redis:passwords.contact.vault", /without spaces/],
        ["vault data that is not JSON", { vaultData: "nexus3-contact-vault-data" }, "nexus-redis:vaultData", /not valid JSON/],
        [
            "vault data for an environment not deployed",
            { vaultData: '{"nope":"v"}' },
            "nexus-redis:vaultData.nope",
            /not an environment this stack deploys/,
        ],
        [
            "vault data that is neither a volume nor a folder",
            { vaultData: '{"kb":"-bad"}' },
            "nexus-redis:vaultData.kb",
            /neither a Docker volume name nor/,
        ],
        [
            "a host folder with a colon",
            { vaultData: '{"kb":"/srv/kb:rw"}' },
            "nexus-redis:vaultData.kb",
            /without spaces, colons or "\.\."/,
        ],
        [
            "a host folder that climbs out",
            { vaultData: '{"kb":"/srv/../etc"}' },
            "nexus-redis:vaultData.kb",
            /without spaces, colons or "\.\."/,
        ],
        [
            "one folder for two vaults",
            { vaultData: '{"kb":"/srv/redis","web":"/srv/redis"}' },
            "nexus-redis:vaultData.web",
            /already holds the vault of kb/,
        ],
    ])("rejects %s, naming the key", (_what, overrides, key, message) => {
        const problems = problemsOf(overrides);
        expect(problems).toContainEqual({ key, message: expect.stringMatching(message) });
    });

    it.each<[string, RawConfig, string, string]>([
        [
            "environments that are a string",
            { environments: '"contact"' },
            "nexus-redis:environments",
            'must be an array of environment names (NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT]), got "contact"',
        ],
        [
            "passwords that are a list",
            { passwords: '["contact"]' },
            "nexus-redis:passwords",
            'must be a JSON object {"ENV": {"vault": "...", ...}}, got an array',
        ],
        [
            "an environment's passwords that are a string",
            { passwords: '{"contact":"hunter2"}' },
            "nexus-redis:passwords.contact",
            "must be an object with any of vault, replication, operationalAdmin, backup, got a string",
        ],
        [
            "a password that is a number",
            { passwords: '{"contact":{"vault":1234}}' },
            "nexus-redis:passwords.contact.vault",
            "must be a non-empty string without spaces or control characters, got a number",
        ],
        [
            "a password that is null",
            { passwords: '{"contact":{"vault":null}}' },
            "nexus-redis:passwords.contact.vault",
            "must be a non-empty string without spaces or control characters, got null",
        ],
        [
            "an empty password",
            { passwords: '{"contact":{"vault":""}}' },
            "nexus-redis:passwords.contact.vault",
            "must be a non-empty string without spaces or control characters, got an empty string",
        ],
        [
            "a password with a space",
            { passwords: '{"contact":{"vault":"hunter 2"}}' },
            "nexus-redis:passwords.contact.vault",
            "must be a non-empty string without spaces or control characters, got a string with a space or control character",
        ],
        [
            "vault data that is a list",
            { vaultData: '["/srv/redis"]' },
            "nexus-redis:vaultData",
            'must be a JSON object {"ENV": "VOLUME_NAME or /host/folder"}, got an array',
        ],
        [
            "a vault's data that is a number",
            { vaultData: '{"kb":7}' },
            "nexus-redis:vaultData.kb",
            "must be a Docker volume name or an absolute host folder, got a number",
        ],
        [
            "a vault's data that is empty",
            { vaultData: '{"kb":""}' },
            "nexus-redis:vaultData.kb",
            "must be a Docker volume name or an absolute host folder, got an empty string",
        ],
        [
            "swarm nodes that are a string",
            { platform: "swarm", swarmNodes: '"n1"' },
            "nexus-redis:swarmNodes",
            'must be a JSON object {"vault": "NODE_ID", "vaults": {"ENV": "NODE_ID"}}, got "n1"',
        ],
        [
            "per-environment swarm nodes that are a list",
            { platform: "swarm", swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy","vaults":["x"]}' },
            "nexus-redis:swarmNodes.vaults",
            'must be an object {"ENV": "NODE_ID"}, got an array',
        ],
    ])("says what %s held, by its kind, naming the key", (_what, overrides, key, message) => {
        const problems = problemsOf(overrides);
        expect(problems).toContainEqual({ key, message });
        // Never a password: only its kind.
        expect(JSON.stringify(problems)).not.toMatch(/hunter|1234/);
    });

    it("refuses passwords that are not a secret, without echoing them", () => {
        try {
            parseFleetConfig({ ...devConfig(), passwords: '{"contact":{"vault":"PlainPassword1"}}' });
            expect.unreachable();
        } catch (e) {
            expect((e as ConfigError).problems).toEqual([
                {
                    key: "nexus-redis:passwords",
                    message: expect.stringContaining("is not a secret: set it with `pulumi config set --secret"),
                },
            ]);
            expect((e as Error).message).not.toContain("PlainPassword1");
        }
        expect(
            parseFleetConfig({ ...devConfig(), passwords: '{"contact":{"vault":"PlainPassword1"}}' }, new Set(["passwords"])).passwords,
        ).toEqual({
            contact: { vault: "PlainPassword1" },
        });
    });

    it("takes an existing volume or host folder per environment for the vault's data", () => {
        const parsed = parseFleetConfig({
            ...devConfig(),
            vaultData: '{"contact":"nexus3-contact-vault-data","links":"/srv/redis/links"}',
        });
        expect(parsed.vaultData).toEqual({ contact: "nexus3-contact-vault-data", links: "/srv/redis/links" });
    });

    it("never echoes a password in its messages", () => {
        const problems = problemsOf({ passwords: '{"contact":{"vault":"sekret with space"}}' });
        expect(JSON.stringify(problems)).not.toContain("sekret");
    });

    it("lists every problem at once, each with its key", () => {
        try {
            parseFleetConfig({ ...devConfig(), bindAddress: "nowhere", portOffset: "x", environments: '["user=1/2"]' });
            expect.unreachable();
        } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
            const message = (e as Error).message;
            expect(message).toContain("3 problems");
            expect(message).toContain("nexus-redis:bindAddress");
            expect(message).toContain("nexus-redis:portOffset");
            expect(message).toContain("nexus-redis:environments[0]");
        }
    });

    it("reports a key Pulumi.yaml's defaults should have supplied", () => {
        const raw = devConfig();
        delete raw.image;
        expect(() => parseFleetConfig(raw)).toThrow(/nexus-redis:image: is not set/);
    });
});

describe("platform swarm", () => {
    const N1 = "a1b2c3d4e5f6g7h8i9j0k1l2m";
    const N2 = "zyxwvutsrq0987654321ponml";

    it("defaults to docker, with no Swarm settings", () => {
        const config = parseFleetConfig(devConfig());
        expect(config.platform).toBe("docker");
        expect(config.swarm).toBeUndefined();
    });

    it("pins every vault to the default node, and to its own where one is given; publishes nothing by default", () => {
        const config = parseFleetConfig({
            ...devConfig(),
            platform: "swarm",
            image: PINNED,
            swarmNodes: JSON.stringify({ vault: N1, vaults: { kb: N2 } }),
        });
        expect(config.platform).toBe("swarm");
        expect(config.swarm!.publish).toEqual({ vault: false, operational: false });
        expect(Object.keys(config.swarm!.vaultNodes)).toEqual(PROTOCOL_ENVIRONMENTS.map((e) => e.name));
        expect(config.swarm!.vaultNodes.kb).toBe(N2);
        expect(config.swarm!.vaultNodes.contact).toBe(N1);
    });

    it("places vaults per environment alone when every deployed environment has its node", () => {
        const config = parseFleetConfig({
            ...devConfig(),
            platform: "swarm",
            image: IMAGE_ID,
            environments: '["kb","user"]',
            swarmNodes: JSON.stringify({ vaults: { kb: N1, user: N2 } }),
            swarmPublish: '["operational","vault"]',
        });
        expect(config.swarm).toEqual({ vaultNodes: { kb: N1, user: N2 }, publish: { vault: true, operational: true } });
    });

    it.each<[string, RawConfig, string, RegExp]>([
        ["an unknown platform", { platform: "kubernetes" }, "nexus-redis:platform", /"kubernetes" is not a platform: docker or swarm/],
        [
            "swarm without a node for the vaults",
            { platform: "swarm" },
            "nexus-redis:swarmNodes",
            /no node for the vault of workflow, .*locker/,
        ],
        [
            "a vault node that is not a node ID (a hostname)",
            { platform: "swarm", swarmNodes: '{"vault":"node-1"}' },
            "nexus-redis:swarmNodes.vault",
            /"node-1" is not a Swarm node ID/,
        ],
        [
            "an environment's node that is not a node ID",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}","vaults":{"kb":"${N1.toUpperCase()}"}}` },
            "nexus-redis:swarmNodes.vaults.kb",
            /is not a Swarm node ID/,
        ],
        [
            "a node for an environment not deployed",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}","vaults":{"nope":"${N2}"}}` },
            "nexus-redis:swarmNodes.vaults.nope",
            /not an environment this stack deploys/,
        ],
        [
            "an unknown swarmNodes key",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}","operational":"${N2}"}` },
            "nexus-redis:swarmNodes.operational",
            /unknown key "operational"/,
        ],
        ["swarmNodes that are not JSON", { platform: "swarm", swarmNodes: N1 }, "nexus-redis:swarmNodes", /not valid JSON/],
        [
            "an unknown role to publish",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, swarmPublish: '["vault","replica"]' },
            "nexus-redis:swarmPublish",
            /must be an array of "vault" and "operational"/,
        ],
        ["swarmNodes on docker", { swarmNodes: `{"vault":"${N1}"}` }, "nexus-redis:swarmNodes", /applies to platform swarm only/],
        ["swarmPublish on docker", { swarmPublish: '["vault"]' }, "nexus-redis:swarmPublish", /applies to platform swarm only/],
        [
            "adopted vault data on swarm",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, vaultData: '{"kb":"/srv/kb"}' },
            "nexus-redis:vaultData",
            /platform docker only/,
        ],
        [
            "a bind address on swarm",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, bindAddress: "0.0.0.0" },
            "nexus-redis:bindAddress",
            /Swarm cannot publish a port on one address \(0\.0\.0\.0\)/,
        ],
        [
            "an image on swarm that is a bare tag",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, image: "redis:7.2" },
            "nexus-redis:image",
            /"redis:7\.2" is not pinned: on swarm give NAME\[:TAG\]@sha256:DIGEST .* or sha256:ID/,
        ],
        [
            "an image on swarm pinned by a digest that is not sha256",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, image: `redis:7.2@sha512:${"a".repeat(128)}` },
            "nexus-redis:image",
            /is not pinned/,
        ],
        [
            "a service name longer than a DNS label",
            { platform: "swarm", swarmNodes: `{"vault":"${N1}"}`, containerPrefix: "p".repeat(40) },
            "nexus-redis:containerPrefix",
            /longer than 63 characters/,
        ],
    ])("rejects %s, naming the key", (_what, overrides, key, message) => {
        expect(problemsOf(overrides)).toContainEqual({ key, message: expect.stringMatching(message) });
    });
});

describe("the image on swarm", () => {
    it.each([
        ["a registry image pinned by digest", PINNED],
        ["one with a registry host and no tag", `registry.example:5000/redis@sha256:${"0".repeat(64)}`],
        ["an image ID, for an image loaded into every node", IMAGE_ID],
    ])("is accepted as %s", (_what, image) => {
        expect(isPinnedImage(image)).toBe(true);
        expect(problemsOf({ platform: "swarm", swarmNodes: `{"vault":"${NODE}"}`, image })).toEqual([]);
    });

    it.each(["redis:7.2", "redis", `redis@sha256:${"A".repeat(64)}`, `sha256:${"a".repeat(63)}`, `${"a".repeat(64)}`])(
        "is refused as %s, which the provider would not store as given",
        (image) => {
            expect(isPinnedImage(image)).toBe(false);
        },
    );

    it("may stay a tag on docker, where containers run the image ID the stack pulled", () => {
        expect(problemsOf({ image: "redis:7.2" })).toEqual([]);
    });
});
