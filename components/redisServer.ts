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
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { readFileSync } from "node:fs";
import * as path from "node:path";
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

/** Where Redis finds its TLS files (they differ by platform: Swarm mounts secrets under /run/secrets). */
export interface TlsPaths {
    cert: string;
    key: string;
    ca: string;
}

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
        // No RDB snapshots of its own (the README's "Persistence of a vault" says why): the AOF
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
        // 3.8x (1M keys) to 6.7x (100k keys) as long (BENCHMARKS.md, recovery-1m and recovery-100k).
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

// Characters a config-file argument may hold without quotes.
const BARE_CONFIG_WORD = /^[A-Za-z0-9_.:/@#~&+*%=,-]+$/;

/**
 * One argument of a config-file line: bare when safe, else double-quoted with every byte
 * that is not plain printable ASCII escaped as \xHH, which Redis's parser reads back.
 */
export function configWord(value: string): string {
    if (BARE_CONFIG_WORD.test(value)) return value;
    let quoted = "";
    for (const byte of Buffer.from(value, "utf8")) {
        const c = String.fromCharCode(byte);
        quoted += byte < 0x20 || byte > 0x7e || c === '"' || c === "\\" ? `\\x${byte.toString(16).padStart(2, "0")}` : c;
    }
    return `"${quoted}"`;
}

/**
 * Settings whose value is several arguments in a config file, written space-separated as
 * `CONFIG GET` returns them: `replicaof HOST PORT`, and `save`'s SECONDS CHANGES pairs (Redis 7
 * config.c: replicaof is a special config taking two arguments, save takes pairs). Every other
 * value is one argument, quoted when it holds a space (`tls-protocols "TLSv1.2 TLSv1.3"`).
 */
export const MULTI_ARGUMENT_SETTINGS: ReadonlySet<string> = new Set(["replicaof", "save"]);

/** The arguments a setting's value is written as on its config-file line. */
export function settingWords(name: string, value: string): string[] {
    // `save ""` stays one empty argument.
    if (value === "" || !MULTI_ARGUMENT_SETTINGS.has(name)) return [value];
    return value.split(" ");
}

/** The contents of a redis.conf: one `name value...` line per setting, then one `user` line per ACL user. */
export function renderConfig(settings: Settings, users: Record<string, string[]>, secrets: Settings = {}): string {
    const lines = ["# Written by nexus-redis (Pulumi); changed only by changing the stack."];
    for (const [name, value] of [...Object.entries(settings), ...Object.entries(secrets)]) {
        lines.push([name, ...settingWords(name, value).map(configWord)].join(" "));
    }
    for (const [user, rules] of Object.entries(users)) lines.push(["user", user, ...rules].map(configWord).join(" "));
    return `${lines.join("\n")}\n`;
}

/** Where the plan puts each container's files; not under /data, which is the data volume. */
export const CONFIG_DIR = "/etc/nexus-redis";
export const VAULT_CONFIG_FILE = `${CONFIG_DIR}/vault.conf`;
export const OPERATIONAL_CONFIG_FILE = `${CONFIG_DIR}/operational.conf`;
/** How both roles start (components/start-redis.sh): who Redis runs as, and for the vault its data folder. */
export const START_SCRIPT_FILE = `${CONFIG_DIR}/start-redis.sh`;

/**
 * The redis user of the official image (and of the test images built like it): the start
 * script runs Redis as it. Numbers, not names: the Docker provider
 * resolves upload owner names on the machine that runs Pulumi, not in the container.
 */
export const REDIS_UID = "999";

/** A file the plan puts into a container before its first start. */
export interface ContainerFile {
    path: string;
    content: string;
    /** Octal, as the Docker provider's upload `permissions` takes it. */
    mode: string;
    owner: string;
    group: string;
    /** Holds passwords or their hashes: a Pulumi secret, never shown. */
    secret: boolean;
}

/** A file's place and permissions, known before its content (which may wait on passwords). */
export type FileShape = Omit<ContainerFile, "content">;

/** The vault's config: passwords as hashes, readable by the redis user alone. */
export const VAULT_CONFIG: FileShape = { path: VAULT_CONFIG_FILE, mode: "0400", owner: REDIS_UID, group: REDIS_UID, secret: true };
/** The start script of both roles (start-redis.sh): no secret in it. */
export const START_SCRIPT: FileShape = { path: START_SCRIPT_FILE, mode: "0555", owner: "0", group: "0", secret: false };
/** The operational's config: it holds masterauth in plain text, readable by the redis user alone. */
export const OPERATIONAL_CONFIG: FileShape = {
    path: OPERATIONAL_CONFIG_FILE,
    mode: "0400",
    owner: REDIS_UID,
    group: REDIS_UID,
    secret: true,
};

/** Where the plan puts a role's TLS files on docker (uploads); on Swarm the key is a secret under /run/secrets. */
export const TLS_DIR = `${CONFIG_DIR}/tls`;

/** Where Docker mounts a Swarm secret whose target is a bare file name. */
export const SWARM_SECRETS_DIR = "/run/secrets";
/** The role's private key: a secret, readable by the redis user alone (Redis refuses to start if it cannot read it). */
export const TLS_KEY: FileShape = { path: `${TLS_DIR}/tls.key`, mode: "0400", owner: REDIS_UID, group: REDIS_UID, secret: true };
/** The role's certificate (public). */
export const TLS_CERT: FileShape = { path: `${TLS_DIR}/server.crt`, mode: "0444", owner: REDIS_UID, group: REDIS_UID, secret: false };
/** The stack's CA certificate (public): what the role trusts, and what every client needs. */
export const TLS_CA: FileShape = { path: `${TLS_DIR}/ca.crt`, mode: "0444", owner: REDIS_UID, group: REDIS_UID, secret: false };
/**
 * Where Redis reads its TLS files: uploads on Docker; on Swarm the key is a secret, which
 * Docker mounts under /run/secrets, and the certificates are configs, mounted where the plan says.
 */
export function tlsPaths(platform: "docker" | "swarm"): TlsPaths {
    const key = platform === "swarm" ? `${SWARM_SECRETS_DIR}/${TLS_KEY.path.split("/").pop()}` : TLS_KEY.path;
    return { cert: TLS_CERT.path, key, ca: TLS_CA.path };
}

/**
 * A `sh -c` preamble for redis-cli inside a role's container: with TLS the server has no plain
 * port (`port 0`), not even on loopback, so redis-cli speaks TLS to it with the stack's CA,
 * which the container has exactly when its Redis speaks TLS (an upload on Docker, a config on
 * Swarm). Its arguments are the script's ("$@"), which this prefixes.
 */
export const IN_CONTAINER_TLS = `if [ -f ${TLS_CA.path} ]; then set -- --tls --cacert ${TLS_CA.path} "$@"; fi; `;

/** A role's TLS files, in the order they are created. */
export const TLS_FILE_SHAPES: readonly FileShape[] = [TLS_KEY, TLS_CERT, TLS_CA];

/** The PEM texts of a role's TLS files. */
export interface TlsFilesInput {
    keyPem: string;
    certPem: string;
    caPem: string;
    /** Where Redis reads them (the config names them). */
    paths: TlsPaths;
}

/** A role's TLS files, with their contents. */
export function tlsFiles(tls: TlsFilesInput): ContainerFile[] {
    return [
        { ...TLS_KEY, content: tls.keyPem },
        { ...TLS_CERT, content: tls.certPem },
        { ...TLS_CA, content: tls.caPem },
    ];
}

/** What a vault's files are (`vaultFiles`), known before their contents. */
export const VAULT_FILE_SHAPES: readonly FileShape[] = [VAULT_CONFIG, START_SCRIPT];
/** What an operational's files are (`operationalFiles`), known before their contents. */
export const OPERATIONAL_FILE_SHAPES: readonly FileShape[] = [OPERATIONAL_CONFIG, START_SCRIPT];

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
