/**
 * adopt's side of the vault's lock (cli/adopt/lock.ts): an environment whose lock another run
 * holds is refused with that run's refusal and nothing else, and the labels the lock copies from
 * a hand-built vault are only the program's. The live half is in test/live/adopt-lock.test.ts.
 */
import { describe, expect, it } from "vitest";
import { lockHeldNote, lockedPlan, programLabels } from "../../cli/adopt/lock";
import type { Candidate } from "../../cli/adopt/candidates";
import { lockVerdict } from "../../cli/snapshot/vaultLock";

const kb = { name: "kb", kind: "standard" } as Candidate;

describe("adopt and the vault's lock", () => {
    it("refuses an environment whose lock another adopt holds, with that refusal alone", () => {
        const refusal = lockVerdict("alive", "demo-kb-vault-lock", "host-a:41", "kb", "adopt", "adopt");
        expect(lockedPlan({ candidate: kb, lockRefusal: refusal })).toEqual({
            name: "kb",
            kind: "standard",
            status: "refused",
            reasons: [
                "refused, nothing was changed: another adopt of kb is running on this host (host-a:41, its lock demo-kb-vault-lock): let it finish",
            ],
            notes: [],
        });
    });

    it("leaves an environment whose lock this run holds to be judged", () => {
        expect(lockedPlan({ candidate: kb })).toBeUndefined();
    });

    it("copies the program's labels of the vault onto its lock, never another tool's nor a readying server's", () => {
        expect(
            programLabels({
                "nexus-redis.environment": "kb",
                "nexus-redis.test-run": "nral01234567",
                "nexus-redis.adopt-rollback": "kb",
                "com.docker.compose.project": "redis",
                maintainer: "ops",
            }),
        ).toEqual({ "nexus-redis.environment": "kb", "nexus-redis.test-run": "nral01234567" });
    });

    it("tells in a dry run that a run without --dry-run would be refused now, and says nothing when the lock is free", () => {
        const refusal = lockVerdict("elsewhere", "demo-kb-vault-lock", "host-b:7", "kb", "adopt", "restore");
        expect(lockHeldNote({ candidate: kb, lockHeld: refusal })).toBe(
            "adopt without --dry-run would be refused now: a restore of kb from another host (host-b:7) holds its lock demo-kb-vault-lock; if no restore of kb runs any more (one was killed), remove the lock with `docker rm demo-kb-vault-lock` and run adopt again",
        );
        expect(lockHeldNote({ candidate: kb })).toBeUndefined();
    });
});
