/**
 * `--prometheus`'s file on disk, from the publish functions and from the command line: written
 * atomically, the previous backup file kept where a failed run must not erase it, and a file
 * that cannot be written refused with the run's verdict kept.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildReport } from "../../cli/health/checkFleet";
import { publishBackupMetrics } from "../../cli/backup/metrics";
import { CHECK_METRICS, publishCheckMetrics } from "../../cli/check/metrics";
import { parseSamples, publish, writeAtomically } from "../../cli/core/prometheus";
import { ownerTag } from "../../cli/core/owner";
import type { CliIo } from "../../cli/core/io";
import { cli } from "./cliRun";
import {
    backupResult,
    failedBackup as failed,
    backupReport as report,
    results,
    standard,
    SUCCESS,
    operational,
    vault,
    value,
} from "./metricsSamples";
import { stoppedStack } from "./stoppedStack";
import { contact, kb } from "./cli-samples";

const made: string[] = [];
afterAll(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(tmpdir(), "nexus-redis-metrics-"));
    made.push(dir);
    return dir;
}

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
            expect(await publishCheckMetrics(file, r, rep, ["contact"], io(), 0)).toBe(0);
            expect(await publishCheckMetrics(file, r, rep, ["contact"], io(), 1)).toBe(1);
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
                expect(await publishCheckMetrics(file, r, rep, ["contact"], out, verdict)).toBe(code);
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
        expect(await publishCheckMetrics(file, r, rep, ["contact"], out, 0)).toBe(2);
        expect(out.err()).toMatch(/ENOENT/);
        expect(await publishCheckMetrics(file, r, rep, ["contact"], io(), 1)).toBe(1);
    });

    it("a check of some environments (--env) keeps the others' series as the file had them, and drops those no longer in the stack", async () => {
        const file = path.join(tempDir(), "nexus-redis-check.prom");
        const both = results([
            ["contact", contact, standard()],
            ["kb", kb, standard(undefined, kb)],
        ]);
        expect(await publishCheckMetrics(file, both, buildReport(both), ["contact", "kb", "gone"], io(), 0)).toBe(0);
        const first = parseSamples(fs.readFileSync(file, "utf8"));
        // An environment a previous stack had, written by hand into the file: not the stack's any more.
        fs.appendFileSync(file, 'nexus_redis_server_up{environment="gone",role="vault"} 1\n');
        const ofEnv = (samples: typeof first, env: string) => samples.filter((x) => x.labels.environment === env);

        const kbOnly = results([["kb", kb, standard((o) => (o.operational!.info = undefined), kb)]]);
        expect(await publishCheckMetrics(file, kbOnly, buildReport(kbOnly), ["contact", "kb"], io(), 1)).toBe(1);
        const second = parseSamples(fs.readFileSync(file, "utf8"));
        expect(ofEnv(second, "contact")).toEqual(expect.arrayContaining(ofEnv(first, "contact")));
        expect(ofEnv(second, "contact")).toHaveLength(ofEnv(first, "contact").length);
        expect(ofEnv(second, "gone")).toEqual([]);
        expect(value(second, "nexus_redis_server_up", { environment: "kb", role: "operational" })).toBe(0);
        expect(value(first, "nexus_redis_server_up", { environment: "kb", role: "operational" })).toBe(1);
    });

    it("a check of some environments does not replace a previous file it cannot read; a check of all does", async () => {
        const file = path.join(tempDir(), "nexus-redis-check.prom");
        const damaged = "# TYPE nexus_redis_check_timestamp_seconds gauge\nnexus_redis_server_up{environment= 1\n";
        fs.writeFileSync(file, damaged);
        const { results: r, report: rep } = checkRun();
        const out = io();
        expect(await publishCheckMetrics(file, r, rep, ["contact", "kb"], out, 0)).toBe(2);
        expect(out.err()).toMatch(/line 2 is not a metric sample.*not replaced \(a check of every environment replaces it\)/);
        expect(fs.readFileSync(file, "utf8")).toBe(damaged);
        expect(await publishCheckMetrics(file, r, rep, ["contact"], io(), 0)).toBe(0);
        expect(value(parseSamples(fs.readFileSync(file, "utf8")), "nexus_redis_server_up", { environment: "contact", role: "vault" })).toBe(
            1,
        );
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
        expect(await publishCheckMetrics(file, r, rep, ["contact"], out, 0)).toBe(2);
        expect(out.err()).toMatch(/EISDIR/);
        expect(await publishCheckMetrics(file, r, rep, ["contact"], io(), 1)).toBe(1);
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

    it("two runs writing one file at once both count: each waits for the other's lock, so neither's news is lost", async () => {
        const dir = tempDir();
        const file = path.join(dir, "nexus-redis-backup.prom");
        const stack = ["contact", "kb"];
        // A backup of contact and one of kb (--env each), finishing together.
        const runs = await Promise.all([
            publishBackupMetrics(file, report(backupResult("contact")), stack, io(), 0),
            publishBackupMetrics(file, report(failed("kb")), stack, io(), 1),
        ]);
        expect(runs).toEqual([0, 1]);
        const samples = parseSamples(fs.readFileSync(file, "utf8"));
        expect(value(samples, "nexus_redis_backup_last_success_timestamp_seconds", { environment: "contact", role: "vault" })).toBe(
            SUCCESS,
        );
        expect(value(samples, "nexus_redis_backup_last_run_failed", { environment: "kb", role: "vault" })).toBe(1);
        expect(fs.readdirSync(dir)).toEqual(["nexus-redis-backup.prom"]);
    });

    it("a lock a live run holds is waited for, then refused with the file kept, naming the lock; a killed run's is taken over", async () => {
        const dir = tempDir();
        const file = path.join(dir, "nexus-redis-check.prom");
        const lock = path.join(dir, ".nexus-redis-check.prom.lock");
        const samples = () => [
            { name: "nexus_redis_check_timestamp_seconds", labels: { environment: "contact", role: "vault" }, value: 1 },
        ];
        fs.writeFileSync(lock, ownerTag()); // this very process: alive
        const out = io();
        expect(await publish("check", file, CHECK_METRICS, samples, out, 0, 200)).toBe(2);
        expect(out.err()).toContain(
            `another run (${ownerTag()}) has been writing it for 0.2 s: not replaced; if no nexus-redis run writes it any more, remove ${lock}`,
        );
        expect(fs.existsSync(file)).toBe(false);
        expect(fs.readFileSync(lock, "utf8")).toBe(ownerTag());

        const exited = spawnSync(process.execPath, ["-e", "0"]).pid; // a process of this host that has ended
        fs.writeFileSync(lock, ownerTag(undefined, exited));
        expect(await publish("check", file, CHECK_METRICS, samples, io(), 0, 200)).toBe(0);
        expect(
            value(parseSamples(fs.readFileSync(file, "utf8")), "nexus_redis_check_timestamp_seconds", {
                environment: "contact",
                role: "vault",
            }),
        ).toBe(1);
        expect(fs.readdirSync(dir)).toEqual(["nexus-redis-check.prom"]);
    });

    it("a run removes only its own lock: one another run took over meanwhile stays that run's", async () => {
        const dir = tempDir();
        const file = path.join(dir, "nexus-redis-check.prom");
        const lock = path.join(dir, ".nexus-redis-check.prom.lock");
        const samples = () => {
            // While this run writes, another takes the lock over (as it would a killed run's).
            expect(fs.readFileSync(lock, "utf8")).toBe(ownerTag());
            fs.writeFileSync(lock, "other-host:7");
            return [{ name: "nexus_redis_check_timestamp_seconds", labels: { environment: "contact", role: "vault" }, value: 1 }];
        };
        expect(await publish("check", file, CHECK_METRICS, samples, io(), 0)).toBe(0);
        expect(fs.readFileSync(lock, "utf8")).toBe("other-host:7");
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
