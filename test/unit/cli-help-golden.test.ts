/**
 * Today's help pages, byte for byte, as golden files (test/unit/fixtures/help/): the specs that
 * will build --help from each command's options (issue 21) must print the same pages, or the
 * diff of a golden file shows a reviewer exactly what changed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./cliRun";

const GOLDEN = path.join(__dirname, "fixtures", "help");

describe.each([
    { argv: ["--help"], file: "main.txt" },
    { argv: ["help"], file: "main.txt" },
    { argv: ["check", "-h"], file: "main.txt" },
    { argv: ["backup", "--help"], file: "backup.txt" },
    { argv: ["restore", "--help"], file: "restore.txt" },
])("nexus-redis $argv", ({ argv, file }) => {
    it(`prints ${file} exactly, on stdout, and exits 0`, async () => {
        const run = await cli(argv);
        expect(run.code).toBe(0);
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe(fs.readFileSync(path.join(GOLDEN, file), "utf8"));
    });
});
