import { describe, expect, it } from "vitest";
import { diagnose, diagnosisContext, replicaConnection, replicationLag } from "../../cli/health/diagnose";
import type { ProblemCode } from "../../cli/health/problems";
import { containerExplanation } from "../../cli/health/unanswered";
import { writeRefusals } from "../../cli/health/vaultProblems";
import type { EnvironmentObservation } from "../../cli/health/observe";
import type { ContainerFacts } from "../../cli/core/io";
import { configPairs, parseInfo } from "../../cli/redis/replies";
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
    BACKUP_SNAPSHOT_LINE,
    OPERATIONAL_LINE,
    rogueBackupUserReplica,
    rogueReplicaLine,
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

describe.each<[string, Record<string, string>, Record<string, string> | undefined]>([
    ["a healthy vault", {}, undefined],
    ["a failed snapshot of a vault without save points (a BGSAVE by hand)", { rdb_last_bgsave_status: "err" }, undefined],
    ["a failed AOF rewrite, while the AOF itself is written", { aof_last_bgrewrite_status: "err" }, undefined],
    ["a vault below its maxmemory", { used_memory: "1000000", maxmemory: "2097152", maxmemory_policy: "noeviction" }, undefined],
    ["a vault over a maxmemory that evicts", { used_memory: "3000000", maxmemory: "2097152", maxmemory_policy: "allkeys-lru" }, undefined],
    ["a vault without maxmemory", { used_memory: "3000000", maxmemory: "0", maxmemory_policy: "noeviction" }, undefined],
])("%s", (_what, fields, config) => {
    it("takes writes and can save: no refusal is reported", () => {
        const o = broken((o) => (o.vault.info = { ...o.vault.info!, ...fields }));
        if (config) o.vault.config = { ...o.vault.config!, ...config };
        expect(writeRefusals(o.vault.info, o.vault.config)).toEqual([]);
        expect(codes(o)).toEqual([]);
    });
});

describe("a vault whose settings could not be read", () => {
    it("is taken to refuse writes after a failed snapshot, as Redis's defaults would", () => {
        const [problem] = writeRefusals({ rdb_last_bgsave_status: "err" }, undefined);
        expect(problem.code).toBe("snapshot-failing");
        expect(problem.message).toMatch(
            /while it has save points: it refuses every write \(MISCONF, stop-writes-on-bgsave-error yes, Redis's default\)/,
        );
    });
});

describe("what the engine says about a container whose server does not answer", () => {
    const refused = {
        kind: "refused" as const,
        command: "INFO replication",
        message: "refused the connection (nothing listens: container stopped?)",
    };
    const silent = { kind: "silent" as const, command: "AUTH", message: "accepted the connection but did not answer AUTH within 3000 ms" };
    const running = { exists: true, status: "running", exitCode: 0, oomKilled: false, networks: ["nexus-storage-network"] };

    describe.each<[string, ContainerFacts, typeof refused | typeof silent, RegExp | undefined]>([
        [
            "does not exist",
            { exists: false, networks: [] },
            refused,
            /^container C does not exist \(removed by hand\? `pulumi up` creates it again\)$/,
        ],
        [
            "is stopped",
            { ...running, status: "exited", exitCode: 137, networks: [] },
            refused,
            /^container C is stopped \(exit code 137; `docker logs C` says why\): `docker start C`$/,
        ],
        [
            "was killed for lack of memory",
            { ...running, status: "exited", exitCode: 137, oomKilled: true },
            refused,
            /exit code 137, killed by the kernel for lack of memory/,
        ],
        ["was never started", { ...running, status: "created" }, refused, /^container C was created and never started/],
        [
            "keeps restarting",
            { ...running, status: "restarting", exitCode: 1 },
            refused,
            /^container C is restarting: it keeps exiting as it starts \(last exit code 1/,
        ],
        ["is paused", { ...running, status: "paused" }, silent, /^container C is paused: `docker unpause C`$/],
        [
            "runs, cut off its network",
            { ...running, networks: [] },
            refused,
            /^container C runs, but is attached to no network \(docker network disconnect\?\), so its published port is closed and it cannot reach the other server: `docker network connect nexus-storage-network C`$/,
        ],
        ["runs, on its network, nothing listening yet", running, refused, /^container C runs, but nothing listens in it yet/],
        ["runs, on its network, silent (busy)", running, silent, undefined],
    ])("a container that %s", (_what, facts, failure, expected) => {
        it(expected ? "is explained in words, with the repair" : "adds nothing to what the port said", () => {
            const explanation = containerExplanation("C", facts, failure, "nexus-storage-network");
            if (expected) expect(explanation).toMatch(expected);
            else expect(explanation).toBeUndefined();
        });
    });

    it("replaces the port's guess in the operational's problem, naming the vault's network for the repair", () => {
        const o = broken((o) => {
            o.operational = { failure: refused };
            o.containers = { vault: running, operational: { ...running, networks: [] } };
        });
        expect(codes(o)).toEqual(["operational-unreachable"]);
        expect(messages(o)).toBe(
            "operational 127.0.0.1:6631 refused the connection: container nexus3-contact-operational runs, but is attached to no network (docker network disconnect?), so its published port is closed and it cannot reach the other server: `docker network connect nexus-storage-network nexus3-contact-operational`",
        );
    });

    it("explains a secure vault that is stopped", () => {
        const o = healthySecure();
        o.vault = { failure: { ...refused, command: "AUTH" } };
        o.containers = { vault: { ...running, status: "exited", exitCode: 0 } };
        expect(diagnose(user, o, context).problems.map((p) => p.message)).toEqual([
            "vault 127.0.0.1:6610 refused the connection: container nexus3-user-vault is stopped (exit code 0; `docker logs nexus3-user-vault` says why): `docker start nexus3-user-vault`",
        ]);
    });

    it("keeps the port's words when the engine could not be asked", () => {
        const o = broken((o) => (o.operational = { failure: refused }));
        expect(messages(o)).toBe("operational 127.0.0.1:6631 refused the connection (nothing listens: container stopped?)");
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
        o.vault.info = parseInfo(vaultInfoText(2, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE, OPERATIONAL_LINE]));
        o.vault.replicas = [backupStreamingClient(), ...vaultReplicaClients()];
        delete o.operational!.masterLink;
        const d = diagnose(contact, o, context);
        expect(d.problems).toEqual([]);
        expect(d.replication?.user).toBe("replicator");
    });

    it("does not hide an operational that replicates as the backup user: replication-user, not replica-unseen", () => {
        const o = healthyStandard();
        o.vault.replicas = vaultReplicaClients("backup");
        const d = diagnose(contact, o, context);
        expect(d.problems.map((p) => p.code)).toEqual(["replication-user"]);
        expect(d.replication?.user).toBe("backup");
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
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE]));
        o.vault.replicas = [backupStreamingClient()];
        expect(diagnose(user, o, context).problems).toEqual([]);
        // Sent from a file (repl-diskless-sync no), the snapshot is in send_bulk.
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE.replace("wait_bgsave", "send_bulk")]));
        expect(diagnose(user, o, context).problems).toEqual([]);
    });

    it("still flags a replica attached beside a backup, and says which connection was the backup", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(2, 4242, VAULT_REPLID, [OPERATIONAL_LINE, BACKUP_SNAPSHOT_LINE]));
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

    it("flags a Redis replica that authenticated as the backup user: online, it is no snapshot", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [rogueReplicaLine("online")]));
        o.vault.replicas = [rogueBackupUserReplica("replconf")];
        const d = diagnose(user, o, context);
        expect(d.problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
        expect(d.problems[0].message).toMatch(
            /has 1 replica attached \(connected_slaves:1; 192\.168\.0\.1:58520 as backup; a connection of user backup is a backup only while/,
        );
    });

    it("flags such a replica while its first snapshot is sent: a Redis replica sends its listening port, redis-cli --rdb none", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [rogueReplicaLine("wait_bgsave")]));
        o.vault.replicas = [rogueBackupUserReplica("sync")];
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
    });

    it("flags a backup user's connection that stays online without a listening port (a SYNC by hand, redis-cli --replica)", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [rogueReplicaLine("online", 0)]));
        o.vault.replicas = [rogueBackupUserReplica("sync")];
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
    });

    it("tells a backup from a replica of the backup user on the same host: one replica, the replica named", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(2, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE, rogueReplicaLine("online")]));
        // The replica first, as CLIENT LIST lists it when it connected first.
        o.vault.replicas = [rogueBackupUserReplica("replconf"), backupStreamingClient()];
        const d = diagnose(user, o, context);
        expect(d.problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
        expect(d.problems[0].message).toMatch(
            /has 1 replica attached \(connected_slaves:2, 1 of them a backup by user backup; 192\.168\.0\.1:58520 as backup;/,
        );
        // One snapshot line, two connections that could be it: one of them is a replica.
        o.vault.replicas = [backupStreamingClient(), rogueBackupUserReplica("sync")];
        o.vault.info = parseInfo(vaultInfoText(2, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE, rogueReplicaLine("online", 0)]));
        expect(diagnose(user, o, context).problems[0].message).toMatch(/has 1 replica attached/);
    });

    it("counts a backup user's connection that INFO does not list as a snapshot being sent, or when INFO is missing", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, [BACKUP_SNAPSHOT_LINE.replace("192.168.0.1", "192.168.0.9")]));
        o.vault.replicas = [backupStreamingClient()];
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toEqual(["secure-has-replicas"]);
        o.vault.info = undefined;
        expect(diagnose(user, o, context).problems.map((p) => p.code)).toContain("secure-has-replicas");
    });

    it("matches a backup over IPv6: CLIENT LIST writes [::1]:port, INFO ip=::1 (measured, Redis 7.0.15)", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1, 4242, VAULT_REPLID, ["ip=::1,port=0,state=wait_bgsave,offset=0,lag=0"]));
        o.vault.replicas = [{ ...backupStreamingClient(), addr: "[::1]:53378", laddr: "[::1]:6379" }];
        expect(diagnose(user, o, context).problems).toEqual([]);
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
