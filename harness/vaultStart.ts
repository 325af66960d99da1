/**
 * Fixtures of the tests of how containers start (components/start-redis.sh): volumes
 * prepared the ways data reaches a vault, the plan's own containers on them (on the test
 * image or one of its variants), a second container of a vault beside the declared one,
 * and what a server holds counted over every database.
 *
 * Everything carries the run label: a fleet's destroy() (or the run's watchdog) removes it.
 */
import { readKeyspace } from "../cli/redis/keyspace";
import { startWatchdog } from "./cleanup";
import { type Docker, exec } from "./docker";
import { type LiveFleet, RUN_LABEL_KEY, TEST_IMAGE, newRunId, parseInfo, startLiveFleet, waitFor } from "./fleet";
import { cliIn, createRunVolume, logsOf, startHandBuilt, stopGracefully, waitForRedis } from "./handBuilt";

/** The password of the hand-built fixtures' Redis (the plan's vault has its own). */
export const FIXTURE_PASSWORD = "fixture-password";

/**
 * The test image's variants (scripts/build-test-image.sh builds them, tagged after it): the
 * image with one thing taken away.
 */
export const IMAGE_VARIANTS = {
    /** No entrypoint and no gosu: only util-linux's setpriv can drop root. */
    noEntrypoint: `${TEST_IMAGE}-noentrypoint`,
    noTmp: `${TEST_IMAGE}-notmp`,
    /** No redis user and no entrypoint. */
    noUser: `${TEST_IMAGE}-nouser`,
    noFlock: `${TEST_IMAGE}-noflock`,
} as const;

/** A run id, watched so its fixtures are removed even if this process dies. */
export async function newRun(): Promise<string> {
    const runId = newRunId();
    await startWatchdog(RUN_LABEL_KEY, runId);
    return runId;
}

/** Sum of every database's keys in an `INFO keyspace` reply (DBSIZE counts database 0 alone). */
export function keyspaceKeys(info: string): number {
    return readKeyspace(parseInfo(info)).keys;
}

/**
 * A hand-built Redis on a fresh volume of the run, its keys written by `fill`, stopped the
 * way `docker stop` stops it. DEBUG is enabled on fixtures only, to take their digest.
 * Returns the volume, the dataset's DEBUG DIGEST and its keys in every database.
 */
export async function preparedVolume(
    docker: Docker,
    runId: string,
    args: string[],
    fill: (name: string, port: number) => Promise<void>,
): Promise<{ volume: string; digest: string; keys: number }> {
    const volume = await createRunVolume(docker, runId, `${runId}-fixture-data`);
    const { name, port } = await startHandBuilt(docker, {
        runId,
        name: `${runId}-fixture`,
        args: ["--requirepass", FIXTURE_PASSWORD, "--enable-debug-command", "local", ...args],
        data: { kind: "volume", name: volume },
    });
    await waitForRedis(port, FIXTURE_PASSWORD);
    await fill(name, port);
    const digest = await cliIn(docker, name, ["DEBUG", "DIGEST"], FIXTURE_PASSWORD);
    const keys = keyspaceKeys(await cliIn(docker, name, ["INFO", "keyspace"], FIXTURE_PASSWORD));
    await stopGracefully(docker, name);
    await docker.getContainer(name).remove();
    return { volume, digest, keys };
}

/** Runs `script` in a throwaway container of the test image with `volume` at /data (as root). */
export async function inVolume(docker: Docker, runId: string, volume: string, script: string): Promise<string> {
    const container = await docker.createContainer({
        Image: TEST_IMAGE,
        Entrypoint: ["sh", "-c"],
        Cmd: [script],
        Labels: { [RUN_LABEL_KEY]: runId },
        HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/data" }] },
    });
    await container.start();
    const { StatusCode } = await container.wait();
    const out = await logsOf(docker, container.id);
    await container.remove();
    if (StatusCode !== 0) throw new Error(`script in ${volume} exited ${StatusCode}: ${out}`);
    return out.trim();
}

/** Options of `plannedFleet`. */
export interface PlannedFleetOptions {
    environment?: string;
    /** The vault's data (the `vaultData` config): a prepared volume. Default: the stack's own, new. */
    volume?: string;
    /** The stack's image. Default: the test image. */
    image?: string;
}

/** The plan's environment (vault, and operational for a standard one), created by the harness. */
export async function plannedFleet(runId: string, options: PlannedFleetOptions = {}): Promise<LiveFleet> {
    const environment = options.environment ?? "user";
    return startLiveFleet({
        name: runId,
        environments: [environment],
        config: {
            ...(options.volume === undefined ? {} : { vaultData: JSON.stringify({ [environment]: options.volume }) }),
            ...(options.image === undefined ? {} : { image: options.image }),
        },
    });
}

/** Waits until the plan's vault answers with its password and has loaded its data; returns its keys in every database. */
export async function vaultKeys(fleet: LiveFleet, environment = "user", timeoutMs = 60_000): Promise<number> {
    return waitFor(
        `${environment}'s vault`,
        async () => {
            const info = await fleet.cli(environment, "vault", ["INFO", "persistence"]);
            // Exactly `loading`: Redis 7 also reports `async_loading:0` while it loads.
            if (parseInfo(info).loading !== "0") return undefined;
            // A container killed or restarting under the exec can answer with nothing: ask again.
            const keyspace = await fleet.cli(environment, "vault", ["INFO", "keyspace"]);
            return keyspace.startsWith("# Keyspace") ? keyspaceKeys(keyspace) : undefined;
        },
        timeoutMs,
        200,
    );
}

/** Waits until `name`'s log contains `text`; returns the log. */
export async function logShows(docker: Docker, name: string, text: string, timeoutMs = 30_000): Promise<string> {
    return waitFor(
        `"${text}" in ${name}'s log`,
        async () => {
            const log = await logsOf(docker, name);
            return log.includes(text) ? log : undefined;
        },
        timeoutMs,
        200,
    );
}

/**
 * A second container of a fleet's vault, as an operator re-creating it by hand beside the
 * declared one would make it: the same image, command, environment, network and data, and
 * the same files (copied from the first, owners and modes kept); no published port and no
 * restart policy. Created, not started.
 */
export async function vaultTwin(fleet: LiveFleet, environment: string, suffix: string): Promise<string> {
    const first = fleet.container(environment, "vault");
    const spec = await first.inspect();
    const name = `${fleet.containerName(environment, "vault")}-${suffix}`;
    const twin = await fleet.docker.createContainer({
        name,
        Image: spec.Image,
        Cmd: spec.Config.Cmd,
        Env: spec.Config.Env,
        Labels: { [RUN_LABEL_KEY]: fleet.runId },
        HostConfig: {
            Mounts: (spec.Mounts ?? []).map((m) => ({
                Type: m.Type as "volume" | "bind",
                Source: m.Type === "volume" ? String(m.Name) : m.Source,
                Target: m.Destination,
            })),
            NetworkMode: spec.HostConfig.NetworkMode,
        },
    });
    await twin.putArchive(await first.getArchive({ path: "/etc/nexus-redis" }), { path: "/etc" });
    return name;
}

/** The processes of a container, by their command line. */
export async function processes(docker: Docker, name: string): Promise<string[]> {
    // The engine needs the PID column to pick the container's processes out of ps's.
    const top = await docker.getContainer(name).top({ ps_args: "-o pid,args" });
    const args = top.Titles.indexOf("COMMAND");
    return top.Processes.map((p: string[]) => p[args]);
}

/** Every path a process of `name` holds open (from /proc, as root in the container). */
export async function openPaths(docker: Docker, name: string): Promise<string[]> {
    const listing = await exec(docker, name, ["sh", "-c", 'for f in /proc/[0-9]*/fd/*; do readlink "$f"; done 2>/dev/null; true']);
    return listing.stdout.split("\n").filter((line) => line !== "");
}
