/**
 * `nexus-redis adopt`'s side of the vault's lock (cli/snapshot/vaultLock.ts, which restore takes
 * too): one adopt (or restore) of an environment at a time. adopt takes it for each environment
 * before anything of that environment is read for a decision or changed: the clean-up of a
 * killed adopt's leftovers (adopt/discover.ts) takes what it finds for a dead run's, and would
 * otherwise remove a running adopt's readying server, and two takeovers would stop and rename
 * the same vault. A dry run changes nothing and takes no lock.
 */
import { containerName } from "../../components/redisServer";
import type { Docker } from "../docker/client";
import { imageExists } from "../docker/client";
import { type LockOf, lockName } from "../snapshot/vaultLock";
import { READYING_LABEL } from "./putBack";
import type { Findings } from "./findings";
import type { EnvironmentPlan } from "./judge";

/**
 * What adopt creates the lock of `env`'s vault from: an image the engine has (the lock is never
 * started; a create from an image it lacks would fail), and the program's labels of that
 * container. The vault's own container is the first choice, then another of its name (set aside,
 * readying, the lock itself), then the stack's image. undefined when the engine has none of
 * those: then no container of this vault exists, so there is nothing an adopt could stop,
 * rename or remove for it (adopt only takes over a vault it found, and the stack's image, which
 * pulumi up would need, is not there), and no lock is needed.
 */
export async function lockFor(docker: Docker, prefix: string, env: string, stackImage: string): Promise<LockOf | undefined> {
    const vaultName = containerName(prefix, env, "vault");
    // Docker's name filter matches anywhere in the name; the test below says exactly which.
    const listed = await docker.listContainers({ all: true, filters: { name: [vaultName] } });
    const own = (c: (typeof listed)[number]) => c.Names.includes(`/${vaultName}`);
    const beside = (c: (typeof listed)[number]) => c.Names.some((n) => n.startsWith(`/${vaultName}.`) || n === `/${lockName(vaultName)}`);
    const found = listed.find(own) ?? listed.find(beside);
    if (found) return { vaultName, image: found.ImageID, labels: programLabels(found.Labels ?? {}), environment: env };
    if (await imageExists(docker, stackImage)) return { vaultName, image: stackImage, labels: {}, environment: env };
    return undefined;
}

/**
 * The labels of a container that are the program's own (`nexus-redis.`...), copied onto the
 * lock so that what finds the vault's containers by them finds the lock too. Never a hand-built
 * vault's other labels: docker compose's, copied, would make compose take the lock for one of
 * its project's containers.
 */
export function programLabels(labels: Record<string, string>): Record<string, string> {
    // Nor a readying server's label, which would make the lock look like one to remove.
    return Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith("nexus-redis.") && key !== READYING_LABEL));
}

/** The environment refused when another run holds its vault's lock; undefined when this run holds it (or needs none). */
export function lockedPlan(f: Findings): EnvironmentPlan | undefined {
    if (f.lockRefusal === undefined) return undefined;
    return { name: f.candidate.name, kind: f.candidate.kind, status: "refused", reasons: [f.lockRefusal], notes: [] };
}

/** A dry run's note when another run holds the lock: the dry run goes on (it changes nothing), a real run would be refused. */
export function lockHeldNote(f: Findings): string | undefined {
    if (f.lockHeld === undefined) return undefined;
    return `adopt without --dry-run would be ${f.lockHeld.replace(/^refused, nothing was changed: /, "refused now: ")}`;
}
