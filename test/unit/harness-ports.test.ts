import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BENCH_PORTS, TEST_PORTS, freePort, freePortOffset, freePorts, portFree, tablePorts } from "../../harness/ports";

describe("the harness's free ports", () => {
    let held: net.Server;
    let heldPort: number;

    beforeAll(async () => {
        held = net.createServer();
        await new Promise<void>((resolve) => held.listen(0, "127.0.0.1", resolve));
        heldPort = (held.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => held.close(() => resolve())));

    it("says a port someone listens on is not free", async () => {
        expect(await portFree(heldPort)).toBe(false);
    });

    it("takes the table's ports of the environments asked for, one for a secure environment", () => {
        expect(tablePorts(["contact", "user"])).toEqual([6630, 6631, 6610]);
        expect(tablePorts([])).toEqual([]);
    });

    it("keeps the live tests' and the benchmarks' ranges apart", () => {
        expect(TEST_PORTS.last).toBeLessThan(BENCH_PORTS.first);
    });

    it.each([
        ["live tests", TEST_PORTS],
        ["benchmarks", BENCH_PORTS],
    ])("puts every port of the whole table inside the %s' range", async (_, range) => {
        const all = ["workflow", "context", "kb", "contact", "links", "track", "session", "transcripts", "web", "chrono", "user", "locker"];
        for (let i = 0; i < 20; i++) {
            const offset = await freePortOffset(all, range);
            for (const port of tablePorts(all)) {
                expect(port + offset).toBeGreaterThanOrEqual(range.first);
                expect(port + offset).toBeLessThanOrEqual(range.last);
            }
        }
    });

    it("never leaves a tight range: every port of the environments stays inside it", async () => {
        // contact and locker span 6630-6720: in 40000-40100 the offset has 11 possible values.
        const range = { first: 40_000, last: 40_100 };
        for (let i = 0; i < 30; i++) {
            const offset = await freePortOffset(["contact", "locker"], range);
            expect(offset).toBeGreaterThanOrEqual(40_000 - 6630);
            expect(offset).toBeLessThanOrEqual(40_100 - 6720);
        }
    });

    it("refuses a range the table's ports cannot fit in, and environments with no ports", async () => {
        await expect(freePortOffset(["contact", "locker"], { first: 30_000, last: 30_050 })).rejects.toThrow(/do not fit/);
        await expect(freePortOffset(["nonesuch"], TEST_PORTS)).rejects.toThrow(/no port/);
    });

    it("finds a free port in a range, never one that is taken or bound", async () => {
        const free = await freePort();
        expect(await freePorts(1, { first: free, last: free })).toEqual([free]);
        await expect(freePorts(1, { first: free, last: free }, [free])).rejects.toThrow(/only 0 free/);
        await expect(freePorts(1, { first: heldPort, last: heldPort })).rejects.toThrow(/only 0 free/);
    });
});
