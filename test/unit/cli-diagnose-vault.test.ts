/**
 * The CLI's pure diagnosis of a vault: what does and does not make it refuse writes (by Redis's
 * own rules, and by its defaults when its settings could not be read), and a secure vault's
 * replicas (a backup being taken is not one) and persistence.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../cli/health/diagnose";
import { writeRefusals } from "../../cli/health/vaultProblems";
import { parseInfo } from "../../cli/redis/replies";
import { healthySecure, user, vaultInfoText, vaultReplicaClients, backupStreamingClient } from "./cli-samples";
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
