/**
 * `nexus-redis rotate` as an operator runs it, in this process, against a live fleet: the
 * Pulumi CLI (which cannot run here) is a stand-in stack (pulumiStack.ts) that holds the
 * fleet's stack configuration, answers `pulumi stack output` with the fleet's outputs and
 * keeps the config rotate sets. The live rotation test and the rotate-vault benchmark both
 * go through it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { main } from "../cli/main";
import type { LiveFleet } from "./fleet";
import { FakePulumiStack } from "./pulumiStack";

export interface RotateRun {
    code: number;
    stderr: string;
    /** The stack's whole `passwords` config after the run, as rotate set it ("" when it set none). */
    config: string;
}

/** Runs `nexus-redis rotate ENV ROLE --from-file FILE` with `password` in FILE. */
export async function rotateWithStandIn(fleet: LiveFleet, env: string, role: string, password: string): Promise<RotateRun> {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-rotate-"));
    try {
        const passwordFile = path.join(dir, `${role}.pw`);
        writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
        // The stack's passwords so far: rotate reads them and writes them back with the new one.
        const passwords = fleet.config.secrets.passwords;
        // With TLS the stack's CA is an output beside the environments.
        const tls = fleet.plan.outputs.tls;
        const stack = new FakePulumiStack({
            initial: passwords === undefined ? {} : { passwords },
            outputs: () => ({ environments: fleet.outputs, ...(tls ? { tls } : {}) }),
        });
        let stderr = "";
        const code = await main(["rotate", env, role, "--from-file", passwordFile], {
            stdout: { write: () => true },
            stderr: { write: (t: string) => (stderr += t) },
            readStdin: async () => "",
            run: stack.runner,
            projectDir: path.resolve(__dirname, ".."),
            env: {},
        });
        return { code, stderr, config: stack.programConfig().secrets.passwords ?? "" };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
