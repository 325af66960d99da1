/**
 * `--prometheus`'s exposition through prom-client: HELP and TYPE for every gauge, read back as
 * the samples it was made from, checked by `promtool check metrics`, never a password in it; a
 * previous file read back (or refused, naming its line); the file names it accepts; and the exit
 * code of a run whose file was or was not written.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BACKUP_METRICS } from "../../cli/backup/metrics";
import { CHECK_METRICS } from "../../cli/check/metrics";
import { type Sample, exitCodeWithMetrics, parsePrometheusFile, parseSamples, renderExposition } from "../../cli/core/prometheus";
import type { EnvironmentObservation } from "../../cli/health/observe";
import type { EnvironmentOutput } from "../../cli/fleet/environment";
import { prometheusAvailable, promtool } from "../../harness/prometheus";
import { backupScenarios, checkScenarios, samplesOf, standard } from "./metricsSamples";
import { SAMPLE_SECRETS, contact, healthySecure, kb, user } from "./cli-samples";

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
