/**
 * The CLI's pure diagnosis from realistic Redis 7 answers (cli-samples.ts): a healthy environment
 * (standard, or secure with no replica) has no problem, and each failure of a standard one, one
 * at a time, is diagnosed as exactly its problems, in words, and never with a password in them.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../cli/health/diagnose";
import type { ProblemCode } from "../../cli/health/problems";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { parseInfo } from "../../cli/redis/replies";
import { contact, healthySecure, healthyStandard, promotedInfoText, replicaInfoText, user, vaultReplicaClients } from "./cli-samples";
import { broken, codes, context, messages } from "./cliDiagnosis";

describe("a healthy environment", () => {
    it("has no problem, a link up to the vault's container on 6379 and the replication user in use", () => {
        const d = diagnose(contact, healthyStandard(), context);
        expect(d.problems).toEqual([]);
        expect(d.replication).toEqual({ role: "slave", master: "nexus3-contact-vault:6379", link: "up", user: "replicator" });
    });

    it("reports the lag as the vault's offset minus the replica's, and the seconds since the vault was last heard", () => {
        expect(diagnose(contact, healthyStandard(), context).lag).toEqual({ bytes: 42, seconds: 1 });
    });

    it("a secure environment with no replica attached has no problem", () => {
        expect(diagnose(user, healthySecure(), context)).toEqual({ problems: [], replication: null, lag: null });
    });
});

describe.each<[string, (o: EnvironmentObservation) => void, ProblemCode[], RegExp]>([
    [
        "REPLICAOF NO ONE (the operational became a master)",
        (o) => (o.operational!.info = parseInfo(promotedInfoText())),
        ["not-replica"],
        /not a replica \(role:master; REPLICAOF NO ONE\?\)/,
    ],
    [
        "a replica of localhost",
        (o) =>
            (o.operational!.info = parseInfo(
                replicaInfoText({ master_host: "127.0.0.1", master_port: "6630", master_link_status: "down" }),
            )),
        ["wrong-master"],
        /replicates from 127\.0\.0\.1:6630: localhost inside its container is the operational itself; it must replicate from nexus3-contact-vault:6379/,
    ],
    [
        "a replica of `localhost` by name",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "localhost", master_link_status: "down" }))),
        ["wrong-master"],
        /localhost:6379: localhost inside its container is the operational itself/,
    ],
    [
        "a replica of the vault's Docker IP address",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "10.0.4.7" }))),
        ["wrong-master"],
        /the IP address 10\.0\.4\.7:6379, which changes when a container is re-created/,
    ],
    [
        "a replica of another environment's vault",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "nexus3-kb-vault", master_link_status: "down" }))),
        ["wrong-master"],
        /replicates from nexus3-kb-vault:6379, the vault of environment kb, not from nexus3-contact-vault:6379/,
    ],
    [
        "a replica of the vault's host port instead of 6379",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_port: "6630", master_link_status: "down" }))),
        ["wrong-master"],
        /port 6630 is not the vault's internal port/,
    ],
    [
        "a replica of an unknown host",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "redis.example", master_link_status: "down" }))),
        ["wrong-master"],
        /replicates from redis\.example:6379, not from nexus3-contact-vault:6379/,
    ],
    [
        "a link down with nothing else known",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down", master_link_down_since_seconds: "12" }))),
        ["link-down"],
        /replication link to nexus3-contact-vault:6379 is down$/m,
    ],
    [
        "an initial sync in progress",
        (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down", master_sync_in_progress: "1" }))),
        ["syncing"],
        /initial sync in progress/,
    ],
    [
        "a wrong masterauth set by hand (CONFIG SET)",
        (o) => {
            o.operational!.config!.masterauth = "typo";
            o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }));
        },
        ["link-down", "masterauth-drift"],
        /masterauth differs from the stack's replication password/,
    ],
    [
        "masteruser changed to the default user",
        (o) => (o.operational!.config!.masteruser = "default"),
        ["masteruser-drift"],
        /masteruser is "default", declared "replicator"/,
    ],
    [
        "replica-read-only turned off",
        (o) => (o.operational!.config!["replica-read-only"] = "no"),
        ["operational-drift"],
        /operational setting replica-read-only is "no", declared "yes"/,
    ],
    [
        "persistence turned on for the operational",
        (o) => (o.operational!.config!.save = "3600 1"),
        ["operational-drift"],
        /operational setting save is "3600 1", declared ""/,
    ],
    [
        "the vault's persistence turned off",
        (o) => (o.vault.config!.appendonly = "no"),
        ["persistence-off"],
        /persistence is off on the vault \(appendonly "no"\)/,
    ],
    [
        "a vault whose AOF write failed on a full disk",
        (o) => (o.vault.info = { ...o.vault.info!, aof_last_write_status: "err" }),
        ["persistence-failing"],
        /aof_last_write_status:err; a full or failing disk\?\): it refuses every write \(MISCONF\)/,
    ],
    [
        "a vault loading its data (after a restart), which refuses DBSIZE meanwhile",
        (o) => {
            o.vault.info = { ...o.vault.info!, loading: "1" };
            delete o.vault.keys;
            o.vault.failure = {
                kind: "error",
                command: "DBSIZE",
                message: "DBSIZE failed: LOADING Redis is loading the dataset in memory",
            };
        },
        ["vault-loading"],
        /the vault is loading its data into memory \(loading:1\): until it is done it refuses every write and read \(LOADING\)/,
    ],
    [
        "a vault whose snapshot failed after save points and stop-writes-on-bgsave-error were set by hand",
        (o) => {
            o.vault.info = { ...o.vault.info!, rdb_last_bgsave_status: "err" };
            o.vault.config = { ...o.vault.config!, save: "60 1", "stop-writes-on-bgsave-error": "yes" };
        },
        ["snapshot-failing", "vault-drift", "vault-drift"],
        /while it has save points \(save "60 1"\): it refuses every write \(MISCONF, stop-writes-on-bgsave-error yes\) until a snapshot succeeds, and a graceful stop cannot finish/,
    ],
    [
        "a vault whose snapshot failed after save points were set by hand, writes going on",
        (o) => {
            o.vault.info = { ...o.vault.info!, rdb_last_bgsave_status: "err" };
            o.vault.config = { ...o.vault.config!, save: "3600 1" };
        },
        ["snapshot-failing", "vault-drift"],
        /save points \(save "3600 1"\): its writes go on \(stop-writes-on-bgsave-error no\), and a graceful stop cannot finish/,
    ],
    [
        "a vault at its maxmemory under noeviction",
        (o) =>
            (o.vault.info = {
                ...o.vault.info!,
                used_memory: "2200000",
                mem_not_counted_for_evict: "100000",
                maxmemory: "2097152",
                maxmemory_policy: "noeviction",
            }),
        ["vault-memory-full"],
        /maxmemory 2097152 bytes, noeviction\): it refuses every write that needs memory \(OOM\)/,
    ],
    [
        "min-replicas-to-write set by hand above the replicas the vault has in time",
        (o) => {
            o.vault.info = { ...o.vault.info!, min_slaves_good_slaves: "1" };
            o.vault.config = { ...o.vault.config!, "min-replicas-to-write": "5" };
        },
        ["vault-drift"],
        /vault setting min-replicas-to-write is "5", declared "0" \(Redis's default\): with 1 replica in time it refuses every write \(NOREPLICAS\)/,
    ],
    [
        "min-replicas-to-write set by hand, met for now",
        (o) => {
            o.vault.info = { ...o.vault.info!, min_slaves_good_slaves: "1" };
            o.vault.config = { ...o.vault.config!, "min-replicas-to-write": "1" };
        },
        ["vault-drift"],
        /vault setting min-replicas-to-write is "1", declared "0" \(Redis's default\): it refuses every write \(NOREPLICAS\) whenever fewer than 1 replica is in time/,
    ],
    [
        "a vault setting changed by hand",
        (o) => (o.vault.config!["repl-diskless-sync-delay"] = "5"),
        ["vault-drift"],
        /vault setting repl-diskless-sync-delay is "5", declared "0"/,
    ],
    [
        "a vault that was made a replica",
        (o) => (o.vault.info = { ...o.vault.info!, role: "slave", master_host: "10.1.1.1", master_port: "6379" }),
        ["vault-not-master"],
        /the vault is itself a replica of 10\.1\.1\.1:6379/,
    ],
    [
        "a replica that authenticates as the default user",
        (o) => (o.vault.replicas = vaultReplicaClients("default")),
        ["replication-user"],
        /replicates as user default, not replicator/,
    ],
    [
        "a vault that does not list the operational's connection",
        (o) => (o.vault.replicas = []),
        ["replica-unseen"],
        /does not list the operational's connection \(172\.20\.0\.3:56494\)/,
    ],
    [
        "a stopped vault",
        (o) =>
            (o.vault = {
                failure: { kind: "refused", command: "AUTH", message: "refused the connection (nothing listens: container stopped?)" },
            }),
        ["vault-unreachable"],
        /vault 127\.0\.0\.1:6630 refused the connection/,
    ],
    [
        "a silent vault",
        (o) =>
            (o.vault = {
                failure: { kind: "silent", command: "AUTH", message: "accepted the connection but did not answer AUTH within 3000 ms" },
            }),
        ["vault-unreachable"],
        /vault 127\.0\.0\.1:6630 accepted the connection but did not answer AUTH within 3000 ms/,
    ],
    [
        "a vault that rejects the stack's password",
        (o) => (o.vault = { failure: { kind: "auth", command: "AUTH", message: "rejected the password" } }),
        ["vault-auth"],
        /vault 127\.0\.0\.1:6630 rejected the stack's vault password/,
    ],
    [
        "another kind of server on the vault's port",
        (o) =>
            (o.vault = {
                failure: {
                    kind: "not-redis",
                    command: "AUTH",
                    message: 'AUTH failed: not a Redis reply: unexpected reply type byte 0x48 ("H")',
                },
            }),
        ["vault-error"],
        /vault 127\.0\.0\.1:6630 AUTH failed: not a Redis reply/,
    ],
    [
        "another kind of server on the operational's port",
        (o) =>
            (o.operational = {
                failure: {
                    kind: "not-redis",
                    command: "INFO replication",
                    message: 'INFO replication failed: not a Redis reply: unexpected reply type byte 0x48 ("H")',
                },
            }),
        ["operational-error"],
        /operational 127\.0\.0\.1:6631 INFO replication failed: not a Redis reply/,
    ],
    [
        "a stopped operational",
        (o) =>
            (o.operational = {
                failure: {
                    kind: "refused",
                    command: "INFO replication",
                    message: "refused the connection (nothing listens: container stopped?)",
                },
            }),
        ["operational-unreachable"],
        /operational 127\.0\.0\.1:6631 refused the connection/,
    ],
    [
        "an operational whose reads need a password",
        (o) =>
            (o.operational!.readFailure = {
                kind: "denied",
                command: "INFO replication",
                message: "refused INFO replication: NOAUTH Authentication required.",
            }),
        ["operational-reads-need-password"],
        /need no password/,
    ],
    [
        "an operational that rejects the admin password",
        (o) => {
            o.operational!.adminFailure = { kind: "auth", command: "AUTH", message: "rejected the password" };
            delete o.operational!.config;
            delete o.operational!.masterLink;
        },
        ["admin-auth"],
        /rejected the admin user admin's password: runtime settings cannot be checked, nor repaired/,
    ],
])("an environment with %s", (_what, change, expected, message) => {
    const observation = broken(change);

    // The exact problems: a spurious extra one would be as wrong as a missing one.
    it(`is diagnosed as ${expected.join(" and ")}, and nothing else, in words`, () => {
        expect(codes(observation)).toEqual(expected);
        expect(messages(observation)).toMatch(message);
    });

    it("never prints a password in its diagnosis", () => {
        const text = JSON.stringify(diagnose(contact, observation, context));
        for (const secret of [contact.vault.password, contact.replication.password, contact.operational.adminPassword]) {
            expect(text).not.toContain(secret);
        }
    });
});
