/**
 * The CLI's pure diagnosis of a vault: what does and does not make it refuse writes (by Redis's
 * own rules, and by its defaults when its settings could not be read), and a secure vault's
 * replicas (a backup being taken is not one) and persistence.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../cli/health/diagnose";
import { writeRefusals } from "../../cli/health/vaultProblems";
import { parseInfo } from "../../cli/redis/replies";
import {
    BACKUP_SNAPSHOT_LINE,
    OPERATIONAL_LINE,
    VAULT_REPLID,
    backupStreamingClient,
    healthySecure,
    rogueBackupUserReplica,
    rogueReplicaLine,
    user,
    vaultInfoText,
    vaultReplicaClients,
} from "./cli-samples";
import { broken, codes, context } from "./cliDiagnosis";

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
