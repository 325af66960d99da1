/**
 * The harness's Prometheus and node_exporter (harness/prometheus.ts) leave nothing running:
 * stopped by the test, or ended by their guard when the test's process is killed outright.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { waitFor } from "../../harness/fleet";
import { prometheusAvailable, startMonitoring } from "../../harness/prometheus";

const ROOT = path.resolve(__dirname, "../..");
const work = mkdtempSync(path.join(tmpdir(), "nexus-redis-harness-prometheus-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function folders(name: string) {
    const workDir = path.join(work, name);
    const textfileDir = path.join(workDir, "textfile");
    mkdirSync(textfileDir, { recursive: true });
    const rulesFile = path.join(workDir, "rules.yml");
    writeFileSync(rulesFile, "groups: []\n");
    writeFileSync(path.join(textfileDir, "x.prom"), "# HELP x_seconds A test value.\n# TYPE x_seconds gauge\nx_seconds 42\n");
    return { workDir, textfileDir, rulesFile };
}

const refused = async (url: string) => {
    try {
        await fetch(url);
        return undefined;
    } catch {
        return true;
    }
};

describe.skipIf(!prometheusAvailable())("the harness's Prometheus and node_exporter", () => {
    it("serve the textfile folder through Prometheus, and answer no more once stopped", async () => {
        const monitoring = await startMonitoring(folders("stopped"));
        try {
            await waitFor("x_seconds in Prometheus", async () =>
                (await monitoring.query("x_seconds"))[0]?.value === 42 ? true : undefined,
            );
        } finally {
            await monitoring.stop();
        }
        for (const url of [monitoring.prometheusUrl, monitoring.nodeExporterUrl]) expect(await refused(url)).toBe(true);
    });

    it("are ended by their guards when the process that started them is killed", async () => {
        const script = path.join(work, "start.cjs");
        writeFileSync(
            script,
            `require(${JSON.stringify(require.resolve("tsx/cjs", { paths: [ROOT] }))});
const { startMonitoring } = require(${JSON.stringify(path.join(ROOT, "harness/prometheus.ts"))});
startMonitoring(JSON.parse(process.argv[2])).then((m) => console.log(JSON.stringify([m.prometheusUrl, m.nodeExporterUrl])));
setInterval(() => undefined, 1000);
`,
        );
        const child = spawn(process.execPath, [script, JSON.stringify(folders("killed"))], {
            cwd: ROOT,
            stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
        const urls = await waitFor(
            "both started",
            async () => (out.includes("\n") ? (JSON.parse(out) as string[]) : undefined),
            60_000,
            100,
        );
        for (const url of urls) expect(await refused(url)).toBeUndefined();
        child.kill("SIGKILL");
        for (const url of urls) await waitFor(`${url} gone`, () => refused(url), 15_000, 200);
    });
});
