/**
 * The recovery benchmark's baseline (bench/recovery.ts): the program's replication settings,
 * read from the redis.conf the plan uploads, put back to Redis's defaults, and the fresh
 * replica of the full-sync limit. Pure; checked against the config the program renders.
 */
import { describe, expect, it } from "vitest";
import { replicationSettings, withReplicationValues, withoutReplicaof } from "../../bench/recovery";
import { operationalFiles } from "../../components/redisServer";

describe("recovery's baseline on Redis's defaults", () => {
    // The operational's config exactly as the program renders it.
    const config = operationalFiles({ vaultContainer: "nexus3-links-vault", replicationPassword: "r-pw", adminPassword: "a-pw" })[0]
        .content;

    it("reads the replication settings the program declares from its redis.conf", () => {
        expect(replicationSettings(config)).toEqual({ "repl-timeout": "5", "repl-diskless-load": "on-empty-db" });
    });

    it("puts Redis's defaults in place of the declared values and changes nothing else", () => {
        const changed = withReplicationValues(config, { "repl-timeout": "60", "repl-diskless-load": "disabled" });
        expect(replicationSettings(changed)).toEqual({ "repl-timeout": "60", "repl-diskless-load": "disabled" });
        expect(changed.split("\n").filter((l) => !l.startsWith("repl-"))).toEqual(config.split("\n").filter((l) => !l.startsWith("repl-")));
        expect(() => withReplicationValues(config, { "repl-timeout": "60" })).toThrow("no default known for repl-diskless-load");
    });

    it("starts the fresh replica of the full-sync limit without replicaof, and with everything else", () => {
        const empty = withoutReplicaof(config);
        expect(config).toMatch(/^replicaof nexus3-links-vault 6379$/m);
        expect(empty).not.toMatch(/^replicaof /m);
        expect(empty.split("\n")).toHaveLength(config.split("\n").length - 1);
        expect(empty).toMatch(/^masterauth r-pw$/m);
        expect(() => withoutReplicaof(empty)).toThrow("no replicaof line");
    });
});
