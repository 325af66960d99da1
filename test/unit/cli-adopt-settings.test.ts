/**
 * `nexus-redis adopt`: the old vault's settings against the new vault's (adoptSettings.ts), the
 * health gate that decides whether the new vault serves the old one's data (adoptGate.ts),
 * and every database counted. The live suites run the same rules against real containers
 * (test/live/adopt-refusals.test.ts, test/live/adopt-rollback.test.ts).
 */
import { describe, expect, it } from "vitest";
import { type GateContext, type GateObservation, START_BOUND_MS, gateVerdict } from "../../cli/adopt/gate";
import {
    type Keyspace,
    type SettingsFacts,
    newVaultSettings,
    describeKeyspace,
    keyspaceShortfall,
    parseKeyspace,
    parseModuleList,
    persistenceChange,
    renamedCommands,
    totalKeys,
} from "../../cli/adopt/settings";
import { judgeSettings, ruleOf } from "../../cli/adopt/settingRules";
import { vaultSettings } from "../../components/redisServer";

const DECLARED = newVaultSettings(0);

/** A protocol vault's settings as CONFIG GET * gives them: Redis's defaults, --requirepass, nothing else. */
function facts(config: Record<string, string> = {}, over: Partial<SettingsFacts> = {}): SettingsFacts {
    return {
        container: "nexus3-web-vault",
        config: { ...DECLARED, appendonly: "no", "repl-diskless-sync-delay": "5", requirepass: "web-Secret-1", ...config },
        declared: DECLARED,
        memoryLimitMb: 0,
        keyspace: { 0: { keys: 100, expires: 0 } },
        modules: [],
        renamed: [],
        usedMemory: 1_000_000,
        connectedClients: 3,
        ...over,
    };
}

/** Every setting name of Redis 7.0.15's and 7.2's config.c (aliases included). */
const REDIS_7_SETTINGS =
    "acl-pubsub-default aclfile acllog-max-len active-defrag-cycle-max active-defrag-cycle-min active-defrag-ignore-bytes active-defrag-max-scan-fields active-defrag-threshold-lower active-defrag-threshold-upper active-expire-effort activedefrag activerehashing always-show-logo aof-disable-auto-gc aof-load-truncated aof-rewrite-incremental-fsync aof-timestamp-enabled aof-use-rdb-preamble aof_rewrite_cpulist appenddirname appendfilename appendfsync appendonly auto-aof-rewrite-min-size auto-aof-rewrite-percentage bgsave_cpulist bind bind-source-addr bio_cpulist busy-reply-threshold client-default-resp client-output-buffer-limit client-query-buffer-limit cluster-allow-pubsubshard-when-down cluster-allow-reads-when-down cluster-allow-replica-migration cluster-announce-bus-port cluster-announce-hostname cluster-announce-human-nodename cluster-announce-ip cluster-announce-port cluster-announce-tls-port cluster-config-file cluster-enabled cluster-link-sendbuf-limit cluster-migration-barrier cluster-node-timeout cluster-ping-interval cluster-port cluster-preferred-endpoint-type cluster-replica-no-failover cluster-replica-validity-factor cluster-require-full-coverage cluster-slave-no-failover cluster-slave-validity-factor crash-log-enabled crash-memcheck-enabled daemonize databases dbfilename dir disable-thp dynamic-hz enable-debug-command enable-module-command enable-protected-configs hash-max-listpack-entries hash-max-listpack-value hash-max-ziplist-entries hash-max-ziplist-value hll-sparse-max-bytes hz ignore-warnings io-threads io-threads-do-reads jemalloc-bg-thread key-load-delay latency-monitor-threshold latency-tracking latency-tracking-info-percentiles lazyfree-lazy-eviction lazyfree-lazy-expire lazyfree-lazy-server-del lazyfree-lazy-user-del lazyfree-lazy-user-flush lfu-decay-time lfu-log-factor list-compress-depth list-max-listpack-size list-max-ziplist-size loading-process-events-interval-bytes locale-collate logfile loglevel lua-time-limit masterauth masteruser maxclients maxmemory maxmemory-clients maxmemory-eviction-tenacity maxmemory-policy maxmemory-samples min-replicas-max-lag min-replicas-to-write min-slaves-max-lag min-slaves-to-write no-appendfsync-on-rewrite notify-keyspace-events oom-score-adj oom-score-adj-values pidfile port proc-title-template propagation-error-behavior protected-mode proto-max-bulk-len rdb-del-sync-files rdb-key-save-delay rdb-save-incremental-fsync rdbchecksum rdbcompression repl-backlog-size repl-backlog-ttl repl-disable-tcp-nodelay repl-diskless-load repl-diskless-sync repl-diskless-sync-delay repl-diskless-sync-max-replicas repl-ping-replica-period repl-ping-slave-period repl-timeout replica-announce-ip replica-announce-port replica-announced replica-ignore-disk-write-errors replica-ignore-maxmemory replica-lazy-flush replica-priority replica-read-only replica-serve-stale-data replicaof req-res-logfile requirepass sanitize-dump-payload save server_cpulist set-max-intset-entries set-max-listpack-entries set-max-listpack-value set-proc-title shutdown-on-sigint shutdown-on-sigterm shutdown-timeout slave-announce-ip slave-announce-port slave-ignore-maxmemory slave-lazy-flush slave-priority slave-read-only slave-serve-stale-data slaveof slowlog-log-slower-than slowlog-max-len socket-mark-id stop-writes-on-bgsave-error stream-node-max-bytes stream-node-max-entries supervised syslog-enabled syslog-facility syslog-ident tcp-backlog tcp-keepalive timeout tls-auth-clients tls-ca-cert-dir tls-ca-cert-file tls-cert-file tls-ciphers tls-ciphersuites tls-client-cert-file tls-client-key-file tls-client-key-file-pass tls-cluster tls-dh-params-file tls-key-file tls-key-file-pass tls-port tls-prefer-server-ciphers tls-protocols tls-replication tls-session-cache-size tls-session-cache-timeout tls-session-caching tracking-table-max-keys unixsocket unixsocketperm use-exit-on-panic watchdog-period zset-max-listpack-entries zset-max-listpack-value zset-max-ziplist-entries zset-max-ziplist-value".split(
        " ",
    );

describe("every setting of Redis 7.0 and 7.2 is classified", () => {
    it.each(REDIS_7_SETTINGS)("%s has a rule", (name) => {
        expect(ruleOf(name)).toBeDefined();
    });

    it("takes the new vault's values from vaultSettings() over Redis's defaults, so a change there changes the comparison", () => {
        expect(DECLARED.appendonly).toBe(vaultSettings().appendonly);
        expect(DECLARED["repl-diskless-sync-delay"]).toBe(vaultSettings()["repl-diskless-sync-delay"]);
        expect(DECLARED.save).toBe(vaultSettings().save ?? "3600 1 300 100 60 10000");
        expect(newVaultSettings(256)).toMatchObject({ maxmemory: String(192 * 1024 * 1024), "maxmemory-policy": "noeviction" });
    });

    it("says nothing about a vault built the protocol's way but what the program changes on purpose", () => {
        const { refusals, notes } = judgeSettings(facts());
        expect(refusals).toEqual([]);
        expect(notes).toEqual([
            "differs, harmless (replication: the vault's own are declared, and it replicates to its own operational): repl-diskless-sync-delay 5 → 0",
        ]);
    });
});

const REFUSED: [string, Record<string, string>, Partial<SettingsFacts>, RegExp][] = [
    [
        "more databases than the program declares, with a key above them: the data would not load",
        { databases: "32" },
        { keyspace: { 0: { keys: 5, expires: 0 }, 20: { keys: 1, expires: 0 } } },
        /nexus3-web-vault has databases 32; the program declares 16 \(it has no setting for more\): db20 holds 1 key: a vault with 16 databases refuses to load that data \(FATAL: Data file was created with a Redis server configured to handle more than 16 databases\) and stays down\. To go on: move those keys into databases 0-15/,
    ],
    [
        "more databases than the program declares, all keys below: clients that SELECT above would fail",
        { databases: "32" },
        {},
        /has databases 32; the program declares 16 .*no key is above db15, but clients that SELECT 16-31 would get errors\. To go on, if none does: restart nexus3-web-vault with --databases 16/,
    ],
    [
        "a module loaded",
        {},
        { modules: [{ name: "ReJSON", ver: "20609", path: "/usr/lib/redis/modules/rejson.so" }] },
        /nexus3-web-vault loads module ReJSON v20609 \(\/usr\/lib\/redis\/modules\/rejson\.so\); the program's vault loads none: keys of a module's types would not load/,
    ],
    [
        "commands renamed or removed",
        {},
        { renamed: ["config", "flushall"] },
        /has commands renamed or removed \(rename-command\): config, flushall; .*clients using the new names would get errors, and removed ones would work again/,
    ],
    [
        "keyspace notifications",
        { "notify-keyspace-events": "AKE" },
        {},
        /publishes keyspace notifications \(notify-keyspace-events AKE\); the program declares '': its subscribers would hear nothing\. To go on, if nothing subscribes: CONFIG SET notify-keyspace-events '' on nexus3-web-vault/,
    ],
    [
        "eviction",
        { maxmemory: "104857600", "maxmemory-policy": "allkeys-lru" },
        {},
        /evicts keys when full \(maxmemory 104857600, maxmemory-policy allkeys-lru\); the program declares no maxmemory \(memoryLimitMb 0\): a vault never evicts .* To go on: CONFIG SET maxmemory-policy noeviction on nexus3-web-vault/,
    ],
    [
        "more data than the declared maxmemory holds",
        {},
        { declared: newVaultSettings(256), memoryLimitMb: 256, usedMemory: 300 * 1024 * 1024 },
        /uses 314572800 bytes, more than the maxmemory 201326592 the program declares \(75 % of memoryLimitMb 256\): the new vault would refuse every write\. To go on: pulumi config set memoryLimitMb 600/,
    ],
    ["a cluster node", { "cluster-enabled": "yes" }, {}, /is a Redis Cluster node \(cluster-enabled yes\)/],
    ["TLS", { "tls-port": "6380" }, {}, /serves TLS \(tls-port 6380\); the program's vault serves plain TCP on 6379 only/],
    [
        "writes acknowledged only with a replica online",
        { "min-replicas-to-write": "1" },
        {},
        /acknowledges writes only while 1 replica is online \(min-replicas-to-write 1\); the program declares 0/,
    ],
    [
        "a fsync per write",
        { appendonly: "yes", appendfsync: "always" },
        {},
        /fsyncs every write before acknowledging it \(appendonly yes, appendfsync always\); the program declares appendfsync everysec: a crash could lose the last second of acknowledged writes/,
    ],
    [
        "more clients connected than the new vault takes",
        { maxclients: "20000" },
        { connectedClients: 15_000 },
        /has 15000 clients connected \(maxclients 20000\); the program's vault takes 10000/,
    ],
    [
        "larger values than the new vault takes",
        { "proto-max-bulk-len": "1073741824" },
        {},
        /takes values up to 1073741824 bytes \(proto-max-bulk-len\); the program declares 536870912: larger writes would be refused/,
    ],
    [
        "larger commands than the new vault takes",
        { "client-query-buffer-limit": "2147483648" },
        {},
        /takes commands up to 2147483648 bytes \(client-query-buffer-limit\); the program declares 1073741824/,
    ],
    ["another collation (Redis 7.2)", { "locale-collate": "de_DE.UTF-8" }, {}, /sorts text by locale de_DE\.UTF-8 \(locale-collate/],
];

describe("adopt refuses a setting whose data would not load or whose clients would see another behaviour, naming both values and how to go on", () => {
    it.each(REFUSED)("%s", (_what, config, over, message) => {
        const { refusals } = judgeSettings(facts(config, over));
        expect(refusals).toHaveLength(1);
        expect(refusals[0]).toMatch(message);
    });
});

const NOTED: [string, Record<string, string>, Partial<SettingsFacts>, string][] = [
    ["fewer databases", { databases: "8" }, {}, "databases 8 → 16: more databases (harmless)"],
    [
        "a memory limit without eviction, where the program declares none",
        { maxmemory: "104857600" },
        {},
        "maxmemory 104857600 → 0 (no limit)",
    ],
    ["fewer clients than the new vault takes", { maxclients: "20000" }, {}, "maxclients 20000 → 10000 (3 connected now)"],
    ["a fsync per write while AOF is off (it meant nothing)", { appendfsync: "always" }, {}, ""],
    [
        "encodings (the alias is not listed twice)",
        { "hash-max-listpack-entries": "1024", "hash-max-ziplist-entries": "1024" },
        {},
        "differs, harmless (encodings: the same data and the same replies, only memory use differs): hash-max-listpack-entries 1024 → 512",
    ],
    [
        "the script time limit and idle timeout",
        { "busy-reply-threshold": "10000", "lua-time-limit": "10000", timeout: "300" },
        {},
        "differs, harmless (connections: when idle or slow clients are dropped, and when a long script makes others wait (the published port is the program's)): busy-reply-threshold 10000 → 5000, timeout 300 → 0",
    ],
    [
        "a setting of a newer Redis",
        { "some-future-setting": "1" },
        {},
        "not judged (settings adopt does not know, from a newer Redis): some-future-setting; compare them with the image's defaults yourself",
    ],
];

describe("adopt takes a setting that changes nothing clients see, and says in the dry run that it differs", () => {
    it.each(NOTED)("%s", (_what, config, over, note) => {
        const { refusals, notes } = judgeSettings(facts(config, over));
        expect(refusals).toEqual([]);
        if (note === "") expect(notes.filter((n) => !n.includes("repl-diskless-sync-delay"))).toEqual([]);
        else expect(notes).toContain(note);
    });

    it("never prints a password setting's value", () => {
        // Declared defaults for them too, so a difference would be listed if secrets were not held back.
        const declared = { ...DECLARED, masterauth: "", "tls-key-file-pass": "", "tls-client-key-file-pass": "" };
        const { notes, refusals } = judgeSettings(
            facts(
                { masterauth: "other-Secret-2", "tls-key-file-pass": "tls-Secret-3", "tls-client-key-file-pass": "tls-Secret-4" },
                { declared },
            ),
        );
        const text = [...notes, ...refusals].join("\n");
        for (const secret of ["web-Secret-1", "other-Secret-2", "tls-Secret-3", "tls-Secret-4"]) expect(text).not.toContain(secret);
    });
});

describe("the dry run says how the new vault's persistence differs from the old one's", () => {
    it.each([
        [
            "a vault started with --save '' gets the declared save points",
            { save: "", appendonly: "no" },
            { ...DECLARED, save: "3600 1 300 100 60 10000" },
            "the new vault's persistence differs from the old one's: save '' → 3600 1 300 100 60 10000, appendonly no → yes; the new vault snapshots dump.rdb at Redis's save points (3600 1 300 100 60 10000), its AOF is fsynced every second",
        ],
        [
            "a program that declares save '' says so",
            { save: "3600 1 300 100 60 10000", appendonly: "no" },
            { ...DECLARED, save: "" },
            "the new vault's persistence differs from the old one's: save 3600 1 300 100 60 10000 → '', appendonly no → yes; the new vault takes no RDB snapshot of its own (backups take them), its AOF is fsynced every second",
        ],
        [
            "appendfsync no with AOF on",
            { save: "3600 1 300 100 60 10000", appendonly: "yes", appendfsync: "no" },
            { ...DECLARED, save: "3600 1 300 100 60 10000" },
            "the new vault's persistence differs from the old one's: appendfsync no → everysec; the new vault snapshots dump.rdb at Redis's save points (3600 1 300 100 60 10000), its AOF is fsynced every second",
        ],
    ])("%s", (_what, old, declared, text) => {
        expect(persistenceChange(old, declared)).toBe(text);
    });

    it("says nothing when they agree", () => {
        expect(persistenceChange({ save: DECLARED.save, appendonly: "yes", appendfsync: "everysec" }, DECLARED)).toBeUndefined();
    });
});

describe("every database counts", () => {
    const info = { db0: "keys=17004,expires=3,avg_ttl=0", db3: "keys=17000,expires=0,avg_ttl=0", db9: "keys=16998,expires=0,avg_ttl=0" };

    it("reads INFO keyspace by database, and counts every database (DBSIZE counts database 0 only)", () => {
        const keyspace = parseKeyspace(info);
        expect(keyspace).toEqual({ 0: { keys: 17004, expires: 3 }, 3: { keys: 17000, expires: 0 }, 9: { keys: 16998, expires: 0 } });
        expect(totalKeys(keyspace)).toBe(51_002);
        expect(describeKeyspace(keyspace)).toBe("db0 17004, db3 17000, db9 16998");
    });

    it.each([
        ["the same", { 0: { keys: 100, expires: 10 } }, { 0: { keys: 100, expires: 10 } }, undefined],
        ["more keys (clients wrote since)", { 0: { keys: 100, expires: 0 } }, { 0: { keys: 150, expires: 0 } }, undefined],
        ["the expiring keys gone", { 0: { keys: 100, expires: 10 } }, { 0: { keys: 89, expires: 0 } }, undefined],
        [
            "a database empty",
            { 0: { keys: 100, expires: 0 }, 20: { keys: 5, expires: 0 } },
            { 0: { keys: 100, expires: 0 } },
            "db20 holds 0 keys, not 5",
        ],
        ["half the keys", { 0: { keys: 1000, expires: 0 } }, { 0: { keys: 500, expires: 0 } }, "db0 holds 500 keys, not 1000"],
    ] as [string, Keyspace, Keyspace, string | undefined][])("compares two keyspaces: %s", (_what, expected, found, short) => {
        expect(keyspaceShortfall(expected, found)).toBe(short);
    });
});

describe("what adopt reads about modules and renamed commands", () => {
    it("reads MODULE LIST", () => {
        expect(parseModuleList([["name", "search", "ver", 20806, "path", "/m/search.so", "args", []]])).toEqual([
            { name: "search", ver: "20806", path: "/m/search.so" },
        ]);
        expect(parseModuleList([])).toEqual([]);
    });

    it("takes a command ACL CAT knows that COMMAND INFO does not find under its own name as renamed or removed", () => {
        expect(renamedCommands(["config", "flushall", "get"], [null, null, ["get", 2]])).toEqual(["config", "flushall"]);
    });
});

const EXPECTED: Keyspace = { 0: { keys: 100, expires: 0 }, 20: { keys: 1, expires: 0 } };
const serving = { loading: "0", role: "master", db0: "keys=100,expires=0,avg_ttl=0", db20: "keys=1,expires=0,avg_ttl=0" };
const running = { status: "running", restartCount: 0, exitCode: 0, oomKilled: false };
const ctx = (over: Partial<GateContext> = {}): GateContext => ({
    expected: EXPECTED,
    applied: true,
    sinceAppliedMs: 1_000,
    loadingSeen: false,
    startBoundMs: START_BOUND_MS,
    timeoutMs: 300_000,
    name: "nexus3-web-vault",
    ...over,
});

const GATE: [string, GateObservation, Partial<GateContext>, string | RegExp][] = [
    ["serving, every database there", { container: running, vault: { info: serving } }, {}, "serving"],
    ["no container while pulumi up runs", { vault: { failure: { kind: "absent", message: "no container" } } }, { applied: false }, "wait"],
    [
        "no container after pulumi up",
        { vault: { failure: { kind: "absent", message: "no container" } } },
        {},
        /pulumi up created no container nexus3-web-vault/,
    ],
    [
        "restarted by Docker (a crash loop), seen between two runs",
        {
            container: { ...running, status: "exited", restartCount: 2, exitCode: 1 },
            vault: { failure: { kind: "refused", message: "nothing listens" } },
        },
        {},
        /the new nexus3-web-vault stopped \(exit code 1\) and Docker restarted it 2 times/,
    ],
    [
        // Docker reset the exit code to 0 when it started the process again: naming it would say the crash was clean.
        "restarted by Docker, seen running again",
        { container: { ...running, restartCount: 1, exitCode: 0 }, vault: { failure: { kind: "refused", message: "nothing listens" } } },
        {},
        /^the new nexus3-web-vault stopped and Docker restarted it 1 time; it runs again for now$/,
    ],
    [
        "restarting",
        { container: { ...running, status: "restarting", exitCode: 1 }, vault: { failure: { kind: "refused", message: "x" } } },
        {},
        /stopped \(exit code 1\) and Docker is restarting it/,
    ],
    [
        "killed for memory",
        {
            container: { ...running, status: "exited", exitCode: 137, oomKilled: true },
            vault: { failure: { kind: "refused", message: "x" } },
        },
        {},
        /stopped \(exit code 137, killed for memory\)/,
    ],
    [
        "not answering yet, within the bound",
        { container: running, vault: { failure: { kind: "refused", message: "nothing listens" } } },
        {},
        "wait",
    ],
    [
        "not answering past the bound",
        { container: running, vault: { failure: { kind: "refused", message: "nothing listens" } } },
        { sinceAppliedMs: START_BOUND_MS + 1 },
        /did not serve its data within 30 s of pulumi up \(nothing listens\)/,
    ],
    [
        "loading past the start bound: waited for up to the timeout",
        { container: running, vault: { info: { loading: "1", loading_loaded_perc: "40.00" } } },
        { sinceAppliedMs: START_BOUND_MS + 1 },
        "wait",
    ],
    [
        "loading past the timeout",
        { container: running, vault: { info: { loading: "1" } } },
        { sinceAppliedMs: 300_001, loadingSeen: true },
        /did not serve its data within 300 s/,
    ],
    [
        "a wrong password",
        { container: running, vault: { failure: { kind: "auth", message: "WRONGPASS" } } },
        {},
        /refused the vault's password/,
    ],
    ["a replica", { container: running, vault: { info: { ...serving, role: "slave" } } }, {}, /is a replica \(role:slave\)/],
    [
        "a database missing",
        { container: running, vault: { info: { loading: "0", role: "master", db0: "keys=100,expires=0,avg_ttl=0" } } },
        {},
        /does not hold the old vault's data: db20 holds 0 keys, not 1 \(the old one had db0 100, db20 1\)/,
    ],
    ["refusing writes, within the bound", { container: running, vault: { info: serving, writeRefused: "MISCONF" } }, {}, "wait"],
];

describe("the health gate: the new vault serves the old one's data, or the takeover is put back", () => {
    it.each(GATE)("%s", (_what, observation, over, expected) => {
        const verdict = gateVerdict(observation, ctx(over));
        if (typeof expected === "string") expect(verdict.verdict).toBe(expected);
        else {
            expect(verdict.verdict).toBe("failed");
            expect(verdict.verdict === "failed" && verdict.reason).toMatch(expected);
        }
    });
});
