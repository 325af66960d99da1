/**
 * `nexus-redis adopt`: every setting of Redis 7.0/7.2's config list with its rule (SETTING_RULES,
 * a table: refused, harmless or handled elsewhere), and the judgement of the old vault's settings,
 * modules and commands by them (adopt/settings.ts describes the classification).
 */
import { type RefusingRule, type SettingRule, type SettingVerdict, type SettingsFacts, shown } from "./settings";
import { SECRET_SETTINGS, SETTING_ALIASES } from "./redisDefaults";

const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));

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
