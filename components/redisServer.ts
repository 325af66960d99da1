/**
 * What each role's Redis runs with, as pure functions over plain data: its settings, its
 * ACL users, the config file they make, and the container command that starts it.
 *
 * Every setting the program declares lives here once: the components write it into each
 * container's config file, and the operator CLI compares it with `CONFIG GET` to find
 * runtime drift that `pulumi preview` cannot see. Values are written in the form
 * `CONFIG GET` returns them (bytes, not "64mb") so that comparison is exact.
 *
 * Passwords reach Redis only through those config files, which the plan uploads into the
 * container before its first start: never through the command line (`docker inspect`,
 * `ps`, /proc/1/cmdline), the environment or a log. The vault holds only SHA-256 hashes
 * of its passwords (`#<hex>` ACL rules); the operational must hold its `masterauth` in
 * plain text, since it presents that to the vault.
 *
 * The ACL users are in redisUsers.ts and the files with the config-file format in
 * redisFiles.ts; this file re-exports both, so every setting's reader imports one place.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { REDIS_INTERNAL_PORT } from "./protocol";
import {
    type ContainerFile,
    OPERATIONAL_CONFIG,
    OPERATIONAL_CONFIG_FILE,
    START_SCRIPT,
    START_SCRIPT_FILE,
    type Settings,
    type TlsFilesInput,
    type TlsPaths,
    VAULT_CONFIG,
    VAULT_CONFIG_FILE,
    renderConfig,
    tlsFiles,
} from "./redisFiles";
import { REPLICATION_USER, type VaultPasswords, operationalUsers, vaultUsers } from "./redisUsers";

export * from "./redisFiles";
export * from "./redisUsers";

/** Where the named volume is mounted in every container. */
export const DATA_DIR = "/data";

/**
 * Seconds Redis is given to shut down when its container is stopped, replaced or deleted,
 * before Docker kills it. On SIGTERM Redis fsyncs its append-only file, then saves its RDB
 * (on a vault with save points), which takes seconds per GiB. Killed at once instead, it
 * leaves its last second of writes in the kernel's page cache only (a crash of the host then
 * would lose them; a killed process alone does not) and skips the save. The provider's
 * default is to stop with a timeout of 0: a kill.
 * (Here, beside what both roles share, because the operator CLI needs it too: restore keeps
 * that much of --timeout for a vault's stop.)
 */
export const STOP_GRACE_SECONDS = 60;

/**
 * Backlog kept by the vault for replicas that briefly lose their link. A replica that
 * reconnects while the bytes it missed are still in the backlog gets a partial resync
 * (only those bytes) instead of a full copy of the dataset. 64 MiB covers a cut of
 * about a minute at 1 MiB/s of writes, far more than the protocol's environments see.
 */
export const REPLICATION_BACKLOG_BYTES = 64 * 1024 * 1024;

/** Share of a container's memory limit given to Redis; the rest covers fork copy-on-write and buffers. */
export const MAXMEMORY_SHARE = 0.75;

/**
 * The TLS versions a server accepts: 1.3, and 1.2 for clients that have no 1.3 yet. One
 * argument in the config file: unquoted, Redis stops with "wrong number of arguments".
 */
export const TLS_PROTOCOLS = "TLSv1.2 TLSv1.3";

/**
 * What turns a role's port into TLS only (Redis 7 src/tls.c, config.c): no plain port, the TLS
 * port on Redis's own port number (so names, ports and `replicaof` stay as they are), its
 * certificate, key and the stack's CA. Passwords stay the authentication: no client
 * certificate is asked for (`tls-auth-clients no`), so readers of an operational still need
 * no credential, only the CA to check the server.
 */
function tlsSettings(paths: TlsPaths): Record<string, string> {
    return {
        port: "0",
        "tls-port": String(REDIS_INTERNAL_PORT),
        "tls-cert-file": paths.cert,
        "tls-key-file": paths.key,
        "tls-ca-cert-file": paths.ca,
        "tls-auth-clients": "no",
        "tls-protocols": TLS_PROTOCOLS,
    };
}

/** Settings every container has, whatever its role. */
function commonSettings(tls: TlsPaths | undefined): Record<string, string> {
    return {
        port: String(REDIS_INTERNAL_PORT),
        ...(tls ? tlsSettings(tls) : {}),
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
export function vaultSettings(opts: { memoryLimitMb?: number; tls?: TlsPaths } = {}): Settings {
    const settings: Record<string, string> = {
        ...commonSettings(opts.tls),
        // The vault is the single source of truth: AOF, so a restart (even kill -9) loses at
        // most a second of writes and never comes back empty. A vault that restarted empty
        // would replicate its emptiness and wipe every operational.
        appendonly: "yes",
        appendfsync: "everysec",
        // Keep fsyncing while a rewrite runs (Redis's default): "yes" would widen the window of
        // acknowledged writes a crash can lose from about a second to the whole rewrite.
        "no-appendfsync-on-rewrite": "no",
        // The AOF's base file is an RDB snapshot (Redis's default since 4.0): a restart loads
        // a snapshot plus the commands since, as fast as an RDB alone would be.
        "aof-use-rdb-preamble": "yes",
        // A last command cut short (a crash or a full disk during its write) is dropped, and the
        // vault starts on everything before it (Redis's default); "no" would refuse to start.
        "aof-load-truncated": "yes",
        // No RDB snapshots of its own (docs/design.md, "Persistence of a vault", says why): the AOF
        // is the vault's durability, and `nexus-redis backup` takes the snapshots, verified and
        // off the volume. With Redis's default save points, a snapshot that fails on a nearly
        // full volume makes every write fail (MISCONF) while the AOF is fine, and a graceful stop
        // never ends: prepareForShutdown (server.c) must save first while any save point is set.
        save: "",
        // Were save points set by hand (check reports that as drift), a failed snapshot still
        // must not refuse writes: writeCommandsDeniedByDiskError (server.c) checks this first.
        "stop-writes-on-bgsave-error": "no",
        // Redis's own defaults, written down because the start script (start-redis.sh) reads
        // them from the config to know what the data folder holds before Redis starts.
        dbfilename: "dump.rdb",
        appenddirname: "appendonlydir",
        appendfilename: "appendonly.aof",
        // Stream the snapshot straight to the replica's socket and start at once: Redis's
        // default waits 5 s for more replicas to join: with the default settings a recovery took
        // 3.8x (1M keys) to 6.7x (100k keys) as long (docs/benchmarks.md, recovery-1m and recovery-100k).
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
export function operationalSettings(opts: { vaultContainer: string; tls?: TlsPaths }): Settings {
    return {
        ...commonSettings(opts.tls),
        // The link to the vault over TLS too. The replica presents the role's own certificate
        // as a client (src/tls.c tlsConfigure builds the client side from tls-cert-file when no
        // tls-client-cert-file is set): without one it does not start.
        ...(opts.tls ? { "tls-replication": "yes" } : {}),
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

/** Inputs of a vault's files. */
export interface VaultFilesInput extends VaultPasswords {
    memoryLimitMb?: number;
    /** TLS only: the role's key and certificate, and the stack's CA. */
    tls?: TlsFilesInput;
}

/**
 * A vault's files: its config (passwords as hashes; readable by the redis user alone) and
 * the start script that loads whatever data its folder holds before clients can write.
 */
export function vaultFiles(input: VaultFilesInput): ContainerFile[] {
    const settings = vaultSettings({ memoryLimitMb: input.memoryLimitMb, tls: input.tls?.paths });
    return [
        { ...VAULT_CONFIG, content: renderConfig(settings, vaultUsers(input)) },
        { ...START_SCRIPT, content: startScript() },
        ...(input.tls ? tlsFiles(input.tls) : []),
    ];
}

/**
 * The vault's command: the start script, which the image's entrypoint (if any) runs as root;
 * the script locks the data folder, loads what it holds, and runs Redis as the redis user.
 */
export function vaultCommand(configFile: string = VAULT_CONFIG_FILE): string[] {
    return ["sh", START_SCRIPT_FILE, "vault", configFile];
}

/** Inputs of an operational's files. */
export interface OperationalFilesInput {
    vaultContainer: string;
    replicationPassword: string;
    adminPassword: string;
    /** TLS only: the role's key and certificate, and the stack's CA. */
    tls?: TlsFilesInput;
}

/** An operational's config (replication baked in, so it is right from its first start) and the start script. */
export function operationalFiles(input: OperationalFilesInput): ContainerFile[] {
    const settings = operationalSettings({ vaultContainer: input.vaultContainer, tls: input.tls?.paths });
    const content = renderConfig(settings, operationalUsers(input.adminPassword), { masterauth: input.replicationPassword });
    return [{ ...OPERATIONAL_CONFIG, content }, { ...START_SCRIPT, content: startScript() }, ...(input.tls ? tlsFiles(input.tls) : [])];
}

/**
 * The operational's command: the start script too, so that Redis reads its config as the
 * redis user whatever owner the provider gave the file, on any image layout.
 */
export function operationalCommand(configFile: string = OPERATIONAL_CONFIG_FILE): string[] {
    return ["sh", START_SCRIPT_FILE, "operational", configFile];
}

let startScriptText: string | undefined;

/** The start script of both roles (components/start-redis.sh). */
export function startScript(): string {
    startScriptText ??= readFileSync(path.join(__dirname, "start-redis.sh"), "utf8");
    return startScriptText;
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
