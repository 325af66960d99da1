/**
 * `nexus-redis adopt`'s decisions on plain data: what it reads from the stack's config, each
 * refusal, the exact Pulumi commands (config get/set, preview, up) and how to undo them. The
 * live suite (test/live/adopt.test.ts) takes a real hand-built fleet over.
 */
import * as net from "node:net";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { readPasswordsFile } from "../../cli/adopt/adopt";
import { configGetCommand, configSetCommand, previewCommand, printable, upCommand } from "../../cli/core/pulumi";
import { projectDefaults } from "../../cli/core/pulumiProject";
import { asideName, configSteps, judgeFleet } from "../../cli/adopt/plan";
import { AdoptError, type StackView, stackView } from "../../cli/adopt/stack";
import { candidates } from "../../cli/adopt/candidates";
import {
    type ContainerFacts,
    type Findings,
    compareVersions,
    dataSource,
    parseRedisServerVersion,
    passwordFromCommand,
} from "../../cli/adopt/findings";
import { type EnvironmentPlan, judgeEnvironment } from "../../cli/adopt/judge";
import { type AdoptReport, renderJson, renderTable } from "../../cli/adopt/report";
import { newVaultSettings, persistenceChange } from "../../cli/adopt/settings";
import { type Journal, readyingArgs, replicationCommands, rollbackText, undoCommands, undoPlan } from "../../cli/adopt/rollback";
import { aofSettled } from "../../cli/redis/replies";
import { askVault, containerFacts } from "../../cli/adopt/discover";
import { WriteProbe } from "../../cli/adopt/probes";
import { unfinishedPlan } from "../../cli/adopt/unfinished";
import { HELP, main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { FakeRedis } from "./cli-fake-redis";

const ROOT = path.resolve(__dirname, "../..");
const PASSWORD = "contact-Secret-42";

/** The dev stack before adopt: nothing set but Pulumi.dev.yaml's two keys. */
function view(stack: Record<string, string> = {}): StackView {
    return stackView({ createNetwork: "true", bindAddress: "127.0.0.1", ...stack }, projectDefaults(ROOT));
}

function vaultContainer(over: Partial<ContainerFacts> = {}): ContainerFacts {
    return {
        name: "nexus3-contact-vault",
        state: "running",
        managed: false,
        image: "redis:7.2",
        command: ["docker-entrypoint.sh", "redis-server", "--requirepass", PASSWORD],
        bindings: [{ hostIp: "127.0.0.1", hostPort: 6630 }],
        networks: { "nexus-storage-network": "10.0.4.2" },
        mounts: [
            {
                type: "volume",
                name: "nexus3-contact-vault-data",
                source: "/var/lib/docker/volumes/nexus3-contact-vault-data/_data",
                destination: "/data",
                declared: true,
            },
        ],
        ...over,
    };
}

function operationalContainer(over: Partial<ContainerFacts> = {}): ContainerFacts {
    return vaultContainer({
        name: "nexus3-contact-operational",
        command: ["docker-entrypoint.sh", "redis-server"],
        bindings: [{ hostIp: "127.0.0.1", hostPort: 6631 }],
        networks: { "nexus-storage-network": "10.0.4.3" },
        mounts: [{ type: "volume", name: "a".repeat(64), source: "/x", destination: "/data", declared: false }],
        ...over,
    });
}

/** contact as the protocol's operators built it: healthy, 100k keys, default persistence. */
function contact(over: Partial<Findings> = {}, v: StackView = view()): Findings {
    return {
        candidate: candidates(v).find((c) => c.name === "contact")!,
        vault: vaultContainer(),
        operational: operationalContainer(),
        password: { value: PASSWORD, source: "its command line" },
        vaultRedis: {
            info: {
                redis_version: "7.2.4",
                role: "master",
                loading: "0",
                connected_slaves: "1",
                slave0: "ip=10.0.4.3,port=6379,state=online,offset=98,lag=0",
            },
            config: {
                dir: "/data",
                dbfilename: "dump.rdb",
                appendonly: "no",
                appenddirname: "appendonlydir",
                appendfilename: "appendonly.aof",
                save: "3600 1 300 100 60 10000",
            },
            users: ["default"],
            keyspace: { 0: { keys: 100_000, expires: 0 } },
        },
        operationalRedis: { info: { role: "slave", master_link_status: "up", master_sync_in_progress: "0" } },
        ...over,
    };
}

const context = (v = view(), imageVersion = "7.2.4") => ({ view: v, imageVersion, requested: new Set<string>() });

function withRedis(f: Findings, info: Record<string, string> = {}, config: Record<string, string> = {}, users?: string[]): Findings {
    return {
        ...f,
        vaultRedis: {
            ...f.vaultRedis,
            info: { ...f.vaultRedis!.info, ...info },
            config: { ...f.vaultRedis!.config, ...config },
            ...(users ? { users } : {}),
        },
    };
}

describe("what adopt reads from the stack's configuration", () => {
    it("takes Pulumi.yaml's default for every key the stack does not set, and remembers which keys the stack sets", () => {
        const v = view();
        expect(v).toMatchObject({
            image: "redis:7.2",
            network: "nexus-storage-network",
            createNetwork: true,
            bindAddress: "127.0.0.1",
            containerPrefix: "nexus3",
            portOffset: 0,
            environments: [],
            passwords: {},
            vaultData: {},
        });
        expect([...v.setInStack].sort()).toEqual(["bindAddress", "createNetwork"]);
    });

    it("reads an environments list as Pulumi prints it (JSON), and the passwords secret decrypted", () => {
        const v = view({ environments: '["contact","kb=7000/7001"]', passwords: '{"contact":{"vault":"x"}}' });
        expect(v.environments).toEqual(["contact", "kb=7000/7001"]);
        expect(v.passwords).toEqual({ contact: { vault: "x" } });
    });

    it("refuses a malformed value, naming the key and never echoing the passwords", () => {
        let error: unknown;
        try {
            view({ passwords: '{"contact": {"vault": "hunter2"', portOffset: "ten" });
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(AdoptError);
        expect((error as AdoptError).exitCode).toBe(2);
        expect((error as Error).message).toContain("passwords is not valid JSON");
        expect((error as Error).message).toContain('portOffset is "ten", not an integer');
        expect((error as Error).message).not.toContain("hunter2");
    });

    it("looks for every environment of the table at its ports plus portOffset, and for the stack's own items at theirs", () => {
        const found = candidates(view({ portOffset: "1000", environments: '["kb=7000/7001","billing=7100/7101","vaultonly=7200"]' }));
        expect(found.find((c) => c.name === "contact")).toEqual({
            name: "contact",
            kind: "standard",
            vaultPort: 7630,
            operationalPort: 7631,
        });
        expect(found.find((c) => c.name === "kb")).toEqual({
            name: "kb",
            kind: "standard",
            vaultPort: 8000,
            operationalPort: 8001,
            item: "kb=7000/7001",
        });
        expect(found.find((c) => c.name === "billing")).toMatchObject({ kind: "standard", vaultPort: 8100, operationalPort: 8101 });
        expect(found.find((c) => c.name === "vaultonly")).toMatchObject({ kind: "secure", vaultPort: 8200 });
        expect(found.find((c) => c.name === "user")).toEqual({ name: "user", kind: "secure", vaultPort: 7610 });
        expect(found).toHaveLength(14);
    });
});

describe("what adopt reads from Docker and Redis", () => {
    it.each([
        [["docker-entrypoint.sh", "redis-server", "--requirepass", "pw1"], "pw1"],
        [["redis-server", "--appendonly", "no", "--requirepass", "pw2", "--save", ""], "pw2"],
        [["sh", "-c", "exec redis-server --requirepass 'pw 3' --port 6379"], "pw 3"],
        [["sh", "-c", "redis-server --requirepass pw4"], "pw4"],
        [["redis-server", "/etc/redis/redis.conf"], undefined],
        [["redis-server", "--user", "default", "on", ">pw5", "~*", "+@all"], undefined],
    ])("finds the password of %j: %s", (command, password) => {
        expect(passwordFromCommand(command)).toBe(password);
    });

    it.each([
        [
            "a named volume",
            [{ type: "volume", name: "v1", source: "/x", destination: "/data", declared: true }],
            "/data",
            { kind: "volume", name: "v1", anonymous: false },
        ],
        [
            "an anonymous volume",
            [{ type: "volume", name: "f".repeat(64), source: "/x", destination: "/data", declared: false }],
            "/data",
            { kind: "volume", name: "f".repeat(64), anonymous: true },
        ],
        [
            "a host folder",
            [{ type: "bind", source: "/srv/redis/", destination: "/data", declared: true }],
            "/data",
            { kind: "host", path: "/srv/redis" },
        ],
        [
            "a volume at another dir",
            [{ type: "volume", name: "v2", source: "/x", destination: "/var/lib/redis", declared: true }],
            "/var/lib/redis",
            { kind: "volume", name: "v2", anonymous: false },
        ],
    ] as const)("finds the data on %s", (_what, mounts, dir, expected) => {
        expect(dataSource([...mounts], dir)).toEqual(expected);
    });

    it.each([
        ["nothing mounted", [], "/data", /nothing is mounted at \/data: the data is in the container's writable layer/],
        [
            "a mount elsewhere only",
            [{ type: "volume", name: "v", source: "/x", destination: "/data", declared: true }],
            "/tmp",
            /nothing is mounted at \/tmp/,
        ],
        [
            "a subfolder of a mount",
            [{ type: "bind", source: "/srv", destination: "/srv", declared: true }],
            "/srv/redis",
            /subfolder of the bind mounted at \/srv/,
        ],
        [
            "a tmpfs",
            [{ type: "tmpfs", source: "", destination: "/data", declared: true }],
            "/data",
            /a tmpfs mount is at \/data: its data does not outlive the container/,
        ],
    ] as const)("finds no usable data with %s", (_what, mounts, dir, why) => {
        const found = dataSource([...mounts], dir);
        expect(found.kind).toBe("none");
        expect(found.kind === "none" && found.why).toMatch(why);
    });

    it("reads docker inspect: bindings of 6379, networks, and which volume was named on the command line", () => {
        const facts = containerFacts({
            Name: "/nexus3-kb-vault",
            State: { Status: "running" },
            Config: { Image: "redis:7.2", Labels: {}, Entrypoint: ["docker-entrypoint.sh"], Cmd: ["redis-server", "--requirepass", "p"] },
            HostConfig: { PortBindings: { "6379/tcp": [{ HostIp: "", HostPort: "6625" }] }, Binds: ["/srv/kb:/srv/kb"] },
            Mounts: [
                { Type: "volume", Name: "e".repeat(64), Source: "/var/lib/docker/volumes/e/_data", Destination: "/data" },
                { Type: "bind", Source: "/srv/kb", Destination: "/srv/kb" },
            ],
            NetworkSettings: { Networks: { "nexus-storage-network": { IPAddress: "10.0.4.9" } } },
        } as never);
        expect(facts).toEqual({
            name: "nexus3-kb-vault",
            state: "running",
            managed: false,
            image: "redis:7.2",
            command: ["docker-entrypoint.sh", "redis-server", "--requirepass", "p"],
            bindings: [{ hostIp: "", hostPort: 6625 }],
            networks: { "nexus-storage-network": "10.0.4.9" },
            mounts: [
                { type: "volume", name: "e".repeat(64), source: "/var/lib/docker/volumes/e/_data", destination: "/data", declared: false },
                { type: "bind", source: "/srv/kb", destination: "/srv/kb", declared: true },
            ],
        });
    });

    it("tells a server that answers in another protocol (not Redis) from one that fails", async () => {
        // A web server on the vault's port: it answers in HTTP and reads on until the client closes.
        const server = net.createServer((socket) => {
            socket.on("error", () => undefined);
            socket.write("HTTP/1.1 400 Bad Request\r\n\r\n");
            socket.resume();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const { port } = server.address() as net.AddressInfo;
            expect((await askVault({ host: "127.0.0.1", port }, "anything", 2000)).failure).toEqual({
                kind: "not-redis",
                message: 'it answered AUTH in another protocol (AUTH failed: not a Redis reply: unexpected reply type byte 0x48 ("H"))',
            });
        } finally {
            await new Promise((resolve) => server.close(resolve));
        }
        // A Redis that rejects the password is Redis: the failure is the password's.
        const redis = await new FakeRedis(() => ({ error: "WRONGPASS invalid username-password pair or user is disabled." })).start();
        try {
            expect((await askVault({ host: "127.0.0.1", port: redis.port }, "wrong", 2000)).failure?.kind).toBe("auth");
        } finally {
            await redis.stop();
        }
    });

    it("compares Redis versions as numbers, and reads redis-server --version", () => {
        expect(compareVersions("7.2.4", "7.10.0")).toBeLessThan(0);
        expect(compareVersions("7.2", "7.2.0")).toBe(0);
        expect(compareVersions("8.0.1", "7.4.2")).toBeGreaterThan(0);
        expect(parseRedisServerVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=6f8c7c5d8a1f0b1a")).toBe(
            "7.0.15",
        );
    });

    it("knows when the AOF holds the whole dataset: no rewrite running or pending, the last one fine, and one done since AOF was turned on", () => {
        const settled = {
            aof_enabled: "1",
            aof_rewrite_in_progress: "0",
            aof_rewrite_scheduled: "0",
            aof_last_bgrewrite_status: "ok",
            aof_last_write_status: "ok",
            aof_rewrites: "1",
        };
        expect(aofSettled(settled, 0)).toBe(true);
        expect(aofSettled(settled, undefined)).toBe(true);
        expect(aofSettled({ ...settled, aof_rewrites: "0" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_rewrite_in_progress: "1" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_rewrite_scheduled: "1" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_last_bgrewrite_status: "err" }, 0)).toBe(false);
        expect(aofSettled({ ...settled, aof_enabled: "0" }, 0)).toBe(false);
    });
});

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

describe("the stack's configuration, one environment at a time", () => {
    const first = judgeEnvironment(contact(), context());

    it("takes the network, the password as a secret, the data in place and one environments item, in that order", () => {
        const { steps, next } = configSteps(view(), first);
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            { command: ["pulumi", "config", "set", "createNetwork", "false"] },
            // The secret on stdin: never on a command line that ps shows.
            { command: ["pulumi", "config", "set", "--secret", "passwords"], input: `{"contact":{"vault":"${PASSWORD}"}}` },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data"}'] },
            { command: ["pulumi", "config", "set", "--path", "environments[0]", "contact"] },
        ]);
        expect(next).toMatchObject({
            createNetwork: false,
            environments: ["contact"],
            vaultData: { contact: "nexus3-contact-vault-data" },
        });
    });

    it("sets the network when the vaults are on another one, and passes --stack", () => {
        const other = { ...first, vault: { ...first.vault!, network: "nexus-net-2" } };
        const { steps } = configSteps(view(), other);
        expect(configSetCommand(steps[0], "prod")).toEqual({
            command: ["pulumi", "config", "set", "--stack", "prod", "network", "nexus-net-2"],
        });
        expect(configGetCommand("passwords", "prod")).toEqual(["pulumi", "config", "get", "--stack", "prod", "passwords"]);
        expect(previewCommand("prod")).toEqual(["pulumi", "preview", "--diff", "--stack", "prod"]);
        expect(upCommand("prod")).toEqual(["pulumi", "up", "--yes", "--skip-preview", "--stack", "prod"]);
        expect(upCommand(undefined)).toEqual(["pulumi", "up", "--yes", "--skip-preview"]);
    });

    it("merges the second environment into what the first left, and appends its item", () => {
        const { next } = configSteps(view(), first);
        const kb: EnvironmentPlan = { ...first, name: "kb", item: "kb", vaultData: "/srv/kb", password: "kb-pw" };
        const { steps } = configSteps(next, kb);
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            {
                command: ["pulumi", "config", "set", "--secret", "passwords"],
                input: `{"contact":{"vault":"${PASSWORD}"},"kb":{"vault":"kb-pw"}}`,
            },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data","kb":"/srv/kb"}'] },
            { command: ["pulumi", "config", "set", "--path", "environments[1]", "kb"] },
        ]);
    });

    it("keeps what the stack already holds: its passwords of other environments, and an item already listed", () => {
        const v = view({ environments: '["user","contact"]', passwords: '{"user":{"vault":"u","backup":"b"}}', createNetwork: "false" });
        const { steps } = configSteps(v, judgeEnvironment(contact({}, v), context(v)));
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            {
                command: ["pulumi", "config", "set", "--secret", "passwords"],
                input: `{"user":{"vault":"u","backup":"b"},"contact":{"vault":"${PASSWORD}"}}`,
            },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data"}'] },
        ]);
    });

    it("prints a command to paste, and never the secret it gives on stdin", () => {
        const { steps } = configSteps(view(), first);
        expect(printable(configSetCommand(steps[1], "dev"))).toBe(
            "pulumi config set --stack dev --secret passwords  # the value on stdin (secret)",
        );
        expect(printable(configSetCommand(steps[3], undefined))).toBe("pulumi config set --path 'environments[0]' contact");
    });

    it("refuses a configuration the program itself would refuse (a port another environment uses)", () => {
        const v = view({ environments: '["kb=6630/6640"]' });
        expect(() => configSteps(v, first)).toThrow(
            /would give the stack a configuration the program refuses:[\s\S]*host port 6630 is used by both kb vault and contact vault/,
        );
    });
});

describe("a takeover that fails is put back: the stack's configuration, its containers, the old containers and their replication", () => {
    const v = view();
    const steps = configSteps(v, judgeEnvironment(contact(), context())).steps;
    const journal: Journal = {
        environment: "contact",
        steps,
        stepsDone: steps.length,
        environmentsBefore: [],
        item: "contact",
        aofEnabled: true,
        savePointsSet: false,
        replication: {
            operational: "nexus3-contact-operational",
            masterHost: "10.0.4.2",
            masterPort: 6379,
            masterauth: PASSWORD,
            vaultIp: "10.0.4.2",
            network: "nexus-storage-network",
        },
        stopped: ["nexus3-contact-vault", "nexus3-contact-operational"],
        renamed: [
            ["nexus3-contact-vault", "nexus3-contact-vault.adopted-20261126T101500Z"],
            ["nexus3-contact-operational", "nexus3-contact-operational.adopted-20261126T101500Z"],
        ],
        applyStarted: true,
        newVaultAnswered: false,
    };

    it("undoes each step, last first, a secret's former value on stdin; the first environment's containers go with pulumi destroy, since an empty environments means the whole table", () => {
        const undo = undoPlan(journal, "dev");
        expect(undo.invocations).toEqual([
            // The stack set no environments: the key goes as a whole, as it was.
            { command: ["pulumi", "config", "rm", "--stack", "dev", "environments"] },
            { command: ["pulumi", "config", "rm", "--stack", "dev", "vaultData"] },
            { command: ["pulumi", "config", "rm", "--stack", "dev", "passwords"] },
            { command: ["pulumi", "config", "set", "--stack", "dev", "createNetwork", "true"] },
        ]);
        expect(undo.apply).toBe("destroy");
        expect(undo.command).toEqual(["pulumi", "destroy", "--yes", "--skip-preview", "--stack", "dev"]);
    });

    it("gives a secret back its former value on stdin, and applies with pulumi up when the stack keeps other environments", () => {
        const w = view({ environments: '["user"]', vaultData: '{"user":"/srv/user"}', passwords: '{"user":{"vault":"u"}}' });
        const later = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const undo = undoPlan({ ...journal, steps: later, stepsDone: later.length, environmentsBefore: ["user"] }, undefined);
        expect(undo.invocations).toContainEqual({
            command: ["pulumi", "config", "set", "--secret", "passwords"],
            input: '{"user":{"vault":"u"}}',
        });
        expect(undo.invocations).toContainEqual({ command: ["pulumi", "config", "set", "vaultData", '{"user":"/srv/user"}'] });
        // An item appended to a list the stack sets: that item alone goes.
        expect(undo.invocations[0]).toEqual({ command: ["pulumi", "config", "rm", "--path", "environments[1]"] });
        expect(undo.apply).toBe("up");
        expect(undo.command).toEqual(["pulumi", "up", "--yes", "--skip-preview"]);
    });

    it("removes an environments item the stack had before adopt, or pulumi up would create the environment anew on an empty volume", () => {
        const w = view({ environments: '["kb","contact"]' });
        const own = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const undo = undoPlan({ ...journal, steps: own, stepsDone: own.length, environmentsBefore: ["kb", "contact"] }, undefined);
        expect(undo.removesItem).toBe(true);
        expect(undo.invocations.at(-1)).toEqual({ command: ["pulumi", "config", "rm", "--path", "environments[1]"] });
        expect(undo.apply).toBe("up");
    });

    it("touches no container through the stack when pulumi up never ran", () => {
        expect(undoPlan({ ...journal, applyStarted: false, stopped: [], renamed: [] }, undefined)).toMatchObject({ apply: "none" });
    });

    it("prints the undo with no password on any command line: a secret is rebuilt from the stack's own and piped into pulumi config set", () => {
        const w = view({ environments: '["user","contact"]', passwords: '{"user":{"vault":"u"},"contact":{"backup":"b"}}' });
        const later = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const text = undoCommands({ ...journal, steps: later, stepsDone: later.length, environmentsBefore: ["user", "contact"] }, "dev");
        expect(text).toContain(
            "pulumi config get --stack dev passwords | jq -c '.contact |= del(.vault)' | pulumi config set --stack dev --secret passwords",
        );
        const u = view({ environments: '["user"]', passwords: '{"user":{"vault":"u"}}' });
        const first = configSteps(u, judgeEnvironment(contact({}, u), context(u))).steps;
        expect(undoCommands({ ...journal, steps: first, stepsDone: first.length, environmentsBefore: ["user"] }, undefined)).toContain(
            "pulumi config get passwords | jq -c 'del(.contact)' | pulumi config set --secret passwords",
        );
        for (const line of [...text, ...undoCommands(journal, undefined)]) {
            expect(line).not.toContain(PASSWORD);
            expect(line).not.toContain('"$(');
        }
    });

    it("re-applies the old operational's replication over RESP, to the vault's address after its restart when it had followed the vault by address", () => {
        expect(replicationCommands(journal.replication!, "10.0.4.9")).toEqual([
            ["CONFIG", "SET", "masterauth", PASSWORD],
            ["REPLICAOF", "10.0.4.9", "6379"],
        ]);
        // Another master than the vault's address (a name, another host): kept as it was.
        const elsewhere = { ...journal.replication!, masterHost: "vault.example", masteruser: "replicator", masterauth: undefined };
        expect(replicationCommands(elsewhere, "10.0.4.9")).toEqual([
            ["CONFIG", "SET", "masteruser", "replicator"],
            ["REPLICAOF", "vault.example", "6379"],
        ]);
    });

    it("says what is left to do by hand when putting it back stops halfway, with no password on a command line", () => {
        const text = rollbackText(journal, undefined, {
            configUndone: true,
            stackApplied: true,
            dataReady: true,
            renamedBack: ["nexus3-contact-vault"],
            started: [],
            replicationRestored: false,
        });
        expect(text).toBe(
            [
                "contact's data was never removed or renamed: no volume or folder was.",
                "put the old containers back and start them, the vault first:",
                "  docker rename nexus3-contact-operational.adopted-20261126T101500Z nexus3-contact-operational",
                "  docker start nexus3-contact-vault nexus3-contact-operational",
                "give nexus3-contact-operational its replication back (the protocol set it at runtime, and its restart lost it); the vault's password is typed, never on a command line:",
                "  read -rs VAULT_PASSWORD",
                `  printf 'CONFIG SET masterauth %s\\n' "$VAULT_PASSWORD" | docker exec -i nexus3-contact-operational redis-cli`,
                `  docker exec nexus3-contact-operational redis-cli REPLICAOF "$(docker inspect -f '{{(index .NetworkSettings.Networks "nexus-storage-network").IPAddress}}' nexus3-contact-vault)" 6379`,
            ].join("\n"),
        );
        const all = rollbackText({ ...journal, newVaultAnswered: true }, "dev");
        expect(all).toContain(
            "undo the stack's configuration:\n  pulumi config rm --stack dev environments\n  pulumi config rm --stack dev vaultData",
        );
        expect(all).toContain(
            "remove what pulumi up created for contact (its vault's data is not a stack resource and stays):\n  pulumi destroy --yes --skip-preview --stack dev",
        );
        expect(all).toContain("and the new vault took writes into it");
        expect(all).toContain(
            `  docker run -d --name nexus3-contact-vault.readying --network none --volumes-from nexus3-contact-vault.adopted-20261126T101500Z "$(docker inspect -f '{{.Image}}' nexus3-contact-vault.adopted-20261126T101500Z)" redis-server --appendonly yes --save '' --dir /data --databases 16`,
        );
        expect(all).not.toContain(PASSWORD);
    });

    it("before the stop: only the configuration to undo", () => {
        const text = rollbackText(
            { ...journal, stopped: [], renamed: [], stepsDone: 2, applyStarted: false, replication: undefined },
            undefined,
        );
        expect(text).toContain("undo the stack's configuration:\n  pulumi config rm passwords\n  pulumi config set createNetwork true");
        expect(text).not.toContain("docker");
        expect(text).toContain("the old vault now has appendonly yes (CONFIG SET, until it restarts): harmless");
    });

    it("readies the data folder with the old vault's own Redis: its files and databases, the AOF loaded, no save point, a one-time password", () => {
        const files = {
            dir: "/var/lib/redis",
            dbfilename: "dump.rdb",
            appenddirname: "appendonlydir",
            appendfilename: "appendonly.aof",
            databases: "32",
        };
        const args = readyingArgs(files, "one-time");
        const option = (name: string) => args[args.indexOf(name) + 1];
        expect(args[0]).toBe("redis-server");
        expect(
            Object.fromEntries(
                [
                    "--dir",
                    "--dbfilename",
                    "--appenddirname",
                    "--appendfilename",
                    "--databases",
                    "--appendonly",
                    "--save",
                    "--requirepass",
                ].map((o) => [o, option(o)]),
            ),
        ).toEqual({
            "--dir": "/var/lib/redis",
            "--dbfilename": "dump.rdb",
            "--appenddirname": "appendonlydir",
            "--appendfilename": "appendonly.aof",
            "--databases": "32",
            "--appendonly": "yes",
            "--save": "",
            "--requirepass": "one-time",
        });
        // Redis 6 has no appenddirname: none is given.
        expect(readyingArgs({ ...files, appenddirname: undefined }, "x")).not.toContain("--appenddirname");
    });

    it("names the old container after the time it was set aside", () => {
        expect(asideName("nexus3-contact-vault", new Date("2026-11-26T10:15:00.123Z"))).toBe(
            "nexus3-contact-vault.adopted-20261126T101500Z",
        );
    });
});

describe("the report", () => {
    const plan = judgeEnvironment(contact(), context());
    const report: AdoptReport = {
        dryRun: true,
        plans: [plan],
        commands: ["pulumi config set --secret passwords '[secret]'"],
        outcomes: {},
    };

    it("shows what was found and what would run, and never a password", () => {
        const table = renderTable(report);
        expect(table).toContain(
            "contact  standard  adopt   nexus3-contact-vault 127.0.0.1:6630  volume nexus3-contact-vault-data  100000  7.2.4",
        );
        expect(table).toContain("would run, in this order");
        expect(table).toContain("1 environment: 1 to adopt: nothing was changed (--dry-run)");
        expect(table).not.toContain(PASSWORD);
        const json = renderJson(report);
        expect(JSON.parse(json)).toMatchObject({
            dryRun: true,
            changed: false,
            environments: [{ name: "contact", status: "adopt", vault: { data: { kind: "volume", name: "nexus3-contact-vault-data" } } }],
        });
        expect(json).not.toContain(PASSWORD);
    });

    it("counts every database's keys in the KEYS column, and lists them by database when more than one holds keys", () => {
        const keyspace = { 0: { keys: 17_004, expires: 0 }, 3: { keys: 17_000, expires: 0 }, 9: { keys: 16_998, expires: 0 } };
        const many = judgeEnvironment(contact({ vaultRedis: { ...contact().vaultRedis, keyspace } }), context());
        const table = renderTable({ ...report, plans: [many] });
        expect(table).toMatch(
            /contact +standard +adopt +nexus3-contact-vault 127\.0\.0\.1:6630 +volume nexus3-contact-vault-data +51002 +7\.2\.4/,
        );
        expect(table).toContain("  · keys by database: db0 17004, db3 17000, db9 16998");
        expect(JSON.parse(renderJson({ ...report, plans: [many] })).environments[0].vault).toMatchObject({
            keys: 51_002,
            keysByDatabase: { db0: 17_004, db3: 17_000, db9: 16_998 },
        });
        expect(renderTable(report)).not.toContain("keys by database");
    });

    it("says an environment was rolled back, with what adopt did, one item a line", () => {
        const table = renderTable({
            ...report,
            dryRun: false,
            outcomes: {
                contact: { status: "rolled back", message: "contact: the new vault stopped\nadopt put everything back by itself: ..." },
            },
        });
        expect(table).toMatch(/contact +standard +ROLLED BACK/);
        expect(table).toContain("  - contact: the new vault stopped\n    adopt put everything back by itself: ...");
        expect(table).toContain("1 environment: 1 rolled back");
    });

    it("says that a refusal changed nothing", () => {
        const refused = judgeEnvironment(withRedis(contact(), { loading: "1" }), context());
        expect(renderTable({ ...report, plans: [refused], commands: [] })).toContain("1 environment: 1 refused: nothing was changed");
    });
});

describe("writes refused starts when the old vault stops accepting writes, not when docker stop is called", () => {
    it("writes (a DEL of a key that does not exist) until the server refuses one, and keeps the time of the last one accepted", async () => {
        let accepted = 0;
        let lastAccepted = 0;
        let refusing = false;
        let refusedAt = 0;
        const redis = await new FakeRedis((command) => {
            if (command[0] === "AUTH") return { status: "OK" };
            if (refusing) {
                refusedAt = performance.now();
                return { error: "ERR the server is shutting down" };
            }
            accepted++;
            lastAccepted = performance.now();
            return 0;
        }).start();
        try {
            const probe = new WriteProbe({ host: "127.0.0.1", port: redis.port }, PASSWORD, (ms) => new Promise((r) => setTimeout(r, ms)));
            await probe.first;
            while (accepted < 3) await new Promise((r) => setTimeout(r, 10));
            refusing = true;
            // The probe ends by itself at the refusal (AUTH, the accepted writes, the refused one).
            while (redis.commands.length < accepted + 2) await new Promise((r) => setTimeout(r, 10));
            await probe.stop();
            // The last write the server accepted, not the moment it began to refuse.
            expect(probe.lastAccepted).toBeGreaterThanOrEqual(lastAccepted);
            expect(probe.lastAccepted).toBeLessThanOrEqual(refusedAt);
            const [auth, ...writes] = redis.commands;
            expect(auth).toEqual(["AUTH", PASSWORD]);
            expect(writes.length).toBe(accepted + 1);
            expect(new Set(writes.map((w) => w.join(" "))).size).toBe(1);
            expect(writes[0]).toEqual(["DEL", expect.stringMatching(/^nexus-redis:adopt-probe:[0-9a-f]{16}$/)]);
        } finally {
            await redis.stop();
        }
    });
});

describe("nexus-redis adopt on the command line", () => {
    async function cli(argv: string[], runner?: CliIo["run"]) {
        let stdout = "";
        let stderr = "";
        const commands: string[][] = [];
        const code = await main(argv, {
            stdout: { write: (t: string) => (stdout += t) },
            stderr: { write: (t: string) => (stderr += t) },
            readStdin: async () => "",
            run: async (command, options) => {
                commands.push(command);
                if (!runner) throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
                return runner(command, options);
            },
            projectDir: ROOT,
            env: {},
        });
        return { code, stdout, stderr, commands };
    }

    it("is in the help", () => {
        expect(HELP).toContain("nexus-redis adopt [--dry-run] [--json] [--env NAME]... [--stack NAME] [--passwords FILE] [--timeout MS]");
    });

    it.each([
        [["adopt", "contact"], /adopt takes no arguments, got "contact" \(use --env NAME to choose environments\)/],
        [["adopt", "--fix"], /--fix is not an option of adopt/],
        [["adopt", "--outputs", "-"], /--outputs is not an option of adopt/],
        [["adopt", "--timeout", "0"], /--timeout must be a whole number of milliseconds above 0/],
        [["check", "--passwords", "x"], /--passwords is not an option of check/],
    ])("refuses %j as a usage error", async (argv, message) => {
        const run = await cli(argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.commands).toEqual([]);
    });

    it("needs the Pulumi CLI, and says so (exit 2)", async () => {
        const run = await cli(["adopt", "--dry-run"]);
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("the Pulumi CLI (pulumi) is not on PATH");
    });

    it("reads the stack's configuration with pulumi config get, one key at a time, on the given stack", async () => {
        const run = await cli(["adopt", "--dry-run", "--stack", "prod", "--env", "nosuch"], async (command) =>
            command[3] === "--stack" && command[5] === "bindAddress"
                ? { exitCode: 0, stdout: "127.0.0.1\n", stderr: "" }
                : {
                      exitCode: 255,
                      stdout: "",
                      stderr: `error: configuration key 'nexus-redis:${command[5]}' not found for stack 'prod'\n`,
                  },
        );
        expect(run.commands).toEqual(
            [
                "platform",
                "image",
                "network",
                "createNetwork",
                "bindAddress",
                "containerPrefix",
                "portOffset",
                "memoryLimitMb",
                "environments",
                "passwords",
                "vaultData",
            ].map((key) => ["pulumi", "config", "get", "--stack", "prod", key]),
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/unknown environment "nosuch" in --env; the protocol's and the stack's are workflow, context/);
    });

    it("refuses a stack on platform swarm: a fleet built by hand runs on one engine (exit 2)", async () => {
        const run = await cli(["adopt", "--dry-run"], async (command) =>
            command[3] === "platform"
                ? { exitCode: 0, stdout: "swarm\n", stderr: "" }
                : { exitCode: 255, stdout: "", stderr: `error: configuration key 'nexus-redis:${command[3]}' not found for stack 'dev'\n` },
        );
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(
            "the stack's platform is swarm: adopt takes over a fleet built by hand on one Docker engine, for platform docker only",
        );
    });

    it("stops on a failing pulumi config get, with Pulumi's message (exit 2)", async () => {
        const run = await cli(["adopt"], async () => ({ exitCode: 255, stdout: "", stderr: "error: no stack selected\n" }));
        expect(run.code).toBe(2);
        expect(run.stderr).toContain("`pulumi config get platform` failed (exit 255): error: no stack selected");
    });
});

describe("--passwords FILE", () => {
    it("is read as the passwords config key's shape, and never echoed when malformed", async () => {
        const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
        const { tmpdir } = await import("node:os");
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-adopt-"));
        try {
            const good = path.join(dir, "good.json");
            writeFileSync(good, '{"user": {"vault": "u-pw", "backup": "b-pw"}}');
            expect(readPasswordsFile(good)).toEqual({ user: { vault: "u-pw", backup: "b-pw" } });
            const bad = path.join(dir, "bad.json");
            writeFileSync(bad, '{"user": {"vault": "hunter2"');
            expect(() => readPasswordsFile(bad)).toThrow(/is not JSON/);
            expect(() => readPasswordsFile(bad)).not.toThrow(/hunter2/);
            const role = path.join(dir, "role.json");
            writeFileSync(role, '{"user": {"root": "x"}}');
            expect(() => readPasswordsFile(role)).toThrow(
                /must be \{"ENV": \{"vault": "\.\.\.", \.\.\.\}\} with roles vault, replication, operationalAdmin, backup/,
            );
            expect(() => readPasswordsFile(path.join(dir, "missing.json"))).toThrow(/cannot read --passwords .*ENOENT/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("an environment an adopt that did not finish left aside (unfinishedPlan)", () => {
    const aside = "nexus3-contact-vault.adopted-20261126T101500Z";
    const opAside = "nexus3-contact-operational.adopted-20261126T101500Z";
    const leftOver = (over: Partial<Findings> = {}): Findings => {
        const { vault: _vault, operational: _operational, ...rest } = contact();
        return {
            ...rest,
            leftovers: {
                aside: [
                    {
                        from: "nexus3-contact-vault",
                        container: vaultContainer({
                            name: aside,
                            state: "exited",
                            command: ["redis-server", "--requirepass", PASSWORD, "--dir", "/srv", "--databases", "8"],
                        }),
                    },
                    { from: "nexus3-contact-operational", container: operationalContainer({ name: opAside, state: "exited" }) },
                ],
                readying: [],
            },
            ...over,
        };
    };

    it("is refused, naming the old containers, with the whole way back in order: the folder readied with their dir and databases, names back, start, replication", () => {
        const plan = unfinishedPlan(leftOver(), view(), "prod")!;
        expect(plan.status).toBe("refused");
        const text = plan.reasons.join("\n");
        expect(text).toContain(`${aside} and ${opAside} are contact's old containers, set aside by an adopt that did not finish`);
        expect(text).toContain("pulumi config get --stack prod environments lists contact");
        const commands = text
            .split("\n")
            .filter((l) => l.startsWith("  "))
            .map((l) => l.trim());
        expect(commands).toEqual([
            `docker run -d --name nexus3-contact-vault.readying --network none --volumes-from ${aside} "$(docker inspect -f '{{.Image}}' ${aside})" redis-server --appendonly yes --save '' --dir /srv --databases 8`,
            "until docker exec nexus3-contact-vault.readying redis-cli INFO persistence | grep -q '^loading:0'; do sleep 0.2; done",
            "docker exec nexus3-contact-vault.readying redis-cli INFO keyspace",
            "docker exec nexus3-contact-vault.readying redis-cli SAVE",
            "docker stop -t 60 nexus3-contact-vault.readying && docker rm nexus3-contact-vault.readying",
            `docker rename ${aside} nexus3-contact-vault`,
            `docker rename ${opAside} nexus3-contact-operational`,
            "docker start nexus3-contact-vault nexus3-contact-operational",
            "read -rs VAULT_PASSWORD",
            `printf 'CONFIG SET masterauth %s\\n' "$VAULT_PASSWORD" | docker exec -i nexus3-contact-operational redis-cli`,
            `docker exec nexus3-contact-operational redis-cli REPLICAOF "$(docker inspect -f '{{(index .NetworkSettings.Networks "nexus-storage-network").IPAddress}}' nexus3-contact-vault)" 6379`,
        ]);
        expect(text).not.toContain(PASSWORD);
    });

    it("stops the stack's new vault first when one runs under the old name, and says whether the readying server was removed", () => {
        const plan = unfinishedPlan(
            leftOver({
                vault: vaultContainer({ managed: true }),
                leftovers: {
                    ...leftOver().leftovers!,
                    readying: [{ name: "nexus3-contact-vault.readying-20261126T101530Z", removed: false }],
                },
            }),
            view(),
            undefined,
        )!;
        const text = plan.reasons.join("\n");
        expect(text).toContain(
            "nexus3-contact-vault.readying-20261126T101530Z, that run's readying server on the old vault's volumes, is removed when adopt runs without --dry-run",
        );
        expect(text.split("\n").filter((l) => l.startsWith("  "))[0]).toBe("  docker stop -t 300 nexus3-contact-vault");
    });

    it("starts an operational the kill left stopped under its own name (between the two renames) and gives it its replication back", () => {
        const f = leftOver({ operational: operationalContainer({ state: "exited" }) });
        f.leftovers!.aside.pop();
        const text = unfinishedPlan(f, view(), undefined)!.reasons.join("\n");
        expect(text).toContain("docker start nexus3-contact-vault nexus3-contact-operational");
        expect(text).toContain("docker exec nexus3-contact-operational redis-cli REPLICAOF");
    });

    it("leaves an environment nothing was set aside of to the usual judgement", () => {
        expect(unfinishedPlan(contact(), view(), undefined)).toBeUndefined();
        expect(
            unfinishedPlan({ ...contact(), leftovers: { aside: [], readying: [{ name: "x", removed: true }] } }, view(), undefined),
        ).toBeUndefined();
    });
});
