/**
 * `nexus-redis restore` killed midway: how long its pause of writes outlives it (a lease renewed
 * while it runs), and what the next restore does with what it left: a helper container, a staged
 * snapshot, a stopped vault.
 */
import { describe, expect, it } from "vitest";
import {
    type LeftoverHelper,
    MIN_PAUSE_LEASE_MS,
    describePause,
    judgeLeftover,
    pauseLeaseMs,
    pauseRenewalMs,
} from "../../cli/restore/plan";

describe("how long writes stay paused should restore be killed", () => {
    it.each<[number, number]>([
        [0, MIN_PAUSE_LEASE_MS],
        [300, MIN_PAUSE_LEASE_MS],
        [1_000, 5_000],
        [4_000, 14_000],
    ])("a DEBUG DIGEST of %i ms on the scratch server gives a pause of %i ms at a time", (digestMs, leaseMs) => {
        expect(pauseLeaseMs(digestMs)).toBe(leaseMs);
    });

    it("renews a pause several times within its lease, at least every second", () => {
        expect(pauseRenewalMs(5_000)).toBe(1_000);
        expect(pauseRenewalMs(14_000)).toBe(1_000);
        expect(pauseRenewalMs(MIN_PAUSE_LEASE_MS)).toBeLessThanOrEqual(MIN_PAUSE_LEASE_MS / 4);
    });

    it("says what the pause means for clients", () => {
        expect(describePause(5_000)).toBe(
            "CLIENT PAUSE WRITE for 5.0 s at a time, renewed while restore runs: should it be killed, writes resume within 5.0 s",
        );
    });
});

describe("what a killed restore left", () => {
    const created = Date.parse("2026-11-26T17:02:00Z");
    const helper = (fields: Partial<LeftoverHelper>): LeftoverHelper => ({
        name: "nexus3-contact-vault-restore-0a1b2c",
        state: "created",
        exitCode: 0,
        createdMs: created,
        aside: "nexus-redis-restore-20261126T170256Z",
        log: "",
        ...fields,
    });
    const vault = (running: boolean, finishedMs = created - 3_600_000) => ({ name: "nexus3-contact-vault", running, finishedMs });

    it("a helper never started, the vault running (killed while staging): both the helper and the staged snapshot go, the vault is left alone", () => {
        const verdict = judgeLeftover(helper({}), vault(true));
        expect(verdict).toMatchObject({ action: "discard", startVault: false });
        expect(verdict.note).toMatch(
            /was killed before its swap .* the vault's files were not touched; its helper and staged snapshot are removed$/,
        );
    });

    it("a helper never started, the vault stopped after it was made (killed between the stop and the swap): the vault is started on its own files", () => {
        const verdict = judgeLeftover(helper({}), vault(false, created + 2_000));
        expect(verdict).toMatchObject({ action: "discard", startVault: true });
        expect(verdict.note).toMatch(/nexus3-contact-vault, which it had stopped, is started again on its own files/);
    });

    it("a helper never started, the vault stopped before it was made: not that restore's doing, the vault stays stopped", () => {
        expect(judgeLeftover(helper({}), vault(false))).toMatchObject({ action: "discard", startVault: false });
    });

    it("a swap that finished (killed before the vault was started): the vault is started on that restore's snapshot, and says where the files are", () => {
        const verdict = judgeLeftover(
            helper({ state: "exited", log: "moved appendonlydir\nmoved dump.rdb\n" }),
            vault(false, created + 2_000),
        );
        expect(verdict).toMatchObject({ action: "finish", startVault: true });
        expect(verdict.note).toMatch(
            /its previous files \(appendonlydir, dump\.rdb\) are in \/data\/nexus-redis-restore-20261126T170256Z; nexus3-contact-vault is started on that snapshot/,
        );
    });

    it("a swap that failed midway: nothing is started, the operator decides", () => {
        const verdict = judgeLeftover(
            helper({ state: "exited", exitCode: 1, log: "mv: can't rename 'dump.rdb': I/O error" }),
            vault(false),
        );
        expect(verdict.action).toBe("refuse");
        expect(verdict.note).toMatch(
            /its swap of the vault's files did not finish .* I\/O error\); nothing was changed now: .*\(docker rm -f nexus3-contact-vault-restore-0a1b2c/,
        );
    });
});
