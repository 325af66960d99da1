/** restore's helper containers: the vault's image and volumes, no network; the swap, staging the snapshot, removing a staged file. */
import { REDIS_UID } from "../../components/redisServer";
import { tarFileStream } from "../docker/archive";
import { lastLine } from "../snapshot/restic";
import { type VaultContainer, removeContainer, temporaryLabels, temporaryName } from "../snapshot/vaultContainer";
import { type Docker, containerLog, isNotFound } from "../docker/client";
import { STAGING_FILE } from "./plan";
import type { RestoreDeps } from "./inputs";
import { hangsAt, hangForTest, stallAfter } from "./testHooks";

/** The role label of restore's helper containers (the swap; removing a staged file). */
export const HELPER_ROLE = "restore-helper";

/**
 * Label of a helper container: the vault's save points when restore began. Restore turns them
 * off just before it stops the vault (the stop then writes no dump.rdb that is moved aside
 * anyway); a restore killed in between leaves them off, and the next one puts them back.
 */
export const LABEL_SAVE_POINTS = "nexus-redis.restore.save";

/**
 * A helper container for the swap: the vault's image, the vault's volumes (--volumes-from:
 * its /data, whether a volume or a host folder), no network, run as root; created now,
 * started only once the vault is stopped.
 */
export function createHelper(docker: Docker, vault: VaultContainer, script: string, savePoints?: string): Promise<Docker.Container> {
    return docker.createContainer({
        name: temporaryName(vault, "restore"),
        Image: vault.image,
        Entrypoint: ["sh", "-c"],
        Cmd: [script],
        User: "0",
        Labels: { ...temporaryLabels(vault, HELPER_ROLE), ...(savePoints === undefined ? {} : { [LABEL_SAVE_POINTS]: savePoints }) },
        HostConfig: { NetworkMode: "none", VolumesFrom: [vault.id] },
    });
}

/** Puts the snapshot into the vault's /data as the staging file (0600, the redis user's), through the helper. */
export async function stage(helper: Docker.Container, file: string, bytes: number, deps: RestoreDeps): Promise<void> {
    let archive: NodeJS.ReadableStream = tarFileStream(file, {
        path: `/data/${STAGING_FILE}`,
        mode: 0o600,
        uid: Number(REDIS_UID),
        gid: Number(REDIS_UID),
    });
    if (hangsAt(deps, "staging")) archive = archive.pipe(stallAfter(Math.floor(bytes / 2), () => void hangForTest("staging")));
    await helper.putArchive(archive, { path: "/" });
}

/** Runs a helper to its end (the swap script, or a removal): its output, or why it failed. */
export async function runHelper(helper: Docker.Container, timeoutMs: number): Promise<string> {
    await helper.start();
    const waited = await Promise.race([
        helper.wait() as Promise<{ StatusCode: number }>,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref()),
    ]);
    const output = await containerLog(helper);
    if (waited === undefined) throw new Error(`the helper did not finish within ${timeoutMs} ms`);
    if (waited.StatusCode !== 0) throw new Error(`the helper exited ${waited.StatusCode}: ${lastLine(output)}`);
    return output;
}

/** Removes the staging file from the vault's /data (a helper of the vault's image; works whether the vault runs or not). */
export async function removeStagedFile(docker: Docker, vault: VaultContainer, timeoutMs: number): Promise<void> {
    const helper = await createHelper(docker, vault, `rm -f /data/${STAGING_FILE}`);
    try {
        await runHelper(helper, timeoutMs);
    } finally {
        await removeContainer(docker, helper.id);
    }
}

/** Whether the vault's /data holds a staging file (the engine's archive API: works on a stopped container too). */
export async function stagedFileExists(docker: Docker, vault: VaultContainer): Promise<boolean> {
    try {
        await docker.getContainer(vault.id).infoArchive({ path: `/data/${STAGING_FILE}` });
        return true;
    } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
    }
}
