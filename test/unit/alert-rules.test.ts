/**
 * The alert rules users drop into Prometheus (docs/alerts/nexus-redis.rules.yml), checked with
 * Prometheus's own tool: `promtool check rules`, and each rule's `promtool test rules` file
 * (docs/alerts/tests/ALERT.yml: input series, the alerts expected at given times). And each of
 * those tests must catch its rule broken: every mutation below, applied to a copy of the rules,
 * makes that rule's test fail.
 */
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { prometheusAvailable, promtool } from "../../harness/prometheus";

const ROOT = path.resolve(__dirname, "../..");
const ALERTS = path.join(ROOT, "docs/alerts");
const RULES_FILE = path.join(ALERTS, "nexus-redis.rules.yml");
const TESTS = path.join(ALERTS, "tests");

interface Rule {
    alert: string;
    expr: string;
    for?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}
type RulesDocument = { groups: { name: string; rules: Rule[] }[] };

const shipped = readFileSync(RULES_FILE, "utf8");
const rules = (parse(shipped) as RulesDocument).groups.flatMap((g) => g.rules);
const testFiles = readdirSync(TESTS).filter((f) => f.endsWith(".yml"));
const available = prometheusAvailable();
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** `promtool test rules` of ALERT's test file, against the rules `change` makes of the shipped ones. */
async function testRule(alert: string, change: (rule: Rule) => void = () => undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-rules-"));
    made.push(dir);
    const document = parse(shipped) as RulesDocument;
    const rule = document.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
    if (!rule) throw new Error(`no rule ${alert}`);
    change(rule);
    writeFileSync(path.join(dir, "nexus-redis.rules.yml"), stringify(document));
    cpSync(TESTS, path.join(dir, "tests"), { recursive: true });
    return promtool(["test", "rules", path.join(dir, "tests", `${alert}.yml`)]);
}

describe.skipIf(!available)("the alert rules", () => {
    it("pass promtool check rules", async () => {
        const run = await promtool(["check", "rules", RULES_FILE]);
        expect(run.output).toContain(`SUCCESS: ${rules.length} rules found`);
        expect(run.status).toBe(0);
    });

    it("are the five alerts the README promises, the failed-backup alert and the expiring certificate, each with a severity and a summary", () => {
        expect(rules.map((r) => r.alert)).toEqual([
            "NexusRedisLinkDown",
            "NexusRedisVaultRefusingWrites",
            "NexusRedisReplicationLagGrowing",
            "NexusRedisNoRecentBackup",
            "NexusRedisBackupFailed",
            "NexusRedisCheckStale",
            "NexusRedisCertificateExpiring",
        ]);
        for (const rule of rules) {
            expect(["critical", "warning"]).toContain(rule.labels?.severity);
            expect(rule.annotations?.summary).toBeTruthy();
        }
    });

    it("have one test file each, and every test file names only its own rule", () => {
        expect(testFiles.sort()).toEqual(rules.map((r) => `${r.alert}.yml`).sort());
        for (const file of testFiles) {
            const test = parse(readFileSync(path.join(TESTS, file), "utf8")) as {
                rule_files: string[];
                tests: { alert_rule_test: { alertname: string }[] }[];
            };
            expect(test.rule_files).toEqual(["../nexus-redis.rules.yml"]);
            const names = new Set(test.tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)));
            expect([...names]).toEqual([file.replace(/\.yml$/, "")]);
        }
    });

    // promtool runs a process per test: side by side.
    describe.concurrent.each(rules.map((r) => r.alert))("%s", (alert) => {
        it("passes its promtool test, as shipped", async () => {
            const run = await testRule(alert);
            expect(run.output).toContain("SUCCESS");
            expect(run.status).toBe(0);
        });

        it("fails its test when the rule never fires", async () => {
            expect((await testRule(alert, (r) => (r.expr = "vector(0) > 1"))).status).toBe(1);
        });

        it("fails its test when the rule waits another minute before firing", async () => {
            expect((await testRule(alert, (r) => (r.for = r.for ? `${Number.parseInt(r.for, 10) + 1}m` : "1m"))).status).toBe(1);
        });
    });

    describe.each<[string, string, (rule: Rule) => void]>([
        ["NexusRedisLinkDown", "fires at once, without its minute", (r) => delete r.for],
        ["NexusRedisLinkDown", "loses its description", (r) => delete r.annotations?.description],
        ["NexusRedisVaultRefusingWrites", "fires for operationals too", (r) => (r.expr = r.expr.replace('{role="vault"}', ""))],
        [
            "NexusRedisVaultRefusingWrites",
            "no longer lists the reasons",
            (r) => (r.annotations!.description = r.annotations!.description.replace("{{ $s.Labels.reason }}", "")),
        ],
        ["NexusRedisReplicationLagGrowing", "fires on a lag that stays put", (r) => (r.expr = r.expr.replace(/ and deriv.*$/, ""))],
        [
            "NexusRedisReplicationLagGrowing",
            "fires on a small lag that grows",
            (r) => (r.expr = r.expr.replace("nexus_redis_replication_lag_bytes > 1048576 and ", "")),
        ],
        ["NexusRedisReplicationLagGrowing", "fires at once, without its 5 minutes", (r) => delete r.for],
        ["NexusRedisNoRecentBackup", "allows 25 hours instead of 26", (r) => (r.expr = r.expr.replace("26 * 3600", "25 * 3600"))],
        ["NexusRedisNoRecentBackup", "allows 27 hours instead of 26", (r) => (r.expr = r.expr.replace("26 * 3600", "27 * 3600"))],
        [
            "NexusRedisNoRecentBackup",
            "misses a vault of which backup never wrote anything",
            (r) => (r.expr = r.expr.replace(/ or \(time\(\)[\s\S]*$/, "")),
        ],
        [
            "NexusRedisNoRecentBackup",
            "fires for a new vault before its first backup could run",
            (r) => (r.expr = r.expr.replace(" offset 26h", "")),
        ],
        [
            "NexusRedisNoRecentBackup",
            "fires for 26 hours for an environment that left the stack",
            (r) => (r.expr = r.expr.replace(/\n?and on \(environment\) nexus_redis_check_timestamp_seconds\{role="vault"\}\)$/, ")")),
        ],
        ["NexusRedisBackupFailed", "fires for every vault", (r) => (r.expr = r.expr.replace("== 1", ">= 0"))],
        ["NexusRedisCheckStale", "allows 10 minutes instead of 5", (r) => (r.expr = r.expr.replace("> 300", "> 600"))],
        [
            "NexusRedisCheckStale",
            "misses metrics that are gone",
            (r) => (r.expr = r.expr.replace(" or absent(nexus_redis_check_timestamp_seconds)", "")),
        ],
        [
            "NexusRedisCheckStale",
            "fires once per server instead of per environment",
            (r) => (r.expr = r.expr.replace("max by (environment) ", "")),
        ],
        [
            "NexusRedisCertificateExpiring",
            "fires on any problem check reports",
            (r) => (r.expr = r.expr.replace('{code="tls-cert-expiring"}', "")),
        ],
    ])("%s, broken so that it %s", (alert, _how, change) => {
        it.concurrent("fails its test", async () => {
            const before = JSON.stringify(rules.find((r) => r.alert === alert));
            let after = "";
            const run = await testRule(alert, (r) => {
                change(r);
                after = JSON.stringify(r);
            });
            expect(after).not.toBe(before); // the mutation applied
            expect(run.output).toContain("FAILED");
            expect(run.status).toBe(1);
        });
    });
});
