import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, ConfigError, type RawConfig, parseFleetConfig } from "../../config";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { loadProjectConfig } from "../../plan/projectConfig";

const ROOT = path.resolve(__dirname, "../..");

/** The dev stack's configuration as the Pulumi CLI would hand it over, keys without namespace. */
function devConfig(): RawConfig {
    const { config } = loadProjectConfig(ROOT, "dev");
    const raw: RawConfig = {};
    for (const key of CONFIG_KEYS) if (config[`nexus-redis:${key}`] !== undefined) raw[key] = config[`nexus-redis:${key}`];
    return raw;
}

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
