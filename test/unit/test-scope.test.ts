import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const SCRIPT = path.resolve(__dirname, "../../scripts/test-scope.sh");

function scope(args: string[]): string {
    return execFileSync("bash", [SCRIPT, ...args], { encoding: "utf8" }).trim();
}

describe("npm test's choice between the unit tests alone and everything", () => {
    it.each([
        [["--project", "unit"]],
        [["--project=unit"]],
        [["--project", "unit", "--reporter", "verbose"]],
        [["--reporter=dot", "--project=unit", "test/unit/config.test.ts"]],
        [["--project", "unit", "--project=unit"]],
    ])("runs only the unit tests, with no Docker engine, for %j", (args) => {
        expect(scope(args)).toBe("unit");
    });

    it.each([
        [[]],
        [["--project", "live"]],
        [["--project", "unit", "--project", "live"]],
        [["--project=unit", "--project=live"]],
        [["--project", "u*"]],
        [["--project"]],
        [["test/unit/config.test.ts"]],
    ])("sets up Docker and runs everything asked for, for %j", (args) => {
        expect(scope(args)).toBe("all");
    });
});
