import { describe, expect, it } from "vitest";
import { spawnRunner } from "../../cli/core/runner";

describe("the CLI's command runner", () => {
    it("gives the child extra environment variables (how passwords reach redis-cli and restic), not argv", async () => {
        const result = await spawnRunner(["sh", "-c", 'printf "%s" "$REDISCLI_AUTH"; printf "%s" "$#" >&2'], {
            capture: true,
            env: { REDISCLI_AUTH: "not-in-argv" },
        });
        expect(result).toEqual({ exitCode: 0, stdout: "not-in-argv", stderr: "0" });
    });

    it("keeps this process's environment beside the extra variables", async () => {
        const result = await spawnRunner(["sh", "-c", 'printf "%s" "$PATH"'], { capture: true, env: { EXTRA: "1" } });
        expect(result.stdout).toBe(process.env.PATH);
    });

    it("stops a child that runs past its timeout, and says so", async () => {
        const started = Date.now();
        const result = await spawnRunner(["sleep", "30"], { capture: true, timeoutMs: 200 });
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(result.timedOut).toBe(true);
        expect(result.exitCode).not.toBe(0);
    });

    it("does not report a timeout for a child that finished in time", async () => {
        const result = await spawnRunner(["true"], { capture: true, timeoutMs: 5_000 });
        expect(result).toEqual({ exitCode: 0, stdout: "", stderr: "" });
    });

    it("rejects with ENOENT when the program is not installed", async () => {
        await expect(spawnRunner(["no-such-program-nexus"], { capture: true })).rejects.toMatchObject({ code: "ENOENT" });
    });
});
