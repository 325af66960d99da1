/**
 * The fleet configuration the program reads (config.ts): the dev stack's, as Pulumi.yaml declares
 * every key with its default (the whole protocol table, on loopback, on the protocol's network),
 * and the choice of environments: a port offset, ports overridden, environments added.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, parseFleetConfig } from "../../config";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { loadProjectConfig } from "../../plan/projectConfig";
import { devConfig } from "./devConfig";

const ROOT = path.resolve(__dirname, "../..");

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
