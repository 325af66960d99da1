/**
 * `--prometheus`: the samples check and backup write (pure, from INFO captured from Redis 7.0.15
 * and the samples the diagnosis tests use), their exposition through prom-client checked by
 * `promtool check metrics`, never a password in it, the previous backup file kept where a failed
 * run must not erase it, and the file written atomically or refused with the run's verdict kept.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildReport } from "../../cli/health/checkFleet";
import { BACKUP_METRICS, backupSamples, publishBackupMetrics } from "../../cli/backup/metrics";
import { CHECK_METRICS, problemRole, publishCheckMetrics, writeRefusals } from "../../cli/check/metrics";
import {
    type Sample,
    exitCodeWithMetrics,
    parsePrometheusFile,
    parseSamples,
    renderExposition,
    writeAtomically,
} from "../../cli/core/prometheus";
import type { CliIo } from "../../cli/core/io";
import type { EnvironmentObservation, VaultObservation } from "../../cli/health/observe";
import type { EnvironmentOutput } from "../../cli/fleet/environment";
import { readKeyspace } from "../../cli/redis/keyspace";
import { parseInfo } from "../../cli/redis/replies";
import { prometheusAvailable, promtool } from "../../harness/prometheus";
import { cli } from "./cliRun";
import {
    CHECKED_AT,
    FINISHED,
    backupResult,
    backupScenarios,
    checkScenarios,
    failedBackup as failed,
    info,
    backupReport as report,
    results,
    samplesOf,
    standard,
} from "./metricsSamples";
import { stoppedStack } from "./stoppedStack";
import { SAMPLE_SECRETS, contact, healthySecure, kb, user } from "./cli-samples";

const made: string[] = [];
afterAll(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(tmpdir(), "nexus-redis-metrics-"));
    made.push(dir);
    return dir;
}

/** The value of the one sample of `name` with exactly `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
    const found = samples.filter((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels));
    expect(found.length).toBeLessThanOrEqual(1);
    return found[0]?.value;
}

const vault = { environment: "contact", role: "vault" };
const operational = { environment: "contact", role: "operational" };

describe("why a vault refuses writes, by Redis's own rules", () => {
    const observed = (fields: Record<string, string | null>): VaultObservation => ({ info: info("vault", fields) });
    it.each<[string, VaultObservation, string[]]>([
        ["a healthy vault", observed({}), []],
        [
            "a failed RDB snapshot (MISCONF), save points unknown (CONFIG GET failed)",
            observed({ rdb_last_bgsave_status: "err" }),
            ["rdb-bgsave-failed"],
        ],
        [
            "a failed RDB snapshot with save points set by hand (MISCONF)",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "3600 1", "stop-writes-on-bgsave-error": "yes" } },
            ["rdb-bgsave-failed"],
        ],
        [
            "a failed RDB snapshot on a vault as declared (no save points): writes go on",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "", "stop-writes-on-bgsave-error": "no" } },
            [],
        ],
        [
            "a failed RDB snapshot with save points and stop-writes-on-bgsave-error no: writes go on",
            { ...observed({ rdb_last_bgsave_status: "err" }), config: { save: "3600 1", "stop-writes-on-bgsave-error": "no" } },
            [],
        ],
        ["a failed AOF write with AOF on (MISCONF)", observed({ aof_last_write_status: "err" }), ["aof-write-failed"]],
        ["a failed AOF write with AOF off", observed({ aof_last_write_status: "err", aof_enabled: "0" }), []],
        ["loading its data (LOADING)", observed({ loading: "1" }), ["loading"]],
        ["a vault that became a replica (READONLY)", observed({ role: "slave" }), ["replica"]],
        ["over maxmemory with noeviction (OOM)", observed({ used_memory: "67200000" }), ["out-of-memory"]],
        ["over maxmemory with a policy that evicts", observed({ used_memory: "67200000", maxmemory_policy: "allkeys-lru" }), []],
        [
            "over maxmemory only by the buffers Redis leaves out",
            observed({ used_memory: "67200000", mem_not_counted_for_evict: "200000" }),
            [],
        ],
        ["no memory limit", observed({ used_memory: "999999999999", maxmemory: "0" }), []],
        [
            "two at once",
            observed({ loading: "1", rdb_last_bgsave_status: "err", aof_last_write_status: "err" }),
            ["loading", "rdb-bgsave-failed", "aof-write-failed"],
        ],
        ["nothing listening", { failure: { kind: "refused", command: "AUTH", message: "refused" } }, ["unreachable"]],
        ["a host that never answers", { failure: { kind: "silent", command: "AUTH", message: "silent" } }, ["unreachable"]],
        ["the stack's password refused", { failure: { kind: "auth", command: "AUTH", message: "rejected" } }, ["password-refused"]],
        [
            "its certificate refused (another CA)",
            { failure: { kind: "tls", command: "AUTH", message: "not signed" } },
            ["certificate-refused"],
        ],
        ["INFO refused", { failure: { kind: "denied", command: "INFO", message: "NOPERM" } }, ["unknown"]],
    ])("%s", (_what, observation, reasons) => {
        expect(writeRefusals(observation)).toEqual(reasons);
    });
});

describe("keys", () => {
    it("are counted over every database, not db 0 alone", () => {
        expect(readKeyspace(info("vault")).keys).toBe(6); // db0:keys=4, db5:keys=2
        expect(readKeyspace(parseInfo("# Keyspace\r\n")).keys).toBe(0);
        expect(readKeyspace(parseInfo("db0:keys=3,expires=9,avg_ttl=0\r\ndb15:keys=10,expires=0,avg_ttl=0\r\ndbx:keys=7\r\n")).keys).toBe(
            13,
        );
    });
});

describe("the server a problem concerns", () => {
    it.each<["standard" | "secure", Parameters<typeof problemRole>[1], string]>([
        ["standard", "vault-unreachable", "vault"],
        ["standard", "vault-acl-drift", "vault"],
        ["standard", "persistence-off", "vault"],
        ["standard", "persistence-failing", "vault"],
        ["standard", "vault-misplaced", "vault"],
        ["standard", "link-down", "operational"],
        ["standard", "operational-unreachable", "operational"],
        ["standard", "masterauth-drift", "operational"],
        ["standard", "not-fixed", "operational"],
        ["standard", "operational-misplaced", "operational"],
        ["secure", "secure-has-replicas", "vault"],
        ["secure", "not-fixed", "vault"],
    ])("%s environment, %s: its %s", (kind, code, role) => {
        expect(problemRole(kind, code)).toBe(role);
    });
});

describe("check's samples", () => {
    it("of a healthy standard environment: link up, no lag, keys of every database, memory, writes accepted, no problem", () => {
        const s = samplesOf([["contact", contact, standard()]]);
        const at = CHECKED_AT.getTime() / 1000;
        for (const labels of [vault, operational]) {
            expect(value(s, "nexus_redis_check_timestamp_seconds", labels)).toBe(at);
            expect(value(s, "nexus_redis_server_up", labels)).toBe(1);
            expect(value(s, "nexus_redis_loading", labels)).toBe(0);
            expect(value(s, "nexus_redis_keys", labels)).toBe(6);
            expect(value(s, "nexus_redis_aof_last_write_ok", labels)).toBe(1);
            expect(value(s, "nexus_redis_aof_last_rewrite_ok", labels)).toBe(1);
            expect(value(s, "nexus_redis_rdb_last_bgsave_ok", labels)).toBe(1);
        }
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(1);
        expect(value(s, "nexus_redis_replication_lag_bytes", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBe(1);
        expect(value(s, "nexus_redis_replication_offset_bytes", vault)).toBe(254);
        expect(value(s, "nexus_redis_replication_offset_bytes", operational)).toBe(254);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(1);
        expect(value(s, "nexus_redis_aof_enabled", vault)).toBe(1);
        expect(value(s, "nexus_redis_aof_enabled", operational)).toBe(0);
        expect(value(s, "nexus_redis_memory_used_bytes", vault)).toBe(Number(info("vault").used_memory));
        expect(value(s, "nexus_redis_memory_max_bytes", vault)).toBe(67108864);
        expect(value(s, "nexus_redis_memory_max_bytes", operational)).toBe(0);
        expect(value(s, "nexus_redis_rdb_last_save_timestamp_seconds", vault)).toBe(Number(info("vault").rdb_last_save_time));
        // Writes are judged for vaults only: an operational never takes a client's write.
        expect(value(s, "nexus_redis_accepts_writes", operational)).toBeUndefined();
        expect(s.filter((x) => x.name === "nexus_redis_writes_refused" || x.name === "nexus_redis_check_problems")).toEqual([]);
    });

    it("of a link that went down: 0, how long it has been down, and the problem by its code", () => {
        const s = samplesOf([["contact", contact, standard((o) => (o.operational!.info = info("replica-link-down")))]]);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBe(2); // master_link_down_since_seconds
        expect(value(s, "nexus_redis_replication_lag_bytes", operational)).toBeUndefined();
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "link-down" })).toBe(1);
    });

    it("of a replica that never reached its vault since it started: no age (Redis says -1)", () => {
        const down = { master_link_down_since_seconds: "-1", master_last_io_seconds_ago: "-1" };
        const s = samplesOf([["contact", contact, standard((o) => (o.operational!.info = info("replica-link-down", down)))]]);
        expect(value(s, "nexus_redis_replication_sync_age_seconds", operational)).toBeUndefined();
    });

    it("of an operational that follows another environment's vault: its link is not up, whatever Redis says of it", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.operational!.info = info("replica", { master_host: kb.vault.container })))],
        ]);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "wrong-master" })).toBe(1);
    });

    it("of an operational that does not answer: down, no link, nothing it would have said", () => {
        const s = samplesOf([
            [
                "contact",
                contact,
                standard((o) => {
                    o.operational = { failure: { kind: "refused", command: "INFO", message: "refused the connection" } };
                }),
            ],
        ]);
        expect(value(s, "nexus_redis_server_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_replication_link_up", operational)).toBe(0);
        expect(value(s, "nexus_redis_check_timestamp_seconds", operational)).toBe(CHECKED_AT.getTime() / 1000);
        expect(s.filter((x) => x.labels.role === "operational").map((x) => x.name)).toEqual([
            "nexus_redis_check_timestamp_seconds",
            "nexus_redis_server_up",
            "nexus_redis_replication_link_up",
            "nexus_redis_check_problems",
        ]);
        expect(value(s, "nexus_redis_check_problems", { ...operational, code: "operational-unreachable" })).toBe(1);
    });

    it("of a vault that cannot save: writes refused with the reason, the problem counted for the vault", () => {
        const s = samplesOf([["contact", contact, standard((o) => (o.vault.info = info("vault", { aof_last_write_status: "err" })))]]);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(0);
        expect(value(s, "nexus_redis_writes_refused", { ...vault, reason: "aof-write-failed" })).toBe(1);
        expect(value(s, "nexus_redis_aof_last_write_ok", vault)).toBe(0);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "persistence-failing" })).toBe(1);
    });

    it("of a vault that refuses the stack's password: down, writes refused for that reason", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.vault = { failure: { kind: "auth", command: "AUTH", message: "rejected" } }))],
        ]);
        expect(value(s, "nexus_redis_server_up", vault)).toBe(0);
        expect(value(s, "nexus_redis_accepts_writes", vault)).toBe(0);
        expect(value(s, "nexus_redis_writes_refused", { ...vault, reason: "password-refused" })).toBe(1);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "vault-auth" })).toBe(1);
    });

    it("count each problem code, however many times it is reported", () => {
        const s = samplesOf([
            [
                "contact",
                contact,
                standard((o) => {
                    o.vault.config = { ...o.vault.config, "repl-backlog-ttl": "1", "repl-ping-replica-period": "10" };
                }),
            ],
        ]);
        expect(value(s, "nexus_redis_check_problems", { ...vault, code: "vault-drift" })).toBe(2);
    });

    it("of a secure environment: its vault alone", () => {
        const s = samplesOf([["user", user, { vault: { ...healthySecure().vault, info: info("vault", { connected_slaves: "0" }) } }]]);
        expect(new Set(s.map((x) => x.labels.role))).toEqual(new Set(["vault"]));
        expect(value(s, "nexus_redis_accepts_writes", { environment: "user", role: "vault" })).toBe(1);
    });

    it("name only metrics of CHECK_METRICS, with exactly their labels, each series once", () => {
        const s = samplesOf([
            ["contact", contact, standard((o) => (o.vault.info = info("vault", { loading: "1", rdb_last_bgsave_status: "err" })))],
            ["kb", kb, standard((o) => (o.operational!.info = info("replica-link-down", { master_host: kb.vault.container })), kb)],
            ["user", user, { vault: { failure: { kind: "silent", command: "AUTH", message: "silent" } } }],
        ]);
        for (const sample of s) expect(Object.keys(sample.labels)).toEqual(CHECK_METRICS[sample.name].labels);
        const keys = s.map((x) => `${x.name}${JSON.stringify(x.labels)}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(new Set(s.map((x) => x.labels.environment))).toEqual(new Set(["contact", "kb", "user"]));
    });
});

const SUCCESS = Date.parse("2026-11-26T17:02:43.351Z") / 1000;

describe("backup's samples", () => {
    const contactVault = { environment: "contact", role: "vault" };

    it("of a good run: when it ran, that it did not fail, and its snapshot's time, size, duration and keys", () => {
        const s = backupSamples(report(backupResult("contact")), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", contactVault)).toBe(FINISHED.getTime() / 1000);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(0);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(SUCCESS);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBe(3664574);
        expect(value(s, "nexus_redis_backup_last_success_duration_seconds", contactVault)).toBe(7.25);
        expect(value(s, "nexus_redis_backup_last_success_keys", contactVault)).toBe(100000);
    });

    it("of a failed run keep the last success the previous file had", () => {
        const previous = backupSamples(report(backupResult("contact")), [], ["contact"], new Date("2026-11-26T17:03:00Z"));
        const s = backupSamples(report(failed("contact")), previous, ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(1);
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", contactVault)).toBe(FINISHED.getTime() / 1000);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(SUCCESS);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBe(3664574);
        expect(value(s, "nexus_redis_backup_last_success_keys", contactVault)).toBe(100000);
    });

    it("of a failed run with no success known: a last success of 0 (never), which the 26-hour alert catches", () => {
        const s = backupSamples(report(failed("contact")), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(0);
        expect(value(s, "nexus_redis_backup_last_success_size_bytes", contactVault)).toBeUndefined();
    });

    it("of a run whose snapshot is kept but whose restic upload failed: a failed run, not a success", () => {
        const partly = backupResult("contact", { status: "failed", error: "restic backup failed" });
        const s = backupSamples(report(partly), [], ["contact"], FINISHED);
        expect(value(s, "nexus_redis_backup_last_run_failed", contactVault)).toBe(1);
        expect(value(s, "nexus_redis_backup_last_success_timestamp_seconds", contactVault)).toBe(0);
    });

    it("keep the environments this run did not back up (--env) while the stack has them, and drop those it no longer has", () => {
        const previous = backupSamples(
            report(backupResult("kb"), backupResult("web")),
            [],
            ["kb", "web"],
            new Date("2026-11-26T18:00:00Z"),
        );
        const s = backupSamples(report(backupResult("contact")), previous, ["contact", "kb"], FINISHED);
        const kbVault = { environment: "kb", role: "vault" };
        expect(value(s, "nexus_redis_backup_last_run_timestamp_seconds", kbVault)).toBe(Date.parse("2026-11-26T18:00:00Z") / 1000);
        expect(value(s, "nexus_redis_backup_last_success_keys", kbVault)).toBe(100000);
        expect(s.some((x) => x.labels.environment === "web")).toBe(false);
        for (const sample of s) expect(Object.keys(sample.labels)).toEqual(BACKUP_METRICS[sample.name].labels);
    });

    it("ignore what in the previous file is not theirs", () => {
        const previous: Sample[] = [
            { name: "node_textfile_scrape_error", labels: {}, value: 1 },
            { name: "nexus_redis_backup_last_success_keys", labels: { environment: "kb", role: "vault", extra: "x" }, value: 5 },
            { name: "nexus_redis_backup_last_success_keys", labels: { environment: "kb", role: "operational" }, value: 5 },
        ];
        expect(
            backupSamples(report(backupResult("contact")), previous, ["contact", "kb"], FINISHED).some(
                (x) => x.labels.environment === "kb",
            ),
        ).toBe(false);
    });
});

describe("the exposition", () => {
    const checkCases = checkScenarios();
    const backupCases = backupScenarios();

    it("is prom-client's text format: HELP and TYPE gauge for every metric, each named nexus_redis_ with its unit", async () => {
        const text = await renderExposition(CHECK_METRICS, checkCases[1][1]);
        for (const [name, definition] of Object.entries({ ...CHECK_METRICS, ...BACKUP_METRICS })) {
            expect(name).toMatch(/^nexus_redis_[a-z_]+$/);
            expect(name).not.toMatch(/_total$/); // gauges only: each file is a snapshot
            expect(definition.labels.slice(0, 2)).toEqual(["environment", "role"]);
        }
        for (const name of Object.keys(CHECK_METRICS)) {
            expect(text).toContain(`# HELP ${name} ${CHECK_METRICS[name].help}\n# TYPE ${name} gauge\n`);
        }
        expect(text).toContain('nexus_redis_writes_refused{environment="kb",role="vault",reason="loading"} 1\n');
    });

    it("reads back as the samples it was made from", async () => {
        for (const [, samples] of [...checkCases, ...backupCases]) {
            const definitions = samples[0].name.startsWith("nexus_redis_backup_") ? BACKUP_METRICS : CHECK_METRICS;
            const back = parseSamples(await renderExposition(definitions, samples));
            const key = (s: Sample) => `${s.name}${JSON.stringify(s.labels)}=${s.value}`;
            expect(back.map(key).sort()).toEqual(samples.map(key).sort());
        }
    });

    it.skipIf(!prometheusAvailable())("passes promtool check metrics, Prometheus's own lint, in every case", async () => {
        for (const [what, samples] of checkCases) {
            const run = await promtool(["check", "metrics"], await renderExposition(CHECK_METRICS, samples));
            expect(run, what).toEqual({ status: 0, output: "" });
        }
        for (const [what, samples] of backupCases) {
            const run = await promtool(["check", "metrics"], await renderExposition(BACKUP_METRICS, samples));
            expect(run, what).toEqual({ status: 0, output: "" });
        }
    });

    it("holds no password of the outputs, nor any password's SHA-256, though the observations hold them", async () => {
        const secrets = SAMPLE_SECRETS.flatMap((p) => [p, createHash("sha256").update(p).digest("hex")]);
        const withSecrets = (o: EnvironmentObservation, env: EnvironmentOutput) => {
            // What a check reads of a server carries passwords: the operational's masterauth, the ACL users' hashes.
            o.vault.acl = {
                default: {
                    flags: ["on"],
                    passwords: [createHash("sha256").update(env.vault.password).digest("hex")],
                    commands: "+@all",
                    keys: "~*",
                    channels: "&*",
                    selectors: [],
                },
            };
            return o;
        };
        const samples = samplesOf([
            ["contact", contact, withSecrets(standard(), contact)],
            [
                "kb",
                kb,
                withSecrets(
                    standard((o) => (o.operational!.config!.masterauth = "typo"), kb),
                    kb,
                ),
            ],
            ["user", user, withSecrets(healthySecure(), user)],
        ]);
        const observationsHold = JSON.stringify([standard(), withSecrets(standard(), contact)]);
        expect(observationsHold).toContain(contact.replication.password);
        const text = (await renderExposition(CHECK_METRICS, samples)) + (await renderExposition(BACKUP_METRICS, backupCases[0][1]));
        for (const secret of secrets) expect(text).not.toContain(secret);
    });
});

describe("reading a previous file", () => {
    it("unescapes label values and reads special values", () => {
        expect(parseSamples('# HELP x y\nm{a="q\\"uote",b="back\\\\slash",c="new\\nline"} +Inf\nn 1.5e+09\no NaN\n')).toEqual([
            { name: "m", labels: { a: 'q"uote', b: "back\\slash", c: "new\nline" }, value: Number.POSITIVE_INFINITY },
            { name: "n", labels: {}, value: 1.5e9 },
            { name: "o", labels: {}, value: Number.NaN },
        ]);
    });

    it.each([["m{a=b} 1"], ["m 1 2 3"], ['m{a="b"}'], ['m{a="b" c="d"} 1'], ["m abc"]])("refuses %j, naming its line", (line) => {
        expect(() => parseSamples(`# TYPE m gauge\n${line}\n`)).toThrow(`line 2 is not a metric sample: ${line}`);
    });
});

describe("--prometheus's file", () => {
    it.each([["metrics.prom"], ["/var/lib/prometheus/node-exporter/nexus-redis-check.prom"]])("accepts %s", (file) => {
        expect(parsePrometheusFile(file)).toBe(file);
    });

    it.each([["metrics.txt"], ["metrics.prom.tmp"], [".prom"], ["/var/lib/x/.prom"], [""]])(
        "refuses %j: node_exporter reads only *.prom",
        (file) => {
            expect(() => parsePrometheusFile(file, "backup")).toThrow(/--prometheus needs a file whose name ends in \.prom/);
        },
    );

    it.each<[number, boolean, number]>([
        [0, true, 0],
        [1, true, 1],
        [0, false, 2],
        [1, false, 1],
        [3, false, 3],
    ])("a run with verdict %i whose file was written: %s exits %i (the verdict is never hidden)", (verdict, written, code) => {
        expect(exitCodeWithMetrics(verdict, written)).toBe(code);
    });
});

function io(): CliIo & { err: () => string } {
    let stderr = "";
    return {
        stdout: { write: () => true },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => "",
        run: async () => {
            throw new Error("no command runs here");
        },
        projectDir: tempDir(),
        env: {},
        err: () => stderr,
    };
}

describe("writing the file", () => {
    const checkRun = () => {
        const r = results([["contact", contact, standard()]]);
        return { results: r, report: buildReport(r) };
    };

    it("replaces it whole, mode 0644 whatever the umask, and leaves no temporary file", async () => {
        const dir = tempDir();
        const file = path.join(dir, "nexus-redis-check.prom");
        const { results: r, report: rep } = checkRun();
        const umask = process.umask(0o077);
        try {
            expect(await publishCheckMetrics(file, r, rep, io(), 0)).toBe(0);
            expect(await publishCheckMetrics(file, r, rep, io(), 1)).toBe(1);
        } finally {
            process.umask(umask);
        }
        expect(fs.statSync(file).mode & 0o777).toBe(0o644);
        expect(fs.readdirSync(dir)).toEqual(["nexus-redis-check.prom"]);
        const text = fs.readFileSync(file, "utf8");
        expect(text.startsWith("# HELP nexus_redis_check_timestamp_seconds ")).toBe(true);
        expect(parseSamples(text).filter((s) => s.name === "nexus_redis_replication_link_up")).toEqual([
            { name: "nexus_redis_replication_link_up", labels: operational, value: 1 },
        ]);
    });

    it("refuses to replace a file that is not check's, keeping it and the check's verdict, and says why", async () => {
        const dir = tempDir();
        const { results: r, report: rep } = checkRun();
        const cases: [string, string, RegExp][] = [
            ["someone's.prom", "node_custom_metric 1\n", /it holds no metrics of nexus-redis: not replaced/],
            [
                "backup.prom",
                "# TYPE nexus_redis_backup_last_run_timestamp_seconds gauge\n",
                /it holds nexus-redis backup's metrics: not replaced/,
            ],
        ];
        for (const [name, content, message] of cases) {
            const file = path.join(dir, name);
            fs.writeFileSync(file, content);
            for (const [verdict, code] of [
                [0, 2],
                [1, 1],
            ]) {
                const out = io();
                expect(await publishCheckMetrics(file, r, rep, out, verdict)).toBe(code);
                expect(out.err()).toMatch(new RegExp(`^nexus-redis: --prometheus ${file.replace(/[.]/g, "\\.")}: `));
                expect(out.err()).toMatch(message);
                expect(fs.readFileSync(file, "utf8")).toBe(content);
            }
        }
        expect(fs.readdirSync(dir).sort()).toEqual(["backup.prom", "someone's.prom"]);
    });

    it("says so, and exits 2 only when the run was healthy, when its folder does not exist", async () => {
        const file = path.join(tempDir(), "missing", "nexus-redis-check.prom");
        const { results: r, report: rep } = checkRun();
        const out = io();
        expect(await publishCheckMetrics(file, r, rep, out, 0)).toBe(2);
        expect(out.err()).toMatch(/ENOENT/);
        expect(await publishCheckMetrics(file, r, rep, io(), 1)).toBe(1);
    });

    it("leaves no temporary file when the rename fails", () => {
        const dir = tempDir();
        const file = path.join(dir, "nexus-redis-check.prom");
        fs.mkdirSync(file); // a folder in the file's place: the rename fails
        expect(() => writeAtomically(file, "x 1\n")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
        expect(fs.readdirSync(dir)).toEqual(["nexus-redis-check.prom"]);
    });

    it("names the problem when the file's place is a folder, keeping the verdict", async () => {
        const file = path.join(tempDir(), "nexus-redis-check.prom");
        fs.mkdirSync(file);
        const { results: r, report: rep } = checkRun();
        const out = io();
        expect(await publishCheckMetrics(file, r, rep, out, 0)).toBe(2);
        expect(out.err()).toMatch(/EISDIR/);
        expect(await publishCheckMetrics(file, r, rep, io(), 1)).toBe(1);
    });

    it("for backup, keeps the last success across a failed run, through the file itself", async () => {
        const file = path.join(tempDir(), "nexus-redis-backup.prom");
        expect(await publishBackupMetrics(file, report(backupResult("contact")), ["contact"], io(), 0)).toBe(0);
        expect(await publishBackupMetrics(file, report(failed("contact")), ["contact"], io(), 1)).toBe(1);
        const samples = parseSamples(fs.readFileSync(file, "utf8"));
        const labels = { environment: "contact", role: "vault" };
        expect(value(samples, "nexus_redis_backup_last_run_failed", labels)).toBe(1);
        expect(value(samples, "nexus_redis_backup_last_success_timestamp_seconds", labels)).toBe(SUCCESS);
    });

    it("for backup, refuses a previous file it cannot read whole (it would lose the last successes), and check's file", async () => {
        const dir = tempDir();
        for (const [name, content, message] of [
            [
                "broken.prom",
                '# TYPE nexus_redis_backup_last_run_timestamp_seconds gauge\nnexus_redis_backup_last_run_failed{environment="contact" 1\n',
                /its line 2 is not a metric sample: .*: not replaced/,
            ],
            ["check.prom", "# TYPE nexus_redis_check_timestamp_seconds gauge\n", /it holds nexus-redis check's metrics: not replaced/],
        ]) {
            const file = path.join(dir, name as string);
            fs.writeFileSync(file, content as string);
            const out = io();
            expect(await publishBackupMetrics(file, report(backupResult("contact")), ["contact"], out, 0)).toBe(2);
            expect(out.err()).toMatch(new RegExp(`^nexus-redis backup: --prometheus ${file.replace(/[.]/g, "\\.")}: `));
            expect(out.err()).toMatch(message as RegExp);
            expect(fs.readFileSync(file, "utf8")).toBe(content);
        }
    });
});

describe("--prometheus on the command line", () => {
    it.each<[string[], RegExp]>([
        [
            ["check", "--prometheus", "metrics.txt"],
            /^nexus-redis: --prometheus needs a file whose name ends in \.prom .*got "metrics\.txt"/,
        ],
        [["backup", "--prometheus", "metrics"], /^nexus-redis backup: --prometheus needs a file whose name ends in \.prom/],
        [["recover", "contact", "--prometheus", "x.prom"], /--prometheus is not an option of recover/],
    ])("%j is a usage error before anything runs: exit 2", async (argv, message) => {
        const run = await cli(argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.stdout).toBe("");
        expect(run.commands).toEqual([]);
    });

    it("writes the file beside the table, with check's own exit code", async () => {
        const file = path.join(tempDir(), "nexus-redis-check.prom");
        const run = await cli(["check", "--outputs", "-", "--timeout", "1000", "--prometheus", file], { stdin: await stoppedStack() });
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(/^contact\s+standard\s+PROBLEM\s/m);
        const samples = parseSamples(fs.readFileSync(file, "utf8"));
        expect(samples.filter((s) => s.name === "nexus_redis_server_up")).toEqual([
            { name: "nexus_redis_server_up", labels: vault, value: 0 },
            { name: "nexus_redis_server_up", labels: operational, value: 0 },
            { name: "nexus_redis_server_up", labels: { environment: "user", role: "vault" }, value: 0 },
        ]);
        expect(value(samples, "nexus_redis_writes_refused", { ...vault, reason: "unreachable" })).toBe(1);
    });

    it("with --json, still one JSON document on stdout", async () => {
        const file = path.join(tempDir(), "nexus-redis-check.prom");
        const run = await cli(["check", "--json", "--outputs", "-", "--timeout", "1000", "--prometheus", file], {
            stdin: await stoppedStack(),
        });
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout).summary).toEqual({ ok: 0, fixed: 0, problem: 2 });
        expect(run.stderr).toBe("");
        expect(fs.existsSync(file)).toBe(true);
    });

    it("never hides check's verdict when the file cannot be written: the table, exit 1, and why on stderr", async () => {
        const file = path.join(tempDir(), "no-such-folder", "nexus-redis-check.prom");
        const run = await cli(["check", "--outputs", "-", "--timeout", "1000", "--prometheus", file], { stdin: await stoppedStack() });
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(/^user\s+secure\s+PROBLEM\s/m);
        expect(run.stderr).toMatch(new RegExp(`nexus-redis: --prometheus ${file.replace(/[.]/g, "\\.")}: ENOENT`));
    });
});
