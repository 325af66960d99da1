/**
 * The vault's lock (cli/snapshot/vaultLock.ts), shared by adopt and restore: what a run does
 * about the lock of another, by what is known of its owner, and what it tells the operator in
 * its own command's words. Only a lock whose process is gone from this host is taken over; the
 * live half is in test/live/restore-refusals.test.ts and test/live/adopt-lock.test.ts.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { ownerTag } from "../../cli/core/owner";
import type { Docker } from "../../cli/docker/client";
import { LABEL_OWNER } from "../../cli/snapshot/vaultContainer";
import { legacyLockName, lockName, lockVerdict, takeVaultLock } from "../../cli/snapshot/vaultLock";

describe("the lock of another run on the same vault", () => {
    const lock = lockName("nexus3-kb-vault");

    it("is named for the vault alone, so that two runs cannot both create it, whichever command they are", () => {
        expect(lock).toBe("nexus3-kb-vault-lock");
    });

    it.each(["adopt", "restore"] as const)("is taken over by %s when its process has ended on this host (killed with -9)", (command) => {
        expect(lockVerdict("dead", lock, "host-a:41", "kb", command, command)).toBe("take over");
    });

    it("a lock without the command's label is restore's (from before adopt took it): restore takes it over, adopt does not", () => {
        expect(lockVerdict("dead", lock, "host-a:41", "kb", "restore", undefined)).toBe("take over");
        expect(lockVerdict("dead", lock, "host-a:41", "kb", "adopt", undefined)).not.toBe("take over");
    });

    it.each([
        ["adopt", "restore"],
        ["restore", "adopt"],
    ] as const)(
        "of a killed %s is not taken over by %s, whose clean-up does not finish the other's: it says which to run first",
        (killed, command) => {
            expect(lockVerdict("dead", lock, "host-a:41", "kb", command, killed)).toBe(
                `refused, nothing was changed: ${killed === "adopt" ? "an adopt" : "a restore"} of kb was killed (host-a:41, its lock ${lock}) and may have left the vault half-done: run \`nexus-redis ${killed}\` for kb again first, which finishes or undoes what it left (docs/${killed}.md, "After a killed ${killed}"), then ${command}`,
            );
        },
    );

    it.each([
        ["alive", /another restore of kb is running on this host \(host-a:41, its lock nexus3-kb-vault-lock\): let it finish$/],
        [
            "elsewhere",
            /another restore of kb from another host \(host-a:41\) holds its lock nexus3-kb-vault-lock; if no restore of kb runs any more \(one was killed\), remove the lock with `docker rm nexus3-kb-vault-lock` and run restore again$/,
        ],
        [
            "unknown",
            /another restore of kb whose process cannot be told \(no owner on it\) holds its lock .*`docker rm nexus3-kb-vault-lock` and run restore again$/,
        ],
    ] as const)("held by another restore, is refused to restore when its owner is %s, nothing changed", (owner, message) => {
        const verdict = lockVerdict(owner, lock, "host-a:41", "kb", "restore", "restore");
        expect(verdict).toMatch(/^refused, nothing was changed: /);
        expect(verdict).toMatch(message);
    });

    it.each([
        ["alive", /another adopt of kb is running on this host \(host-a:41, its lock nexus3-kb-vault-lock\): let it finish$/],
        [
            "elsewhere",
            /another adopt of kb from another host \(host-a:41\) holds its lock nexus3-kb-vault-lock; if no adopt of kb runs any more \(one was killed\), remove the lock with `docker rm nexus3-kb-vault-lock` and run adopt again$/,
        ],
        [
            "unknown",
            /another adopt of kb whose process cannot be told \(no owner on it\) holds its lock .*`docker rm nexus3-kb-vault-lock` and run adopt again$/,
        ],
    ] as const)("held by another adopt, is refused to adopt when its owner is %s, nothing changed", (owner, message) => {
        const verdict = lockVerdict(owner, lock, "host-a:41", "kb", "adopt", "adopt");
        expect(verdict).toMatch(/^refused, nothing was changed: /);
        expect(verdict).toMatch(message);
    });

    it("names the other command when adopt meets a restore's lock, and the reverse: they exclude each other", () => {
        expect(lockVerdict("alive", lock, "host-a:41", "kb", "adopt", "restore")).toBe(
            "refused, nothing was changed: a restore of kb is running on this host (host-a:41, its lock nexus3-kb-vault-lock): let it finish",
        );
        expect(lockVerdict("elsewhere", lock, "host-b:7", "kb", "restore", "adopt")).toBe(
            "refused, nothing was changed: an adopt of kb from another host (host-b:7) holds its lock nexus3-kb-vault-lock; if no adopt of kb runs any more (one was killed), remove the lock with `docker rm nexus3-kb-vault-lock` and run restore again",
        );
    });

    it("says adopt or restore when the lock does not say which command holds it", () => {
        expect(lockVerdict("elsewhere", lock, "host-b:7", "kb", "adopt", undefined)).toMatch(
            /^refused, nothing was changed: an adopt or restore of kb from another host .*if no adopt or restore of kb runs any more/,
        );
    });
});

describe("the lock an older version's restore takes ({vault}-restore-lock)", () => {
    /** An engine that holds the given containers by name, and records what is created and removed. */
    function engine(containers: Record<string, { owner: string }>) {
        const removed: string[] = [];
        const created: string[] = [];
        const docker = {
            createContainer: async (spec: { name: string }) => {
                created.push(spec.name);
                return { id: `${spec.name}-id` };
            },
            getContainer: (name: string) => ({
                inspect: async () => {
                    const held = containers[name];
                    if (!held) throw Object.assign(new Error("no such container"), { statusCode: 404 });
                    return { Id: `${name}-id`, Config: { Labels: { [LABEL_OWNER]: held.owner } } };
                },
                remove: async () => {
                    removed.push(name);
                },
            }),
        } as unknown as Docker;
        return { docker, removed, created };
    }
    const of = { vaultName: "nexus3-kb-vault", image: "redis:7", labels: {}, environment: "kb" };

    it("held by a running restore: refused, and the lock this run had just taken is released", async () => {
        const { docker, removed, created } = engine({ [legacyLockName(of.vaultName)]: { owner: ownerTag() } });
        await expect(takeVaultLock(docker, of, "adopt", () => undefined)).rejects.toThrow(
            new RegExp(
                `^refused, nothing was changed: a restore of kb is running on this host \\(${ownerTag()}, its lock nexus3-kb-vault-restore-lock\\)`,
            ),
        );
        expect(created).toEqual(["nexus3-kb-vault-lock"]);
        expect(removed).toEqual(["nexus3-kb-vault-lock-id"]);
    });

    it("left by a killed restore: restore removes it and goes on holding its own", async () => {
        const exited = spawnSync(process.execPath, ["-e", "0"]).pid;
        const { docker, removed } = engine({ [legacyLockName(of.vaultName)]: { owner: ownerTag(undefined, exited) } });
        const said: string[] = [];
        const release = await takeVaultLock(docker, of, "restore", (text) => said.push(text));
        expect(removed).toEqual(["nexus3-kb-vault-restore-lock-id"]);
        expect(said).toEqual([
            `removed nexus3-kb-vault-restore-lock, the lock of a restore (of an older version) that was killed (${ownerTag(undefined, exited)})`,
        ]);
        await release();
        expect(removed).toEqual(["nexus3-kb-vault-restore-lock-id", "nexus3-kb-vault-lock-id"]);
    });
});
