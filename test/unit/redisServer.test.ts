import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
    BACKUP_USER,
    OPERATIONAL_ADMIN_USER,
    OPERATIONAL_CONFIG_FILE,
    REPLICATION_USER,
    VAULT_CONFIG_FILE,
    START_SCRIPT_FILE,
    configWord,
    containerName,
    maxmemoryBytes,
    operationalCommand,
    operationalFiles,
    passwordHash,
    renderConfig,
    vaultCommand,
    vaultFiles,
    volumeName,
} from "../../components/redisServer";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("passwordHash", () => {
    it("is the SHA-256 Redis compares a password with, for any length and any character", () => {
        // One 64-byte block and the lengths where the padding spills into a second (55, 56, 64),
        // several blocks, and characters of two, three and four bytes in UTF-8.
        const inputs = ["", "a", "x".repeat(55), "x".repeat(56), "x".repeat(64), "y".repeat(1000), "pässwörd-密码-🔑"];
        for (const input of inputs) expect(passwordHash(input), JSON.stringify(input)).toBe(sha(input));
    });
});

/** A config file's lines as word lists, comments left out. */
function lines(config: string): string[][] {
    return config
        .split("\n")
        .filter((l) => l !== "" && !l.startsWith("#"))
        .map((l) => l.split(" "));
}
/** The words after `name` on its (single) line. */
function setting(config: string, name: string): string[] | undefined {
    const found = lines(config).filter((l) => l[0] === name);
    expect(found.length, `lines for ${name}`).toBeLessThanOrEqual(1);
    return found[0]?.slice(1);
}
/** The ACL rules of `user NAME ...`. */
function userRules(config: string, user: string): string[] | undefined {
    return lines(config)
        .find((l) => l[0] === "user" && l[1] === user)
        ?.slice(2);
}
const fileAt = (files: { path: string }[], path: string) => {
    const found = files.filter((f) => f.path === path);
    expect(found, path).toHaveLength(1);
    return found[0] as ReturnType<typeof vaultFiles>[number];
};

describe("vault files and command", () => {
    const standard = vaultFiles({ password: "vault-pw", replicationPassword: "repl-pw", backupPassword: "backup-pw" });
    const secure = vaultFiles({ password: "vault-pw", backupPassword: "backup-pw" });
    const config = fileAt(standard, VAULT_CONFIG_FILE).content;
    const secureConfig = fileAt(secure, VAULT_CONFIG_FILE).content;

    it.each([
        ["standard", config],
        ["secure", secureConfig],
    ])("a %s vault requires its password, persists with AOF and keeps its data in /data", (_kind, text) => {
        expect(userRules(text, "default")).toEqual(["on", `#${sha("vault-pw")}`, "~*", "&*", "+@all"]);
        expect(setting(text, "requirepass")).toBeUndefined();
        expect(setting(text, "appendonly")).toEqual(["yes"]);
        expect(setting(text, "dir")).toEqual(["/data"]);
        expect(setting(text, "port")).toEqual(["6379"]);
    });

    it("holds no password of the vault, only their SHA-256 hashes", () => {
        for (const password of ["vault-pw", "repl-pw", "backup-pw"]) {
            expect(config).not.toContain(password);
            expect(config).toContain(`#${sha(password)}`);
        }
    });

    it("gives a standard vault a replication user that can only PSYNC and REPLCONF", () => {
        expect(userRules(config, REPLICATION_USER)).toEqual(["on", `#${sha("repl-pw")}`, "-@all", "+psync", "+replconf"]);
    });

    it("gives every vault a backup user that can only ask for a snapshot", () => {
        for (const text of [config, secureConfig]) {
            expect(userRules(text, BACKUP_USER)).toEqual(["on", `#${sha("backup-pw")}`, "-@all", "+sync", "+replconf"]);
        }
    });

    it("gives a secure vault no replication user", () => {
        expect(userRules(secureConfig, REPLICATION_USER)).toBeUndefined();
        expect(lines(secureConfig).filter((l) => l[0] === "user")).toHaveLength(2);
    });

    it.each([
        ["standard", config],
        ["secure", secureConfig],
    ])("a %s vault takes no RDB snapshot of its own, and a snapshot that fails never refuses its writes", (_kind, text) => {
        expect(setting(text, "save")).toEqual(['""']);
        expect(setting(text, "stop-writes-on-bgsave-error")).toEqual(["no"]);
        expect(setting(text, "appendfsync")).toEqual(["everysec"]);
        expect(setting(text, "no-appendfsync-on-rewrite")).toEqual(["no"]);
        expect(setting(text, "aof-use-rdb-preamble")).toEqual(["yes"]);
        expect(setting(text, "aof-load-truncated")).toEqual(["yes"]);
    });

    it("names the files its start script reads: Redis's own defaults", () => {
        expect(setting(config, "dbfilename")).toEqual(["dump.rdb"]);
        expect(setting(config, "appenddirname")).toEqual(["appendonlydir"]);
        expect(setting(config, "appendfilename")).toEqual(["appendonly.aof"]);
    });

    it("streams the snapshot to replicas at once and keeps a backlog for partial resyncs", () => {
        expect(setting(config, "repl-diskless-sync")).toEqual(["yes"]);
        expect(setting(config, "repl-diskless-sync-delay")).toEqual(["0"]);
        expect(Number(setting(config, "repl-backlog-size")![0])).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    });

    it("notices a dead replication link within seconds, pinging replicas more often than that", () => {
        const timeout = Number(setting(config, "repl-timeout")![0]);
        const ping = Number(setting(config, "repl-ping-replica-period")![0]);
        expect(timeout).toBeLessThanOrEqual(10);
        expect(ping * 3).toBeLessThanOrEqual(timeout);
    });

    it("caps memory below the container limit and never evicts from the vault", () => {
        const limited = fileAt(vaultFiles({ password: "p", backupPassword: "b", memoryLimitMb: 256 }), VAULT_CONFIG_FILE).content;
        expect(setting(limited, "maxmemory")).toEqual([String(192 * 1024 * 1024)]);
        expect(setting(limited, "maxmemory-policy")).toEqual(["noeviction"]);
        expect(setting(config, "maxmemory")).toBeUndefined();
    });

    it("makes the config readable by the image's redis user alone, and the start script by everyone", () => {
        expect(fileAt(standard, VAULT_CONFIG_FILE)).toMatchObject({ mode: "0400", owner: "999", group: "999", secret: true });
        expect(fileAt(standard, START_SCRIPT_FILE)).toMatchObject({ mode: "0555", owner: "0", group: "0", secret: false });
        expect(standard).toHaveLength(2);
    });

    it("starts through the start script with the config, no password on the command line", () => {
        expect(vaultCommand()).toEqual(["sh", START_SCRIPT_FILE, "vault", VAULT_CONFIG_FILE]);
        expect(fileAt(standard, START_SCRIPT_FILE).content).toMatch(/^#!\/bin\/sh\n/);
    });
});

describe("operational files and command", () => {
    const files = operationalFiles({ vaultContainer: "nexus3-contact-vault", replicationPassword: "repl-pw", adminPassword: "admin-pw" });
    const config = fileAt(files, OPERATIONAL_CONFIG_FILE).content;

    it("replicates from the vault's container name on the internal port, never localhost", () => {
        expect(setting(config, "replicaof")).toEqual(["nexus3-contact-vault", "6379"]);
        expect(config).not.toMatch(/localhost|127\.0\.0\.1/);
    });

    it("authenticates to the vault as the replication user, not with the vault's password", () => {
        expect(setting(config, "masteruser")).toEqual([REPLICATION_USER]);
        expect(setting(config, "masterauth")).toEqual(["repl-pw"]);
        expect(setting(config, "requirepass")).toBeUndefined();
    });

    it("is a read-only replica without persistence that loads an empty dataset straight from the socket", () => {
        expect(setting(config, "replica-read-only")).toEqual(["yes"]);
        expect(setting(config, "appendonly")).toEqual(["no"]);
        expect(setting(config, "save")).toEqual(['""']);
        expect(setting(config, "repl-diskless-load")).toEqual(["on-empty-db"]);
    });

    it("lets the passwordless default user read and run INFO, with dangerous commands removed before INFO is added back", () => {
        const rules = userRules(config, "default")!;
        expect(rules.slice(0, 2)).toEqual(["on", "nopass"]);
        // Redis applies command rules left to right, so their order is part of what they mean:
        // everything taken away, reads and connection commands given, the dangerous ones among
        // them (KEYS, CONFIG, DEBUG, ...) taken away again, then INFO, which is in @dangerous,
        // given back for the protocol's unauthenticated INFO replication check. Each missing or
        // out of place changes what a client without a password can do.
        expect(rules.filter((rule) => /^[+-]/.test(rule))).toEqual(["-@all", "+@read", "+@connection", "-@dangerous", "+info"]);
        expect(setting(config, "protected-mode")).toEqual(["no"]);
    });

    it("has a password-protected admin user for repairs, stored as a hash", () => {
        expect(userRules(config, OPERATIONAL_ADMIN_USER)).toEqual(["on", `#${sha("admin-pw")}`, "~*", "&*", "+@all"]);
        expect(config).not.toContain("admin-pw");
    });

    it("is one config file, readable by the redis user alone, and the vault's start script, which starts it in its operational role", () => {
        expect(files).toEqual([
            expect.objectContaining({ path: OPERATIONAL_CONFIG_FILE, mode: "0400", owner: "999", group: "999", secret: true }),
            expect.objectContaining({ path: START_SCRIPT_FILE, mode: "0555", owner: "0", group: "0", secret: false }),
        ]);
        expect(fileAt(files, START_SCRIPT_FILE).content).toBe(
            fileAt(vaultFiles({ password: "p", backupPassword: "b" }), START_SCRIPT_FILE).content,
        );
        expect(operationalCommand()).toEqual(["sh", START_SCRIPT_FILE, "operational", OPERATIONAL_CONFIG_FILE]);
    });
});

describe("config file words", () => {
    it.each([
        ["plain-Word_1.2", "plain-Word_1.2"],
        ["", '""'],
        ['pa"ss', '"pa\\x22ss"'],
        ["back\\slash", '"back\\x5cslash"'],
        ["sp ace", '"sp ace"'],
        ["é", '"\\xc3\\xa9"'],
        ["#0123abc", "#0123abc"],
    ])("writes %j as %s", (value, written) => expect(configWord(value)).toBe(written));

    it("splits a two-word setting into two words and keeps an empty one as one empty argument", () => {
        expect(renderConfig({ replicaof: "host 6379", save: "" }, {})).toBe(
            '# Written by nexus-redis (Pulumi); changed only by changing the stack.\nreplicaof host 6379\nsave ""\n',
        );
    });
});

describe("names", () => {
    it.each([
        ["nexus3", "contact", "vault", "nexus3-contact-vault", "nexus3-contact-vault-data"],
        ["nexus3", "contact", "operational", "nexus3-contact-operational", "nexus3-contact-operational-data"],
        ["staging", "user", "vault", "staging-user-vault", "staging-user-vault-data"],
    ] as const)("%s/%s/%s is container %s with volume %s", (prefix, env, role, container, volume) => {
        expect(containerName(prefix, env, role)).toBe(container);
        expect(volumeName(prefix, env, role)).toBe(volume);
    });

    it("sets no maxmemory without a memory limit", () => {
        expect(maxmemoryBytes(0)).toBeUndefined();
        expect(maxmemoryBytes(undefined)).toBeUndefined();
    });
});
