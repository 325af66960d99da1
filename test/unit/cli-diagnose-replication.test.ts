/**
 * The CLI's pure diagnosis of replication in a standard environment: why a link is down (a wrong
 * masterauth, a vault not answering), a wrong master as one problem, a backup not taken for the
 * operational, the lag, the operational's connection found on the vault; and CONFIG GET replies
 * read into pairs, never quoting a value (masterauth is a password).
 */
import { describe, expect, it } from "vitest";
import { diagnose, replicaConnection, replicationLag } from "../../cli/health/diagnose";
import { configPairs, parseInfo } from "../../cli/redis/replies";
import {
    OTHER_REPLID,
    VAULT_REPLID,
    contact,
    healthyStandard,
    operationalMasterLink,
    replicaInfoText,
    vaultInfoText,
    vaultReplicaClients,
    backupStreamingClient,
    BACKUP_SNAPSHOT_LINE,
    OPERATIONAL_LINE,
} from "./cli-samples";
import { broken, codes, context, messages } from "./cliDiagnosis";

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
