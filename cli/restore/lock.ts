/**
 * One restore of a vault at a time. Two restores of the same vault started together both
 * stopped it and moved its files aside under the same name, and the one that lost printed a
 * way back that would undo the other; a second run would also take the first one's helper and
 * staged file for a killed restore's and remove them. The lock is a container the engine
 * creates or refuses by its name alone (409 when the name is taken), so it holds for restores
 * run from different hosts against the same engine. It is never started: it only carries its
 * owner (`host:pid`, cli/core/owner.ts), so that a lock a killed restore left is taken over
 * here, and one a running restore holds is refused.
 */
import { type OwnerState, ownerState } from "../core/owner";
import { type Docker, isNotFound } from "../docker/client";
import { LABEL_OWNER, type VaultContainer, removeContainer, temporaryLabels } from "../snapshot/vaultContainer";
import { Refusal } from "./report";

/** The role label of the lock container. */
export const LOCK_ROLE = "restore-lock";

/** The lock container's name: fixed for the vault, which is what makes creating it exclusive. */
export function lockName(vaultName: string): string {
    return `${vaultName}-restore-lock`;
}

/** What to do about a lock another process holds, by what is known of its owner. */
export function lockVerdict(owner: OwnerState, lock: string, holder: string | undefined, environment: string): "take over" | string {
    if (owner === "dead") return "take over";
    const refused = `refused, nothing was changed: another restore of ${environment}`;
    if (owner === "alive") return `${refused} is running on this host (${holder}, its lock ${lock}): let it finish`;
    const who = owner === "elsewhere" ? `from another host (${holder})` : "whose process cannot be told (no owner on it)";
    return `${refused} ${who} holds its lock ${lock}; if no restore of ${environment} runs any more (one was killed), remove the lock with \`docker rm ${lock}\` and run restore again`;
}

/**
 * Takes the vault's restore lock, or refuses while another restore holds it; a lock whose
 * owner is gone from this host is taken over (said through `log`). Returns its release.
 */
export async function takeRestoreLock(
    docker: Docker,
    vault: VaultContainer,
    environment: string,
    log: (text: string) => void,
): Promise<() => Promise<void>> {
    const name = lockName(vault.name);
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const lock = await docker.createContainer({
                name,
                Image: vault.image,
                Entrypoint: ["true"],
                Labels: temporaryLabels(vault, LOCK_ROLE),
                HostConfig: { NetworkMode: "none" },
            });
            return () => removeContainer(docker, lock.id);
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode !== 409) throw e;
        }
        const held = await docker
            .getContainer(name)
            .inspect()
            .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        // Gone between the two calls: the other restore has just finished.
        if (!held) continue;
        const holder = held.Config.Labels?.[LABEL_OWNER];
        const verdict = lockVerdict(ownerState(holder), name, holder, environment);
        if (verdict !== "take over") throw new Refusal(verdict);
        await removeContainer(docker, held.Id);
        log(`removed ${name}, the lock of a restore that was killed (${holder})`);
    }
    throw new Refusal(`refused, nothing was changed: the lock ${name} was taken again each time it was free; run restore again`);
}
