/**
 * The fleet configuration of platform swarm (config.ts): docker by default, each vault pinned to
 * a node (per environment where every one has its own), what swarm refuses, and the image a swarm
 * stack takes: pinned by digest or an image ID, never a tag, which stays fine on docker.
 */
import { describe, expect, it } from "vitest";
import { type RawConfig, isPinnedImage, parseFleetConfig } from "../../config";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { devConfig, problemsOf } from "./devConfig";

/** Images a swarm stack accepts: a registry image pinned by digest, and an image ID. */
const PINNED = `redis:7.2@sha256:${"c".repeat(64)}`;
const IMAGE_ID = `sha256:${"d".repeat(64)}`;
const NODE = "a1b2c3d4e5f6g7h8i9j0k1l2m";

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
