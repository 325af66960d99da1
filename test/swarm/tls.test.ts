/**
 * Nothing in clear text between the nodes (issue 23), on a real two-node Swarm
 * (harness/swarm.ts) with real certificates (the TLS provider's stand-in, plan/tlsStandIn.ts):
 * one standard environment, its vault pinned to n1 and so its operational on n2, created from
 * the program's own plan as the engine makes it (plan/engineRun.ts), so that a certificate's
 * replacement is played from the engine's state like `pulumi up --replace`.
 *
 * The capture: tcpdump on n2's link to the cluster's bridge (its host-side veth: every frame to
 * or from n2; on the bridge device itself only flooded frames show), `udp port 4789` (VXLAN:
 * the overlay between the nodes), while the link comes up, a value is written on the vault (from inside its
 * container: loopback, never on the wire), and the vault drops its replica, which reconnects and
 * sends AUTH again. Then the raw pcap bytes are searched for every password of the fleet and for
 * the value. The same scenario with `tls: false` must find the replication password and the
 * value (the positive control): a capture that sees nothing fails the test, and so does TLS off.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { X509Certificate, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { missingKeys, parseInfo, planCa } from "../../harness/fleet";
import { SwarmCluster, clusterNames, swarmAvailable } from "../../harness/swarm";
import { SWARM_TEST_IMAGE, type SwarmFleet, startSwarmFleet, waitUntil } from "../../harness/swarmFleet";
import { anotherCa } from "../../harness/tls";
import { spawnRunner } from "../../cli/core/runner";
import { cli as inProcess } from "../unit/cliRun";

const ENV = "contact";
const tcpdumpAvailable = spawnSync("sh", ["-c", "command -v tcpdump"]).status === 0;
const available = swarmAvailable(SWARM_TEST_IMAGE) && tcpdumpAvailable;
if (!tcpdumpAvailable) {
    if (process.env.CI === "true") throw new Error("the Swarm TLS test needs tcpdump (scripts/ensure-tcpdump.sh installs it)");
    process.stderr.write("\n*** SKIPPING THE SWARM TLS TEST: tcpdump is missing (bash scripts/ensure-tcpdump.sh) ***\n\n");
}
const log = (message: string) => process.stderr.write(`swarm tls test: ${message}\n`);
const folder = mkdtempSync(path.join(tmpdir(), "tls-swarm-"));

let cluster: SwarmCluster;
const fleets: SwarmFleet[] = [];

/** A fleet of one standard environment, planned as `pulumi up` would (from no state), and created on the cluster. */
async function deploy(tlsOn: boolean): Promise<{ fleet: SwarmFleet }> {
    const fleet = await startSwarmFleet(cluster, { environments: [ENV], config: { tls: String(tlsOn) } });
    fleets.push(fleet);
    return { fleet };
}

/** The link is up, read on the operational from inside its container. */
async function linkUp(fleet: SwarmFleet, timeoutMs = 120_000): Promise<number> {
    return waitUntil(
        "link up",
        async () => parseInfo(await fleet.cli(ENV, "operational", ["INFO", "replication"])).master_link_status === "up",
        timeoutMs,
        200,
    );
}

interface Capture {
    bytes: Buffer;
    needles: Record<string, number>;
    tlsRecords: number;
    ms: number;
}

/** tcpdump on n2's veth (the operational's node), VXLAN only, raw packets to a file. */
async function startCapture(file: string): Promise<ChildProcess> {
    const link = clusterNames(cluster.id, 2, cluster.subnet).nodes[1].hostVeth;
    // --immediate-mode: each packet is handed over at once; without it libpcap's ring keeps the
    // last second or so in a block that tcpdump never reads when it is stopped (measured: the
    // capture then ended a third of a second after the link came up).
    const child = spawn("tcpdump", ["-i", link, "--immediate-mode", "-U", "-s", "0", "-w", file, "udp", "port", "4789"], {
        stdio: ["ignore", "ignore", "pipe"],
    });
    let said = "";
    child.stderr!.on("data", (b) => (said += String(b)));
    await waitUntil("tcpdump listening", async () => said.includes("listening on"), 15_000, 50);
    return child;
}

async function stopCapture(child: ChildProcess): Promise<void> {
    let said = "";
    child.stderr!.on("data", (b) => (said += String(b)));
    const ended = new Promise((resolve) => child.once("close", resolve));
    child.kill("SIGINT");
    await ended;
    log(`tcpdump: ${said.trim().replace(/\n/g, "; ")}`);
}

/** The scenario of the file's comment, on a fresh fleet; returns what the capture holds. */
async function captureScenario(tlsOn: boolean): Promise<{ fleet: SwarmFleet; capture: Capture }> {
    const started = performance.now();
    const file = path.join(folder, `capture-${tlsOn ? "tls" : "plain"}.pcap`);
    const tcpdump = await startCapture(file);
    let deployed: Awaited<ReturnType<typeof deploy>>;
    const value = `VALUE${randomBytes(12).toString("hex")}`;
    try {
        deployed = await deploy(tlsOn);
        const firstLink = await linkUp(deployed.fleet);
        log(`${tlsOn ? "tls" : "plain"}: link up ${Math.round(firstLink)} ms after the services were created`);
        await deployed.fleet.cli(ENV, "vault", ["SET", "capture:key", value]);
        await waitUntil(
            "the value replicated",
            async () => (await deployed.fleet.cli(ENV, "operational", ["GET", "capture:key"])) === value,
            30_000,
            100,
        );
        const syncsBefore = Number(parseInfo(await deployed.fleet.cli(ENV, "vault", ["INFO", "stats"])).sync_partial_ok ?? 0);
        // The replica reconnects and authenticates again (AUTH replicator <password>).
        await deployed.fleet.cli(ENV, "vault", ["CLIENT", "KILL", "TYPE", "replica"]);
        await waitUntil(
            "the replica back after CLIENT KILL",
            async () => {
                const stats = parseInfo(await deployed.fleet.cli(ENV, "vault", ["INFO", "stats"]));
                return Number(stats.sync_partial_ok ?? 0) + Number(stats.sync_full ?? 0) > syncsBefore;
            },
            60_000,
            100,
        );
        await linkUp(deployed.fleet);
    } finally {
        await stopCapture(tcpdump);
    }
    const bytes = readFileSync(file);
    const out = deployed.fleet.outputs[ENV];
    const secrets: Record<string, string> = {
        "the replication password": out.replication!.password,
        "the vault password": out.vault.password,
        "the backup password": out.backup.password,
        "the admin password": out.operational!.adminPassword,
        "the value": value,
    };
    const needles = Object.fromEntries(Object.entries(secrets).map(([what, s]) => [what, count(bytes, Buffer.from(s))]));
    const ms = performance.now() - started;
    log(`${tlsOn ? "tls" : "plain"}: ${bytes.length} bytes captured, ${JSON.stringify(needles)}, scenario ${Math.round(ms)} ms`);
    return { ...deployed, capture: { bytes, needles, tlsRecords: count(bytes, Buffer.from([0x17, 0x03, 0x03])), ms } };
}

function count(haystack: Buffer, needle: Buffer): number {
    let n = 0;
    for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) n++;
    return n;
}

/** The certificate a published port presents, checked against `ca` for the service's name. */
function handshake(host: string, port: number, servername: string, ca: string): Promise<tls.PeerCertificate> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host, port, servername, ca }, () => {
            const peer = socket.getPeerCertificate();
            socket.end();
            resolve(peer);
        });
        socket.once("error", reject);
        socket.setTimeout(10_000, () => socket.destroy(new Error("no TLS handshake within 10 s")));
    });
}

let plain: Awaited<ReturnType<typeof captureScenario>>;
let secure: Awaited<ReturnType<typeof captureScenario>>;

beforeAll(async () => {
    if (!available) return;
    const started = performance.now();
    cluster = await SwarmCluster.start({ images: [SWARM_TEST_IMAGE], nodes: 2, log });
    log(`cluster up in ${Math.round(performance.now() - started)} ms`);
    plain = await captureScenario(false);
    // Gone before the TLS fleet comes: its traffic must not be in the TLS capture.
    await plain.fleet.destroy();
    secure = await captureScenario(true);
}, 600_000);

afterAll(async () => {
    for (const fleet of fleets) await fleet.destroy().catch(() => undefined);
    await cluster?.destroy();
    rmSync(folder, { recursive: true, force: true });
});

describe.skipIf(!available)("replication between Swarm nodes", () => {
    it("with tls false, is in clear text on the wire: the capture holds the replication password and the value (the positive control)", () => {
        expect(plain.capture.needles["the replication password"]).toBeGreaterThan(0);
        expect(plain.capture.needles["the value"]).toBeGreaterThan(0);
    });

    it("with TLS (swarm's default), shows no password of the fleet and no written value in the capture, which did see the replication", () => {
        expect(secure.capture.needles).toEqual({
            "the replication password": 0,
            "the vault password": 0,
            "the backup password": 0,
            "the admin password": 0,
            "the value": 0,
        });
        // The link's records (TLS 1.2/1.3 application data): the capture saw the replication, encrypted.
        expect(secure.capture.tlsRecords).toBeGreaterThan(10);
    });
});

describe.skipIf(!available)("a TLS fleet on Swarm", () => {
    const outputsFile = () => path.join(folder, "outputs.json");
    const writeOutputs = (ca: string) =>
        writeFileSync(outputsFile(), JSON.stringify({ environments: secure.fleet.plan.outputs.environments, tls: { ca } }));
    const check = async () => {
        const run = await inProcess(["check", "--json", "--outputs", outputsFile()], {
            runner: async (command) => {
                throw new Error(`no command may run here, got ${command.join(" ")}`);
            },
            env: { DOCKER_HOST: `unix://${cluster.manager.socket}` },
        });
        return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr };
    };

    it("is healthy by check, over TLS through the CLI's probe on the overlay, the tls-* settings compared too", async () => {
        writeOutputs(planCa(secure.fleet.plan)!);
        const { code, report } = await check();
        expect(report.environments.map((e: { problems: unknown[] }) => e.problems)).toEqual([[]]);
        expect(code).toBe(0);
    });

    it("refuses a client that trusts another CA: check reports the vault's certificate, and node's TLS fails the handshake", async () => {
        const ca = await anotherCa();
        writeOutputs(ca);
        const { code, report } = await check();
        expect(code).toBe(1);
        expect(JSON.stringify(report)).toMatch(/the stack's CA did not sign/);
        const endpoint = await secure.fleet.endpoint(ENV, "vault");
        await expect(handshake(endpoint.host, endpoint.port, secure.fleet.serviceName(ENV, "vault"), ca)).rejects.toThrow(
            /self[- ]signed certificate in certificate chain|unable to verify/i,
        );
    });

    it("backs up over TLS through the probe (redis-cli --tls on a relayed port), verified in a scratch server of the service's image", async () => {
        writeOutputs(planCa(secure.fleet.plan)!);
        const to = path.join(folder, "backups");
        const started = performance.now();
        const run = await inProcess(["backup", "--json", "--env", ENV, "--to", to, "--outputs", outputsFile()], {
            runner: spawnRunner,
            env: { DOCKER_HOST: `unix://${cluster.manager.socket}`, PATH: process.env.PATH ?? "" },
        });
        expect(run.code, run.stdout + run.stderr).toBe(0);
        const snapshot = JSON.parse(run.stdout).backups[0].snapshot;
        log(`backup over TLS through the probe in ${Math.round(performance.now() - started)} ms: ${snapshot.keys} keys`);
        // capture:key, written on the vault by the capture scenario, is in it.
        expect(snapshot.keys).toBeGreaterThanOrEqual(1);
        expect(readFileSync(snapshot.file).subarray(0, 5).toString()).toBe("REDIS");
        expect(readFileSync(snapshot.file).includes(Buffer.from("capture:key"))).toBe(true);
    });

    it("refuses a plain client on the TLS port (no reply)", async () => {
        const client = await secure.fleet.client(ENV, "operational", "none", {
            tls: undefined,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
        });
        await expect(client.ping()).rejects.toThrow();
    });

    it("replaces the vault's certificate (pulumi up --replace) and loses no acknowledged write: the new certificate is served, the link comes back", async () => {
        const fleet = secure.fleet;
        const certUrn = fleet.state.resources.find((r) => r.name === `${ENV}-vault-tls-cert` && r.type.startsWith("tls:"))!.urn;
        const next = await fleet.planFor("apply", fleet.config, { replace: [certUrn] });
        const newCert = String(next.state.resources.find((r) => r.urn === certUrn)!.outputs.certPem);
        const writer: Redis = await fleet.client(ENV, "vault", "password", { maxRetriesPerRequest: 100, retryStrategy: () => 100 });
        const acknowledged: string[] = [];
        let writing = true;
        let longestGap = 0;
        let last = performance.now();
        const loop = (async () => {
            for (let i = 0; writing; i++) {
                try {
                    await writer.set(`rotation:${i}`, String(i));
                    acknowledged.push(`rotation:${i}`);
                    const now = performance.now();
                    longestGap = Math.max(longestGap, now - last);
                    last = now;
                } catch {
                    // Refused while the vault restarts: not acknowledged, so not owed.
                }
                await new Promise((r) => setTimeout(r, 20));
            }
        })();
        const started = performance.now();
        const applied = await fleet.apply(next);
        expect(applied.updated).toEqual([`${ENV}-vault`]);
        const endpoint = await fleet.endpoint(ENV, "vault");
        const ca = planCa(fleet.plan)!;
        await waitUntil(
            "the new certificate served",
            async () =>
                (await handshake(endpoint.host, endpoint.port, fleet.serviceName(ENV, "vault"), ca)).serialNumber ===
                new X509Certificate(newCert).serialNumber,
            120_000,
            500,
        );
        await linkUp(fleet);
        const countBefore = acknowledged.length;
        await waitUntil("writes acknowledged after the rotation", async () => acknowledged.length > countBefore + 5, 60_000, 100);
        writing = false;
        await loop;
        log(
            `vault certificate rotated: new one served after ${Math.round(performance.now() - started)} ms, longest gap between acknowledged writes ${Math.round(longestGap)} ms, ${acknowledged.length} writes`,
        );
        expect(await missingKeys(writer, acknowledged)).toEqual([]);
        const reader = await fleet.client(ENV, "operational");
        await waitUntil(
            "the operational has every acknowledged write",
            async () => (await missingKeys(reader, acknowledged)).length === 0,
            60_000,
            250,
        );
    });
});
