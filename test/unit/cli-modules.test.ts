import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

describe("the CLI's modules", () => {
    it("never load dockerode: the CLI must start fast, and none of its commands talks to Docker yet", () => {
        // Every module of cli/ loaded as the bin loads them, then the packages that came with them.
        const files = fs.readdirSync(path.join(ROOT, "cli")).filter((f) => f.endsWith(".ts"));
        const script = `
            for (const file of ${JSON.stringify(files)}) require("./cli/" + file);
            const packages = new Set(Object.keys(require.cache).map((m) => /node_modules\\/((@[^/]+\\/)?[^/]+)/.exec(m)?.[1]).filter(Boolean));
            process.stdout.write(JSON.stringify([...packages].sort()));`;
        const loaded = JSON.parse(
            execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", script], { cwd: ROOT, encoding: "utf8" }),
        ) as string[];
        expect(loaded).toContain("yaml"); // the probe sees what the CLI loads
        // The CLI speaks RESP itself (cli/resp.ts): ioredis alone took 60-110 ms to load.
        expect(loaded).not.toContain("ioredis");
        expect(loaded).not.toContain("dockerode");
        expect(loaded).not.toContain("docker-modem");
    });
});
