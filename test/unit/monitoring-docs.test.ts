/**
 * The monitoring page (docs/monitoring.md) must work as pasted: the cron line and the systemd units run
 * a check the CLI accepts and that writes the file, the units pass `systemd-analyze verify`,
 * the Prometheus snippet passes `promtool check config` with the shipped rules, the folder is
 * the one Debian's node_exporter reads, and the tables name exactly the metrics and alerts
 * there are. Cron and systemd themselves cannot fire here.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BACKUP_METRICS } from "../../cli/backup/metrics";
import { CHECK_METRICS } from "../../cli/check/metrics";
import { parseSamples } from "../../cli/core/prometheus";
import { prometheusAvailable, promtool } from "../../harness/prometheus";
import { cli } from "./cliRun";
import { stoppedStack } from "./stoppedStack";
import { systemdAnalyzeAvailable, unitsOf, verifyUnits } from "./systemdUnits";

const ROOT = path.resolve(__dirname, "../..");
/** The whole page: it is the Monitoring section the README had. */
const SECTION = readFileSync(path.join(ROOT, "docs/monitoring.md"), "utf8");
const FOLDER = "/var/lib/prometheus/node-exporter";
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-monitoring-"));
    made.push(dir);
    return dir;
}

/** The one fenced block of `language` on the monitoring page. */
function block(language: string): string {
    const fence = "```";
    const blocks = [...SECTION.matchAll(new RegExp(`${fence}${language}\\n([\\s\\S]*?)\\n${fence}`, "g"))].map((m) => m[1]);
    expect(blocks).toHaveLength(1);
    return blocks[0];
}

/**
 * The check of a command line as the page gives it, run in-process: its options as written,
 * except the stack (outputs whose servers refuse connections, on stdin) and the metrics file (a
 * temp file). Exit 1 (problems found) and the file written show the options work together.
 */
async function runsAsWritten(command: string): Promise<void> {
    // The bin as the page runs it: relative in the project's folder (cron), by its full path (systemd).
    const bin = /(?:\.|\/opt\/nexus-redis)\/bin\/nexus-redis\.js (?=check )/.exec(command);
    expect(bin).not.toBeNull();
    const args = command
        .slice(bin!.index + bin![0].length)
        .split(" >")[0]
        .trim()
        .split(/\s+/);
    const file = path.join(tempDir(), "nexus-redis-check.prom");
    const stack = args.indexOf("--stack");
    expect(stack).toBeGreaterThan(0);
    args.splice(stack, 2, "--outputs", "-", "--timeout", "1000");
    const prometheus = args.indexOf("--prometheus");
    expect(args[prometheus + 1]).toBe(`${FOLDER}/nexus-redis-check.prom`);
    args[prometheus + 1] = file;
    const run = await cli(args, { stdin: await stoppedStack() });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    expect(parseSamples(readFileSync(file, "utf8")).filter((s) => s.name === "nexus_redis_server_up")).toHaveLength(3);
}

describe("the monitoring page, docs/monitoring.md", () => {
    it("runs check every minute from cron, as root, in the same form as the backups' lines", async () => {
        const lines = block("cron")
            .split("\n")
            .filter((l) => l.trim() !== "" && !l.startsWith("#"));
        const jobs = lines.filter((l) => !/^[A-Z_]+=/.test(l)).map((l) => l.split(" "));
        expect(jobs).toHaveLength(1);
        expect(jobs[0].slice(0, 6)).toEqual(["*", "*", "*", "*", "*", "root"]);
        const command = jobs[0].slice(6).join(" ");
        expect(command).toMatch(/^cd \/opt\/nexus-redis && \.\/bin\/nexus-redis\.js check /);
        for (const line of lines) expect(line).not.toContain("%"); // cron would cut the command there
        expect(lines).toContain("PULUMI_CONFIG_PASSPHRASE_FILE=/opt/nexus-redis/.pulumi-passphrase");
        await runsAsWritten(command);
    });

    const units = unitsOf(block("ini"));
    const setting = (unit: string, name: string) => [...units[unit].matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]);

    it("gives a systemd service and its timer, every minute, that count a check finding problems as a success", async () => {
        expect(Object.keys(units).sort()).toEqual(["nexus-redis-check.service", "nexus-redis-check.timer"]);
        expect(setting("nexus-redis-check.service", "Type")).toEqual(["oneshot"]);
        expect(setting("nexus-redis-check.service", "SuccessExitStatus")).toEqual(["1"]);
        expect(setting("nexus-redis-check.timer", "OnCalendar")).toEqual(["minutely"]);
        const [exec] = setting("nexus-redis-check.service", "ExecStart");
        expect(exec).toMatch(/^\/opt\/nexus-redis\/bin\/nexus-redis\.js check /);
        await runsAsWritten(exec);
    });

    it.skipIf(!systemdAnalyzeAvailable)("gives units that pass systemd-analyze verify without a word", () => {
        expect(verifyUnits(units, tempDir())).toEqual({ output: "", status: 0 });
    });

    it.skipIf(!prometheusAvailable())(
        "names the folder Debian's node_exporter reads, and a Prometheus config promtool accepts with the shipped rules",
        async () => {
            const help = spawnSync("prometheus-node-exporter", ["--help"], { encoding: "utf8" });
            expect(help.stdout + help.stderr).toContain(`--collector.textfile.directory="${FOLDER}"`);
            const config = parse(block("yaml")) as { rule_files: string[] };
            expect(config.rule_files).toEqual(["/etc/prometheus/nexus-redis.rules.yml"]);
            const file = path.join(tempDir(), "prometheus.yml");
            writeFileSync(file, block("yaml").replace(config.rule_files[0], path.join(ROOT, "docs/alerts/nexus-redis.rules.yml")));
            const run = await promtool(["check", "config", file]);
            expect(run.output).toContain("SUCCESS: 7 rules found");
            expect(run.status).toBe(0);
        },
    );

    it("has a row for every metric check and backup write, and no other", () => {
        const table = SECTION.slice(SECTION.indexOf("| Metric"));
        const named = new Set([...table.slice(0, table.indexOf("\n\n")).matchAll(/`(nexus_redis_[a-z_]+)`/g)].map((m) => m[1]));
        expect([...named].sort()).toEqual(Object.keys({ ...CHECK_METRICS, ...BACKUP_METRICS }).sort());
    });

    it("shows the dashboard and the picture, files that exist, and the command that makes the picture again", () => {
        // Links relative to the page's folder, docs/.
        const links = [...SECTION.matchAll(/\]\(((?:alerts|grafana)\/[^)#]+)\)/g)].map((m) => m[1]);
        expect(links).toEqual(expect.arrayContaining(["grafana/nexus-redis.json", "grafana/prometheus-graph.png"]));
        for (const link of links) expect(existsSync(path.join(ROOT, "docs", link)), link).toBe(true);
        const png = readFileSync(path.join(ROOT, "docs/grafana/prometheus-graph.png"));
        expect(png.subarray(1, 4).toString()).toBe("PNG");
        expect(SECTION).toContain("`npm run docs:screenshot`");
        const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
        expect(scripts["docs:screenshot"]).toBe("tsx scripts/docs-screenshot.ts");
        expect(SECTION).toContain("(#the-grafana-dashboard)");
        expect(SECTION).toContain("\n## The Grafana dashboard\n");
    });

    it("names every alert of the rules file, and no other", () => {
        const rules = parse(readFileSync(path.join(ROOT, "docs/alerts/nexus-redis.rules.yml"), "utf8")) as {
            groups: { rules: { alert: string }[] }[];
        };
        const named = new Set([...SECTION.matchAll(/`(NexusRedis[A-Za-z]+)`/g)].map((m) => m[1]));
        expect([...named].sort()).toEqual(rules.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort());
    });
});
