import { describe, expect, it } from "vitest";
import { type ProblemCode, diagnose, diagnosisContext, replicaConnection, replicationLag } from "../../cli/diagnose";
import type { EnvironmentObservation } from "../../cli/observe";
import { configPairs, parseInfo } from "../../cli/redisReplies";
import {
    OTHER_REPLID,
    VAULT_REPLID,
    contact,
    fleetOutputs,
    healthySecure,
    healthyStandard,
    operationalMasterLink,
    promotedInfoText,
    replicaInfoText,
    user,
    vaultInfoText,
    vaultReplicaClients,
    backupStreamingClient,
} from "./cli-samples";

const context = diagnosisContext(fleetOutputs);

function codes(observation: EnvironmentObservation, env = contact): ProblemCode[] {
    return diagnose(env, observation, context).problems.map((p) => p.code);
}

function messages(observation: EnvironmentObservation, env = contact): string {
    return diagnose(env, observation, context)
        .problems.map((p) => p.message)
        .join("\n");
}

/** A healthy observation bent by `change`. */
function broken(change: (o: EnvironmentObservation) => void): EnvironmentObservation {
    const o = healthyStandard();
    change(o);
    return o;
}

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
        "the vault failing to write its AOF",
        (o) => (o.vault.info = { ...o.vault.info!, aof_last_write_status: "err" }),
        ["persistence-failing"],
        /cannot write its append-only file/,
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

describe("what a wrong masterauth looks like", () => {
    it("explains a down link by the wrong masterauth", () => {
        const o = broken((o) => {
            o.operational!.config!.masterauth = "typo";
            o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }));
        });
        expect(messages(o)).toMatch(/is down: masterauth is wrong/);
    });

    it("explains a down link by the vault when the vault does not answer", () => {
        const o = broken((o) => {
            o.vault = { failure: { kind: "refused", command: "AUTH", message: "refused the connection" } };
            o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }));
        });
        expect(codes(o)).toEqual(["vault-unreachable", "link-down"]);
        expect(messages(o)).toMatch(/is down: the vault is not answering/);
    });
});

describe("a backup being taken from a standard vault", () => {
    it("is not taken for the operational's connection when the operational's link address is unknown", () => {
        const o = healthyStandard();
        o.vault.info = parseInfo(vaultInfoText(2));
        o.vault.replicas = [backupStreamingClient(), ...vaultReplicaClients()];
        delete o.operational!.masterLink;
        const d = diagnose(contact, o, context);
        expect(d.problems).toEqual([]);
        expect(d.replication?.user).toBe("replicator");
    });
});

describe("a wrong master is one problem, not two", () => {
    it("does not also report the link down when the replica follows the wrong host", () => {
        const o = broken(
            (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "127.0.0.1", master_link_status: "down" }))),
        );
        expect(codes(o)).toEqual(["wrong-master"]);
    });
});

describe("secure environments", () => {
    it("flags a replica attached to a secure vault, naming its connection", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1));
        o.vault.replicas = vaultReplicaClients("default");
        const d = diagnose(user, o, context);
        expect(d.problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
        expect(d.problems[0].message).toMatch(/1 replica attached \(connected_slaves:1; 172\.20\.0\.3:56494 as default\)/);
    });

    it("does not count a backup being taken (redis-cli --rdb as the backup user) as a replica", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1));
        o.vault.replicas = [backupStreamingClient()];
        expect(diagnose(user, o, context).problems).toEqual([]);
    });

    it("still flags a replica attached beside a backup, and says which connection was the backup", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(2));
        o.vault.replicas = [...vaultReplicaClients("default"), backupStreamingClient()];
        const d = diagnose(user, o, context);
        expect(d.problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
        expect(d.problems[0].message).toMatch(
            /has 1 replica attached \(connected_slaves:2, 1 of them a backup by user backup; 172\.20\.0\.3:56494 as default\)/,
        );
    });

    it("counts a snapshot taken by any other user as a replica: only the stack's backup user is exempt", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1));
        o.vault.replicas = [backupStreamingClient("default")];
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
    });

    it("checks a secure vault's persistence like a standard one's", () => {
        const o = healthySecure();
        o.vault.config!.appendonly = "no";
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toEqual(["persistence-off"]);
    });
});

describe("lag", () => {
    it.each([
        ["the same history", VAULT_REPLID, 5000, 4200, 800],
        ["the same history, read a moment apart", VAULT_REPLID, 4200, 4300, 0],
        ["another history", OTHER_REPLID, 5000, 4200, null],
    ])("with %s, is %s bytes", (_what, replicaReplid, vaultOffset, replicaOffset, bytes) => {
        const lag = replicationLag(
            parseInfo(vaultInfoText(1, vaultOffset)),
            parseInfo(replicaInfoText({ master_replid: replicaReplid, slave_repl_offset: String(replicaOffset) })),
        );
        expect(lag).toEqual({ bytes, seconds: 1 });
    });

    it("is unknown while the link is down", () => {
        const o = broken((o) => (o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }))));
        expect(diagnose(contact, o, context).lag).toBeNull();
    });
});

describe("finding the operational's connection on the vault", () => {
    it("matches the vault's client address with the operational's local end of its master link", () => {
        const replicas = [...vaultReplicaClients("intruder").map((c) => ({ ...c, addr: "172.20.0.9:40000" })), ...vaultReplicaClients()];
        expect(replicaConnection(replicas, operationalMasterLink())?.user).toBe("replicator");
    });

    it("without the operational's side, takes the vault's only replica and refuses to guess between several", () => {
        expect(replicaConnection(vaultReplicaClients(), undefined)?.user).toBe("replicator");
        expect(replicaConnection([...vaultReplicaClients(), ...vaultReplicaClients("other")], undefined)).toBeUndefined();
    });
});

describe("CONFIG GET replies", () => {
    it("become name → value", () => {
        expect(configPairs(["masteruser", "replicator", "appendonly", "no"])).toEqual({ masteruser: "replicator", appendonly: "no" });
    });

    it("when malformed, are described by their shape, never their values (masterauth is a password)", () => {
        const reply = ["masteruser", "replicator", "masterauth", contact.replication.password, "appendonly"];
        expect(() => configPairs(reply)).toThrow("unexpected CONFIG GET reply: an array of 5 elements, expected name/value pairs");
        let message = "";
        try {
            configPairs(reply);
        } catch (e) {
            message = (e as Error).message;
        }
        expect(message).not.toContain(contact.replication.password);
        expect(() => configPairs(`masterauth ${contact.replication.password}`)).toThrow(/^unexpected CONFIG GET reply: a string, expected/);
    });
});
