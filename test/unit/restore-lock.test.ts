/**
 * restore's lock (cli/restore/lock.ts): what a restore does about the lock of another, by what
 * is known of its owner. Only a lock whose process is gone from this host is taken over; the
 * live half is in test/live/restore-refusals.test.ts.
 */
import { describe, expect, it } from "vitest";
import { lockName, lockVerdict } from "../../cli/restore/lock";

describe("the lock of another restore", () => {
    const lock = lockName("nexus3-kb-vault");

    it("is named for the vault alone, so that two restores cannot both create it", () => {
        expect(lock).toBe("nexus3-kb-vault-restore-lock");
    });

    it("is taken over when its process has ended on this host (a restore killed with -9)", () => {
        expect(lockVerdict("dead", lock, "host-a:41", "kb")).toBe("take over");
    });

    it.each([
        ["alive", /another restore of kb is running on this host \(host-a:41, its lock nexus3-kb-vault-restore-lock\): let it finish$/],
        ["elsewhere", /another restore of kb from another host \(host-a:41\) holds its lock .*`docker rm nexus3-kb-vault-restore-lock`/],
        [
            "unknown",
            /another restore of kb whose process cannot be told \(no owner on it\) holds its lock .*`docker rm nexus3-kb-vault-restore-lock`/,
        ],
    ] as const)("is refused when its owner is %s, nothing changed", (owner, message) => {
        const verdict = lockVerdict(owner, lock, "host-a:41", "kb");
        expect(verdict).toMatch(/^refused, nothing was changed: /);
        expect(verdict).toMatch(message);
    });
});
