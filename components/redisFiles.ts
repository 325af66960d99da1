/**
 * The files the plan puts into each container before its first start: where each goes, with
 * which owner and mode, and how a config file is written (`name value...` lines Redis reads back).
 */

/** A role's settings by name, in the form `CONFIG GET` returns them. */
export type Settings = Readonly<Record<string, string>>;

/** Where Redis finds its TLS files (they differ by platform: Swarm mounts secrets under /run/secrets). */
export interface TlsPaths {
    cert: string;
    key: string;
    ca: string;
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
 * The folder in the vault's data folder that start-redis.sh holds its converting server's
 * socket in: made when it converts dump.rdb into an AOF, removed when that is done (and at
 * every start, under the lock; one a killed conversion left stays until then). Restore looks
 * for a process whose socket is in it to tell a converting vault from one that does not answer
 * for another reason.
 */
export const CONVERT_FOLDER = ".nexus-redis-convert";

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
