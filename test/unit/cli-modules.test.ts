import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

/** Modules of cli/ that talk to Docker: adopt, backup and restore, which the dispatcher loads only when they run. */
const DOCKER_MODULE = /^(adopt|backup|restore|docker)[A-Za-z]*\.ts$/;

/** The packages loaded after requiring `files` (of cli/) as the bin loads them, through tsx's require hook. */
function packagesLoadedBy(files: string[], then = ""): string[] {
    const script = `(async () => {
        for (const file of ${JSON.stringify(files)}) require("./cli/" + file);
        ${then}
        const packages = new Set(Object.keys(require.cache).map((m) => /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(m)?.[1]).filter(Boolean));
        process.stdout.write(JSON.stringify([...packages].sort()));
    })();`;
    return JSON.parse(execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: ROOT, encoding: "utf8" })) as string[];
}

describe("the CLI's modules", () => {
    const files = fs.readdirSync(path.join(ROOT, "cli")).filter((f) => f.endsWith(".ts"));

    it("never load dockerode for check, fix, recover or rotate: adopt, backup and restore talk to Docker and the dispatcher loads them when they run; a Swarm deployment's check or recover loads it in cli/swarm.ts then", () => {
        // Every other module of cli/, the dispatcher (nexus-redis.ts) and swarm.ts included, then the packages that came with them.
        const others = files.filter((f) => !DOCKER_MODULE.test(f));
        expect(others).toContain("nexus-redis.ts");
        const loaded = packagesLoadedBy(others);
        expect(loaded).toContain("ioredis"); // the probe sees what the CLI loads
        expect(loaded).not.toContain("dockerode");
        expect(loaded).not.toContain("docker-modem");
    });

    it("load dockerode with adopt, backup and restore (so the probe above would see a static import of them), and backup and restore never the Pulumi SDK", () => {
        expect(files.filter((f) => DOCKER_MODULE.test(f))).toEqual(
            expect.arrayContaining(["adopt.ts", "backup.ts", "restore.ts", "docker.ts"]),
        );
        expect(packagesLoadedBy(["adopt.ts"])).toContain("dockerode");
        for (const command of ["backup.ts", "restore.ts"]) {
            const loaded = packagesLoadedBy([command]);
            expect(loaded).toContain("dockerode");
            // Seconds of start-up for commands that never use it (adopt reads the stack's config with the
            // program's own parser, which brings it, and then runs pulumi up anyway).
            expect(loaded).not.toContain("@pulumi/pulumi");
        }
    });

    it("load dockerode for adopt only once adopt runs", () => {
        // Through the dispatcher: check (here its usage error) leaves it unloaded, adopt loads it.
        const run = (argv: string[]) => `
            const io = { stdout: { write() {} }, stderr: { write() {} }, readStdin: async () => "", projectDir: process.cwd(), env: {},
                run: async () => { throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" }); } };
            await require("./cli/nexus-redis.ts").main(${JSON.stringify(argv)}, io);`;
        expect(packagesLoadedBy([], run(["check", "--outputs", "/nonexistent"]))).not.toContain("dockerode");
        expect(packagesLoadedBy([], run(["adopt", "--dry-run"]))).toContain("dockerode");
    });
});
