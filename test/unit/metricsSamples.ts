/**
 * Sample data for the `--prometheus` tests: what check and backup would have seen, built from
 * INFO captured from Redis 7.0.15 (fixtures/info) and the CLI's sample stack, run through the
 * real diagnosis and the real sample functions, and `value`, which reads one sample back. Shared
 * by the metrics tests and the dashboard's test (which takes the metric names that exist from
 * here). Not a test file itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackupReport, BackupResult } from "../../cli/backup/report";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import { type EnvironmentResult, buildReport } from "../../cli/health/checkFleet";
import { backupSamples } from "../../cli/backup/metrics";
import { checkSamples } from "../../cli/check/metrics";
import type { Sample } from "../../cli/core/prometheus";
import type { EnvironmentObservation } from "../../cli/health/observe";
import type { EnvironmentOutput } from "../../cli/fleet/environment";
import { parseInfo } from "../../cli/redis/replies";
import { expect } from "vitest";
import { contact, fleetOutputs, healthySecure, healthyStandard, kb, user } from "./cli-samples";

const FIXTURES = path.join(__dirname, "fixtures/info");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.txt`), "utf8");

/** A captured INFO with some fields replaced (`null`: removed). */
export function info(name: string, fields: Record<string, string | null> = {}) {
    const parsed: Record<string, string> = { ...parseInfo(fixture(name)) };
    for (const [field, value] of Object.entries(fields)) {
        if (value === null) delete parsed[field];
        else parsed[field] = value;
    }
    return parsed;
}

export const CHECKED_AT = new Date("2026-11-26T17:02:43.500Z");
const context = diagnosisContext(fleetOutputs);

/** A standard environment seen with the captured INFO (healthy, link up), bent by `change`. */
export function standard(change: (o: EnvironmentObservation) => void = () => undefined, env = contact): EnvironmentObservation {
    const o = healthyStandard(env);
    o.vault.info = info("vault");
    o.operational!.info = info("replica", { master_host: env.vault.container });
    change(o);
    return o;
}

export function results(entries: [string, EnvironmentOutput, EnvironmentObservation][]): EnvironmentResult[] {
    return entries.map(([name, env, observation]) => ({
        name,
        env,
        observation,
        diagnosis: diagnose(env, observation, context),
        extra: [],
        changes: [],
        durationMs: 5,
    }));
}

/** check's samples of these environments, as seen at CHECKED_AT. */
export function samplesOf(entries: [string, EnvironmentOutput, EnvironmentObservation][]): Sample[] {
    const r = results(entries);
    return checkSamples(buildReport(r), Object.fromEntries(r.map((x) => [x.name, x.observation])), CHECKED_AT);
}

export function backupResult(environment: string, fields: Partial<BackupResult> = {}): BackupResult {
    return {
        environment,
        kind: "standard",
        status: "ok",
        snapshot: {
            file: `backups/${environment}/20261126T170243.351Z.rdb`,
            manifest: `backups/${environment}/20261126T170243.351Z.json`,
            createdAt: "2026-11-26T17:02:43.351Z",
            bytes: 3664574,
            sha256: "6cac3b1c93a50de6232e2c9e320e627aba285a70ae779fb1f7f3cd009150d629",
            keys: 100000,
            expiringKeys: 16666,
            databases: { "0": { keys: 99998, expiringKeys: 16665 }, "3": { keys: 2, expiringKeys: 1 } },
            digest: "981af20120d33e2ead27440f96c02b16416e4ee4",
            redis: {
                redisVersion: "7.0.15",
                rdbVersion: 10,
                replicationId: null,
                replicationOffset: 0,
                writtenAt: null,
                usedMemory: null,
            },
        },
        restic: null,
        error: null,
        measurements: { durationMs: 7250, snapshotMs: 300, verifyMs: 6900, resticMs: null },
        ...fields,
    };
}
export const failedBackup = (environment: string) =>
    backupResult(environment, { status: "failed", snapshot: null, error: "cannot write the backup: ENOTDIR" });
export const FINISHED = new Date("2026-11-27T09:00:00.000Z");
/** When backupResult's snapshot was made, in the seconds a sample holds. */
export const SUCCESS = Date.parse("2026-11-26T17:02:43.351Z") / 1000;
export const backupReport = (...backups: BackupResult[]): BackupReport => ({ backups, retention: null });

/** The labels of the contact environment's two servers. */
export const vault = { environment: "contact", role: "vault" };
export const operational = { environment: "contact", role: "operational" };

/** The value of the one sample of `name` with exactly `labels`; undefined when there is none. */
export function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
    const found = samples.filter((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels));
    expect(found.length).toBeLessThanOrEqual(1);
    return found[0]?.value;
}

/** check's samples of a healthy fleet, and of a fleet with something wrong in every environment. */
export function checkScenarios(): [string, Sample[]][] {
    return [
        [
            "a healthy fleet",
            samplesOf([
                ["contact", contact, standard()],
                ["user", user, healthySecure()],
            ]),
        ],
        [
            "a broken fleet",
            samplesOf([
                ["contact", contact, standard((o) => (o.operational!.info = info("replica-link-down")))],
                ["kb", kb, standard((o) => (o.vault.info = info("vault", { rdb_last_bgsave_status: "err", loading: "1" })), kb)],
                ["user", user, { vault: { failure: { kind: "auth", command: "AUTH", message: "rejected" } } }],
            ]),
        ],
    ];
}

/** backup's samples of a run where one vault's backup succeeded and another's failed. */
export function backupScenarios(): [string, Sample[]][] {
    return [
        [
            "a good and a failed backup",
            backupSamples(backupReport(backupResult("contact"), failedBackup("kb")), [], ["contact", "kb"], FINISHED),
        ],
    ];
}
