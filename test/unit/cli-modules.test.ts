import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

/** Modules of cli/ that talk to Docker: backup and restore, which the dispatcher loads only when they run. */
const DOCKER_MODULE = /^(backup|restore|docker)[A-Za-z]*\.ts$/;

/** The npm packages loaded once `files` (of cli/) are loaded the way the bin loads them. */
function packagesLoadedBy(files: string[]): string[] {
    const script = `
        for (const file of ${JSON.stringify(files)}) require("./cli/" + file);
        const packages = new Set(Object.keys(require.cache).map((m) => /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(m)?.[1]).filter(Boolean));
        process.stdout.write(JSON.stringify([...packages].sort()));`;
    return JSON.parse(execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: ROOT, encoding: "utf8" })) as string[];
}

describe("the CLI's modules", () => {
    const files = fs.readdirSync(path.join(ROOT, "cli")).filter((f) => f.endsWith(".ts"));

    it("never load dockerode for check, fix, recover or rotate: backup and restore talk to Docker and the dispatcher loads them when they run; a Swarm deployment's check or recover loads it in cli/swarm.ts then", () => {
        // Every other module of cli/, the dispatcher (nexus-redis.ts) and swarm.ts included, then the packages that came with them.
        const loaded = packagesLoadedBy(files.filter((f) => !DOCKER_MODULE.test(f)));
        expect(loaded).toContain("ioredis"); // the probe sees what the CLI loads
        expect(loaded).not.toContain("dockerode");
        expect(loaded).not.toContain("docker-modem");
    });

    it("load dockerode with backup and restore (so the probe above would see a static import of them), and never the Pulumi SDK", () => {
        expect(files.filter((f) => DOCKER_MODULE.test(f))).toEqual(expect.arrayContaining(["backup.ts", "restore.ts", "docker.ts"]));
        for (const command of ["backup.ts", "restore.ts"]) {
            const loaded = packagesLoadedBy([command]);
            expect(loaded).toContain("dockerode");
            // Seconds of start-up for commands that never use it.
            expect(loaded).not.toContain("@pulumi/pulumi");
        }
    });
});
