/** Hooks for the live tests of a killed restore (NEXUS_REDIS_TEST_HANG_AT): nowhere else. */
import { Transform } from "node:stream";
import type { RestoreDeps } from "./inputs";

/**
 * Only for the live tests of a killed restore: with NEXUS_REDIS_TEST_HANG_AT set to this
 * point, restore says so on stderr and waits there until it is killed.
 */
export type TestHangPoint = "staging" | "save-off" | "verify-pause" | "stopped";

export function hangsAt(deps: RestoreDeps, point: TestHangPoint): boolean {
    return deps.env.NEXUS_REDIS_TEST_HANG_AT === point;
}

export function hangForTest(point: TestHangPoint): Promise<never> {
    process.stderr.write(`nexus-redis restore: NEXUS_REDIS_TEST_HANG_AT=${point}: waiting here until killed\n`);
    return new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/** For the staging test hook: passes `limit` bytes on, then stops (the upload hangs halfway, as one cut short). */
export function stallAfter(limit: number, stalled: () => void): Transform {
    let passed = 0;
    return new Transform({
        transform(chunk: Buffer, _encoding, done) {
            if (passed >= limit) {
                stalled();
                return; // never done: the upload waits here
            }
            passed += chunk.length;
            done(null, chunk);
        },
    });
}
