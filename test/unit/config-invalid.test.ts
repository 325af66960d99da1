/**
 * The fleet configuration the program refuses (config.ts): each invalid value rejected naming its
 * key and saying what it held by its kind, passwords that are not a secret refused without being
 * echoed, every problem listed at once, a key Pulumi.yaml's defaults should have supplied; and,
 * among them, the vault's data an environment may name (an existing volume or host folder).
 */
import { describe, expect, it } from "vitest";
import { ConfigError, type RawConfig, parseFleetConfig } from "../../config";
import { devConfig, problemsOf } from "./devConfig";

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
