/**
 * A Swarm test cluster is removed even when the process that made it is killed with
 * SIGKILL, where no afterAll or signal handler runs: its detached watchdog runs teardown.sh.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { leftovers, swarmAvailable } from "../../harness/swarm";
import { SWARM_TEST_IMAGE, waitUntil } from "../../harness/swarmFleet";

const available = swarmAvailable(SWARM_TEST_IMAGE);

describe.skipIf(!available)("a Swarm test cluster whose process is killed", () => {
    it("is removed by its watchdog: engines, namespaces, veths, bridge, iptables rule, cgroups and folders", async () => {
        const child = spawn(process.execPath, ["--require", "tsx/cjs", path.join(__dirname, "fixtures/start-cluster.ts")], {
            cwd: path.resolve(__dirname, "../.."),
            stdio: ["ignore", "pipe", "inherit"],
        });
        const id = await new Promise<string>((resolve, reject) => {
            let text = "";
            child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
                text += chunk;
                const line = text.split("\n").find((l) => l.startsWith("{"));
                if (line) resolve(JSON.parse(line).id);
            });
            child.on("exit", (code) => reject(new Error(`the cluster's process exited (${code}) before it was up`)));
        });
        expect(await leftovers(id)).toEqual(
            expect.arrayContaining(["links", "network namespaces", "iptables rule", "folders", "processes"]),
        );
        child.kill("SIGKILL");
        await waitUntil("the watchdog to remove the cluster", async () => (await leftovers(id)).length === 0, 60_000, 500);
        expect(await leftovers(id)).toEqual([]);
    });
});
