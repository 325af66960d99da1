/**
 * The real `pulumi up` does not run index.ts through tsx, as the tests and synth do: Pulumi's
 * Node language host registers its own ts-node with its own defaults under our tsconfig.json.
 * A tsconfig that only tsx accepts would fail for every user before a resource is created.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect, it } from "vitest";

it("compiles and starts under Pulumi's own TypeScript loader, stopping only on missing config", () => {
    const root = path.resolve(__dirname, "../..");
    const result = spawnSync(process.execPath, [path.join(__dirname, "fixtures/pulumi-language-host.cjs")], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, PULUMI_CONFIG: "{}" },
    });
    expect(result.stdout).not.toContain("TSError");
    expect(result.stdout).toMatch(/^ConfigError: invalid nexus-redis configuration/);
}, 120_000);
