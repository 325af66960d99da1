/**
 * `nexus-redis adopt`, the old vault's settings against the ones the new vault will run with:
 * every setting of Redis's config list (7.0 and 7.2), the loaded modules and the renamed
 * commands, each classified as
 *
 *   - refused: the old data would not load on the new vault (`databases`, modules), or its
 *     clients would see it behave otherwise (evictions, keyspace notifications, TLS, a fsync
 *     per write...). The message names the setting, both values and how to go on;
 *   - carried over: what the program has a configuration for (the password, the data, the
 *     ports, the network) is set by adopt itself, and `maxmemory` is named with `memoryLimitMb`;
 *   - harmless: the same data and the same replies, only memory, CPU, logging or timing
 *     differ. The dry run lists those that differ, so nothing changes unsaid.
 *
 * What the new vault runs with is `vaultSettings()` (its config file) over Redis's own
 * defaults. Pure: adopt/discover.ts asks the old vault (`CONFIG GET *`, `MODULE LIST`,
 * `INFO keyspace`, `ACL CAT` and `COMMAND INFO`), adopt/judge.ts turns the verdicts into the plan.
 */
import { type Settings, vaultSettings } from "../../components/redisServer";
import type { Info } from "../redis/replies";

/**
 * Redis 7.0/7.2's compiled-in defaults, as `CONFIG GET` prints them (read from a server
 * started with no argument, 7.0.15, and config.c of 7.2). Left out: `dir` (the image's working
 * folder) and `protected-mode` (Debian's build says yes, the official image's no).
 */
export const REDIS_DEFAULTS: Settings = {
    "acl-pubsub-default": "resetchannels",
    aclfile: "",
    "acllog-max-len": "128",
    "active-defrag-cycle-max": "25",
    "active-defrag-cycle-min": "1",
    "active-defrag-ignore-bytes": "104857600",
    "active-defrag-max-scan-fields": "1000",
    "active-defrag-threshold-lower": "10",
    "active-defrag-threshold-upper": "100",
    "active-expire-effort": "1",
    activedefrag: "no",
    activerehashing: "yes",
    "always-show-logo": "no",
    "aof-disable-auto-gc": "no",
    "aof-load-truncated": "yes",
    "aof-rewrite-incremental-fsync": "yes",
    "aof-timestamp-enabled": "no",
    "aof-use-rdb-preamble": "yes",
    appenddirname: "appendonlydir",
    appendfilename: "appendonly.aof",
    appendfsync: "everysec",
    appendonly: "no",
    "auto-aof-rewrite-min-size": "67108864",
    "auto-aof-rewrite-percentage": "100",
    "busy-reply-threshold": "5000",
    "client-output-buffer-limit": "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    "client-query-buffer-limit": "1073741824",
    "cluster-enabled": "no",
    "crash-log-enabled": "yes",
    "crash-memcheck-enabled": "yes",
    daemonize: "no",
    databases: "16",
    dbfilename: "dump.rdb",
    "disable-thp": "yes",
    "dynamic-hz": "yes",
    "enable-debug-command": "no",
    "enable-module-command": "no",
    "enable-protected-configs": "no",
    "hash-max-listpack-entries": "512",
    "hash-max-listpack-value": "64",
    "hll-sparse-max-bytes": "3000",
    hz: "10",
    "io-threads": "1",
    "io-threads-do-reads": "no",
    "jemalloc-bg-thread": "yes",
    "latency-monitor-threshold": "0",
    "latency-tracking": "yes",
    "latency-tracking-info-percentiles": "50 99 99.9",
    "lazyfree-lazy-eviction": "no",
    "lazyfree-lazy-expire": "no",
    "lazyfree-lazy-server-del": "no",
    "lazyfree-lazy-user-del": "no",
    "lazyfree-lazy-user-flush": "no",
    "lfu-decay-time": "1",
    "lfu-log-factor": "10",
    "list-compress-depth": "0",
    "list-max-listpack-size": "-2",
    "locale-collate": "",
    loglevel: "notice",
    maxclients: "10000",
    maxmemory: "0",
    "maxmemory-clients": "0",
    "maxmemory-eviction-tenacity": "10",
    "maxmemory-policy": "noeviction",
    "maxmemory-samples": "5",
    "min-replicas-max-lag": "10",
    "min-replicas-to-write": "0",
    "no-appendfsync-on-rewrite": "no",
    "notify-keyspace-events": "",
    "oom-score-adj": "no",
    "oom-score-adj-values": "0 200 800",
    "proto-max-bulk-len": "536870912",
    "rdb-del-sync-files": "no",
    "rdb-save-incremental-fsync": "yes",
    rdbchecksum: "yes",
    rdbcompression: "yes",
    "sanitize-dump-payload": "no",
    save: "3600 1 300 100 60 10000",
    "set-max-intset-entries": "512",
    "set-max-listpack-entries": "128",
    "set-max-listpack-value": "64",
    "shutdown-on-sigint": "default",
    "shutdown-on-sigterm": "default",
    "shutdown-timeout": "10",
    "slowlog-log-slower-than": "10000",
    "slowlog-max-len": "128",
    "stop-writes-on-bgsave-error": "yes",
    "stream-node-max-bytes": "4096",
    "stream-node-max-entries": "100",
    "tcp-backlog": "511",
    "tcp-keepalive": "300",
    timeout: "0",
    "tls-port": "0",
    "tracking-table-max-keys": "1000000",
    "zset-max-listpack-entries": "128",
    "zset-max-listpack-value": "64",
};

/**
 * Older names Redis still answers to, with the name it means: `CONFIG GET *` lists both, and
 * only the current one is judged.
 */
export const SETTING_ALIASES: Readonly<Record<string, string>> = {
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "lua-time-limit": "busy-reply-threshold",
    "min-slaves-to-write": "min-replicas-to-write",
    "min-slaves-max-lag": "min-replicas-max-lag",
    slaveof: "replicaof",
    "slave-announce-ip": "replica-announce-ip",
    "slave-announce-port": "replica-announce-port",
    "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "slave-lazy-flush": "replica-lazy-flush",
    "slave-priority": "replica-priority",
    "slave-read-only": "replica-read-only",
    "slave-serve-stale-data": "replica-serve-stale-data",
    "repl-ping-slave-period": "repl-ping-replica-period",
    "cluster-slave-no-failover": "cluster-replica-no-failover",
    "cluster-slave-validity-factor": "cluster-replica-validity-factor",
};

/** Settings whose value is a password: judged by other rules, never printed. */
export const SECRET_SETTINGS: ReadonlySet<string> = new Set(["requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"]);

/** What the new vault runs with: the program's declared settings over Redis's defaults. */
export function newVaultSettings(memoryLimitMb: number): Settings {
    return { ...REDIS_DEFAULTS, ...vaultSettings({ memoryLimitMb: memoryLimitMb === 0 ? undefined : memoryLimitMb }) };
}

/** One database's line of INFO keyspace. */
export interface DatabaseKeys {
    keys: number;
    expires: number;
}

/** INFO keyspace by database number: only databases that hold keys are listed by Redis. */
export type Keyspace = Readonly<Record<number, DatabaseKeys>>;

/** INFO keyspace (`db3:keys=17000,expires=2,avg_ttl=0`) as counts by database. */
export function parseKeyspace(info: Info): Keyspace {
    const result: Record<number, DatabaseKeys> = {};
    for (const [field, value] of Object.entries(info)) {
        const db = /^db(\d+)$/.exec(field);
        const counts = /(?:^|,)keys=(\d+),expires=(\d+)/.exec(value);
        if (db && counts) result[Number(db[1])] = { keys: Number(counts[1]), expires: Number(counts[2]) };
    }
    return result;
}

/** Every database's keys together: what DBSIZE would say if it did not count database 0 only. */
export function totalKeys(keyspace: Keyspace): number {
    return Object.values(keyspace).reduce((sum, db) => sum + db.keys, 0);
}

/** `db0 17004, db3 17000` for the databases that hold keys, in order. */
export function describeKeyspace(keyspace: Keyspace): string {
    return Object.entries(keyspace)
        .map(([db, counts]) => [Number(db), counts.keys] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([db, keys]) => `db${db} ${keys}`)
        .join(", ");
}

/**
 * Whether a server that should hold `expected`'s data holds it: every database at least its
 * keys, less those that may have expired since (`expires`) and 1 % for deletions by clients
 * meanwhile. Returns what falls short, in words, or undefined. More keys is never a shortfall:
 * clients may have written since.
 */
export function keyspaceShortfall(expected: Keyspace, found: Keyspace): string | undefined {
    const short: string[] = [];
    for (const [db, counts] of Object.entries(expected)) {
        const floor = counts.keys - counts.expires - Math.floor(counts.keys / 100);
        const has = found[Number(db)]?.keys ?? 0;
        if (has < floor) short.push(`db${db} holds ${has} keys, not ${counts.keys}`);
    }
    return short.length === 0 ? undefined : short.join(", ");
}

/** A module as `MODULE LIST` describes it (Redis 7 adds its path and arguments). */
export interface LoadedModule {
    name: string;
    ver?: string;
    path?: string;
}

/** `MODULE LIST`'s reply (RESP2: one flat name/value list per module). */
export function parseModuleList(reply: unknown): LoadedModule[] {
    if (!Array.isArray(reply)) return [];
    return reply.filter(Array.isArray).map((entry: unknown[]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = String(entry[i + 1]);
        return { name: fields.name ?? "?", ...(fields.ver ? { ver: fields.ver } : {}), ...(fields.path ? { path: fields.path } : {}) };
    });
}

/**
 * Commands renamed or removed with `rename-command`, which `CONFIG GET` does not show: every
 * command Redis knows (`ACL CAT`, which lists commands by their original names even when they
 * are renamed or removed) that `COMMAND INFO` under its own name does not find.
 */
export function renamedCommands(known: readonly string[], infoReplies: readonly unknown[]): string[] {
    return known.filter((_, i) => infoReplies[i] === null || infoReplies[i] === undefined);
}

/** What is known about the old vault beside its settings. */
export interface SettingsFacts {
    /** The old vault's container name, for the messages. */
    container: string;
    /** `CONFIG GET *`. */
    config: Readonly<Record<string, string>>;
    declared: Settings;
    /** memoryLimitMb of the stack (0: no limit), to say which value gives what maxmemory. */
    memoryLimitMb: number;
    keyspace: Keyspace;
    modules: readonly LoadedModule[];
    /** Commands renamed or removed (rename-command). */
    renamed: readonly string[];
    /** INFO memory used_memory, INFO clients connected_clients. */
    usedMemory?: number;
    connectedClients?: number;
}

/** The verdict on one setting (or group of settings judged together). */
export interface SettingVerdict {
    refuse?: string;
    note?: string;
}

type Judge = (f: SettingsFacts) => SettingVerdict;

/** A setting whose difference can refuse the takeover: judged by its function. */
export interface RefusingRule {
    kind: "refuse";
    names: readonly string[];
    judge: Judge;
}

/** Settings whose difference changes nothing clients see: listed in the dry run when they differ. */
export interface HarmlessRule {
    kind: "harmless";
    /** Why they do not matter, for the note. */
    why: string;
    names: readonly (string | RegExp)[];
}

/** Settings another rule of adopt judges (or carries over), never listed here. */
export interface HandledRule {
    kind: "handled";
    by: string;
    names: readonly (string | RegExp)[];
}

export type SettingRule = RefusingRule | HarmlessRule | HandledRule;

const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
const shown = (v: string) => (v === "" ? "''" : v);

function databasesRule(f: SettingsFacts): SettingVerdict {
    const old = num(f.config.databases) ?? 16;
    const declared = num(f.declared.databases) ?? 16;
    if (old < declared) return { note: `databases ${old} → ${declared}: more databases (harmless)` };
    if (old === declared) return {};
    const above = Object.entries(f.keyspace)
        .filter(([db]) => Number(db) >= declared)
        .map(([db, counts]) => `db${db} holds ${counts.keys} key${counts.keys === 1 ? "" : "s"}`);
    const why =
        above.length > 0
            ? `${above.join(", ")}: a vault with ${declared} databases refuses to load that data (FATAL: Data file was created with a Redis server configured to handle more than ${declared} databases) and stays down. To go on: move those keys into databases 0-${declared - 1} (MOVE, SWAPDB) and point their clients there, restart ${f.container} with --databases ${declared}, then adopt again`
            : `no key is above db${declared - 1}, but clients that SELECT ${declared}-${old - 1} would get errors. To go on, if none does: restart ${f.container} with --databases ${declared}, then adopt again`;
    return {
        refuse: `${f.container} has databases ${old}; the program declares ${declared} (it has no setting for more): ${why}`,
    };
}

function maxmemoryRule(f: SettingsFacts): SettingVerdict {
    const oldMax = num(f.config.maxmemory) ?? 0;
    const policy = f.config["maxmemory-policy"] ?? "noeviction";
    const declaredMax = num(f.declared.maxmemory) ?? 0;
    const declaredPolicy = f.declared["maxmemory-policy"] ?? "noeviction";
    const declaredText =
        declaredMax === 0
            ? "no maxmemory (memoryLimitMb 0)"
            : `maxmemory ${declaredMax} (75 % of memoryLimitMb ${f.memoryLimitMb}), maxmemory-policy ${declaredPolicy}`;
    if (oldMax > 0 && policy !== "noeviction" && policy !== declaredPolicy)
        return {
            refuse: `${f.container} evicts keys when full (maxmemory ${oldMax}, maxmemory-policy ${policy}); the program declares ${declaredText}: a vault never evicts (deleting from the source of truth loses data unsaid), so clients that count on eviction would see writes refused or memory grow instead. To go on: CONFIG SET maxmemory-policy noeviction on ${f.container} (it then refuses writes when full instead of deleting keys), then adopt again`,
        };
    if (declaredMax > 0 && f.usedMemory !== undefined && f.usedMemory >= declaredMax) {
        const needMb = Math.max(256, Math.ceil((f.usedMemory * 1.5) / 0.75 / 1024 / 1024));
        return {
            refuse: `${f.container} uses ${f.usedMemory} bytes, more than the maxmemory ${declaredMax} the program declares (75 % of memoryLimitMb ${f.memoryLimitMb}): the new vault would refuse every write. To go on: pulumi config set memoryLimitMb ${needMb} (or more), then adopt again`,
        };
    }
    if (oldMax !== declaredMax)
        return {
            note: `maxmemory ${oldMax === 0 ? "0 (no limit)" : oldMax} → ${declaredMax === 0 ? "0 (no limit)" : declaredMax}${declaredMax > 0 ? `: writes are refused above it (noeviction); it uses ${f.usedMemory ?? "?"} bytes now` : ""}`,
        };
    return {};
}

/** Every setting of Redis 7.0/7.2's config list, classified. Order matters only for display. */
export const SETTING_RULES: readonly SettingRule[] = [
    { kind: "refuse", names: ["databases"], judge: databasesRule },
    { kind: "refuse", names: ["maxmemory", "maxmemory-policy"], judge: maxmemoryRule },
    {
        kind: "refuse",
        names: ["notify-keyspace-events"],
        judge: (f) => {
            const old = f.config["notify-keyspace-events"] ?? "";
            const declared = f.declared["notify-keyspace-events"] ?? "";
            if (old === declared) return {};
            return {
                refuse: `${f.container} publishes keyspace notifications (notify-keyspace-events ${shown(old)}); the program declares ${shown(declared)}: its subscribers would hear ${declared === "" ? "nothing" : "other events"}. To go on, if nothing subscribes: CONFIG SET notify-keyspace-events ${shown(declared)} on ${f.container}, then adopt again`,
            };
        },
    },
    {
        kind: "refuse",
        names: ["cluster-enabled"],
        judge: (f) =>
            f.config["cluster-enabled"] === "yes"
                ? {
                      refuse: `${f.container} is a Redis Cluster node (cluster-enabled yes); the program's vault is a standalone server: cluster clients (slots, MOVED) would fail, and adopt cannot take it over`,
                  }
                : {},
    },
    {
        kind: "refuse",
        names: ["tls-port"],
        judge: (f) =>
            (num(f.config["tls-port"]) ?? 0) !== 0
                ? {
                      refuse: `${f.container} serves TLS (tls-port ${f.config["tls-port"]}); the program's vault serves plain TCP on 6379 only: TLS clients could not connect, and adopt cannot take it over`,
                  }
                : {},
    },
    {
        kind: "refuse",
        names: ["min-replicas-to-write", "min-replicas-max-lag"],
        judge: (f) => {
            const old = num(f.config["min-replicas-to-write"]) ?? 0;
            const declared = num(f.declared["min-replicas-to-write"]) ?? 0;
            if (old <= declared) return {};
            return {
                refuse: `${f.container} acknowledges writes only while ${old} replica${old === 1 ? " is" : "s are"} online (min-replicas-to-write ${old}); the program declares ${declared}: the new vault would acknowledge writes no replica holds. To go on, if that is acceptable: CONFIG SET min-replicas-to-write ${declared} on ${f.container}, then adopt again`,
            };
        },
    },
    {
        kind: "refuse",
        names: ["appendfsync"],
        judge: (f) => {
            const old = f.config.appendfsync ?? "everysec";
            const declared = f.declared.appendfsync ?? "everysec";
            if (old === declared) return {};
            if (old === "always" && f.config.appendonly === "yes")
                return {
                    refuse: `${f.container} fsyncs every write before acknowledging it (appendonly yes, appendfsync always); the program declares appendfsync ${declared}: a crash could lose the last second of acknowledged writes. To go on, if that is acceptable: CONFIG SET appendfsync ${declared} on ${f.container}, then adopt again`,
                };
            return {};
        },
    },
    {
        kind: "refuse",
        names: ["maxclients"],
        judge: (f) => {
            const old = num(f.config.maxclients) ?? 10000;
            const declared = num(f.declared.maxclients) ?? 10000;
            if (old === declared) return {};
            if (old > declared && (f.connectedClients ?? 0) > declared)
                return {
                    refuse: `${f.container} has ${f.connectedClients} clients connected (maxclients ${old}); the program's vault takes ${declared} (maxclients): the rest would be refused. Adopt cannot take it over until fewer clients connect`,
                };
            return { note: `maxclients ${old} → ${declared} (${f.connectedClients ?? "?"} connected now)` };
        },
    },
    ...(["proto-max-bulk-len", "client-query-buffer-limit"] as const).map(
        (name): RefusingRule => ({
            kind: "refuse",
            names: [name],
            judge: (f) => {
                const old = num(f.config[name]);
                const declared = num(f.declared[name]);
                if (old === undefined || declared === undefined || old === declared) return {};
                if (old < declared)
                    return {
                        note: `${name} ${old} → ${declared}: larger ${name === "proto-max-bulk-len" ? "values" : "commands"} are taken (harmless)`,
                    };
                return {
                    refuse: `${f.container} takes ${name === "proto-max-bulk-len" ? "values" : "commands"} up to ${old} bytes (${name}); the program declares ${declared}: larger writes would be refused. To go on, if no client sends larger: CONFIG SET ${name} ${declared} on ${f.container}, then adopt again`,
                };
            },
        }),
    ),
    {
        kind: "refuse",
        names: ["locale-collate"],
        judge: (f) => {
            const old = f.config["locale-collate"];
            const declared = f.declared["locale-collate"] ?? "";
            if (old === undefined || old === declared) return {};
            return {
                refuse: `${f.container} sorts text by locale ${shown(old)} (locale-collate, SORT ... ALPHA); the program declares ${shown(declared)}: such replies would come in another order. To go on: CONFIG SET locale-collate ${shown(declared)} on ${f.container}, then adopt again`,
            };
        },
    },
    {
        kind: "harmless",
        why: "encodings: the same data and the same replies, only memory use differs",
        names: [/^(hash|list|set|zset)-max-/, "list-compress-depth", /^stream-node-max-/, "hll-sparse-max-bytes"],
    },
    {
        kind: "harmless",
        why: "memory and CPU housekeeping",
        names: [
            "activedefrag",
            /^active-defrag-/,
            "active-expire-effort",
            "activerehashing",
            /^lazyfree-lazy-/,
            "jemalloc-bg-thread",
            "hz",
            "dynamic-hz",
            /^io-threads/,
            /_cpulist$/,
            "disable-thp",
            /^oom-score-adj/,
            "maxmemory-samples",
            "maxmemory-eviction-tenacity",
            "maxmemory-clients",
            /^lfu-/,
            "tracking-table-max-keys",
            /^max-new-(tls-)?connections-per-cycle$/,
        ],
    },
    {
        kind: "harmless",
        why: "connections: when idle or slow clients are dropped, and when a long script makes others wait (the published port is the program's)",
        names: [
            "timeout",
            "tcp-keepalive",
            "tcp-backlog",
            "client-output-buffer-limit",
            "busy-reply-threshold",
            "bind",
            "bind-source-addr",
            "port",
            "protected-mode",
            "unixsocket",
            "unixsocketperm",
            "socket-mark-id",
            "acl-pubsub-default",
        ],
    },
    {
        kind: "harmless",
        why: "logging and observability",
        names: [
            "loglevel",
            "logfile",
            /^syslog-/,
            /^slowlog-/,
            /^latency-/,
            "acllog-max-len",
            /^crash-/,
            "always-show-logo",
            "set-proc-title",
            "proc-title-template",
            "ignore-warnings",
            "hide-user-data-from-log",
        ],
    },
    { kind: "harmless", why: "the process: Docker runs and stops it", names: ["daemonize", "supervised", "pidfile", /^shutdown-/] },
    {
        kind: "harmless",
        why: "test and debugging knobs",
        names: [
            "client-default-resp",
            "req-res-logfile",
            "key-load-delay",
            "rdb-key-save-delay",
            "loading-process-events-interval-bytes",
            "use-exit-on-panic",
            "watchdog-period",
        ],
    },
    {
        kind: "harmless",
        why: "replication: the vault's own are declared, and it replicates to its own operational",
        names: [/^repl-/, /^replica-/, "masteruser", "min-replicas-max-lag", "propagation-error-behavior", /^cluster-(?!enabled$)/],
    },
    {
        kind: "harmless",
        why: "how the files are written and checked",
        names: [
            "rdbcompression",
            "rdbchecksum",
            "rdb-del-sync-files",
            "rdb-save-incremental-fsync",
            "aof-rewrite-incremental-fsync",
            "aof-load-truncated",
            "aof-timestamp-enabled",
            "aof-disable-auto-gc",
            "aof-use-rdb-preamble",
            /^auto-aof-rewrite-/,
            "no-appendfsync-on-rewrite",
            "sanitize-dump-payload",
            "lua-replicate-commands",
        ],
    },
    {
        kind: "harmless",
        why: "operators' commands over the network (DEBUG, MODULE, protected CONFIG SET), not clients'",
        names: ["enable-debug-command", "enable-module-command", "enable-protected-configs"],
    },
    { kind: "harmless", why: "TLS files and options (TLS is off on both: tls-port is judged)", names: [/^tls-(?!port$)/] },
    { kind: "handled", by: "the persistence note", names: ["save", "appendonly", "stop-writes-on-bgsave-error"] },
    {
        kind: "handled",
        by: "the data rules (dir, the default file names)",
        names: ["dir", "dbfilename", "appenddirname", "appendfilename"],
    },
    { kind: "handled", by: "the password (carried over) and the ACL users rule", names: ["requirepass", "masterauth", "aclfile"] },
    { kind: "handled", by: "the role rule (a vault is no replica)", names: ["replicaof"] },
];

/** The rule a setting falls under (its alias's, for an old name), or undefined for a setting adopt does not know. */
export function ruleOf(name: string): SettingRule | undefined {
    const canonical = SETTING_ALIASES[name] ?? name;
    return SETTING_RULES.find((rule) => rule.names.some((n) => (typeof n === "string" ? n === canonical : n.test(canonical))));
}

/**
 * Every refusal and note for the old vault's settings, modules and commands: the refusals
 * each name a setting, its old and its declared value, and how to go on; the notes list what
 * differs but changes nothing clients see. Never prints a secret setting's value.
 */
export function judgeSettings(f: SettingsFacts): { refusals: string[]; notes: string[] } {
    const refusals: string[] = [];
    const notes: string[] = [];
    if (f.modules.length > 0)
        refusals.push(
            `${f.container} loads module${f.modules.length === 1 ? "" : "s"} ${f.modules.map((m) => `${m.name}${m.ver ? ` v${m.ver}` : ""}${m.path ? ` (${m.path})` : ""}`).join(", ")}; the program's vault loads none: keys of a module's types would not load (the vault would stop at start) and its commands would be unknown. Adopt cannot take it over`,
        );
    if (f.renamed.length > 0)
        refusals.push(
            `${f.container} has commands renamed or removed (rename-command): ${f.renamed.join(", ")}; the program's vault has every command under its own name: clients using the new names would get errors, and removed ones would work again. To go on: restart ${f.container} without rename-command, then adopt again`,
        );
    for (const rule of SETTING_RULES) {
        if (rule.kind !== "refuse") continue;
        const verdict = rule.judge(f);
        if (verdict.refuse) refusals.push(verdict.refuse);
        if (verdict.note) notes.push(verdict.note);
    }
    // In the rules' order, each group's settings by name: the same vault always reads the same.
    const differ = new Map<string, string[]>(SETTING_RULES.flatMap((r) => (r.kind === "harmless" ? [[r.why, []]] : [])));
    const unknown: string[] = [];
    for (const [name, value] of Object.entries(f.config).sort(([a], [b]) => a.localeCompare(b))) {
        if (SETTING_ALIASES[name] !== undefined && SETTING_ALIASES[name] in f.config) continue;
        const rule = ruleOf(name);
        if (!rule) {
            unknown.push(name);
            continue;
        }
        if (rule.kind !== "harmless" || SECRET_SETTINGS.has(name)) continue;
        const declared = f.declared[SETTING_ALIASES[name] ?? name];
        if (declared === undefined || declared === value) continue;
        differ.set(rule.why, [...(differ.get(rule.why) ?? []), `${name} ${shown(value)} → ${shown(declared)}`]);
    }
    for (const [why, changes] of differ) if (changes.length > 0) notes.push(`differs, harmless (${why}): ${changes.join(", ")}`);
    if (unknown.length > 0)
        notes.push(
            `not judged (settings adopt does not know, from a newer Redis): ${unknown.sort().join(", ")}; compare them with the image's defaults yourself`,
        );
    return { refusals, notes };
}

/**
 * How the new vault's persistence differs from the old one's (save points, AOF, fsync), for
 * the dry run: undefined when they agree. Values as `CONFIG GET` gives them.
 */
export function persistenceChange(old: Readonly<Record<string, string>>, declared: Settings): string | undefined {
    const changes: string[] = [];
    for (const name of ["save", "appendonly", "appendfsync", "stop-writes-on-bgsave-error"]) {
        const was = old[name];
        const will = declared[name];
        if (was === undefined || will === undefined || was === will) continue;
        if (name === "appendfsync" && old.appendonly !== "yes") continue; // it meant nothing with AOF off
        changes.push(`${name} ${shown(was)} → ${shown(will)}`);
    }
    if (changes.length === 0) return undefined;
    const save = declared.save ?? "";
    const what =
        save === ""
            ? "the new vault takes no RDB snapshot of its own (backups take them)"
            : `the new vault snapshots dump.rdb at Redis's save points (${save})`;
    return `the new vault's persistence differs from the old one's: ${changes.join(", ")}; ${what}, its AOF is fsynced ${declared.appendfsync === "always" ? "at every write" : declared.appendfsync === "no" ? "when the kernel decides" : "every second"}`;
}
