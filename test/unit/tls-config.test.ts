/** The `tls` and `encryptedOverlay` keys, and what TLS makes of each role's Redis settings and config file. */
import { describe, expect, it } from "vitest";
import { type RawConfig, parseFleetConfig } from "../../config";
import { TLS_KEY, operationalSettings, renderConfig, settingWords, tlsPaths, vaultSettings } from "../../components/redisServer";
import { swarmFilePath } from "../../components/swarmSpec";
import { roleCertNames } from "../../components/roleTls";
import { devConfig, problemsOf } from "./devConfig";

const SWARM: RawConfig = { platform: "swarm", image: `sha256:${"d".repeat(64)}`, swarmNodes: `{"vault":"${"a".repeat(25)}"}` };

describe("tls", () => {
    it.each([
        ["docker by default (one host's bridge)", {}, false],
        ["swarm by default (traffic crosses hosts)", SWARM, true],
        ["docker when asked", { tls: "true" }, true],
        ["swarm turned off", { ...SWARM, tls: "false" }, false],
        ["auto on swarm", { ...SWARM, tls: "auto" }, true],
    ])("is on or off: %s", (_what, overrides: RawConfig, on) => {
        expect(parseFleetConfig({ ...devConfig(), ...overrides }).tls).toBe(on);
    });

    it.each([
        ["a value that is not auto, true or false", { tls: "yes" }, "nexus-redis:tls", /"yes" is not one of auto, true, false/],
        [
            "tls with vaultData (an adopted fleet's clients speak plain TCP)",
            { tls: "true", vaultData: '{"contact":"old-volume"}' },
            "nexus-redis:tls",
            /adopt with tls false first/,
        ],
        ["encryptedOverlay on docker", { encryptedOverlay: "true" }, "nexus-redis:encryptedOverlay", /platform swarm only/],
        [
            "encryptedOverlay on a network the stack does not create",
            { ...SWARM, encryptedOverlay: "true", createNetwork: "false" },
            "nexus-redis:encryptedOverlay",
            /needs createNetwork true/,
        ],
        ["encryptedOverlay that is not a boolean", { ...SWARM, encryptedOverlay: "1" }, "nexus-redis:encryptedOverlay", /not a boolean/],
    ])("refuses %s, naming the key", (_what, overrides: RawConfig, key, message) => {
        const problems = problemsOf(overrides);
        expect(problems).toHaveLength(1);
        expect(problems[0].key).toBe(key);
        expect(problems[0].message).toMatch(message);
    });

    it("takes encryptedOverlay on swarm with a network the stack creates", () => {
        expect(parseFleetConfig({ ...devConfig(), ...SWARM, encryptedOverlay: "true" }).encryptedOverlay).toBe(true);
    });
});

const PATHS = tlsPaths("docker");

describe("settings with TLS", () => {
    it.each([
        ["vault", vaultSettings({ tls: PATHS })],
        ["operational", operationalSettings({ vaultContainer: "v", tls: PATHS })],
    ])("the %s serves TLS only, on Redis's own port, with its certificate and key, and asks clients for no certificate", (_role, s) => {
        expect(s).toMatchObject({
            port: "0",
            "tls-port": "6379",
            "tls-cert-file": "/etc/nexus-redis/tls/server.crt",
            "tls-key-file": "/etc/nexus-redis/tls/tls.key",
            "tls-ca-cert-file": "/etc/nexus-redis/tls/ca.crt",
            "tls-auth-clients": "no",
            "tls-protocols": "TLSv1.2 TLSv1.3",
        });
    });

    it("replicates over TLS on the operational only", () => {
        expect(operationalSettings({ vaultContainer: "v", tls: PATHS })["tls-replication"]).toBe("yes");
        expect(vaultSettings({ tls: PATHS })["tls-replication"]).toBeUndefined();
    });

    it("has no TLS setting without TLS, and the plain port", () => {
        for (const s of [vaultSettings(), operationalSettings({ vaultContainer: "v" })]) {
            expect(Object.keys(s).filter((k) => k.startsWith("tls-"))).toEqual([]);
            expect(s.port).toBe("6379");
        }
    });

    it("reads the key from the Swarm secret and the certificates from where the configs put them, on swarm", () => {
        expect(tlsPaths("swarm")).toEqual({
            cert: "/etc/nexus-redis/tls/server.crt",
            key: "/run/secrets/tls.key",
            ca: "/etc/nexus-redis/tls/ca.crt",
        });
        // Where the service mounts the key's secret.
        expect(tlsPaths("swarm").key).toBe(swarmFilePath(TLS_KEY));
    });
});

describe("config file lines", () => {
    it.each([
        ["tls-protocols", "TLSv1.2 TLSv1.3", ["TLSv1.2 TLSv1.3"]],
        ["replicaof", "host 6379", ["host", "6379"]],
        ["save", "3600 1 300 100", ["3600", "1", "300", "100"]],
        ["save", "", [""]],
        ["dir", "/data", ["/data"]],
    ])("writes %s %j as the arguments %j", (name, value, words) => {
        expect(settingWords(name, value)).toEqual(words);
    });

    it("quotes tls-protocols as one argument (unquoted, Redis stops with wrong number of arguments)", () => {
        expect(renderConfig({ "tls-protocols": "TLSv1.2 TLSv1.3" }, {})).toContain('\ntls-protocols "TLSv1.2 TLSv1.3"\n');
    });
});

describe("certificate names", () => {
    it.each([
        ["swarm", "p-kb-vault", "127.0.0.1", { commonName: "p-kb-vault", dnsNames: ["p-kb-vault", "tasks.p-kb-vault"], ipAddresses: [] }],
        ["docker", "p-kb-vault", "127.0.0.1", { commonName: "p-kb-vault", dnsNames: ["p-kb-vault"], ipAddresses: ["127.0.0.1"] }],
        ["docker", "p-kb-vault", "0.0.0.0", { commonName: "p-kb-vault", dnsNames: ["p-kb-vault"], ipAddresses: [] }],
    ] as const)("on %s, %s bound to %s", (platform, name, bind, expected) => {
        expect(roleCertNames(platform, name, bind)).toEqual(expected);
    });
});
