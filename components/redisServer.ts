/**
 * The redis-server command line of each role, as pure functions over plain data.
 *
 * Every setting the program declares lives here once: the components bake it into the
 * containers' commands, and the operator CLI compares it with `CONFIG GET` to find
 * runtime drift that `pulumi preview` cannot see. Values are written in the form
 * `CONFIG GET` returns them (bytes, not "64mb") so that comparison is exact.
 */
import { REDIS_INTERNAL_PORT } from "./protocol";

/** ACL user the operational authenticates as to its vault: it may only replicate. */
export const REPLICATION_USER = "replicator";

/** ACL user on the operational for repairs (`REPLICAOF`, `CONFIG SET`); the default user cannot. */
export const OPERATIONAL_ADMIN_USER = "admin";

/** Where the named volume is mounted in every container. */
export const DATA_DIR = "/data";

/**
 * Backlog kept by the vault for replicas that briefly lose their link. A replica that
 * reconnects while the bytes it missed are still in the backlog gets a partial resync
 * (only those bytes) instead of a full copy of the dataset. 64 MiB covers a cut of
 * about a minute at 1 MiB/s of writes, far more than the protocol's environments see.
 */
export const REPLICATION_BACKLOG_BYTES = 64 * 1024 * 1024;

/** Share of a container's memory limit given to Redis; the rest covers fork copy-on-write and buffers. */
export const MAXMEMORY_SHARE = 0.75;

export type Settings = Readonly<Record<string, string>>;

/** Settings every container has, whatever its role. */
function commonSettings(): Record<string, string> {
    return {
        port: String(REDIS_INTERNAL_PORT),
        dir: DATA_DIR,
        // DEBUG DIGEST is how a recovery is verified (both sides equal). "local" allows it
        // only from inside the container (docker exec), never through a published port.
        "enable-debug-command": "local",
        // Notice a dead link within seconds, not Redis's default minute: the protocol's check
        // (master_link_status) then tells the truth soon after a cut, and the replica
        // reconnects with a partial resync from the backlog as soon as the network is back.
        // It must stay well above the vault's ping period, or idle links would time out.
        "repl-timeout": "5",
    };
}

/** Declared settings of a vault (standard or secure). */
export function vaultSettings(opts: { memoryLimitMb?: number } = {}): Settings {
    const settings: Record<string, string> = {
        ...commonSettings(),
        // The vault is the single source of truth: AOF, so a restart (even kill -9) loses at
        // most a second of writes and never comes back empty. A vault that restarted empty
        // would replicate its emptiness and wipe every operational.
        appendonly: "yes",
        appendfsync: "everysec",
        // Stream the snapshot straight to the replica's socket and start at once: Redis's
        // default waits 5 s for more replicas to join, which made a recovery ~15x slower.
        "repl-diskless-sync": "yes",
        "repl-diskless-sync-delay": "0",
        "repl-backlog-size": String(REPLICATION_BACKLOG_BYTES),
        "repl-backlog-ttl": "3600",
        // Pings are what an idle replica's repl-timeout measures: one a second (default 10).
        "repl-ping-replica-period": "1",
    };
    const maxmemory = maxmemoryBytes(opts.memoryLimitMb);
    if (maxmemory !== undefined) {
        settings.maxmemory = String(maxmemory);
        // Evicting keys from the source of truth would be silent data loss; refuse writes instead.
        settings["maxmemory-policy"] = "noeviction";
    }
    return settings;
}

/** Declared settings of an operational replica of `vaultContainer`. */
export function operationalSettings(opts: { vaultContainer: string }): Settings {
    return {
        ...commonSettings(),
        // By container name on the shared network, on the internal port: never localhost
        // (that is the operational itself) and never the host-mapped port.
        replicaof: `${opts.vaultContainer} ${REDIS_INTERNAL_PORT}`,
        masteruser: REPLICATION_USER,
        "replica-read-only": "yes",
        // The operational is rebuilt from the vault whenever it is lost: persisting it would
        // only cost disk writes.
        appendonly: "no",
        save: "",
        // A wiped operational is empty, so it can load the snapshot straight from the socket
        // without first writing it to disk; a non-empty one still goes through disk, safely.
        "repl-diskless-load": "on-empty-db",
        // The default user has no password (reads need none), which protected mode would
        // refuse for clients coming through the published port. It is restricted by ACL
        // instead, and the port is published on the bind address only.
        "protected-mode": "no",
    };
}

/** ACL rules of the vault's replication user: PSYNC and REPLCONF only (with PSYNC alone the link drops every second). */
export function replicationUserRules(password: string): string[] {
    return ["on", `>${password}`, "-@all", "+psync", "+replconf"];
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

/** ACL rules of the operational's admin user, used for repairs. */
export function operationalAdminRules(password: string): string[] {
    return ["on", `>${password}`, "~*", "&*", "+@all"];
}

/** Turns settings into redis-server arguments, one argument per word as Redis expects. */
export function settingsToArgs(settings: Settings): string[] {
    return Object.entries(settings).flatMap(([name, value]) => [
        `--${name}`,
        // `save ""` must stay one empty argument; "host port" must become two.
        ...(value === "" ? [""] : value.split(" ")),
    ]);
}

function userArgs(user: string, rules: string[]): string[] {
    return ["--user", user, ...rules];
}

/** Inputs of a vault's command. `replicationPassword` is absent for a secure environment. */
export interface VaultCommandInput {
    password: string;
    replicationPassword?: string;
    memoryLimitMb?: number;
}

/** The vault's full command, passwords included (a secret as a whole). */
export function vaultCommand(input: VaultCommandInput): string[] {
    return [
        "redis-server",
        ...settingsToArgs(vaultSettings({ memoryLimitMb: input.memoryLimitMb })),
        "--requirepass",
        input.password,
        ...(input.replicationPassword === undefined ? [] : userArgs(REPLICATION_USER, replicationUserRules(input.replicationPassword))),
    ];
}

/** Inputs of an operational's command. */
export interface OperationalCommandInput {
    vaultContainer: string;
    replicationPassword: string;
    adminPassword: string;
}

/** The operational's full command: replication baked in, so it is right from its first start. */
export function operationalCommand(input: OperationalCommandInput): string[] {
    return [
        "redis-server",
        ...settingsToArgs(operationalSettings({ vaultContainer: input.vaultContainer })),
        "--masterauth",
        input.replicationPassword,
        ...userArgs("default", operationalDefaultUserRules()),
        ...userArgs(OPERATIONAL_ADMIN_USER, operationalAdminRules(input.adminPassword)),
    ];
}

/** `maxmemory` for a container memory limit, or undefined when there is none. */
export function maxmemoryBytes(memoryLimitMb: number | undefined): number | undefined {
    if (!memoryLimitMb) return undefined;
    return Math.floor(memoryLimitMb * MAXMEMORY_SHARE) * 1024 * 1024;
}

export type Role = "vault" | "operational";

/** Docker container name of a role of an environment: `nexus3-contact-vault`. */
export function containerName(prefix: string, environment: string, role: Role): string {
    return `${prefix}-${environment}-${role}`;
}

/** Docker volume name of a role of an environment: `nexus3-contact-vault-data`. */
export function volumeName(prefix: string, environment: string, role: Role): string {
    return `${containerName(prefix, environment, role)}-data`;
}
