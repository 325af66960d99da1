import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

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
    it("never load dockerode on check's and recover's path: the CLI must start fast, and only adopt and a Swarm deployment's check or recover (cli/swarm.ts loads it then) talk to Docker", () => {
        // Every module of cli/ but adopt's own, loaded as the bin loads them, then `--help` run.
        const files = fs.readdirSync(path.join(ROOT, "cli")).filter((f) => f.endsWith(".ts") && !f.startsWith("adopt"));
        expect(files).toContain("nexus-redis.ts");
        const loaded = packagesLoadedBy(files);
        expect(loaded).toContain("ioredis"); // the probe sees what the CLI loads
        expect(loaded).not.toContain("dockerode");
        expect(loaded).not.toContain("docker-modem");
    });

    it("load dockerode for adopt, and only once adopt runs", () => {
        // The probe can see dockerode: adopt's modules bring it.
        expect(packagesLoadedBy(["adopt.ts"])).toContain("dockerode");
        // Through the dispatcher: check (here its usage error) leaves it unloaded, adopt loads it.
        const run = (argv: string[]) => `
            const io = { stdout: { write() {} }, stderr: { write() {} }, readStdin: async () => "", projectDir: process.cwd(), env: {},
                run: async () => { throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" }); } };
            await require("./cli/nexus-redis.ts").main(${JSON.stringify(argv)}, io);`;
        expect(packagesLoadedBy([], run(["check", "--outputs", "/nonexistent"]))).not.toContain("dockerode");
        expect(packagesLoadedBy([], run(["adopt", "--dry-run"]))).toContain("dockerode");
    });
});
