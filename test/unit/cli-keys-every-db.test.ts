/**
 * Whether re-syncing an operational can lose data is judged on the keys of every database,
 * from the wire up: an operational whose data is all in database 3 answers DBSIZE with 0 (it
 * counts database 0 alone), yet it may hold the only copy of a vault that lost its data.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declaredOperationalSettings, declaredVaultSettings, resyncRisk } from "../../cli/diagnose";
import { observeEnvironment } from "../../cli/observe";
import { FakeRedis, type Reply } from "./cli-fake-redis";
import { contact, replicaInfoText, vaultInfoText } from "./cli-samples";

/** A server whose database 0 is empty (DBSIZE 0) and whose INFO keyspace lists `keyspace`. */
function server(role: "vault" | "operational", keyspace: string): FakeRedis {
    const settings = role === "vault" ? declaredVaultSettings() : declaredOperationalSettings(contact.vault.container);
    return new FakeRedis((command): Reply => {
        const [name, sub] = [command[0].toUpperCase(), command[1]?.toUpperCase()];
        if (name === "AUTH") return { status: "OK" };
        if (name === "INFO") return `${role === "vault" ? vaultInfoText(1) : replicaInfoText()}# Keyspace\r\n${keyspace}`;
        if (name === "CONFIG" && sub === "GET") return command.slice(2).flatMap((n) => [n, settings[n] ?? contact.replication.password]);
        if (name === "DBSIZE") return 0;
        if (name === "CLIENT") return "";
        if (name === "ACL" && sub === "USERS") return role === "vault" ? ["default", "replicator"] : ["admin", "default"];
        if (name === "ACL" && sub === "DRYRUN") return `This user has no permissions to run the '${command[3]}' command`;
        if (name === "ACL" && sub === "GETUSER")
            return ["flags", ["on"], "passwords", [], "commands", "+@all", "keys", "~*", "channels", "&*", "selectors", []];
        return { error: `ERR unknown command '${command[0]}'` };
    });
}

describe("the keys a re-sync would replace", () => {
    const vault = server("vault", "");
    const operational = server("operational", "db3:keys=5,expires=0,avg_ttl=0\r\ndb9:keys=2,expires=1,avg_ttl=100\r\n");

    beforeAll(async () => {
        await Promise.all([vault.start(), operational.start()]);
    });
    afterAll(async () => {
        await Promise.all([vault.stop(), operational.stop()]);
    });

    it("are counted in every database, and an empty vault is then refused as the source of a re-sync", async () => {
        const env = {
            ...contact,
            vault: { ...contact.vault, port: vault.port },
            operational: { ...contact.operational, port: operational.port },
        };
        const observation = await observeEnvironment(env, 2000);
        expect(observation.operational?.keys).toBe(7);
        expect(observation.vault.keys).toBe(0);
        expect(resyncRisk(observation.vault, observation.operational!)).toMatch(
            /the vault is empty while the operational holds 7 keys: syncing would wipe what may be the only copy/,
        );
    });
});
