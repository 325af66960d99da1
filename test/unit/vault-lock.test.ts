/**
 * The vault's lock (cli/snapshot/vaultLock.ts), shared by adopt and restore: what a run does
 * about the lock of another, by what is known of its owner, and what it tells the operator in
 * its own command's words. Only a lock whose process is gone from this host is taken over; the
 * live half is in test/live/restore-refusals.test.ts and test/live/adopt-lock.test.ts.
 */
import { describe, expect, it } from "vitest";
import { lockName, lockVerdict } from "../../cli/snapshot/vaultLock";

describe("the lock of another run on the same vault", () => {
    const lock = lockName("nexus3-kb-vault");

    it("is named for the vault alone, so that two runs cannot both create it, whichever command they are", () => {
        expect(lock).toBe("nexus3-kb-vault-lock");
    });

    it.each(["adopt", "restore"] as const)("is taken over by %s when its process has ended on this host (killed with -9)", (command) => {
        expect(lockVerdict("dead", lock, "host-a:41", "kb", command, "adopt")).toBe("take over");
        expect(lockVerdict("dead", lock, "host-a:41", "kb", command, "restore")).toBe("take over");
    });

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
