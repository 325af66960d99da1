/**
 * The real `pulumi up` does not run index.ts through tsx, as the tests and synth do: Pulumi's
 * Node language host registers its own ts-node with its own defaults under our tsconfig.json.
 * A tsconfig that only tsx accepts would fail for every user before a resource is created.
 *
 * That ts-node keeps a compile cache under the temp folder, and with a warm cache it compiles
 * only the files that changed: the load after an edit (or a `git pull`) is a different
 * compilation from the first. Each run here gets its own TMPDIR, so the cache is exactly as
 * cold or as warm as the test says, whatever else ran on the machine before, and the project
 * is a copy, so the test can edit it.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
/** Top-level entries not copied: installed or generated, never part of the program. */
const NOT_COPIED = /^(node_modules|\.git|\.node.*|\.pulumi-state)$/;

describe("Pulumi's own TypeScript loader (how `pulumi up` loads index.ts)", () => {
    let dir: string;
    let project: string;
    let cache: string;
    let cold: ReturnType<typeof load>;

    function load() {
        const result = spawnSync(process.execPath, [path.join(project, "test/unit/fixtures/pulumi-language-host.cjs")], {
            cwd: project,
            encoding: "utf8",
            env: { ...process.env, PULUMI_CONFIG: "{}", TMPDIR: cache },
        });
        return { stdout: result.stdout, stderr: result.stderr };
    }

    beforeAll(() => {
        dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-language-host-"));
        project = path.join(dir, "project");
        cache = path.join(dir, "tmp");
        mkdirSync(cache);
        cpSync(ROOT, project, { recursive: true, filter: (src) => !NOT_COPIED.test(path.relative(ROOT, src)) });
        symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
        cold = load();
    }, 120_000);

    afterAll(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("compiles and starts with a cold cache, stopping only on missing config", () => {
        expect(cold.stdout).not.toContain("TSError");
        expect(cold.stdout).toMatch(/^ConfigError: invalid nexus-redis configuration/);
        // Nothing on stderr: no warning on every `pulumi up`. Node 22.12 warns here that the
        // program require()s an ES module (@noble/hashes); engines' 22.13.0 must not
        // (scripts/test-oldest-node.sh runs this test on it).
        expect(cold.stderr).toBe("");
    });

    it("compiles and starts again with the warm cache after a file under components/ changed", () => {
        // The first load left its compiled files in this run's own cache: the second load is warm.
        const cached = readdirSync(cache).filter((name) => name.startsWith("ts-node-"));
        expect(cached).toHaveLength(1);
        expect(readdirSync(path.join(cache, cached[0])).length).toBeGreaterThan(0);

        appendFileSync(path.join(project, "components/redisServer.ts"), "\n// An edit after the first load, as a `git pull` makes.\n");
        const warm = load();
        expect(warm.stdout).not.toContain("TSError");
        expect(warm.stdout).toMatch(/^ConfigError: invalid nexus-redis configuration/);
    }, 120_000);
});
