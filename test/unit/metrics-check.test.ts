/**
 * The samples `nexus-redis check --prometheus` writes (pure, from INFO captured from Redis 7.0.15
 * and the samples the diagnosis tests use): why a vault refuses writes, by Redis's own rules; keys
 * over every database; which server a problem concerns; and each environment's samples.
 */
import { describe, expect, it } from "vitest";
import { CHECK_METRICS, problemRole, writeRefusals } from "../../cli/check/metrics";
import { type VaultObservation, vaultBatch } from "../../cli/health/observe";
import { readKeyspace } from "../../cli/redis/keyspace";
import { parseInfo } from "../../cli/redis/replies";
import { CHECKED_AT, info, samplesOf, standard, operational, vault, value } from "./metricsSamples";
import { contact, healthySecure, kb, user } from "./cli-samples";

describe("why a vault refuses writes, by Redis's own rules", () => {
    const observed = (fields: Record<string, string | null>): VaultObservation => ({ info: info("vault", fields) });
    it.each<[string, VaultObservation, string[]]>([
        ["a healthy vault", observed({}), []],
        [
            "a failed RDB snapshot (MISCONF), save points unknown (CONFIG GET failed)",
            observed({ rdb_last_bgsave_status: "err" }),
            ["rdb-bgsave-failed"],
        ],
        [
            "a failed RDB snapshot with save points set by hand (MISCONF)",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "3600 1", "stop-writes-on-bgsave-error": "yes" } },
            ["rdb-bgsave-failed"],
        ],
        [
            "a failed RDB snapshot on a vault as declared (no save points): writes go on",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "", "stop-writes-on-bgsave-error": "no" } },
            [],
        ],
        [
            "a failed RDB snapshot with save points and stop-writes-on-bgsave-error no: writes go on",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "3600 1", "stop-writes-on-bgsave-error": "no" } },
            [],
        ],
        ["a failed AOF write with AOF on (MISCONF)", observed({ aof_last_write_status: "err" }), ["aof-write-failed"]],
        ["a failed AOF write with AOF off", observed({ aof_last_write_status: "err", aof_enabled: "0" }), []],
        ["loading its data (LOADING)", observed({ loading: "1" }), ["loading"]],
        ["a vault that became a replica (READONLY)", observed({ role: "slave" }), ["replica"]],
        ["over maxmemory with noeviction (OOM)", observed({ used_memory: "67200000" }), ["out-of-memory"]],
        ["over maxmemory with a policy that evicts", observed({ used_memory: "67200000", maxmemory_policy: "allkeys-lru" }), []],
        [
            "over maxmemory only by the buffers Redis leaves out",
            observed({ used_memory: "67200000", mem_not_counted_for_evict: "200000" }),
            [],
        ],
        ["no memory limit", observed({ used_memory: "999999999999", maxmemory: "0" }), []],
        [
            "two at once",
            observed({ loading: "1", rdb_last_bgsave_status: "err", aof_last_write_status: "err" }),
            ["loading", "rdb-bgsave-failed", "aof-write-failed"],
        ],
        ["nothing listening", { failure: { kind: "refused", command: "AUTH", message: "refused" } }, ["unreachable"]],
        ["a host that never answers", { failure: { kind: "silent", command: "AUTH", message: "silent" } }, ["unreachable"]],
        ["the stack's password refused", { failure: { kind: "auth", command: "AUTH", message: "rejected" } }, ["password-refused"]],
        [
            "its certificate refused (another CA)",
            { failure: { kind: "tls", command: "AUTH", message: "not signed" } },
            ["certificate-refused"],
        ],
        ["INFO refused", { failure: { kind: "denied", command: "INFO", message: "NOPERM" } }, ["unknown"]],
        [
            "fewer replicas in time than min-replicas-to-write, set by hand (NOREPLICAS)",
            { ...observed({ min_slaves_good_slaves: "1" }), config: { "min-replicas-to-write": "5" } },
            ["not-enough-replicas"],
        ],
        [
            "as many replicas in time as min-replicas-to-write asks",
            { ...observed({ min_slaves_good_slaves: "1" }), config: { "min-replicas-to-write": "1" } },
            [],
        ],
        [
            "min-replicas-to-write on and no replica in time, its value unknown (CONFIG GET failed)",
            observed({ min_slaves_good_slaves: "0" }),
            ["not-enough-replicas"],
        ],
        ["min-replicas-to-write on, a replica in time, its value unknown: not judged", observed({ min_slaves_good_slaves: "1" }), []],
        [
            "a vault that became a replica, min-replicas-to-write set: Redis holds a replica to its master's rule only",
            { ...observed({ role: "slave", min_slaves_good_slaves: "0" }), config: { "min-replicas-to-write": "5" } },
            ["replica"],
        ],
        [
            "min-replicas-to-write without min_slaves_good_slaves (min-replicas-max-lag 0 turns it off)",
            { ...observed({}), config: { "min-replicas-to-write": "5" } },
            [],
        ],
    ])("%s", (_what, observation, reasons) => {
        expect(writeRefusals(observation)).toEqual(reasons);
    });
});

describe("what the vault is asked", () => {
    it("includes min-replicas-to-write, which no declared setting brings but which makes a vault refuse writes (NOREPLICAS)", () => {
        const configGet = vaultBatch(contact).commands.find((c) => c[0] === "CONFIG" && c[1] === "GET");
        expect(configGet).toContain("min-replicas-to-write");
    });
});

describe("keys", () => {
    it("are counted over every database, not db 0 alone", () => {
        expect(readKeyspace(info("vault")).keys).toBe(6); // db0:keys=4, db5:keys=2
        expect(readKeyspace(parseInfo("# Keyspace\r\n")).keys).toBe(0);
        expect(readKeyspace(parseInfo("db0:keys=3,expires=9,avg_ttl=0\r\ndb15:keys=10,expires=0,avg_ttl=0\r\ndbx:keys=7\r\n")).keys).toBe(
            13,
        );
    });
});

describe("the server a problem concerns", () => {
    it.each<["standard" | "secure", Parameters<typeof problemRole>[1], string]>([
        ["standard", "vault-unreachable", "vault"],
        ["standard", "vault-acl-drift", "vault"],
        ["standard", "persistence-off", "vault"],
        ["standard", "persistence-failing", "vault"],
        ["standard", "vault-misplaced", "vault"],
        ["standard", "link-down", "operational"],
        ["standard", "operational-unreachable", "operational"],
        ["standard", "masterauth-drift", "operational"],
        ["standard", "not-fixed", "operational"],
        ["standard", "operational-misplaced", "operational"],
        ["secure", "secure-has-replicas", "vault"],
        ["secure", "not-fixed", "vault"],
    ])("%s environment, %s: its %s", (kind, code, role) => {
        expect(problemRole(kind, code)).toBe(role);
    });
});

describe("check's samples", () => {
    it("of a healthy standard environment: link up, no lag, keys of every database, memory, writes accepted, no problem", () => {
        const s = samplesOf([["contact", contact, standard()]]);
        const at = CHECKED_AT.getTime() / 1000;
        for (const labels of [vault, operational]) {
            expect(value(s, "nexus_redis_check_timestamp_seconds", labels)).toBe(at);
            expect(value(s, "nexus_redis_server_up", labels)).toBe(1);
            expect(value(s, "nexus_redis_loading", labels)).toBe(0);
            expect(value(s, "nexus_redis_keys", labels)).toBe(6);
            expect(value(s, "nexus_redis_aof_last_write_ok", labels)).toBe(1);
            expect(value(s, "nexus_redis_aof_last_rewrite_ok", labels)).toBe(1);
            expect(value(s, "nexus_redis_rdb_last_bgsave_ok", labels)).toBe(1);
        }
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(1);
        expect(value(s, "nexus_redis_replication_lag_bytes", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBe(1);
        expect(value(s, "nexus_redis_replication_offset_bytes", vault)).toBe(254);
        expect(value(s, "nexus_redis_replication_offset_bytes", operational)).toBe(254);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(1);
        expect(value(s, "nexus_redis_aof_enabled", vault)).toBe(1);
        expect(value(s, "nexus_redis_aof_enabled", operational)).toBe(0);
        expect(value(s, "nexus_redis_memory_used_bytes", vault)).toBe(Number(info("vault").used_memory));
        expect(value(s, "nexus_redis_memory_max_bytes", vault)).toBe(67108864);
        expect(value(s, "nexus_redis_memory_max_bytes", operational)).toBe(0);
        expect(value(s, "nexus_redis_rdb_last_save_timestamp_seconds", vault)).toBe(Number(info("vault").rdb_last_save_time));
        // Writes are judged for vaults only: an operational never takes a client's write.
        expect(value(s, "nexus_redis_accepts_writes", operational)).toBeUndefined();
        expect(s.filter((x) => x.name === "nexus_redis_writes_refused" || x.name === "nexus_redis_check_problems")).toEqual([]);
    });

    it("of a link that went down: 0, how long it has been down, and the problem by its code", () => {
        const s = samplesOf([["contact", contact, standard((o) => (o.operational!.info = info("replica-link-down")))]]);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBe(2); // master_link_down_since_seconds
        expect(value(s, "nexus_redis_replication_lag_bytes", operational)).toBeUndefined();
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "link-down" })).toBe(1);
    });

    it("of a replica that never reached its vault since it started: no age (Redis says -1)", () => {
        const down = { master_link_down_since_seconds: "-1", master_last_io_seconds_ago: "-1" };
        const s = samplesOf([["contact", contact, standard((o) => (o.operational!.info = info("replica-link-down", down)))]]);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBeUndefined();
    });

    it("of an operational that follows another environment's vault: its link is not up, whatever Redis says of it", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.operational!.info = info("replica", { master_host: kb.vault.container })))],
        ]);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "wrong-master" })).toBe(1);
    });

    it("of an operational that does not answer: down, no link, nothing it would have said", () => {
        const s = samplesOf([
            [
                "contact",
                contact,
                standard((o) => {
                    o.operational = { failure: { kind: "refused", command: "INFO", message: "refused the connection" } };
                }),
            ],
        ]);
        expect(value(s, "nexus_redis_server_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_check_timestamp_seconds", operational)).toBe(CHECKED_AT.getTime() / 1000);
        expect(s.filter((x) => x.labels.role === "operational").map((x) => x.name)).toEqual([
            "nexus_redis_check_timestamp_seconds",
            "nexus_redis_server_up",
            "nexus_redis_replication_link_up",
            "nexus_redis_check_problems",
        ]);
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "operational-unreachable" })).toBe(1);
    });

    it("of a vault that cannot save: writes refused with the reason, the problem counted for the vault", () => {
        const s = samplesOf([["contact", contact, standard((o) => (o.vault.info = info("vault", { aof_last_write_status: "err" })))]]);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(0);
        expect(value(s, "nexus_redis_writes_refused", { ...vault, reason: "aof-write-failed" })).toBe(1);
        expect(value(s, "nexus_redis_aof_last_write_ok", vault)).toBe(0);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "persistence-failing" })).toBe(1);
    });

    it("of a vault that refuses the stack's password: down, writes refused for that reason", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.vault = { failure: { kind: "auth", command: "AUTH", message: "rejected" } }))],
        ]);
        expect(value(s, "nexus_redis_server_up", vault)).toBe(0);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(0);
        expect(value(s, "nexus_redis_writes_refused", { ...vault, reason: "password-refused" })).toBe(1);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "vault-auth" })).toBe(1);
    });

    it("count each problem code, however many times it is reported", () => {
        const s = samplesOf([
            [
                "contact",
                contact,
                standard((o) => {
                    o.vault.config = { ...o.vault.config, "repl-backlog-ttl": "1", "repl-ping-replica-period": "10" };
                }),
            ],
        ]);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "vault-drift" })).toBe(2);
    });

    it("of a secure environment: its vault alone", () => {
        const s = samplesOf([["user", user, { vault: { ...healthySecure().vault, info: info("vault", { connected_slaves: "0" }) } }]]);
        expect(new Set(s.map((x) => x.labels.role))).toEqual(new Set(["vault"]));
        expect(value(s, "nexus_redis_accepts_writes", { environment: "user", role: "vault" })).toBe(1);
    });

    it("name only metrics of CHECK_METRICS, with exactly their labels, each series once", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.vault.info = info("vault", { loading: "1", rdb_last_bgsave_status: "err" })))],
            ["kb", kb, standard((o) => (o.operational!.info = info("replica-link-down", { master_host: kb.vault.container })), kb)],
            ["user", user, { vault: { failure: { kind: "silent", command: "AUTH", message: "silent" } } }],
        ]);
        for (const sample of s) expect(Object.keys(sample.labels)).toEqual(CHECK_METRICS[sample.name].labels);
        const keys = s.map((x) => `${x.name}${JSON.stringify(x.labels)}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(new Set(s.map((x) => x.labels.environment))).toEqual(new Set(["contact", "kb", "user"]));
    });
});
