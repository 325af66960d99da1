import { describe, expect, it } from "vitest";
import {
    OPERATIONAL_ADMIN_USER,
    REPLICATION_USER,
    containerName,
    maxmemoryBytes,
    operationalCommand,
    settingsToArgs,
    vaultCommand,
    volumeName,
} from "../../components/redisServer";

/** The value following `flag` in a command, or undefined. */
function argAfter(command: string[], flag: string, count = 1): string[] | undefined {
    const i = command.indexOf(flag);
    return i < 0 ? undefined : command.slice(i + 1, i + 1 + count);
}

/** The ACL rules of `--user NAME ...` up to the next flag. */
function userRules(command: string[], user: string): string[] | undefined {
    const i = command.findIndex((a, j) => a === "--user" && command[j + 1] === user);
    if (i < 0) return undefined;
    const rest = command.slice(i + 2);
    const end = rest.findIndex((a) => a.startsWith("--"));
    return end < 0 ? rest : rest.slice(0, end);
}

describe("vault command", () => {
    const standard = vaultCommand({ password: "vault-pw", replicationPassword: "repl-pw" });
    const secure = vaultCommand({ password: "vault-pw" });

    it.each([
        ["standard", standard],
        ["secure", secure],
    ])("a %s vault requires its password, persists with AOF and keeps its data in /data", (_kind, command) => {
        expect(command[0]).toBe("redis-server");
        expect(argAfter(command, "--requirepass")).toEqual(["vault-pw"]);
        expect(argAfter(command, "--appendonly")).toEqual(["yes"]);
        expect(argAfter(command, "--dir")).toEqual(["/data"]);
        expect(argAfter(command, "--port")).toEqual(["6379"]);
    });

    it("gives a standard vault a replication user that can only PSYNC and REPLCONF", () => {
        expect(userRules(standard, REPLICATION_USER)).toEqual(["on", ">repl-pw", "-@all", "+psync", "+replconf"]);
    });

    it("gives a secure vault no other user", () => {
        expect(secure).not.toContain("--user");
    });

    it("streams the snapshot to replicas at once and keeps a backlog for partial resyncs", () => {
        expect(argAfter(standard, "--repl-diskless-sync")).toEqual(["yes"]);
        expect(argAfter(standard, "--repl-diskless-sync-delay")).toEqual(["0"]);
        expect(Number(argAfter(standard, "--repl-backlog-size")![0])).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    });

    it("notices a dead replication link within seconds, pinging replicas more often than that", () => {
        const timeout = Number(argAfter(standard, "--repl-timeout")![0]);
        const ping = Number(argAfter(standard, "--repl-ping-replica-period")![0]);
        expect(timeout).toBeLessThanOrEqual(10);
        expect(ping * 3).toBeLessThanOrEqual(timeout);
    });

    it("caps memory below the container limit and never evicts from the vault", () => {
        const limited = vaultCommand({ password: "p", memoryLimitMb: 256 });
        expect(argAfter(limited, "--maxmemory")).toEqual([String(192 * 1024 * 1024)]);
        expect(argAfter(limited, "--maxmemory-policy")).toEqual(["noeviction"]);
        expect(standard).not.toContain("--maxmemory");
    });
});

describe("operational command", () => {
    const command = operationalCommand({
        vaultContainer: "nexus3-contact-vault",
        replicationPassword: "repl-pw",
        adminPassword: "admin-pw",
    });

    it("replicates from the vault's container name on the internal port, never localhost", () => {
        expect(argAfter(command, "--replicaof", 2)).toEqual(["nexus3-contact-vault", "6379"]);
        expect(command.join(" ")).not.toMatch(/localhost|127\.0\.0\.1/);
    });

    it("authenticates to the vault as the replication user, not with the vault's password", () => {
        expect(argAfter(command, "--masteruser")).toEqual([REPLICATION_USER]);
        expect(argAfter(command, "--masterauth")).toEqual(["repl-pw"]);
        expect(command).not.toContain("--requirepass");
    });

    it("is a read-only replica without persistence that loads an empty dataset straight from the socket", () => {
        expect(argAfter(command, "--replica-read-only")).toEqual(["yes"]);
        expect(argAfter(command, "--appendonly")).toEqual(["no"]);
        expect(argAfter(command, "--save")).toEqual([""]);
        expect(argAfter(command, "--repl-diskless-load")).toEqual(["on-empty-db"]);
    });

    it("lets the passwordless default user read and run INFO, and nothing dangerous", () => {
        const rules = userRules(command, "default")!;
        expect(rules.slice(0, 2)).toEqual(["on", "nopass"]);
        // Redis applies command rules left to right, so their order is part of what they mean:
        // everything taken away, reads and connection commands given, the dangerous ones among
        // them (KEYS, CONFIG, DEBUG, ...) taken away again, then INFO, which is in @dangerous,
        // given back for the protocol's unauthenticated INFO replication check. Each missing or
        // out of place changes what a client without a password can do.
        expect(rules.filter((rule) => /^[+-]/.test(rule))).toEqual(["-@all", "+@read", "+@connection", "-@dangerous", "+info"]);
        expect(argAfter(command, "--protected-mode")).toEqual(["no"]);
    });

    it("has a password-protected admin user for repairs", () => {
        expect(userRules(command, OPERATIONAL_ADMIN_USER)).toEqual(["on", ">admin-pw", "~*", "&*", "+@all"]);
    });
});

describe("settingsToArgs", () => {
    it.each([
        [{ save: "" }, ["--save", ""]],
        [{ replicaof: "host 6379" }, ["--replicaof", "host", "6379"]],
        [{ appendonly: "yes", port: "6379" }, ["--appendonly", "yes", "--port", "6379"]],
    ])("turns %j into %j", (settings, args) => expect(settingsToArgs(settings)).toEqual(args));
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
