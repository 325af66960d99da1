/**
 * `nexus-redis adopt` run while another adopt of the same environment holds its vault's lock
 * (cli/snapshot/vaultLock.ts, which restore takes too), each run a process of its own
 * (adoptProcess.ts), as an operator re-running adopt would start it:
 *
 *   - the second run is refused (exit 1) and changes nothing: the first one's readying server
 *     (which the clean-up of a killed run's leftovers removes) is still there, the vault serves
 *     in the same container, no container is created or removed, the lock is the first one's;
 *   - a dry run beside it is not blocked, leaves no lock of its own, and says that a real run
 *     would be refused now;
 *   - once the lock's process has ended (the first adopt killed), the next run takes the lock
 *     over, adopts, and releases it.
 *
 * The first adopt is stood in for by its lock, owned by a `sleep` of this host: what decides is
 * whether the lock's owner runs, not what it does.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READYING_LABEL } from "../../cli/adopt/putBack";
import { ownerTag } from "../../cli/core/owner";
import { LABEL_OWNER } from "../../cli/snapshot/vaultContainer";
import { LABEL_LOCK_COMMAND, lockName } from "../../cli/snapshot/vaultLock";
import { LABEL_ENVIRONMENT } from "../../components/containerSpec";
import { removeRun } from "../../harness/cleanup";
import type { Docker } from "../../harness/docker";
import { RUN_LABEL_KEY, TEST_IMAGE, dockerAvailable } from "../../harness/fleet";
import { ADOPT_PORTS, startAdoptionRun } from "../../harness/adoption";
import { createRunVolume, handBuiltClient, removeVolumes } from "../../harness/handBuilt";
import { type HandBuiltEnvironment, buildEnvironment, fillEnvironment } from "../../harness/handBuiltFleet";
import { freePortOffset } from "../../harness/ports";

const live = dockerAvailable();
const ROOT = path.resolve(__dirname, "../..");
let docker: Docker;
let runId: string;
let portOffset: number;
let kb: HandBuiltEnvironment;
const volumes: string[] = [];
let sleeper: ChildProcess | undefined;

/** `nexus-redis adopt ARGS` in a process of its own against the run's stand-in stack; resolves when it exits. */
async function adoptProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn(
        process.execPath,
        [
            "--import",
            "tsx",
            path.join(__dirname, "adoptProcess.ts"),
            JSON.stringify({ runId, prefix: runId, portOffset, image: TEST_IMAGE }),
            ...args,
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d));
    child.stderr?.on("data", (d: Buffer) => (stderr += d));
    const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? -1)));
    process.stderr.write(`adopt ${args.join(" ")} (exit ${code}):\n${stderr}${stdout}`);
    return { code, stdout, stderr };
}

/** Every container of the run whose name starts with the run's prefix: name → id and state. */
async function containersOfRun(): Promise<Record<string, string>> {
    const listed = await docker.listContainers({ all: true });
    const out: Record<string, string> = {};
    for (const c of listed) for (const n of c.Names) if (n.startsWith(`/${runId}-`)) out[n.slice(1)] = `${c.Id} ${c.State}`;
    return out;
}

/** The vault answers with its password, takes a write and gives back what it was given before. */
async function expectServing(key: string): Promise<void> {
    const client = handBuiltClient(kb.vault.port, kb.password);
    try {
        await client.connect();
        expect(await client.set(`${key}:written`, "1")).toBe("OK");
        expect(await client.get("before-the-lock")).toBe("kept");
    } finally {
        client.disconnect();
    }
}

describe.skipIf(!live)("nexus-redis adopt while another adopt of the environment holds its vault's lock", () => {
    beforeAll(async () => {
        let network: string;
        ({ docker, runId, network } = await startAdoptionRun());
        portOffset = await freePortOffset(["kb"], ADOPT_PORTS);
        const volume = await createRunVolume(docker, runId, `${runId}-kb`);
        volumes.push(volume);
        kb = await buildEnvironment(
            docker,
            { runId, prefix: runId, network, portOffset, environments: [] },
            { name: "kb", data: { kind: "volume", name: volume } },
        );
        volumes.push(...(await docker.getContainer(kb.operational!.name).inspect()).Mounts.flatMap((m) => (m.Name ? [m.Name] : [])));
        await fillEnvironment(kb, 1_000);
        const client = handBuiltClient(kb.vault.port, kb.password);
        await client.connect();
        await client.set("before-the-lock", "kept");
        client.disconnect();
    });

    afterAll(async () => {
        sleeper?.kill("SIGKILL");
        if (runId) await removeRun(docker, RUN_LABEL_KEY, runId);
        await removeVolumes(docker, volumes);
    });

    it("refuses the second run, which changes nothing; a dry run is not blocked; the lock of a killed adopt is taken over", async () => {
        const lock = lockName(kb.vault.name);
        // The first adopt, as a second run finds it: its lock, owned by a process that runs, and its
        // readying server (stood in for by a container that is never started).
        sleeper = spawn("sleep", ["600"], { stdio: "ignore" });
        const owner = ownerTag(undefined, sleeper.pid!);
        await docker.createContainer({
            name: lock,
            Image: TEST_IMAGE,
            Entrypoint: ["true"],
            Labels: { [RUN_LABEL_KEY]: runId, [LABEL_OWNER]: owner, [LABEL_LOCK_COMMAND]: "adopt" },
            HostConfig: { NetworkMode: "none" },
        });
        const readying = `${kb.vault.name}.readying-20261207T151000Z`;
        await docker.createContainer({
            name: readying,
            Image: TEST_IMAGE,
            Entrypoint: ["true"],
            Labels: { [RUN_LABEL_KEY]: runId, [READYING_LABEL]: "kb" },
            HostConfig: { NetworkMode: "none" },
        });
        const before = await containersOfRun();
        expect(Object.keys(before)).toEqual(expect.arrayContaining([kb.vault.name, kb.operational!.name, lock, readying]));

        const second = await adoptProcess(["--env", "kb"]);
        expect(second.code, second.stdout + second.stderr).toBe(1);
        expect(second.stdout).toMatch(/kb +standard +REFUSED/);
        expect(second.stdout).toContain(
            `refused, nothing was changed: another adopt of kb is running on this host (${owner}, its lock ${lock}): let it finish`,
        );
        expect(await containersOfRun()).toEqual(before);
        await expectServing("after-the-refusal");

        // A dry run reads and changes nothing: the lock neither stops it nor is left by it; it only tells.
        const dry = await adoptProcess(["--dry-run", "--env", "kb"]);
        expect(dry.code, dry.stdout + dry.stderr).toBe(0);
        expect(dry.stdout).not.toContain("REFUSED");
        expect(dry.stdout).toContain(
            `adopt without --dry-run would be refused now: another adopt of kb is running on this host (${owner}, its lock ${lock}): let it finish`,
        );
        expect(await containersOfRun()).toEqual(before);

        // The first adopt killed: its lock is taken over, its readying server removed, kb adopted, the lock released.
        sleeper.kill("SIGKILL");
        await new Promise((r) => sleeper!.on("exit", r));
        const next = await adoptProcess(["--env", "kb"]);
        expect(next.code, next.stdout + next.stderr).toBe(0);
        expect(next.stderr).toContain(`kb: removed ${lock}, the lock of an adopt that was killed (${owner})`);
        expect(next.stdout).toMatch(/kb +standard +ADOPTED/);
        const after = await containersOfRun();
        expect(after[lock]).toBeUndefined();
        expect(after[readying]).toBeUndefined();
        expect((await docker.getContainer(kb.vault.name).inspect()).Config.Labels[LABEL_ENVIRONMENT]).toBe("kb");
        await expectServing("after-the-takeover");
    });
});
