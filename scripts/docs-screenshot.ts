/**
 * `npm run docs:screenshot`: makes docs/grafana/prometheus-graph.png, the picture in the
 * monitoring page (docs/monitoring.md). Grafana is not in Debian, so it is Prometheus's own graph page,
 * drawing the Grafana dashboard's key queries (taken from docs/grafana/nexus-redis.json) over a
 * few minutes of a live fleet watched the documented way: `check --prometheus` every couple of
 * seconds and `backup --prometheus` now and then, into a folder that node_exporter's textfile
 * collector serves to Prometheus. Meanwhile keys are written, one environment's link is broken
 * by hand (a wrong masterauth) and repaired by `check --fix`, and one vault is backed up again.
 *
 * It needs what the live tests need (Docker with the test image, Debian's Prometheus and
 * node_exporter: `npm test` installs them) and Debian's Chromium (`apt-get install chromium`).
 * It uses loopback ports and container names of its own, and stops and removes everything it
 * started when it ends, fails or is interrupted. CI does not run it: the picture is committed.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { runCli } from "../harness/cliRun";
import { type Dashboard, allPanels, expandVariables } from "../harness/dashboard";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../harness/fleet";
import { type Monitoring, prometheusAvailable, startMonitoring } from "../harness/prometheus";

const ROOT = path.resolve(__dirname, "..");
const OUTPUT = path.join(ROOT, "docs/grafana/prometheus-graph.png");
const CHROMIUM = "/usr/bin/chromium";
/** The dashboard's panels drawn, top to bottom: the first query of each. */
// Not "Replication lag": on one host a replica keeps up within the check's two INFOs, so its
// lines lie flat on the axis; how long the broken link has been down says more here.
export const PANELS = ["Replication link", "Since the operational last heard from its vault", "Time since the last good backup", "Keys"];
/** How long the fleet is watched, and when the link goes down and is repaired (seconds from the start). */
const DURATION_S = 150;
const BREAK_AT_S = 40;
const REPAIR_AT_S = 95;
const BACKUP_AGAIN_AT_S = 70;
/** Keys each vault takes every tick (in databases 0 and 3), so the environments' lines differ. */
const WRITES: Record<string, number> = { contact: 60, kb: 25, session: 10, user: 40 };
const TICK_MS = 2000;

/**
 * The Prometheus graph page's URL for `exprs`, each a graph of the last `rangeSeconds` (the
 * classic UI's parameters: g0.expr, g0.tab=0 for a graph, g0.range_input). Pure.
 */
export function graphUrl(prometheusUrl: string, exprs: string[], rangeSeconds: number): string {
    const params = new URLSearchParams();
    exprs.forEach((expr, i) => {
        params.set(`g${i}.expr`, expr);
        params.set(`g${i}.tab`, "0");
        params.set(`g${i}.range_input`, `${rangeSeconds}s`);
    });
    return `${prometheusUrl}/graph?${params}`;
}

/** The first query of each of `titles`, for every environment. Pure. */
export function panelQueries(dashboard: Dashboard, titles: string[]): string[] {
    return titles.map((title) => {
        const panel = allPanels(dashboard).find((p) => p.title === title);
        const expr = panel?.targets?.[0]?.expr;
        if (expr === undefined) throw new Error(`the dashboard has no panel "${title}" with a query`);
        return expandVariables(expr, { environment: ".+" });
    });
}

const say = (text: string) => process.stderr.write(`docs:screenshot: ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writeKeys(fleet: LiveFleet, tick: number): Promise<void> {
    for (const [env, count] of Object.entries(WRITES)) {
        for (const db of [0, 3]) {
            const pairs = Array.from({ length: count / 2 }, (_, i) => [`t${tick}:${i}`, "x".repeat(1024)]).flat();
            await fleet.client(env, "vault", "password", { db }).mset(...pairs);
        }
    }
}

/** contact's operational loses its link: the wrong password for its vault, and its connection dropped. */
async function breakLink(fleet: LiveFleet): Promise<void> {
    const admin = fleet.client("contact", "operational", "admin");
    await admin.config("SET", "masterauth", "not-the-replication-password");
    await admin.call("CLIENT", "KILL", "TYPE", "master");
    await waitFor("contact's link down", async () =>
        parseInfo(await admin.info("replication")).master_link_status === "down" ? true : undefined,
    );
}

async function main(): Promise<void> {
    if (!existsSync(CHROMIUM)) throw new Error(`no ${CHROMIUM}: install Debian's Chromium first (apt-get install chromium)`);
    if (!dockerAvailable() || !prometheusAvailable())
        throw new Error("Docker with the test image, Prometheus and node_exporter are needed (npm test installs them)");
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, "docs/grafana/nexus-redis.json"), "utf8")) as Dashboard;
    const queries = panelQueries(dashboard, PANELS);

    const work = mkdtempSync(path.join(tmpdir(), "nexus-redis-screenshot-"));
    let fleet: LiveFleet | undefined;
    let monitoring: Monitoring | undefined;
    let stopping: Promise<void> | undefined;
    const stopAll = () =>
        (stopping ??= (async () => {
            try {
                await monitoring?.stop();
            } finally {
                try {
                    await fleet?.destroy();
                } finally {
                    rmSync(work, { recursive: true, force: true });
                }
            }
        })());
    // The last net: a signal while the fleet starts is the fleet's own handler's, which exits
    // the process once its containers are gone; the folder goes then.
    process.on("exit", () => rmSync(work, { recursive: true, force: true }));
    try {
        const textfiles = path.join(work, "textfile");
        mkdirSync(textfiles);
        say("starting a fleet (contact, kb, session, user), node_exporter and Prometheus");
        const signals = ["SIGINT", "SIGTERM"] as const;
        const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
        fleet = await startLiveFleet({ environments: Object.keys(WRITES), config: { memoryLimitMb: "256" } });
        for (const signal of signals) {
            // This script stops everything itself, in order: the fleet's own handler (the one
            // startLiveFleet added) would exit the process once its containers are gone, before
            // Prometheus and the folder are. Others stay: tsx's tells its parent the signal arrived.
            for (const listener of process.listeners(signal))
                if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
            // `on`, not `once`: Ctrl-C reaches this process twice, from the terminal and relayed by tsx.
            process.on(signal, () => {
                if (!stopping) say(`${signal}: stopping everything it started`);
                void stopAll().finally(() => process.exit(130));
            });
        }
        monitoring = await startMonitoring({
            textfileDir: textfiles,
            rulesFile: path.join(ROOT, "docs/alerts/nexus-redis.rules.yml"),
            workDir: work,
        });
        const live = fleet;
        const cli = async (argv: string[], ok: number[]) => {
            const run = await runCli(live.outputs, argv);
            if (!ok.includes(run.code)) throw new Error(`nexus-redis ${argv.join(" ")}: exit ${run.code}: ${run.stderr}${run.stdout}`);
        };
        const checkFile = path.join(textfiles, "nexus-redis-check.prom");
        const backup = (...envs: string[]) =>
            cli(
                [
                    "backup",
                    ...envs.flatMap((e) => ["--env", e]),
                    "--to",
                    path.join(work, "backups"),
                    "--json",
                    "--prometheus",
                    path.join(textfiles, "nexus-redis-backup.prom"),
                ],
                [0],
            );

        await backup(...Object.keys(WRITES));
        const started = Date.now();
        let broken = false;
        let repaired = false;
        let backedUpAgain = false;
        for (let tick = 0; Date.now() - started < DURATION_S * 1000; tick++) {
            const at = (Date.now() - started) / 1000;
            // Written while check runs, as a live fleet is: the lag it sees is what is in flight.
            const writing = writeKeys(live, tick);
            writing.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
            if (!broken && at >= BREAK_AT_S) {
                say(`${Math.round(at)} s: contact's link broken by hand`);
                await breakLink(live);
                broken = true;
            }
            if (!backedUpAgain && at >= BACKUP_AGAIN_AT_S) {
                say(`${Math.round(at)} s: kb backed up again`);
                await backup("kb");
                backedUpAgain = true;
            }
            if (broken && !repaired && at >= REPAIR_AT_S) {
                say(`${Math.round(at)} s: check --fix repairs contact's link`);
                await cli(["check", "--fix", "--json", "--prometheus", checkFile], [0]);
                repaired = true;
            } else await cli(["check", "--json", "--prometheus", checkFile], [0, 1]);
            await writing;
            await sleep(Math.max(0, started + (tick + 1) * TICK_MS - Date.now()));
        }
        if (!repaired) throw new Error("the run ended before the link was repaired");
        await sleep(3000); // Prometheus scrapes every second: the last files are in.

        say("rendering Prometheus's graph page with Chromium");
        const browser = await chromium.launch({
            executablePath: CHROMIUM,
            // Without the background-networking flags Chromium tries Google's hosts, which this machine cannot reach.
            args: [
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        });
        try {
            const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
            await page.goto(graphUrl(monitoring.prometheusUrl, queries, DURATION_S + 20));
            // Each graph is drawn once its query answered: an SVG line per series.
            await page.waitForFunction(`document.querySelectorAll(".graph_area svg path.path").length >= ${queries.length}`, undefined, {
                timeout: 30_000,
            });
            // The page focuses its last query, scrolling down; its navigation bar is fixed to the
            // top of the window. Both would put the bar over a graph in a whole-page picture.
            await page.addStyleTag({ content: ".navbar { position: static !important; } body { padding-top: 0 !important; }" });
            await page.evaluate("window.scrollTo(0, 0)");
            await page.screenshot({ path: OUTPUT, fullPage: true });
        } finally {
            await browser.close();
        }
        say(`wrote ${path.relative(ROOT, OUTPUT)}`);
    } finally {
        await stopAll();
    }
}

if (require.main === module) {
    main().then(
        () => process.exit(0),
        (e: Error) => {
            say(e.message);
            process.exit(1);
        },
    );
}
