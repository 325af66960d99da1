/**
 * A docker fleet with `tls: true` (the program's own plan, real certificates from the TLS
 * provider's stand-in): every operator command over TLS, as an operator runs it with the
 * stack's outputs (`environments` and the CA, `tls`), and a CA that is not the stack's refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main";
import type { CliIo } from "../../cli/core/io";
import { spawnRunner } from "../../cli/core/runner";
import { type LiveFleet, clientTls, dockerAvailable, planCa, startLiveFleet, waitFor } from "../../harness/fleet";
import { rotateWithStandIn } from "../../harness/rotation";
import { anotherCa } from "../../harness/tls";

const ROOT = path.resolve(__dirname, "../..");
const live = dockerAvailable();
const ENV = "contact";
let fleet: LiveFleet;
let work: string;

/** The CLI in this process with the stack's outputs on stdin: the environments and the CA (or `ca` instead). */
async function cli(argv: string[], ca?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        readStdin: async () => JSON.stringify({ environments: fleet.outputs, tls: { ca: ca ?? planCa(fleet.plan) } }),
        run: spawnRunner,
        projectDir: ROOT,
        env: { ...process.env },
    };
    const code = await main([...argv, "--outputs", "-"], io);
    return { code, stdout, stderr };
}

const linked = () =>
    waitFor(
        `${ENV} linked`,
        async () => {
            const info = String(await fleet.client(ENV, "operational").info("replication"));
            return info.includes("master_link_status:up") ? true : undefined;
        },
        60_000,
    );

describe.skipIf(!live)("a docker fleet with tls: true", () => {
    beforeAll(async () => {
        fleet = await startLiveFleet({ environments: [ENV, "user"], config: { tls: "true" } });
        await linked();
        work = mkdtempSync(path.join(tmpdir(), "tls-live-"));
    }, 180_000);
    afterAll(async () => {
        await fleet?.destroy();
        if (work) rmSync(work, { recursive: true, force: true });
    });

    it("serves TLS only: a client with the stack's CA reads, a plain client on the same port gets no reply", async () => {
        await fleet.client(ENV, "vault", "password").set("tls:probe", "1");
        await waitFor("replicated", async () => ((await fleet.client(ENV, "operational").get("tls:probe")) === "1" ? true : undefined));
        const endpoint = fleet.outputs[ENV].operational!;
        const plain = new Redis({
            host: endpoint.host,
            port: endpoint.port,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
        });
        plain.on("error", () => undefined);
        await expect(plain.connect().then(() => plain.get("tls:probe"))).rejects.toThrow();
        plain.disconnect();
        expect(clientTls(fleet.plan, endpoint)).toMatchObject({ tls: { servername: endpoint.container } });
    });

    it("is healthy by check over TLS, its tls-* settings as declared", async () => {
        const run = await cli(["check", "--json"]);
        const report = JSON.parse(run.stdout);
        expect(report.environments.map((e: { problems: unknown[] }) => e.problems)).toEqual([[], []]);
        expect(run.code).toBe(0);
    });

    it("reports drift of a tls-* setting, and check --fix puts it back", async () => {
        await fleet.cli(ENV, "operational", ["CONFIG", "SET", "tls-protocols", "TLSv1.3"]);
        const drifted = JSON.parse((await cli(["check", "--json", "--env", ENV])).stdout);
        expect(drifted.environments[0].problems).toEqual([
            expect.objectContaining({ code: "operational-drift", setting: "tls-protocols" }),
        ]);
        const fixed = await cli(["check", "--fix", "--json", "--env", ENV]);
        expect(fixed.code).toBe(0);
        expect(await fleet.cli(ENV, "operational", ["CONFIG", "GET", "tls-protocols"])).toBe("tls-protocols\nTLSv1.2 TLSv1.3");
    });

    it("refuses a server whose certificate another CA signed: check names it, exit 1", async () => {
        const run = await cli(["check", "--json", "--env", ENV], await anotherCa());
        expect(run.code).toBe(1);
        const problems = JSON.parse(run.stdout).environments[0].problems;
        expect(problems.map((p: { code: string }) => p.code).sort()).toEqual(["operational-error", "vault-error"]);
        expect(JSON.stringify(problems)).toMatch(/the stack's CA did not sign/);
    });

    it("backs up over TLS (redis-cli --tls --cacert --sni) and restores a mistaken FLUSHALL from it", async () => {
        const vault = fleet.client(ENV, "vault", "password");
        for (let i = 0; i < 100; i++) await vault.set(`tls:key:${i}`, String(i));
        await vault.select(3);
        await vault.set("tls:db3", "three");
        await vault.select(0);
        const started = performance.now();
        const backup = await cli(["backup", "--json", "--env", ENV, "--to", work]);
        expect(backup.code, backup.stderr).toBe(0);
        const snapshot = JSON.parse(backup.stdout).backups[0].snapshot;
        process.stderr.write(`tls live test: backup over TLS in ${Math.round(performance.now() - started)} ms\n`);
        expect(snapshot.keys).toBeGreaterThanOrEqual(102);
        await vault.flushall();
        const restored = await cli(["restore", ENV, "--from", snapshot.file, "--json"]);
        expect(restored.code, restored.stderr).toBe(0);
        expect(await vault.get("tls:key:99")).toBe("99");
        await vault.select(3);
        expect(await vault.get("tls:db3")).toBe("three");
        await vault.select(0);
        await linked();
    });

    it("rotates a password over TLS: the overlap is opened on the running vault, old and new both log in", async () => {
        const next = "N3wTlsVaultPasswordN3wTlsVaultPa";
        const run = await rotateWithStandIn(fleet, ENV, "vault", next);
        expect(run.code, run.stderr).toBe(0);
        const endpoint = fleet.outputs[ENV].vault;
        for (const password of [endpoint.password, next]) {
            const client = new Redis({
                host: endpoint.host,
                port: endpoint.port,
                password,
                ...clientTls(fleet.plan, endpoint),
                lazyConnect: true,
                maxRetriesPerRequest: 0,
                retryStrategy: () => null,
            });
            client.on("error", () => undefined);
            await client.connect();
            expect(await client.ping()).toBe("PONG");
            client.disconnect();
        }
    });
});
