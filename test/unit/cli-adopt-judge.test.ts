/**
 * `nexus-redis adopt`'s judgement of each environment it finds, on plain data: one it can take
 * over (its data in place, its password, its table item, the notes on what changes), one it
 * skips (no containers, already managed), and each refusal, naming the environment and what to
 * do, alone and across the fleet (networks, a stack that already runs environments). The live
 * suite (test/live/adopt-refusals.test.ts) runs refusals against real containers.
 */
import { describe, expect, it } from "vitest";
import { judgeFleet } from "../../cli/adopt/plan";
import { candidates } from "../../cli/adopt/candidates";
import type { Findings } from "../../cli/adopt/findings";
import { type EnvironmentPlan, judgeEnvironment } from "../../cli/adopt/judge";
import { newVaultSettings, persistenceChange } from "../../cli/adopt/settings";
import { PASSWORD, contact, context, operationalContainer, vaultContainer, view, withRedis } from "./cliAdoptSamples";

describe("an environment adopt can take over", () => {
    it("is adopted with its volume in place, its password and its table item", () => {
        const plan = judgeEnvironment(contact(), context());
        expect(plan.status).toBe("adopt");
        expect(plan.reasons).toEqual([]);
        expect(plan).toMatchObject({
            item: "contact",
            vaultData: "nexus3-contact-vault-data",
            password: PASSWORD,
            vault: {
                container: "nexus3-contact-vault",
                endpoint: "127.0.0.1:6630",
                newEndpoint: "127.0.0.1:6630",
                network: "nexus-storage-network",
                keys: 100_000,
            },
            operational: { container: "nexus3-contact-operational", endpoint: "127.0.0.1:6631" },
        });
        // What the new vault declares comes from vaultSettings() (the persistence note's wording is tested in cli-adopt-settings).
        expect(plan.notes).toEqual([
            persistenceChange(contact().vaultRedis!.config!, newVaultSettings(0)),
            "AOF is off: it is turned on while the vault runs (CONFIG SET appendonly yes), and the rewrite waited for",
        ]);
        expect(plan.notes[0]).toMatch(/^the new vault's persistence differs from the old one's: .*appendonly no → yes/);
    });

    it("says that a host folder is bind-mounted and chowned to uid 999 by the image's entrypoint", () => {
        const f = contact({
            vault: vaultContainer({ mounts: [{ type: "bind", source: "/srv/contact", destination: "/data", declared: true }] }),
            folderOwner: 0,
        });
        const plan = judgeEnvironment(f, context());
        expect(plan.status).toBe("adopt");
        expect(plan.vaultData).toBe("/srv/contact");
        expect(plan.notes).toContain(
            "host folder /srv/contact is bind-mounted at /data; the vault's start script gives its files to the redis user (uid 999) as the vault starts (owned by uid 0 now)",
        );
    });

    it("uses an anonymous volume under its ID, and says it is never removed", () => {
        const id = "c".repeat(64);
        const plan = judgeEnvironment(
            contact({
                vault: vaultContainer({ mounts: [{ type: "volume", name: id, source: "/x", destination: "/data", declared: false }] }),
            }),
            context(),
        );
        expect(plan.vaultData).toBe(id);
        expect(plan.notes).toContain(
            `anonymous volume ${id} (the image's VOLUME /data) is used in place under its ID; it is never removed`,
        );
    });

    it("lists the settings that differ but change nothing clients see, and how the new vault's persistence differs", () => {
        const plan = judgeEnvironment(withRedis(contact(), {}, { timeout: "300", save: "" }), context());
        expect(plan.status).toBe("adopt");
        expect(plan.notes).toContain(
            "differs, harmless (connections: when idle or slow clients are dropped, and when a long script makes others wait (the published port is the program's)): timeout 300 → 0",
        );
        const declared = newVaultSettings(0);
        expect(plan.notes).toContain(persistenceChange({ ...contact().vaultRedis!.config!, timeout: "300", save: "" }, declared));
        if (declared.save !== "")
            expect(plan.notes.join("\n")).toContain("the new vault's persistence differs from the old one's: save '' →");
    });

    it("sets save points before the stop when the vault has none, so that the old container would still find every key", () => {
        const plan = judgeEnvironment(withRedis(contact(), {}, { save: "" }), context());
        expect(plan.status).toBe("adopt");
        expect(plan.vault?.setSavePoints).toBe(true);
        expect(plan.notes.join("\n")).toContain("save points are off");
    });

    it("takes a vault whose password came from --passwords, with the other passwords given there", () => {
        const f = contact({
            vault: vaultContainer({ command: ["redis-server", "/etc/redis.conf"] }),
            password: { value: PASSWORD, source: "--passwords" },
            extraPasswords: { backup: "b-1" },
        });
        const plan = judgeEnvironment(f, context());
        expect(plan.status).toBe("adopt");
        expect(plan.extraPasswords).toEqual({ backup: "b-1" });
    });

    it("keeps the stack's own item for it, and publishes where the item says", () => {
        const v = view({ environments: '["contact=6632/6633"]' });
        const f = contact(
            {
                vault: vaultContainer({ bindings: [{ hostIp: "127.0.0.1", hostPort: 6632 }] }),
                operational: operationalContainer({ bindings: [{ hostIp: "127.0.0.1", hostPort: 6633 }] }),
            },
            v,
        );
        const plan = judgeEnvironment(f, context(v));
        expect(plan.status).toBe("adopt");
        expect(plan.item).toBe("contact=6632/6633");
    });
});

describe("adopt skips", () => {
    it("an environment with no containers", () => {
        const plan = judgeEnvironment(contact({ vault: undefined, operational: undefined }), context());
        expect(plan).toMatchObject({ status: "skipped", reasons: ["no container nexus3-contact-vault"] });
    });

    it("an environment the program already manages", () => {
        const plan = judgeEnvironment(
            contact({ vault: vaultContainer({ managed: true }), operational: operationalContainer({ managed: true }) }),
            context(),
        );
        expect(plan).toMatchObject({ status: "skipped", reasons: ["nexus3-contact-vault is already managed by nexus-redis"] });
    });
});

const REFUSALS: [string, (f: Findings) => Findings, RegExp][] = [
    [
        "no container, but asked for with --env",
        (f) => ({ ...f, vault: undefined, operational: undefined }),
        /no container nexus3-contact-vault on this Docker host/,
    ],
    [
        "an operational without its vault",
        (f) => ({ ...f, vault: undefined }),
        /nexus3-contact-operational exists but nexus3-contact-vault does not/,
    ],
    [
        "a vault that is not running",
        (f) => ({ ...f, vault: vaultContainer({ state: "exited" }) }),
        /nexus3-contact-vault is exited, not running: start it/,
    ],
    [
        "an unknown password",
        (f) => ({ ...f, password: undefined, vault: vaultContainer({ command: ["redis-server", "/etc/redis.conf"] }) }),
        /contact's vault password is unknown: nexus3-contact-vault has no --requirepass on its command line; give it with --passwords FILE/,
    ],
    [
        "a wrong password",
        (f) => ({ ...f, vaultRedis: { failure: { kind: "auth", message: "rejected the password" } } }),
        /nexus3-contact-vault rejected the password from its command line/,
    ],
    [
        "a vault that does not answer",
        (f) => ({
            ...f,
            vaultRedis: { failure: { kind: "unreachable", message: "accepted the connection but did not answer AUTH within 3000 ms" } },
        }),
        /nexus3-contact-vault is not answering \(accepted the connection but did not answer AUTH within 3000 ms\)/,
    ],
    [
        "a container that is not Redis",
        (f) => ({
            ...f,
            vaultRedis: {
                failure: { kind: "not-redis", message: 'AUTH failed: not a Redis reply: unexpected reply type byte 0x48 ("H")' },
            },
        }),
        /nexus3-contact-vault is not Redis/,
    ],
    [
        "data in the writable layer",
        (f) => ({ ...f, vault: vaultContainer({ mounts: [] }) }),
        /contact's data cannot be used in place: nothing is mounted at \/data: the data is in the container's writable layer\. Move it to a host folder first/,
    ],
    [
        "a host folder the program cannot bind-mount",
        (f) => ({
            ...f,
            vault: vaultContainer({ mounts: [{ type: "bind", source: "/srv/my data", destination: "/data", declared: true }] }),
        }),
        /host folder \/srv\/my data, whose name the program cannot bind-mount/,
    ],
    [
        "a full sync in progress on the vault",
        (f) => withRedis(f, { slave0: "ip=10.0.4.3,port=6379,state=wait_bgsave,offset=0,lag=0" }),
        /a full sync is in progress \(slave0 wait_bgsave\)/,
    ],
    [
        "a full sync in progress on the operational",
        (f) => ({ ...f, operationalRedis: { info: { role: "slave", master_sync_in_progress: "1" } } }),
        /a full sync is in progress \(nexus3-contact-operational master_sync_in_progress:1\)/,
    ],
    ["a vault still loading", (f) => withRedis(f, { loading: "1" }), /still loading its data/],
    [
        "a vault that is a replica",
        (f) => withRedis(f, { role: "slave", master_host: "10.0.4.7", master_port: "6379" }),
        /is a replica \(role:slave\), not a vault: it follows 10\.0\.4\.7:6379/,
    ],
    [
        "ACL users besides default",
        (f) => withRedis(f, {}, {}, ["default", "mcp"]),
        /has ACL users mcp, which the adopted vault would not have/,
    ],
    ["a non-default dbfilename", (f) => withRedis(f, {}, { dbfilename: "data.rdb" }), /has dbfilename data\.rdb, not dump\.rdb/],
    [
        "a setting whose data would not load (databases above the declared, a key in db 20)",
        (f) => ({
            ...withRedis(f, {}, { databases: "32" }),
            vaultRedis: { ...withRedis(f, {}, { databases: "32" }).vaultRedis, keyspace: { 20: { keys: 1, expires: 0 } } },
        }),
        /nexus3-contact-vault has databases 32; the program declares 16 .*db20 holds 1 key/,
    ],
    [
        "a setting whose clients would see another behaviour (keyspace notifications)",
        (f) => withRedis(f, {}, { "notify-keyspace-events": "AKE" }),
        /publishes keyspace notifications \(notify-keyspace-events AKE\)/,
    ],
    [
        "a module",
        (f) => ({ ...f, vaultRedis: { ...f.vaultRedis, modules: [{ name: "bf" }] } }),
        /loads module bf; the program's vault loads none/,
    ],
    [
        "CONFIG refused (renamed)",
        (f) => ({ ...f, vaultRedis: { ...f.vaultRedis, config: undefined, configFailure: "ERR unknown command 'CONFIG'" } }),
        /nexus3-contact-vault refused CONFIG GET \(ERR unknown command 'CONFIG'\): adopt reads every setting/,
    ],
    ["a non-default appenddirname", (f) => withRedis(f, {}, { appenddirname: "aof" }), /has appenddirname aof, not appendonlydir/],
    [
        "a non-default appendfilename",
        (f) => withRedis(f, {}, { appendfilename: "redis.aof" }),
        /has appendfilename redis\.aof, not appendonly\.aof/,
    ],
    [
        "a newer Redis than the image's",
        (f) => withRedis(f, { redis_version: "7.4.1" }),
        /runs Redis 7\.4\.1, newer than the stack's image redis:7\.2 \(Redis 7\.2\.4\): its data may not load there/,
    ],
    [
        "other ports",
        (f) => ({
            ...f,
            vault: vaultContainer({ bindings: [{ hostIp: "127.0.0.1", hostPort: 6632 }] }),
            operational: operationalContainer({ bindings: [{ hostIp: "127.0.0.1", hostPort: 6633 }] }),
        }),
        /contact's vault publishes 127\.0\.0\.1:6632, its operational publishes 127\.0\.0\.1:6633, where the stack would publish 127\.0\.0\.1:6630 and 127\.0\.0\.1:6631: clients would not find them\. The environments item contact=6632\/6633 keeps the ports: pulumi config set --path 'environments\[0\]' contact=6632\/6633/,
    ],
    [
        "every interface where the stack publishes on loopback",
        (f) => ({
            ...f,
            vault: vaultContainer({ bindings: [{ hostIp: "", hostPort: 6630 }] }),
            operational: operationalContainer({ bindings: [{ hostIp: "", hostPort: 6631 }] }),
        }),
        /publishes 0\.0\.0\.0:6630.*BindAddress 0\.0\.0\.0 keeps the address: pulumi config set bindAddress 0\.0\.0\.0 \(every interface: the operational reads without a password\)/,
    ],
    [
        "a vault on two networks",
        (f) => ({ ...f, vault: vaultContainer({ networks: { "nexus-storage-network": "10.0.4.2", bridge: "172.17.0.5" } }) }),
        /attached to 2 networks \(nexus-storage-network, bridge\): the program attaches one/,
    ],
    ["a stack that says the data is elsewhere", (f) => f, /the stack's vaultData says contact's data is other-volume/],
    ["a stack that holds another password", (f) => f, /the stack's passwords holds another vault password for contact/],
    [
        "a password the config cannot hold",
        (f) => ({ ...f, password: { value: "two words", source: "--passwords" } }),
        /holds spaces or control characters/,
    ],
];

describe("adopt refuses, naming the environment and what to do", () => {
    it.each(REFUSALS)("%s", (what, change, message) => {
        const v =
            what === "a stack that says the data is elsewhere"
                ? view({ vaultData: '{"contact":"other-volume"}' })
                : what === "a stack that holds another password"
                  ? view({ passwords: '{"contact":{"vault":"older"}}' })
                  : view();
        const ctx = { ...context(v), requested: new Set(["contact"]) };
        const plan = judgeEnvironment(change(contact({}, v)), ctx);
        expect(plan.status).toBe("refused");
        expect(plan.reasons.join("\n")).toMatch(message);
    });

    it("refuses a secure environment that has an operational", () => {
        const v = view();
        const f: Findings = { ...contact({}, v), candidate: candidates(v).find((c) => c.name === "user")! };
        const plan = judgeEnvironment(f, context(v));
        expect(plan.reasons.join("\n")).toMatch(/nexus3-user-operational exists, but user is a secure environment/);
    });

    it("refuses every environment when their vaults are on different networks", () => {
        const a = judgeEnvironment(contact(), context());
        const b: EnvironmentPlan = {
            ...judgeEnvironment(contact(), context()),
            name: "kb",
            vault: { ...a.vault!, network: "other-network" },
        };
        const plans = judgeFleet([a, b], view(), []);
        for (const p of plans) {
            expect(p.status).toBe("refused");
            expect(p.reasons.join("\n")).toMatch(
                /the vaults are on different networks \(contact: nexus-storage-network, kb: other-network\)/,
            );
        }
    });

    it("refuses to shrink a stack that deploys the whole table and already runs environments", () => {
        const plans = judgeFleet([judgeEnvironment(contact(), context())], view(), ["kb", "user"]);
        expect(plans[0].status).toBe("refused");
        expect(plans[0].reasons.join("\n")).toMatch(
            /environments is \[\] \(the whole table\) and it already runs kb, user: list them first/,
        );
    });

    it("refuses to move a stack that already runs environments to the vaults' network", () => {
        const v = view({ environments: '["kb"]', network: "staging-net" });
        const plans = judgeFleet([judgeEnvironment(contact({}, v), context(v))], v, ["kb"]);
        expect(plans[0].reasons.join("\n")).toMatch(
            /the vaults are on nexus-storage-network, but the stack's network is staging-net, where it already runs kb/,
        );
    });
});
