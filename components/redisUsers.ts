/**
 * Each role's ACL users and the passwords they take: the vault holds only SHA-256 hashes of
 * its passwords (`#<hex>` rules), the operational's default user reads without one.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

/** ACL user the operational authenticates as to its vault: it may only replicate. */
export const REPLICATION_USER = "replicator";

/** ACL user on the operational for repairs (`REPLICAOF`, `CONFIG SET`); the default user cannot. */
export const OPERATIONAL_ADMIN_USER = "admin";

/** The passwords of an environment, by role: the keys of the `passwords` config of each environment. */
export const PASSWORD_ROLES = ["vault", "replication", "operationalAdmin", "backup"] as const;
export type PasswordRole = (typeof PASSWORD_ROLES)[number];

/** A password the program can deliver: not empty, no whitespace or control characters. */
export function isValidPassword(password: string): boolean {
    return password !== "" && !/[\s\p{Cc}]/u.test(password);
}

/** ACL user that takes backups (`redis-cli --rdb`) of a vault: it may only ask for a snapshot. */
export const BACKUP_USER = "backup";

/** The SHA-256 of a password, as Redis stores it and as `#<hex>` ACL rules give it. */
export function passwordHash(password: string): string {
    return bytesToHex(sha256(utf8ToBytes(password)));
}

/** ACL rules of a vault's default user: every command and key, for the holder of the vault's password. */
export function vaultDefaultUserRules(passwordSha256: string): string[] {
    return ["on", `#${passwordSha256}`, "~*", "&*", "+@all"];
}

/** ACL rules of the vault's replication user: PSYNC and REPLCONF only (with PSYNC alone the link drops every second). */
export function replicationUserRules(passwordSha256: string): string[] {
    return ["on", `#${passwordSha256}`, "-@all", "+psync", "+replconf"];
}

/**
 * ACL rules of the vault's backup user: what `redis-cli --rdb` needs (`REPLCONF capa eof`,
 * `REPLCONF rdb-only 1`, `SYNC`) and nothing else; no key can be read or written with it.
 * They also let a Redis server replicate (`masteruser backup`: PSYNC refused, it retries with
 * SYNC), which no narrower rule prevents, as a replica needs only SYNC: with `+replconf|rdb-only
 * +replconf|capa` instead (a first-argument rule Redis 7 deprecates) such a replica is cut off
 * at its first REPLCONF ACK and full-syncs again, over and over, looking like a backup each
 * time (measured, Redis 7.0.15); without REPLCONF, redis-cli's snapshot loses rdb-only and the
 * vault streams writes to it too. So `check` tells a backup from a replica by what the vault
 * lists (cli/health/diagnose.ts, stayingReplicas), and these rules stay.
 */
export function backupUserRules(passwordSha256: string): string[] {
    return ["on", `#${passwordSha256}`, "-@all", "+sync", "+replconf"];
}

/**
 * ACL rules of the operational's passwordless default user: read every key, run INFO
 * (the protocol's `redis-cli -p {op_port} INFO replication` check), nothing else. -@dangerous
 * removes KEYS, CONFIG, REPLICAOF, FLUSHALL, SHUTDOWN, DEBUG, ACL, MONITOR, CLIENT KILL;
 * writes and EVAL are not in @read at all. +info comes after -@dangerous, which contains it.
 */
export function operationalDefaultUserRules(): string[] {
    return ["on", "nopass", "~*", "resetchannels", "-@all", "+@read", "+@connection", "-@dangerous", "+info"];
}

/**
 * Commands the operational's passwordless default user must never run, with arguments of a
 * valid arity (`ACL DRYRUN` checks them): writes, configuration, replication, shutdown,
 * scans of every key, ACLs, scripts, MONITOR and DEBUG. `check` asks Redis about each with
 * `ACL DRYRUN default ...`: a rule added by hand that widens the user shows there whatever
 * form Redis writes the rules back in (a `+keys` only deletes `-keys` from ACL GETUSER's
 * list, which reads the same as the declared rules).
 */
export const READER_FORBIDDEN_COMMANDS: readonly (readonly string[])[] = [
    ["SET", "k", "v"],
    ["DEL", "k"],
    ["CONFIG", "SET", "masterauth", "x"],
    ["CONFIG", "GET", "masterauth"],
    ["REPLICAOF", "NO", "ONE"],
    ["FLUSHALL"],
    ["SHUTDOWN", "NOSAVE"],
    ["KEYS", "*"],
    ["ACL", "LIST"],
    ["EVAL", "return 1", "0"],
    ["MONITOR"],
    ["DEBUG", "SLEEP", "0"],
];

/** ACL rules of the operational's admin user, used for repairs. */
export function operationalAdminRules(passwordSha256: string): string[] {
    return ["on", `#${passwordSha256}`, "~*", "&*", "+@all"];
}

/** Passwords of a vault; `replicationPassword` is absent for a secure environment. */
export interface VaultPasswords {
    password: string;
    replicationPassword?: string;
    backupPassword: string;
}

/** A vault's ACL users and their rules: default, the backup user, and on a standard vault the replication user. */
export function vaultUsers(passwords: VaultPasswords): Record<string, string[]> {
    return {
        default: vaultDefaultUserRules(passwordHash(passwords.password)),
        ...(passwords.replicationPassword === undefined
            ? {}
            : { [REPLICATION_USER]: replicationUserRules(passwordHash(passwords.replicationPassword)) }),
        [BACKUP_USER]: backupUserRules(passwordHash(passwords.backupPassword)),
    };
}

/** An operational's ACL users: the passwordless, read-only default user and the admin user. */
export function operationalUsers(adminPassword: string): Record<string, string[]> {
    return { default: operationalDefaultUserRules(), [OPERATIONAL_ADMIN_USER]: operationalAdminRules(passwordHash(adminPassword)) };
}
