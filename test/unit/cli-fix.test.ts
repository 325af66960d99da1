import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import { resyncRisk } from "../../cli/health/resync";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { DEFAULT_SYNC_TIMEOUT_MS, type FixPlan, applyFix, planFix } from "../../cli/health/fix";
import { HELP } from "../../cli/main";
import { FakeRedis } from "./cli-fake-redis";
import { parseInfo } from "../../cli/redis/replies";
import {
    OTHER_REPLID,
    PROMOTED_REPLID,
    VAULT_REPLID,
    contact,
    fleetOutputs,
    healthySecure,
    healthyStandard,
    promotedInfoText,
    replicaInfoText,
    user,
    vaultInfoText,
    vaultReplicaClients,
} from "./cli-samples";

const context = diagnosisContext(fleetOutputs);

function plan(observation: EnvironmentObservation, force = false, env = contact): FixPlan {
    return planFix(env, observation, diagnose(env, observation, context), { force });
}

function broken(change: (o: EnvironmentObservation) => void): EnvironmentObservation {
    const o = healthyStandard();
    change(o);
    return o;
}

const promoted = (o: EnvironmentObservation) => (o.operational!.info = parseInfo(promotedInfoText()));

describe("what --fix changes", () => {
    it.each<[string, (o: EnvironmentObservation) => void, string[][]]>([
        ["REPLICAOF NO ONE", promoted, [["REPLICAOF", "nexus3-contact-vault", "6379"]]],
        [
            "a replica of localhost",
            (o) =>
                (o.operational!.info = parseInfo(
                    replicaInfoText({ master_host: "127.0.0.1", master_port: "6630", master_link_status: "down" }),
                )),
            [["REPLICAOF", "nexus3-contact-vault", "6379"]],
        ],
        [
            "a replica of another environment's vault",
            (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_host: "nexus3-kb-vault", master_link_status: "down" }))),
            [["REPLICAOF", "nexus3-contact-vault", "6379"]],
        ],
        [
            "a wrong masterauth",
            (o) => (o.operational!.config!.masterauth = "typo"),
            [["CONFIG", "SET", "masterauth", contact.replication.password]],
        ],
        ["a wrong masteruser", (o) => (o.operational!.config!.masteruser = "default"), [["CONFIG", "SET", "masteruser", "replicator"]]],
        [
            "replica-read-only off",
            (o) => (o.operational!.config!["replica-read-only"] = "no"),
            [["CONFIG", "SET", "replica-read-only", "yes"]],
        ],
        ["persistence turned on for the operational", (o) => (o.operational!.config!.save = "3600 1"), [["CONFIG", "SET", "save", ""]]],
        [
            "drift and a wrong master at once",
            (o) => {
                o.operational!.config!.masterauth = "typo";
                o.operational!.config!.masteruser = "default";
                o.operational!.config!["replica-read-only"] = "no";
                o.operational!.info = parseInfo(promotedInfoText());
            },
            [
                ["CONFIG", "SET", "replica-read-only", "yes"],
                ["CONFIG", "SET", "masteruser", "replicator"],
                ["CONFIG", "SET", "masterauth", contact.replication.password],
                ["REPLICAOF", "nexus3-contact-vault", "6379"],
            ],
        ],
    ])("repairs %s with exactly the declared values, credentials before REPLICAOF", (_what, change, commands) => {
        const p = plan(broken(change));
        expect(p.actions.map((a) => a.command)).toEqual(commands);
        expect(p.notFixed).toEqual([]);
    });

    it("describes each change in words without the password", () => {
        const p = plan(broken((o) => (o.operational!.config!.masterauth = "typo")));
        expect(p.actions[0].description).toBe("CONFIG SET masterauth to the stack's replication password");
        expect(JSON.stringify(p.actions.map((a) => a.description))).not.toContain(contact.replication.password);
    });

    it("says what the operational followed before it was re-pointed", () => {
        const p = plan(
            broken(
                (o) =>
                    (o.operational!.info = parseInfo(
                        replicaInfoText({ master_host: "127.0.0.1", master_port: "6630", master_link_status: "down" }),
                    )),
            ),
        );
        expect(p.actions[0].description).toBe("REPLICAOF nexus3-contact-vault 6379 (was 127.0.0.1 6630)");
        expect(plan(broken(promoted)).actions[0].description).toBe("REPLICAOF nexus3-contact-vault 6379 (was NO ONE)");
    });

    it("changes nothing on a healthy environment", () => {
        expect(plan(healthyStandard())).toEqual({ actions: [], notFixed: [] });
    });
});

describe("what --fix leaves alone, and says why", () => {
    it("never writes to a vault, whatever is wrong with it", () => {
        const p = plan(
            broken((o) => {
                o.vault.config!.appendonly = "no";
                o.vault.config!["repl-diskless-sync-delay"] = "5";
            }),
        );
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual([
            "--fix never writes to a vault: persistence-off (appendonly), vault-drift (repl-diskless-sync-delay) stay for an operator",
        ]);
    });

    it("repairs nothing on a secure environment, and says so for its replicas", () => {
        const o = healthySecure();
        o.vault.info = parseInfo(vaultInfoText(1));
        o.vault.replicas = vaultReplicaClients("default");
        const p = planFix(user, o, diagnose(user, o, context), { force: true });
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual(["--fix never writes to a vault: secure-has-replicas stays for an operator"]);
    });

    it("cannot repair an operational that does not answer, and points to recover", () => {
        const p = plan(broken((o) => (o.operational = { failure: { kind: "refused", command: "INFO replication", message: "refused" } })));
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual(["the operational is not answering: nothing could be repaired (`nexus-redis recover` replaces it)"]);
    });

    it("cannot repair without the admin user", () => {
        const p = plan(
            broken((o) => {
                o.operational!.info = parseInfo(promotedInfoText());
                o.operational!.adminFailure = { kind: "auth", command: "AUTH", message: "rejected the password" };
                delete o.operational!.config;
            }),
        );
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual(["the operational's admin user cannot log in or run CONFIG: nothing could be repaired"]);
    });

    it("does not re-point an operational while its vault is down, but still restores harmless settings", () => {
        const p = plan(
            broken((o) => {
                o.vault = { failure: { kind: "refused", command: "AUTH", message: "refused" } };
                o.operational!.info = parseInfo(promotedInfoText());
                o.operational!.config!["replica-read-only"] = "no";
            }),
        );
        expect(p.actions.map((a) => a.command)).toEqual([["CONFIG", "SET", "replica-read-only", "yes"]]);
        expect(p.notFixed).toEqual(["REPLICAOF not done: the vault is not answering: there is nothing to sync from"]);
    });

    it("does not follow a vault that is itself a replica", () => {
        const p = plan(
            broken((o) => {
                o.vault.info = { ...o.vault.info!, role: "slave", master_host: "elsewhere", master_port: "6379" };
                promoted(o);
            }),
        );
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual([
            "--fix never writes to a vault: vault-not-master stays for an operator",
            "REPLICAOF not done: the vault is itself a replica; following it would follow whatever it follows",
        ]);
    });

    it("says only that the link waits for the vault when nothing on the operational is wrong", () => {
        const p = plan(
            broken((o) => {
                o.vault = { failure: { kind: "silent", command: "AUTH", message: "did not answer" } };
                o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }));
            }),
        );
        expect(p).toEqual({ actions: [], notFixed: ["the replication link stays down until the vault answers again"] });
    });
});

describe("refusing a re-sync that could lose data", () => {
    const emptyVault = (o: EnvironmentObservation) => {
        promoted(o);
        o.vault.keys = 0;
    };

    it("refuses when the vault is empty while the operational holds keys", () => {
        const p = plan(broken(emptyVault));
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual([
            "REPLICAOF not done: refused, the vault is empty while the operational holds 12 keys: syncing would wipe what may be the only copy (--force overrides)",
        ]);
    });

    it("keeps the operational's persistence too while it may hold the only copy, and puts it back with --force", () => {
        const withSavePoints = (o: EnvironmentObservation) => {
            emptyVault(o);
            o.operational!.config!.save = "3600 1";
        };
        const p = plan(broken(withSavePoints));
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual([
            "save stays as it is: the vault is empty while the operational holds 12 keys: syncing would wipe what may be the only copy, and its persistence keeps that copy across a restart",
            "REPLICAOF not done: refused, the vault is empty while the operational holds 12 keys: syncing would wipe what may be the only copy (--force overrides)",
        ]);
        expect(plan(broken(withSavePoints), true).actions.map((a) => a.command)).toEqual([
            ["CONFIG", "SET", "save", ""],
            ["REPLICAOF", "nexus3-contact-vault", "6379"],
        ]);
    });

    it("proceeds with --force, and records the risk it overrode", () => {
        const p = plan(broken(emptyVault), true);
        expect(p.actions.map((a) => a.command[0])).toEqual(["REPLICAOF"]);
        expect(p.forced).toMatch(/the vault is empty while the operational holds 12 keys/);
    });

    it("refuses the restored credentials too: they would start the same sync", () => {
        const p = plan(
            broken((o) => {
                o.vault.keys = 0;
                o.operational!.config!.masterauth = "typo";
                o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }));
            }),
        );
        expect(p.actions).toEqual([]);
        expect(p.notFixed).toEqual([
            "CONFIG SET masterauth not done: refused, the vault is empty while the operational holds 12 keys: syncing would wipe what may be the only copy (--force overrides)",
        ]);
    });

    it.each<[string, Record<string, string>, Record<string, string>, number, number, RegExp | undefined]>([
        ["a replica of the vault's current history", { master_replid: VAULT_REPLID }, { master_replid: VAULT_REPLID }, 10, 12, undefined],
        [
            "an operational promoted by REPLICAOF NO ONE (the vault's id kept as its replid2)",
            { master_replid: PROMOTED_REPLID, master_replid2: VAULT_REPLID },
            { master_replid: VAULT_REPLID },
            10,
            12,
            undefined,
        ],
        [
            "a vault that was itself switched (its old id as replid2)",
            { master_replid: VAULT_REPLID },
            { master_replid: OTHER_REPLID, master_replid2: VAULT_REPLID },
            10,
            12,
            undefined,
        ],
        ["an empty operational, whatever the vault", { master_replid: PROMOTED_REPLID }, { master_replid: OTHER_REPLID }, 0, 0, undefined],
        [
            "a vault whose id is none the operational followed",
            { master_replid: PROMOTED_REPLID, master_replid2: VAULT_REPLID },
            { master_replid: OTHER_REPLID },
            10,
            12,
            /the vault's replication id \(524a51f6\) is not one the operational followed \(8f43ed9e, fc19e59b\): .* would replace the operational's 10 keys with the vault's 12 keys/,
        ],
        [
            "an empty vault",
            { master_replid: VAULT_REPLID },
            { master_replid: VAULT_REPLID },
            3,
            0,
            /the vault is empty while the operational holds 3 keys/,
        ],
    ])("with %s, judges re-syncing safe or names the risk", (_what, operationalIds, vaultIds, operationalKeys, vaultKeys, expected) => {
        const ids = (fields: Record<string, string>) => ({ master_replid2: "0000000000000000000000000000000000000000", ...fields });
        const risk = resyncRisk(
            { info: { ...parseInfo(vaultInfoText(1)), ...ids(vaultIds) }, keys: vaultKeys },
            { info: { ...parseInfo(replicaInfoText()), ...ids(operationalIds) }, keys: operationalKeys },
        );
        if (expected === undefined) expect(risk).toBeUndefined();
        else expect(risk).toMatch(expected);
    });
});

describe("waiting for the link after a repair", () => {
    let fake: FakeRedis;
    let resyncedAt = 0;
    let answeredUp = false;

    beforeAll(async () => {
        // An operational whose full sync takes 700 ms after REPLICAOF: far more than --timeout.
        fake = await new FakeRedis((command) => {
            const name = command[0].toUpperCase();
            if (name === "AUTH" || name === "REPLICAOF") {
                if (name === "REPLICAOF") resyncedAt = Date.now();
                return { status: "OK" };
            }
            if (name === "INFO") {
                const up = resyncedAt > 0 && Date.now() - resyncedAt >= 700;
                answeredUp ||= up;
                return replicaInfoText({ master_link_status: up ? "up" : "down", master_sync_in_progress: up ? "0" : "1" });
            }
            return { error: `ERR unknown command '${command[0]}'` };
        }).start();
    });

    afterAll(() => fake.stop());

    it("is bounded by --sync-timeout, not by the (much shorter) --timeout of one conversation", async () => {
        const env = { ...contact, operational: { ...contact.operational, port: fake.port } };
        const fix = plan(broken(promoted));
        expect(fix.actions.some((a) => a.resyncs)).toBe(true);
        const result = await applyFix(env, fix, { timeoutMs: 200, syncTimeoutMs: 5000 });
        expect(result).toEqual({ changes: ["REPLICAOF nexus3-contact-vault 6379 (was NO ONE)"], failures: [] });
        expect(answeredUp).toBe(true);
        expect(Date.now() - resyncedAt).toBeGreaterThanOrEqual(700);
    });

    it("has a default of 60 s, given in the help", () => {
        expect(DEFAULT_SYNC_TIMEOUT_MS).toBe(60_000);
        expect(HELP).toMatch(/--sync-timeout MS check --fix: .*\n.*default 60000\)/);
    });
});
