/**
 * How many round trips a check costs: each server is asked everything at once. Counted on
 * a fake server, which records the commands that arrived together before any reply. And
 * when the Docker engine is asked: only once a server did not answer.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeEnvironment } from "../../cli/health/observe";
import type { ContainerSource } from "../../cli/core/io";
import { contact, contactServer } from "./cli-samples";

describe("round trips of one environment's check", () => {
    const vault = contactServer("vault");
    const operational = contactServer("operational");

    beforeAll(async () => {
        await Promise.all([vault.start(), operational.start()]);
    });
    afterAll(async () => {
        await Promise.all([vault.stop(), operational.stop()]);
    });

    it("is one per server: every command is sent before the first reply is read", async () => {
        const env = {
            ...contact,
            vault: { ...contact.vault, port: vault.port },
            operational: { ...contact.operational, port: operational.port },
        };
        const observation = await observeEnvironment(env, 2000);
        expect(observation.vault.failure).toBeUndefined();
        expect(observation.operational?.failure).toBeUndefined();
        expect(observation.vault.info?.aof_last_write_status).toBe("ok");
        expect(observation.operational?.config?.masterauth).toBe(contact.replication.password);

        expect(vault.batches.map((b) => b.map((c) => c.slice(0, 2).join(" ")))).toEqual([
            [
                "AUTH vault-secret-pw",
                "INFO replication",
                "CONFIG GET",
                "DBSIZE",
                "CLIENT LIST",
                "ACL USERS",
                "ACL GETUSER",
                "ACL GETUSER",
                "ACL GETUSER",
            ],
        ]);
        // Replication, persistence, and what --prometheus reports (keys of every database, memory) in one INFO, on both servers.
        expect(vault.commands.find((c) => c[0] === "INFO")).toEqual(["INFO", "replication", "persistence", "keyspace", "memory"]);
        expect(operational.commands.find((c) => c[0] === "INFO")).toEqual(["INFO", "replication", "persistence", "keyspace", "memory"]);
        expect(operational.batches).toHaveLength(1);
        expect(operational.batches[0].map((c) => c.slice(0, 2).join(" "))).toEqual([
            "INFO replication",
            "DBSIZE",
            "AUTH admin",
            "CONFIG GET",
            "CLIENT LIST",
            "ACL USERS",
            "ACL GETUSER",
            "ACL GETUSER",
            ...Array(12).fill("ACL DRYRUN"),
        ]);
        expect(observation.operational?.readerMayRun).toEqual([]);
    });

    /** An engine that records what it is asked: every container runs, cut off its network. */
    function recordingEngine(): { asked: string[]; source: ContainerSource } {
        const asked: string[] = [];
        return {
            asked,
            source: {
                inspect: async (name) => {
                    asked.push(name);
                    return { exists: true, status: "running", exitCode: 0, oomKilled: false, networks: [] };
                },
            },
        };
    }

    it("asks the Docker engine nothing while every server answers", async () => {
        const engine = recordingEngine();
        const env = {
            ...contact,
            vault: { ...contact.vault, port: vault.port },
            operational: { ...contact.operational, port: operational.port },
            engine: engine.source,
        };
        const observation = await observeEnvironment(env, 2000);
        expect(observation.operational?.failure).toBeUndefined();
        expect(engine.asked).toEqual([]);
        expect(observation.containers).toBeUndefined();
    });

    it("asks the engine about both containers when a server refuses the connection", async () => {
        const engine = recordingEngine();
        const closed = await closedPort();
        const env = {
            ...contact,
            vault: { ...contact.vault, port: vault.port },
            operational: { ...contact.operational, port: closed },
            engine: engine.source,
        };
        const observation = await observeEnvironment(env, 2000);
        expect(observation.operational?.failure?.kind).toBe("refused");
        expect(engine.asked.sort()).toEqual([contact.operational.container, contact.vault.container].sort());
        expect(observation.containers?.operational).toMatchObject({ status: "running", networks: [] });
    });
});

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return port;
}
