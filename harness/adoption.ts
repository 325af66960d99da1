/**
 * A stack that does not exist yet, for `nexus-redis adopt` to configure and apply: a
 * LiveFleet with nothing created (what Pulumi's state holds before the first `pulumi up`),
 * and a stand-in Pulumi CLI (pulumiStack.ts) whose `pulumi up` plans the stack's next state
 * from exactly the configuration adopt set, and applies it on the engine as `pulumi up`
 * would (harness/engineApply.ts).
 */
import { performance } from "node:perf_hooks";
import { type ApplyResult, LiveFleet, RUN_LABEL_KEY, TEST_IMAGE, newRunId } from "./fleet";
import { startWatchdog } from "./cleanup";
import { type Docker, connectDocker } from "./docker";
import { tarArchive } from "../cli/docker/archive";
import { createRunNetwork } from "./handBuiltFleet";
import { FakePulumiStack } from "./pulumiStack";
import { type PortRange, TEST_PORTS } from "./ports";

/**
 * Host ports for a fleet to adopt: the live tests' range, but below the kernel's ephemeral
 * ports (32768 and up). A takeover frees a port for seconds; an outgoing connection of
 * anything on the host could take an ephemeral one meanwhile, and the new container would
 * not be able to publish it. (The protocol's own ports, 6610-6720, are far below.)
 */
export const ADOPT_PORTS: PortRange = { first: TEST_PORTS.first, last: 32_767 };

/** One adoption test's run: the engine, a run id whose resources a watchdog removes if the test dies, and its storage network. */
export async function startAdoptionRun(): Promise<{ docker: Docker; runId: string; network: string }> {
    const docker = await connectDocker();
    const runId = newRunId();
    await startWatchdog(RUN_LABEL_KEY, runId);
    const network = await createRunNetwork(docker, runId, `${runId}-storage-network`);
    return { docker, runId, network };
}

export interface AdoptionStack {
    fleet: LiveFleet;
    pulumi: FakePulumiStack;
    /** What each `pulumi up` (and `pulumi destroy`) did, in order, with how long it took. */
    applied: (ApplyResult & { ms: number })[];
}

/** A stack named like the run, with the run's prefix and port offset, its image the test image; nothing deployed. */
export function adoptionStack(
    docker: Docker,
    o: { runId: string; prefix: string; portOffset: number; image?: string; initial?: Record<string, string> },
): AdoptionStack {
    const fleet = new LiveFleet(o.runId, o.prefix, docker);
    const applied: AdoptionStack["applied"] = [];
    const pulumi = new FakePulumiStack({
        // What an operator sets before adopting a fleet of this prefix and ports (dev's own values included).
        initial: {
            image: o.image ?? TEST_IMAGE,
            containerPrefix: o.prefix,
            portOffset: String(o.portOffset),
            createNetwork: "true",
            bindAddress: "127.0.0.1",
            ...o.initial,
        },
        // The program planned from the stack's state with exactly the configuration the CLI set.
        onPreview: async (config) => {
            await fleet.planFor("preview", config);
        },
        onUp: async (config) => {
            const started = performance.now();
            const result = await fleet.apply(await fleet.planFor("apply", config));
            applied.push({ ...result, ms: performance.now() - started });
        },
        onDestroy: async () => {
            const started = performance.now();
            const result = await fleet.destroyStack();
            applied.push({ ...result, ms: performance.now() - started });
        },
        outputs: () => ({ environments: fleet.outputs }),
    });
    return { fleet, pulumi, applied };
}

/**
 * The test image with `redis-server` replaced by a shell script (`script`, from its `#!` line
 * on), the real one kept at /usr/local/bin/redis-server.real. Tagged
 * `nexus-redis/redis-test:RUN-NAME` and labelled with the run, for its clean-up.
 */
export async function imageWithRedisServer(docker: Docker, runId: string, name: string, script: string): Promise<string> {
    const tag = `nexus-redis/redis-test:${runId}-${name}`;
    const context = await tarArchive([
        {
            path: "Dockerfile",
            content: `FROM ${TEST_IMAGE} AS real\nFROM ${TEST_IMAGE}\nCOPY --from=real /usr/local/bin/redis-server /usr/local/bin/redis-server.real\nCOPY redis-server /usr/local/bin/redis-server\n`,
            mode: 0o644,
            uid: 0,
            gid: 0,
        },
        { path: "redis-server", content: script, mode: 0o755, uid: 0, gid: 0 },
    ]);
    const stream = await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: tag, labels: { [RUN_LABEL_KEY]: runId } });
    await new Promise((resolve, reject) => docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve(undefined))));
    return tag;
}

/**
 * The test image with a `redis-server` that answers `--version` as the real one does (adopt
 * reads the image's Redis version with it) and otherwise runs `script`: a new vault that
 * crashes, or serves and then dies.
 */
export function brokenRedisImage(docker: Docker, runId: string, name: string, script: string): Promise<string> {
    return imageWithRedisServer(
        docker,
        runId,
        name,
        `#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/local/bin/redis-server.real "$@"; fi\n${script}`,
    );
}
