/**
 * Password rotation under a steady writer, as an operator does it: `nexus-redis rotate`
 * (the overlap opened on the running server, the new value into the stack's config), the
 * writer switches to the new password at once, then `pulumi up` (here: the plan with that
 * config, applied by the harness as pulumi up would). No write the vault acknowledged is
 * lost, the switched writer never sees an authentication error, the old password stops
 * working, and the operational ends linked and equal to its vault.
 */
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import { observeEnvironment } from "../../cli/health/observe";
import type { EnvironmentsOutput } from "../../cli/fleet/environment";
import { type LiveFleet, dockerAvailable, missingKeys, startLiveFleet, waitFor } from "../../harness/fleet";
import { rotateWithStandIn } from "../../harness/rotation";

const live = dockerAvailable();
const ENV = "contact";
let fleet: LiveFleet;

beforeAll(async () => {
    if (live) fleet = await startLiveFleet({ environments: [ENV] });
});
afterAll(async () => {
    await fleet?.destroy();
});

/** Whether `user`/`password` logs in on a container of the fleet, on a fresh connection. */
async function logsIn(role: "vault" | "operational", user: string, password: string): Promise<boolean> {
    const endpoint = role === "vault" ? fleet.outputs[ENV].vault : fleet.outputs[ENV].operational!;
    // RESP2, so no HELLO comes before AUTH (a vault refuses HELLO until then); AUTH is the one
    // command every user may run (the replication and backup users may not even PING).
    const client = new Redis({
        host: endpoint.host,
        port: endpoint.port,
        protocol: 2,
        lazyConnect: true,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
    });
    client.on("error", () => undefined);
    try {
        await client.connect();
        return (await client.call("AUTH", user, password)) === "OK";
    } catch {
        return false;
    } finally {
        client.disconnect();
    }
}

/**
 * A client writing to the vault every few milliseconds, each write on a fresh connection with
 * the password of the moment. It records every acknowledged write, and every authentication
 * error after `switchTo` (a client that switched at the documented moment must never see one).
 */
function steadyWriter(prefix: string) {
    let password = fleet.outputs[ENV].vault.password;
    let switched = false;
    let running = true;
    const acked: string[] = [];
    const authErrorsAfterSwitch: string[] = [];
    const { host, port } = fleet.outputs[ENV].vault;
    const loop = (async () => {
        for (let i = 0; running; i++) {
            // Configured with the password of the moment, as a client is: it logs in as it connects.
            const client = new Redis({
                host,
                port,
                password,
                lazyConnect: true,
                enableReadyCheck: false,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
            });
            client.on("error", () => undefined);
            const key = `${prefix}:${i}`;
            try {
                await client.connect();
                if ((await client.set(key, String(i))) === "OK") acked.push(key);
            } catch (e) {
                if (switched && /WRONGPASS|NOAUTH/.test((e as Error).message)) authErrorsAfterSwitch.push((e as Error).message);
            } finally {
                client.disconnect();
            }
            await new Promise((r) => setTimeout(r, 5));
        }
    })();
    return {
        acked,
        authErrorsAfterSwitch,
        switchTo(next: string) {
            password = next;
            switched = true;
        },
        async stop() {
            running = false;
            await loop;
        },
    };
}

/**
 * A reader of the operational, as the MCP servers read: one connection, GET of a key the vault
 * wrote before, over and over. It counts the answers with the value, the empty answers (an
 * operational that lost its data, or a new one not synced yet) and the errors (-LOADING, or a
 * connection refused while a container is replaced).
 */
function steadyReader(key: string, value: string) {
    const counts = { value: 0, empty: 0, errors: 0 };
    let reading = true;
    const client = fleet.client(ENV, "operational", "none", {
        retryStrategy: () => 50,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
    });
    const loop = (async () => {
        while (reading) {
            try {
                const got = await client.get(key);
                if (got === value) counts.value++;
                else counts.empty++;
            } catch {
                counts.errors++;
                await new Promise((r) => setTimeout(r, 20));
            }
        }
    })();
    return {
        counts,
        async stop() {
            reading = false;
            await loop;
        },
    };
}

async function healthy(outputs: EnvironmentsOutput): Promise<string[]> {
    const observation = await observeEnvironment(outputs[ENV], 3000);
    return diagnose(outputs[ENV], observation, diagnosisContext(outputs)).problems.map((p) => p.message);
}

describe.skipIf(!live)("rotating a password under a steady writer", () => {
    it.each([
        ["vault", "default", "vault", ["contact-vault"]],
        ["replication", "replicator", "vault", ["contact-vault", "contact-operational"]],
        ["backup", "backup", "vault", ["contact-vault"]],
        ["operationalAdmin", "admin", "operational", ["contact-operational"]],
    ] as const)(
        "%s: both passwords work after rotate, only the new one after pulumi up, nothing lost",
        async (role, user, server, replaced) => {
            const writer = steadyWriter(`w-${role}`);
            await waitFor("the writer's first writes", async () => (writer.acked.length >= 20 ? true : undefined));
            const outputs = fleet.outputs[ENV] as unknown as EnvironmentsOutput[string];
            const old =
                role === "vault"
                    ? fleet.outputs[ENV].vault.password
                    : role === "backup"
                      ? fleet.outputs[ENV].backup.password
                      : role === "replication"
                        ? fleet.outputs[ENV].replication!.password
                        : fleet.outputs[ENV].operational!.adminPassword;
            const fresh = `New-${role}-${Date.now().toString(36)}`;

            const earlier = JSON.parse(fleet.config.secrets.passwords ?? "{}");
            const rotated = await rotateWithStandIn(fleet, ENV, role, fresh);
            expect(rotated.stderr).toContain("accepts the old and the new");
            expect(rotated.code).toBe(0);
            // The stack's whole passwords config: the earlier rotations' passwords kept, this one added.
            expect(JSON.parse(rotated.config)).toEqual({ [ENV]: { ...earlier[ENV], [role]: fresh } });
            expect(await logsIn(server, user, old)).toBe(true);
            expect(await logsIn(server, user, fresh)).toBe(true);
            // check sees the open rotation for what it is.
            expect((await healthy({ [ENV]: outputs })).join("; ")).toContain("a rotation is open (`pulumi up` finishes it)");

            // The documented moment: clients switch now, before pulumi up.
            if (role === "vault") writer.switchTo(fresh);
            await new Promise((r) => setTimeout(r, 300));

            // pulumi up with the stack's new config.
            const untouched = (["vault", "operational"] as const).filter((r) => !(replaced as readonly string[]).includes(`${ENV}-${r}`));
            const ids = async () =>
                Object.fromEntries(await Promise.all(untouched.map(async (r) => [r, (await fleet.container(ENV, r).inspect()).Id])));
            const idsBefore = await ids();
            const seed = `seed-${role}`;
            await fleet.cli(ENV, "vault", ["SET", seed, role]);
            await waitFor("the seed on the operational", async () =>
                (await fleet.client(ENV, "operational").get(seed)) === role ? true : undefined,
            );
            const reader = steadyReader(seed, role);
            const result = await fleet.up({ secrets: { passwords: rotated.config } });
            await reader.stop();
            expect(result.replaced.sort()).toEqual([...replaced].sort());
            expect([...result.created, ...result.updated]).toEqual([]);
            // The generated password the config now gives goes from the state, and nothing else.
            expect(result.deleted.every((name) => name.endsWith("-password"))).toBe(true);
            // What is not replaced is the same container, never stopped.
            expect(await ids()).toEqual(idsBefore);
            if (!(replaced as readonly string[]).includes(`${ENV}-operational`)) {
                // The operational kept its data and served it while its vault was replaced: it
                // never answered empty (after the vault's restart it re-syncs, in full: Redis
                // gives a vault restarted from its AOF a new replication ID).
                expect(reader.counts.value).toBeGreaterThan(0);
                expect(reader.counts.empty).toBe(0);
            }
            await waitFor(
                "writes acknowledged after the restart",
                async () => {
                    const before = writer.acked.length;
                    await new Promise((r) => setTimeout(r, 300));
                    return writer.acked.length > before + 5 ? true : undefined;
                },
                60_000,
            );
            await writer.stop();

            expect(await logsIn(server, user, fresh)).toBe(true);
            expect(await logsIn(server, user, old)).toBe(false);
            expect(writer.authErrorsAfterSwitch).toEqual([]);
            // Every write the vault acknowledged is there, on the vault and on its operational.
            const vault = fleet.client(ENV, "vault", "password");
            expect(await missingKeys(vault, writer.acked)).toEqual([]);
            await waitFor(
                "the operational healthy",
                async () => ((await healthy(fleet.outputs as unknown as EnvironmentsOutput)).length === 0 ? true : undefined),
                60_000,
            );
            await waitFor("the operational equal to its vault", async () =>
                (await fleet.digest(ENV, "operational")) === (await fleet.digest(ENV, "vault")) ? true : undefined,
            );
        },
    );
});
