"use strict";
// Preloaded with NODE_OPTIONS=--require into every node process of a measured command, when
// /usr/bin/time is not installed: each process reports its own peak RSS (KiB) on stderr as
// it exits, and bench/synth.ts keeps the largest. Synchronous write: the process is ending.
process.on("exit", () => {
    try {
        require("node:fs").writeSync(2, `nexus-redis-bench-maxrss-kb=${process.resourceUsage().maxRSS}\n`);
    } catch {
        // stderr already closed: nothing to report.
    }
});
