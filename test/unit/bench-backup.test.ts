import { describe, expect, it } from "vitest";
import { writeOutage } from "../../bench/writer";

describe("restore-N's measure of a writer's outage", () => {
    it("counts every stretch without a successful write, not only the longest: a write let through between two refusals is two outages", () => {
        // Writes every 10 ms, then none for 9 s (stop, swap, start), one write, none for 7 s (DEBUG DIGEST), then every 10 ms again.
        const successes = [0, 10, 20, 9_020, 16_020, 16_030, 16_040];
        expect(writeOutage(successes)).toEqual({ totalMs: 16_000, longestMs: 9_000 });
    });

    it("does not count the writer's own rhythm, nor a connection's cost, as an outage", () => {
        expect(writeOutage([0, 12, 25, 60, 140, 151])).toEqual({ totalMs: 0, longestMs: 80 });
    });

    it("is none for a writer that never succeeded twice", () => {
        expect(writeOutage([5])).toEqual({ totalMs: 0, longestMs: 0 });
    });
});
