/**
 * The floor under this `nexus-redis check`, as a program of its own:
 *
 *     node check-floor.js OUTPUTS_FILE [--first-command-only]
 *
 * It does only what the check's conversations take: Node's start-up, a connection to every
 * vault and operational at once, each server's batch (the check's own, from vaultBatch and
 * operationalBatch) written to it, and every reply read to its end (RESP framing decoded,
 * nothing in it interpreted). Nothing else: no options, no diagnosis, no table. It exits 0
 * once every server has answered every command, 1 if a connection fails. A check that sent
 * less (no ACL GETUSER, say) would have a lower floor: this one measures these batches.
 *
 * With --first-command-only each server gets only its batch's first command: the vault its
 * AUTH, the operational its INFO (replication, the protocol script's own question, with the
 * persistence, keyspace and memory sections the check also asks for); the batches
 * are still built (their password hashes too). What is left is Node's start-up, that, and the
 * 22 connections.
 *
 * bench/check.ts bundles it into one JavaScript file with esbuild (as the CLI's build is),
 * and times it as a whole process beside check-cli: the difference is the CLI's own work.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { type Batch, operationalBatch, vaultBatch } from "../cli/health/observe";
import type { EnvironmentsOutput } from "../cli/fleet/environment";
import { ReplyReader, encodeCommand } from "../cli/redis/resp";

function converse(target: { host: string; port: number }, batch: Batch): Promise<void> {
    return new Promise((resolve, reject) => {
        const socket = net.connect({ host: target.host, port: target.port });
        const reader = new ReplyReader();
        let replies = 0;
        socket.setNoDelay(true);
        socket.write(batch.commands.map(encodeCommand).join(""));
        socket.on("data", (chunk: Buffer) => {
            replies += reader.push(chunk).length;
            if (replies < batch.commands.length) return;
            socket.destroy();
            resolve();
        });
        socket.on("error", reject);
        socket.on("close", () => reject(new Error(`${target.host}:${target.port} closed after ${replies} replies`)));
    });
}

const [file, ...flags] = process.argv.slice(2);
const firstOnly = flags.includes("--first-command-only");
const sent = (batch: Batch): Batch => (firstOnly ? { ...batch, commands: batch.commands.slice(0, 1) } : batch);
const { environments } = JSON.parse(fs.readFileSync(file, "utf8")) as { environments: EnvironmentsOutput };
const conversations: Promise<void>[] = [];
for (const env of Object.values(environments)) {
    conversations.push(converse(env.vault, sent(vaultBatch(env))));
    if (env.kind === "standard") conversations.push(converse(env.operational, sent(operationalBatch(env))));
}
Promise.all(conversations).then(
    () => process.stdout.write(`${conversations.length} servers answered\n`),
    (e: Error) => {
        process.stderr.write(`check-floor: ${e.message}\n`);
        process.exitCode = 1;
    },
);
