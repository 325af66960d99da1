/**
 * The fleet in a real Prometheus: a live fleet (the program's own containers), `check
 * --prometheus` and `backup --prometheus` writing into a folder, Debian's node_exporter serving
 * that folder (textfile collector) and Debian's Prometheus scraping it every second with the
 * shipped alert rules. Each failure is made for real and seen through Prometheus's HTTP API:
 * the metric changes and the alert fires; repaired, the alert resolves.
 *
 * The rules are the shipped file with every `for` shortened (no test waits a minute); the
 * first test shows that what Prometheus runs is the shipped file but for those durations.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runCli } from "../../harness/cliRun";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { NODE_EXPORTER_METRICS, dashboardQueries, expandVariables, metricNames } from "../../harness/dashboard";
import { type Monitoring, prometheusAvailable, promtool, startMonitoring, withFor } from "../../harness/prometheus";

const ROOT = path.resolve(__dirname, "../..");
const SHIPPED = readFileSync(path.join(ROOT, "docs/alerts/nexus-redis.rules.yml"), "utf8");
const DASHBOARD = JSON.parse(readFileSync(path.join(ROOT, "docs/grafana/nexus-redis.json"), "utf8"));
/** The rules' `for` in this test: Prometheus evaluates them every second here. */
const FOR_SECONDS = 3;

const live = dockerAvailable() && prometheusAvailable();
let fleet: LiveFleet;
let work: string;
let textfiles: string;
let monitoring: Monitoring | undefined;

/** The CLI in this process, as an operator runs it, with the stack's outputs on stdin. */
const cli = (argv: string[]) => runCli(fleet.outputs, argv);

const checkFile = () => path.join(textfiles, "nexus-redis-check.prom");
const backupFile = () => path.join(textfiles, "nexus-redis-backup.prom");
const check = (...argv: string[]) => cli(["check", "--timeout", "3000", "--prometheus", checkFile(), ...argv]);

/** The value of the one series `expr` selects, once Prometheus has it equal to `expected`. */
async function until(expr: string, expected: number): Promise<void> {
    await waitFor(
        `${expr} == ${expected} in Prometheus`,
        async () => {
            const result = await monitoring!.query(expr);
            if (result.length > 1) throw new Error(`${expr} selects ${result.length} series`);
            return result[0]?.value === expected ? true : undefined;
        },
        60_000,
        250,
    );
}

/** The nexus-redis alerts firing now, as `ALERT environment` strings, sorted. */
async function firing(): Promise<string[]> {
    return (await monitoring!.alerts())
        .filter((a) => a.state === "firing" && a.labels.alertname.startsWith("NexusRedis"))
        .map((a) => `${a.labels.alertname} ${a.labels.environment ?? "-"}`)
        .sort();
}

/** Waits until exactly `alerts` fire (a pending alert becomes firing after FOR_SECONDS). */
async function untilFiring(alerts: string[]): Promise<void> {
    await waitFor(
        `firing: ${alerts.join(", ") || "nothing"}`,
        async () => {
            const now = await firing();
            return JSON.stringify(now) === JSON.stringify([...alerts].sort()) ? true : undefined;
        },
        60_000,
        250,
    );
}

/** Every password of the stack's outputs. */
function passwords(): string[] {
    return Object.values(fleet.outputs).flatMap((e) =>
        [e.vault.password, e.replication?.password, e.operational?.adminPassword, e.backup.password].filter((p): p is string => !!p),
    );
}

async function expectValidExposition(file: string): Promise<string> {
    const text = readFileSync(file, "utf8");
    expect(await promtool(["check", "metrics"], text)).toEqual({ status: 0, output: "" });
    for (const password of passwords()) expect(text).not.toContain(password);
    return text;
}

describe.skipIf(!live)("the fleet in a real Prometheus", () => {
    beforeAll(async () => {
        work = mkdtempSync(path.join(tmpdir(), "nexus-redis-prometheus-"));
        textfiles = path.join(work, "textfile");
        mkdirSync(textfiles);
        const rules = path.join(work, "nexus-redis.rules.yml");
        writeFileSync(rules, withFor(SHIPPED, `${FOR_SECONDS}s`));
        // A memory limit, so that maxmemory is set and the dashboard's memory-against-limit panels have data.
        fleet = await startLiveFleet({ environments: ["contact", "user"], config: { memoryLimitMb: "256" } });
        monitoring = await startMonitoring({ textfileDir: textfiles, rulesFile: rules, workDir: work });
    });

    afterAll(async () => {
        await monitoring?.stop();
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("runs the shipped rules, but for their shortened `for`", async () => {
        const response = await fetch(`${monitoring!.prometheusUrl}/api/v1/rules`);
        const loaded = ((await response.json()) as { data: { groups: { name: string; rules: Record<string, unknown>[] }[] } }).data.groups;
        const shipped = (parse(SHIPPED) as { groups: { name: string; rules: Record<string, unknown>[] }[] }).groups;
        expect(loaded.map((g) => g.name)).toEqual(shipped.map((g) => g.name));
        // Prometheus's own formatting of a query, so that `1048576` and its `1.048576e+06` compare equal.
        const format = async (expr: unknown) => {
            const url = `${monitoring!.prometheusUrl}/api/v1/format_query?query=${encodeURIComponent(String(expr))}`;
            return ((await (await fetch(url)).json()) as { data: string }).data;
        };
        for (const [i, group] of shipped.entries()) {
            expect(loaded[i].rules.map((r) => r.name)).toEqual(group.rules.map((r) => r.alert));
            for (const [j, rule] of group.rules.entries()) {
                const running = loaded[i].rules[j];
                expect(await format(running.query)).toBe(await format(rule.expr));
                expect(running.labels).toEqual(rule.labels);
                expect(running.annotations).toEqual(rule.annotations);
                expect(running.duration).toBe(rule.for === undefined ? 0 : FOR_SECONDS);
            }
        }
    });

    it("sees a healthy fleet: exit 0, clean exposition with no password, keys of every database, and no alert", async () => {
        const vault = fleet.client("contact", "vault", "password");
        await vault.mset("a", "1", "b", "2");
        await fleet.client("contact", "vault", "password", { db: 3 }).mset("c", "3", "d", "4", "e", "5");
        await waitFor("contact's operational has the 5 keys", async () => {
            const keyspace = parseInfo(await fleet.client("contact", "operational").info("keyspace"));
            return keyspace.db0?.startsWith("keys=2,") && keyspace.db3?.startsWith("keys=3,") ? true : undefined;
        });
        const run = await check();
        expect(run.code, run.stdout + run.stderr).toBe(0);
        expect(run.stdout).toMatch(/^contact\s+standard\s+ok\s/m);
        await expectValidExposition(checkFile());
        await until('nexus_redis_replication_link_up{environment="contact"}', 1);
        await until('nexus_redis_keys{environment="contact",role="vault"}', 5);
        await until('nexus_redis_keys{environment="contact",role="operational"}', 5);
        await until('nexus_redis_accepts_writes{environment="user",role="vault"}', 1);
        // CheckStale fired while there was no file at all; it resolves now that there is one.
        await untilFiring([]);
    });

    it("sees a link broken (masterauth changed by hand): the metric goes to 0 and NexusRedisLinkDown fires; check --fix repairs it and it resolves", async () => {
        const admin = fleet.client("contact", "operational", "admin");
        await admin.config("SET", "masterauth", "not-the-replication-password");
        await admin.call("CLIENT", "KILL", "TYPE", "master");
        await waitFor("contact's link down", async () =>
            parseInfo(await admin.info("replication")).master_link_status === "down" ? true : undefined,
        );
        const broken = await check();
        expect(broken.code).toBe(1);
        await expectValidExposition(checkFile());
        await until('nexus_redis_replication_link_up{environment="contact"}', 0);
        await until('nexus_redis_check_problems{environment="contact",role="operational",code="masterauth-drift"}', 1);
        await untilFiring(["NexusRedisLinkDown contact"]);
        const alert = (await monitoring!.alerts()).find((a) => a.labels.alertname === "NexusRedisLinkDown");
        expect(alert?.annotations.summary).toBe("contact: the operational has not replicated from its vault for over a minute");

        const repaired = await check("--fix");
        expect(repaired.code, repaired.stdout).toBe(0);
        expect(repaired.stdout).toMatch(/^contact\s+standard\s+FIXED\s/m);
        await until('nexus_redis_replication_link_up{environment="contact"}', 1);
        await untilFiring([]);
    });

    it("sees a vault that is full (maxmemory under noeviction): writes refused with the reason, NexusRedisVaultRefusingWrites fires, and resolves once it has room again", async () => {
        // The program declares no RDB snapshots (save ""), so a failed save no longer refuses writes;
        // a vault filled to its maxmemory (75% of memoryLimitMb, noeviction: never evict the source
        // of truth) does. Filled the way clients would fill it: values until Redis says OOM.
        const vault = fleet.client("contact", "vault", "password");
        const filled: string[] = [];
        /** Writes values of `size` bytes until Redis answers OOM; the written keys go into `filled`. */
        const fillWith = async (size: number, batch: number) => {
            const value = "x".repeat(size);
            for (let round = 0; round < 400; round++) {
                const keys = Array.from({ length: batch }, (_, i) => `prometheus-test-fill:${size}:${round}:${i}`);
                const pipeline = vault.pipeline();
                for (const key of keys) pipeline.set(key, value);
                const replies = (await pipeline.exec()) ?? [];
                keys.forEach((key, i) => {
                    if (!replies[i]?.[0]) filled.push(key);
                });
                const refusal = replies.find(([e]) => e)?.[0];
                if (refusal) {
                    expect(refusal.message).toMatch(/^OOM /);
                    return;
                }
            }
            throw new Error("the vault never refused a write: is maxmemory set?");
        };
        const declaredMax = ((await vault.config("GET", "maxmemory")) as string[])[1];
        try {
            // Large values first, then small ones: a large value is refused while its own bytes sit
            // in the query buffer, so only small writes find the vault really full.
            await fillWith(8 * 1024 * 1024, 1);
            await fillWith(1024, 500);
            // Redis refuses a write when the data *and the query buffers* pass maxmemory, so the
            // refused pipeline leaves the data alone just under it: once that buffer is freed a
            // small write fits again (CI saw it). An operator lowering the limit below what the
            // vault holds makes it full for good: 4 MB under the memory Redis compares with
            // maxmemory, which leaves out the replication backlog (64 MB once full) and the
            // replica's output buffer (mem_not_counted_for_evict, evict.c).
            const info = await vault.info("memory");
            const counted =
                Number(/^used_memory:(\d+)/m.exec(info)?.[1]) - Number(/^mem_not_counted_for_evict:(\d+)/m.exec(info)?.[1] ?? 0);
            await vault.config("SET", "maxmemory", String(counted - 4 * 1024 * 1024));
            await expect(vault.set("refused", "1")).rejects.toThrow(/^OOM /);
            await check();
            await expectValidExposition(checkFile());
            await until('nexus_redis_accepts_writes{environment="contact",role="vault"}', 0);
            await until('nexus_redis_writes_refused{environment="contact",role="vault",reason="out-of-memory"}', 1);
            await untilFiring(["NexusRedisVaultRefusingWrites contact"]);
            const alert = (await monitoring!.alerts()).find((a) => a.labels.alertname === "NexusRedisVaultRefusingWrites");
            expect(alert?.annotations.description).toMatch(/^The vault of contact would not take a write \(reasons: out-of-memory\)/);
        } finally {
            await vault.config("SET", "maxmemory", declaredMax);
            // DEL is allowed under OOM: the room comes back.
            if (filled.length > 0) await vault.del(...filled);
        }
        expect(await vault.set("accepted", "1")).toBe("OK");
        expect((await check()).code).toBe(0);
        await until('nexus_redis_accepts_writes{environment="contact",role="vault"}', 1);
        await untilFiring([]);
    });

    it("sees backups: a first one failing fires both backup alerts, a good one resolves them, and a failed one after it keeps the last success", async () => {
        // A path under a regular file: no folder can be made there, whoever runs the test.
        const blocked = path.join(work, "not-a-folder");
        writeFileSync(blocked, "");
        const backup = (to: string) => cli(["backup", "--env", "contact", "--json", "--to", to, "--prometheus", backupFile()]);
        const success = 'nexus_redis_backup_last_success_timestamp_seconds{environment="contact",role="vault"}';

        const first = await backup(path.join(blocked, "backups"));
        expect(first.code).toBe(1);
        expect(JSON.parse(first.stdout).backups[0].error).toMatch(/ENOTDIR/);
        await expectValidExposition(backupFile());
        await until('nexus_redis_backup_last_run_failed{environment="contact",role="vault"}', 1);
        await until(success, 0);
        await untilFiring(["NexusRedisBackupFailed contact", "NexusRedisNoRecentBackup contact"]);

        const good = await backup(path.join(work, "backups"));
        expect(good.code, good.stdout).toBe(0);
        const snapshot = JSON.parse(good.stdout).backups[0].snapshot;
        const takenAt = Date.parse(snapshot.createdAt) / 1000;
        await expectValidExposition(backupFile());
        await until(success, takenAt);
        await until('nexus_redis_backup_last_success_size_bytes{environment="contact",role="vault"}', snapshot.bytes);
        await until('nexus_redis_backup_last_success_keys{environment="contact",role="vault"}', snapshot.keys);
        await untilFiring([]);

        const again = await backup(path.join(blocked, "backups"));
        expect(again.code).toBe(1);
        await until('nexus_redis_backup_last_run_failed{environment="contact",role="vault"}', 1);
        await untilFiring(["NexusRedisBackupFailed contact"]);
        // The last success survived the failed run.
        await until(success, takenAt);
        expect(await firing()).toEqual(["NexusRedisBackupFailed contact"]);

        expect((await backup(path.join(work, "backups"))).code).toBe(0);
        await untilFiring([]);
    });

    it("runs every query of the Grafana dashboard in this Prometheus, each with data but those of problems, and node_exporter serves the textfile metrics it names", async () => {
        // A healthy fleet now (check's file and the last backup's): no refusal, no problem to count.
        expect((await check()).code).toBe(0);
        await until('nexus_redis_replication_link_up{environment="contact"}', 1);
        const onlyWhenWrong = new Set(["nexus_redis_writes_refused", "nexus_redis_check_problems"]);
        const empty: string[] = [];
        for (const q of dashboardQueries(DASHBOARD)) {
            const expr = expandVariables(q.expr, { environment: ".+" });
            const result = await monitoring!.query(expr); // throws on a query Prometheus rejects
            if (result.length === 0 && !metricNames(expr).some((m) => onlyWhenWrong.has(m))) empty.push(`${q.where}: ${expr}`);
        }
        expect(empty).toEqual([]);
        const served = await (await fetch(`${monitoring!.nodeExporterUrl}/metrics`)).text();
        for (const metric of NODE_EXPORTER_METRICS) expect(served).toMatch(new RegExp(`^${metric}[{ ]`, "m"));
        // node_exporter 1.5 labels each file with its whole path (older ones with its name): the dashboard's pattern takes both.
        const files = dashboardQueries(DASHBOARD).find((q) => metricNames(q.expr).includes("node_textfile_mtime_seconds"))!;
        const ages = await monitoring!.query(files.expr);
        expect(ages.map((s) => s.labels.file).sort()).toEqual([backupFile(), checkFile()]);
    });

    it("exits 2 when a healthy fleet's file cannot be written, with the table printed and the reason on stderr", async () => {
        const run = await cli(["check", "--prometheus", path.join(work, "no-such-folder", "nexus-redis-check.prom")]);
        expect(run.code).toBe(2);
        expect(run.stdout).toMatch(/^contact\s+standard\s+ok\s/m);
        expect(run.stderr).toMatch(/--prometheus .*no-such-folder\/nexus-redis-check\.prom: ENOENT/);
    });

    it("stops Prometheus and node_exporter, leaving neither answering", async () => {
        const { prometheusUrl, nodeExporterUrl } = monitoring!;
        await monitoring!.stop();
        monitoring = undefined;
        for (const url of [prometheusUrl, nodeExporterUrl]) await expect(fetch(url)).rejects.toThrow();
    });
});
