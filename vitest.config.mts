import { defineConfig } from "vitest/config";

// Pulumi keeps its runtime in process globals: keep vitest's default process isolation
// (pool "forks"), one plan per test file.
export default defineConfig({
    test: {
        pool: "forks",
        projects: [
            {
                extends: true,
                // A plan under mocks takes seconds, more on a busy machine: hooks that make one get the tests' time.
                test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
            },
            {
                extends: true,
                test: {
                    name: "live",
                    include: ["test/live/**/*.test.ts"],
                    testTimeout: 300_000,
                    hookTimeout: 300_000,
                    // The live files share one Docker engine and the machine's 2 cores: one at a time.
                    fileParallelism: false,
                },
            },
            {
                extends: true,
                test: {
                    // A real three-node Swarm per file (harness/swarm.ts), after the others: its
                    // node losses and rolling updates are timed, and the machine has 2 cores.
                    name: "swarm",
                    include: ["test/swarm/**/*.test.ts"],
                    testTimeout: 600_000,
                    hookTimeout: 600_000,
                    fileParallelism: false,
                    sequence: { groupOrder: 1 },
                },
            },
        ],
    },
});
