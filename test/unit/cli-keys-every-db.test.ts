/**
 * Whether re-syncing an operational can lose data is judged on the keys of every database,
 * from the wire up: an operational whose data is all in database 3 answers DBSIZE with 0 (it
 * counts database 0 alone), yet it may hold the only copy of a vault that lost its data.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resyncRisk } from "../../cli/health/resync";
import { observeEnvironment } from "../../cli/health/observe";
import { contact, contactServer } from "./cli-samples";

describe("the keys a re-sync would replace", () => {
    // Database 0 of both is empty (DBSIZE 0); the operational holds keys in databases 3 and 9.
    const vault = contactServer("vault", { keyspace: "", dbsize: 0 });
    const operational = contactServer("operational", {
        keyspace: "db3:keys=5,expires=0,avg_ttl=0\r\ndb9:keys=2,expires=1,avg_ttl=100\r\n",
        dbsize: 0,
    });

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
