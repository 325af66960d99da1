/**
 * One adopt or restore of a vault at a time. Two restores of the same vault started together
 * both stopped it and moved its files aside under the same name; two adopts of the same
 * environment both stopped and renamed the same vault, and the second one's clean-up of a
 * killed run's leftovers removed the first one's readying server while it ran. Each command's
 * clean-up takes what it finds for a killed run's, which only holds while no other run of it
 * is going on.
 *
 * adopt and restore share the one lock, so each also excludes the other: both stop the vault
 * container and put something else in its place (restore: the vault's files, swapped while it
 * is stopped; adopt: the container itself, renamed aside and replaced by the stack's), and a
 * restore that stopped and restarted a vault an adopt was taking over would have the adopt
 * rename, or put back, a vault whose data is not what it read; an adopt would read a vault a
 * restore has stopped as one to refuse, or roll back onto a half-swapped folder.
 *
 * The lock is a container the engine creates or refuses by its name alone (409 when the name
 * is taken), so it holds for runs from different hosts against the same engine. It is never
 * started: it only carries its owner (`host:pid`, cli/core/owner.ts) and the command that
 * holds it, so that a lock a killed run left is taken over here, and one a running run holds
 * is refused.
 */
import { type OwnerState, ownerState, ownerTag } from "../core/owner";
import { type Docker, inspectOrUndefined } from "../docker/client";
import { LABEL_OWNER, LABEL_ROLE, LABEL_TEMPORARY, removeContainer } from "./vaultContainer";

/** The role label of the lock container. */
export const LOCK_ROLE = "vault-lock";

/** Label of the lock naming the command that holds it: what the refusal of another run tells. */
export const LABEL_LOCK_COMMAND = "nexus-redis.lock-command";

/** The commands that take the lock. */
export type LockCommand = "adopt" | "restore";

/** The lock container's name: fixed for the vault, which is what makes creating it exclusive. */
export function lockName(vaultName: string): string {
    return `${vaultName}-lock`;
}

/** Another run's lock refused: nothing was changed. Each command reports it as its own refusal. */
export class LockRefusal extends Error {
    constructor(message: string) {
        super(message);
        this.name = "LockRefusal";
    }
}

/**
 * What `command` does about a lock another process holds, by what is known of its owner.
 * `heldBy` is the command the lock says holds it (undefined: a lock without that label).
 */
export function lockVerdict(
    owner: OwnerState,
    lock: string,
    holder: string | undefined,
    environment: string,
    command: LockCommand,
    heldBy: string | undefined,
): "take over" | string {
    // A killed run's lock is taken over only by the same command, whose own clean-up finishes
    // or undoes what that run left (restore's of a killed restore, adopt's of a killed adopt);
    // the other command's would act on a vault left half-done (a stack vault stopped mid
    // rollback, a half-swapped folder). A lock without the label is restore's, from before adopt took it.
    if (owner === "dead" && (heldBy ?? "restore") === command) return "take over";
    if (owner === "dead") {
        const killed = heldBy ?? "restore";
        return `refused, nothing was changed: ${withArticle(killed)} of ${environment} was killed (${holder}, its lock ${lock}) and may have left the vault half-done: run \`nexus-redis ${killed}\` for ${environment} again first, which finishes or undoes what it left (docs/${killed}.md, "After a killed ${killed}"), then ${command}`;
    }
    const other = heldBy === command ? `another ${command}` : heldBy === undefined ? "an adopt or restore" : withArticle(heldBy);
    const refused = `refused, nothing was changed: ${other} of ${environment}`;
    if (owner === "alive") return `${refused} is running on this host (${holder}, its lock ${lock}): let it finish`;
    const who = owner === "elsewhere" ? `from another host (${holder})` : "whose process cannot be told (no owner on it)";
    const killed = heldBy === undefined ? "adopt or restore" : heldBy;
    return `${refused} ${who} holds its lock ${lock}; if no ${killed} of ${environment} runs any more (one was killed), remove the lock with \`docker rm ${lock}\` and run ${command} again`;
}

/** "an adopt", "a restore". */
function withArticle(command: string): string {
    return `${/^[aeiou]/.test(command) ? "an" : "a"} ${command}`;
}

export interface LockOf {
    /** The vault's container name: the lock is named for it. */
    vaultName: string;
    /** An image on the engine (the lock is never started: any image will do, the vault's is there). */
    image: string;
    /** Labels copied onto the lock (the vault's), so that what finds the vault's containers by label finds it too. */
    labels: Record<string, string>;
    environment: string;
}

/**
 * What `command` run now would say of the vault's lock, read without taking it (a dry run's
 * look): the refusal it would meet, or undefined when it is free or would be taken over.
 */
export async function lockRefusalNow(
    docker: Docker,
    vaultName: string,
    environment: string,
    command: LockCommand,
): Promise<string | undefined> {
    const name = lockName(vaultName);
    const held = await inspectOrUndefined(docker, name);
    if (!held) return undefined;
    const holder = held.Config.Labels?.[LABEL_OWNER];
    const verdict = lockVerdict(ownerState(holder), name, holder, environment, command, held.Config.Labels?.[LABEL_LOCK_COMMAND]);
    return verdict === "take over" ? undefined : verdict;
}

/**
 * Takes the vault's lock for `command`, or throws LockRefusal while another run holds it; a
 * lock whose owner is gone from this host is taken over (said through `log`). Returns its release.
 */
export async function takeVaultLock(
    docker: Docker,
    of: LockOf,
    command: LockCommand,
    log: (text: string) => void,
): Promise<() => Promise<void>> {
    const name = lockName(of.vaultName);
    for (let attempt = 0; attempt < 3; attempt++) {
        try {
            const lock = await docker.createContainer({
                name,
                Image: of.image,
                Entrypoint: ["true"],
                Labels: {
                    ...of.labels,
                    [LABEL_ROLE]: LOCK_ROLE,
                    [LABEL_TEMPORARY]: "true",
                    [LABEL_OWNER]: ownerTag(),
                    [LABEL_LOCK_COMMAND]: command,
                },
                HostConfig: { NetworkMode: "none" },
            });
            const release = async () => void (await removeContainer(docker, lock.id));
            try {
                await respectLegacyLock(docker, of, command, log);
            } catch (e) {
                await release();
                throw e;
            }
            return release;
        } catch (e) {
            if (e instanceof LockRefusal) throw e;
            if ((e as { statusCode?: number }).statusCode !== 409) throw e;
        }
        const held = await inspectOrUndefined(docker, name);
        // Gone between the two calls: the other run has just finished.
        if (!held) continue;
        const holder = held.Config.Labels?.[LABEL_OWNER];
        const heldBy = held.Config.Labels?.[LABEL_LOCK_COMMAND];
        const verdict = lockVerdict(ownerState(holder), name, holder, of.environment, command, heldBy);
        if (verdict !== "take over") throw new LockRefusal(verdict);
        if (await removeContainer(docker, held.Id))
            log(`removed ${name}, the lock of ${heldBy === undefined ? "a run" : withArticle(heldBy)} that was killed (${holder})`);
    }
    throw new LockRefusal(`refused, nothing was changed: the lock ${name} was taken again each time it was free; run ${command} again`);
}

/** The name of the lock restore took before adopt shared it (`{vault}-restore-lock`). */
export function legacyLockName(vaultName: string): string {
    return `${vaultName}-restore-lock`;
}

/**
 * An older version's restore takes `{vault}-restore-lock`, not this lock: while one runs (on
 * a host not upgraded yet), this run must not go on either. Its lock is judged like this one's
 * (a restore's), and one whose owner is dead here is removed.
 */
async function respectLegacyLock(docker: Docker, of: LockOf, command: LockCommand, log: (text: string) => void): Promise<void> {
    const name = legacyLockName(of.vaultName);
    const held = await inspectOrUndefined(docker, name);
    if (!held) return;
    const holder = held.Config.Labels?.[LABEL_OWNER];
    const verdict = lockVerdict(ownerState(holder), name, holder, of.environment, command, "restore");
    if (verdict !== "take over") throw new LockRefusal(verdict);
    if (await removeContainer(docker, held.Id))
        log(`removed ${name}, the lock of a restore (of an older version) that was killed (${holder})`);
}
