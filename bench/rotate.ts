/**
 * rotate-vault: a vault password rotated the way docs/rotate.md tells an operator to, under a
 * writer that is a client of the vault, against `docker restart` of the same vault.
 *
 * Each repetition fills nothing new: the vault holds `keys` keys (DEBUG POPULATE, then an AOF
 * rewrite so a restart loads them), and a writer tries a SET every 10 ms on a fresh connection
 * with the password of the moment. Then, as docs/rotate.md says:
 * 1. `nexus-redis rotate contact vault --from-file F` opens the overlap on the running vault
 *    (in this process, the Pulumi CLI a stand-in: harness/rotation.ts);
 * 2. the writer switches to the new password (the documented moment: before pulumi up);
 * 3. `pulumi up`: the harness applies the plan with the new config as pulumi up would, which
 *    must replace the vault's container and nothing else (one restart of the vault).
 * The figure is how long in all the writer saw no write succeed, from the first refused write
 * to the first accepted one on the new container. Every write the vault acknowledged must be
 * there afterwards, or the benchmark fails. The baseline: the same writer while `docker
 * restart` restarts the same vault on the same data.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { aofSettled } from "../cli/redis/replies";
import { type LiveFleet, missingKeys, parseInfo } from "../harness/fleet";
import { rotateWithStandIn } from "../harness/rotation";
import { type BenchResult, median, result, samplesText } from "./results";
import { type BenchRun, sleep, until } from "./resources";
import { type VaultEndpoint, probingWriter, writable } from "./writer";

/** A standard environment of both the quick and the full benchmark fleet; recovery, which also uses it, runs after. */
export const ROTATE_BENCH_ENV = "contact";

export interface RotateSettings {
    keys: number;
    repetitions: number;
}

export async function benchRotateVault(run: BenchRun, fleet: LiveFleet, settings: RotateSettings): Promise<BenchResult[]> {
    const env = ROTATE_BENCH_ENV;
    // What the writer logs in with: the old password until it switches.
    let clientPassword = fleet.outputs[env].vault.password;
    const vault: VaultEndpoint = { port: fleet.outputs[env].vault.port, password: () => clientPassword };
    try {
        run.log(`rotate-vault: DEBUG POPULATE ${settings.keys} in ${env}'s vault, then an AOF rewrite so a restart loads them`);
        await fleet.cli(env, "vault", ["DEBUG", "POPULATE", String(settings.keys), "rotate-seed", "40"]);
        const persistence = async () => parseInfo(await fleet.cli(env, "vault", ["INFO", "persistence"]));
        const rewritesBefore = Number((await persistence()).aof_rewrites);
        await fleet.cli(env, "vault", ["BGREWRITEAOF"]);
        await until("the AOF rewrite", async () => (aofSettled(await persistence(), rewritesBefore) ? true : undefined), {
            timeoutMs: 120_000,
        });

        const outages: number[] = [];
        const longest: number[] = [];
        const applies: number[] = [];
        const restarts: number[] = [];
        for (let i = 1; i <= settings.repetitions; i++) {
            const fresh = `Rotated${i}${randomBytes(16).toString("hex")}`;
            const writer = probingWriter(vault, `rotate-${i}`);
            await sleep(200);

            // 1. The overlap: old and new password both accepted.
            const rotated = await rotateWithStandIn(fleet, env, "vault", fresh);
            if (rotated.code !== 0) throw new Error(`nexus-redis rotate exited ${rotated.code}: ${rotated.stderr.trim()}`);
            // 2. The client switches.
            clientPassword = fresh;
            await sleep(200);
            // 3. pulumi up with the new config (planned, then applied; writes stop only when the old vault does).
            const applyStarted = performance.now();
            const applied = await fleet.up({ secrets: { passwords: rotated.config } });
            if (JSON.stringify(applied.replaced) !== JSON.stringify([`${env}-vault`]) || applied.created.length > 0)
                throw new Error(
                    `pulumi up after a vault rotation must replace ${env}-vault alone, it did ${JSON.stringify({ ...applied, steps: undefined })}`,
                );
            await writable(vault, `${env}'s new vault`);
            applies.push(performance.now() - applyStarted);
            await sleep(200);
            const seen = await writer.stop();
            await expectAllThere(fleet, env, seen.acked);
            outages.push(seen.totalMs);
            longest.push(seen.longestMs);

            // The baseline: the same writer while the same vault restarts on the same data.
            const restartWriter = probingWriter(vault, `restart-${i}`);
            await sleep(200);
            await fleet.container(env, "vault").restart({ t: 60 });
            await writable(vault, `${env}'s restarted vault`);
            await sleep(200);
            const restarted = await restartWriter.stop();
            await expectAllThere(fleet, env, restarted.acked);
            restarts.push(restarted.totalMs);
            run.log(
                `rotate-vault (${i}/${settings.repetitions}): writes refused for ${Math.round(outages[i - 1])} ms in all during the rotation ` +
                    `(the stand-in for pulumi up, planning included, took ${Math.round(applies[i - 1])} ms), ${Math.round(restarts[i - 1])} ms during docker restart; ` +
                    `${seen.acked.length + restarted.acked.length} acknowledged writes all there`,
            );
        }
        return [
            result({
                name: "rotate-vault",
                value: median(outages),
                unit: "ms",
                baseline: median(restarts),
                note:
                    `${settings.keys} keys in ${env}'s vault; nexus-redis rotate ${env} vault, the writer switched, then the plan with the new password applied as pulumi up ` +
                    `would (the vault's container replaced, nothing else: one restart): how long in all a writer (a SET every 10 ms, a fresh connection each with ` +
                    `the password of the moment, 500 ms bound) saw no write succeed, ${samplesText(outages)} ms (longest stretch ${samplesText(longest)} ms); ` +
                    `every acknowledged write was there afterwards; baseline: docker restart of the same vault on the same data, ${samplesText(restarts)} ms`,
            }),
        ];
    } finally {
        // recovery, next, compares this environment with another on equal datasets of its own.
        await fleet.cli(env, "vault", ["FLUSHALL"]).catch((e) => run.log(`rotate-vault: could not empty ${env}'s vault: ${e}`));
    }
}

/** Throws unless every key in `keys` is on the vault: an acknowledged write lost fails the benchmark. */
async function expectAllThere(fleet: LiveFleet, env: string, keys: string[]): Promise<void> {
    const client = fleet.client(env, "vault", "password");
    try {
        const missing = await missingKeys(client, keys);
        if (missing.length > 0) throw new Error(`${missing.length} of ${keys.length} acknowledged writes are missing from ${env}'s vault`);
    } finally {
        client.disconnect();
    }
}
