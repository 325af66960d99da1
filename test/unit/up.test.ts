/**
 * `npm run up` (scripts/up.sh), a newcomer's second command, against a stand-in `pulumi`
 * that records each call's arguments, environment and folder. The script runs from a copy
 * in a temp project, so the state folder and passphrase it creates never land in this tree.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { bash, executable, scriptProject } from "./scriptProject";

const ROOT = path.resolve(__dirname, "../..");
const UNSET = "<unset>";

interface Call {
    args: string;
    backend: string;
    passphrase: string;
    passphraseFile: string;
    cwd: string;
}

/** A project with scripts/up.sh, and a bin folder whose `pulumi` records its calls and fails when told. */
function setUp({ withPulumi = true, failOn = "" } = {}) {
    const { dir, project, bin } = scriptProject("up", ["scripts/up.sh"]);
    const calls = path.join(dir, "calls");
    if (withPulumi) {
        const field = (name: string) => `\${${name}-${UNSET}}`;
        executable(
            path.join(bin, "pulumi"),
            [
                "#!/bin/sh",
                `printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$*" "${field("PULUMI_BACKEND_URL")}" "${field("PULUMI_CONFIG_PASSPHRASE")}" "${field("PULUMI_CONFIG_PASSPHRASE_FILE")}" "$(pwd)" >> "${calls}"`,
                failOn ? `case "$*" in "${failOn}"*) exit 7 ;; esac` : "",
                "exit 0",
                "",
            ].join("\n"),
        );
    }
    const run = (args: string[] = [], env: Record<string, string> = {}) => {
        const result = bash([path.join(project, "scripts/up.sh"), ...args], { cwd: dir, bin, env });
        const recorded: Call[] = existsSync(calls)
            ? readFileSync(calls, "utf8")
                  .trimEnd()
                  .split("\n")
                  .map((line) => {
                      const [args, backend, passphrase, passphraseFile, cwd] = line.split("\t");
                      return { args, backend, passphrase, passphraseFile, cwd };
                  })
            : [];
        return { status: result.status, stderr: result.stderr, calls: recorded };
    };
    return { project, run };
}

describe("npm run up", () => {
    it("uses a local state folder, selects or creates the dev stack and runs pulumi up, in the project", () => {
        const { project, run } = setUp();
        const result = run();
        expect(result.status).toBe(0);
        expect(result.calls.map((c) => c.args)).toEqual(["stack select --create dev", "up"]);
        for (const call of result.calls) {
            expect(call.backend).toBe(`file://${project}/.pulumi-state`);
            expect(call.cwd).toBe(project);
        }
        expect(statSync(path.join(project, ".pulumi-state")).isDirectory()).toBe(true);
    });

    it("generates a passphrase file of mode 0600 on the first run, says where it is and that it must be kept", () => {
        const { project, run } = setUp();
        const result = run();
        const file = path.join(project, ".pulumi-passphrase");
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(readFileSync(file, "utf8")).toMatch(/^[A-Za-z0-9+/]{40}$/);
        expect(result.stderr).toContain(`generated the passphrase of the stack's secrets in ${file}`);
        expect(result.stderr).toMatch(/Keep it/);
        for (const call of result.calls) {
            expect(call.passphraseFile).toBe(file);
            expect(call.passphrase).toBe(UNSET);
        }
        expect(readdirSync(project).sort()).toEqual([".pulumi-passphrase", ".pulumi-state", "scripts"]);
    });

    it("treats an empty PULUMI_CONFIG_PASSPHRASE as none given: no stack gets an empty passphrase", () => {
        const { project, run } = setUp();
        const result = run([], { PULUMI_CONFIG_PASSPHRASE: "" });
        expect(result.status).toBe(0);
        for (const call of result.calls) {
            expect(call.passphrase).toBe(UNSET);
            expect(call.passphraseFile).toBe(path.join(project, ".pulumi-passphrase"));
        }
    });

    it("keeps the generated passphrase file out of git", () => {
        const ignored = spawnSync("git", ["check-ignore", "--no-index", "-q", ".pulumi-passphrase"], { cwd: ROOT });
        expect(ignored.status).toBe(0);
    });

    it("re-uses the generated passphrase on the next run instead of making a new one", () => {
        const { project, run } = setUp();
        run();
        const first = readFileSync(path.join(project, ".pulumi-passphrase"), "utf8");
        const second = run();
        expect(second.status).toBe(0);
        expect(readFileSync(path.join(project, ".pulumi-passphrase"), "utf8")).toBe(first);
        expect(second.stderr).not.toContain("generated");
        expect(second.calls.slice(2).map((c) => c.passphraseFile)).toEqual([
            path.join(project, ".pulumi-passphrase"),
            path.join(project, ".pulumi-passphrase"),
        ]);
    });

    it("takes the passphrase from PULUMI_CONFIG_PASSPHRASE first, generating nothing and naming no file", () => {
        const { project, run } = setUp();
        const result = run([], { PULUMI_CONFIG_PASSPHRASE: "given one", PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent" });
        expect(result.status).toBe(0);
        for (const call of result.calls) {
            expect(call.passphrase).toBe("given one");
            expect(call.passphraseFile).toBe(UNSET);
        }
        expect(existsSync(path.join(project, ".pulumi-passphrase"))).toBe(false);
    });

    it("takes the passphrase from PULUMI_CONFIG_PASSPHRASE_FILE next, and refuses one it cannot read", () => {
        const { project, run } = setUp();
        const file = path.join(project, "my-passphrase");
        writeFileSync(file, "from a file", { mode: 0o600 });
        const result = run([], { PULUMI_CONFIG_PASSPHRASE_FILE: file });
        expect(result.status).toBe(0);
        expect(result.calls.map((c) => c.passphraseFile)).toEqual([file, file]);
        expect(existsSync(path.join(project, ".pulumi-passphrase"))).toBe(false);

        const missing = setUp().run([], { PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent/passphrase" });
        expect(missing.status).toBe(2);
        expect(missing.stderr).toContain("/nonexistent/passphrase, which cannot be read");
        expect(missing.calls).toEqual([]);
    });

    it("uses the backend PULUMI_BACKEND_URL names instead of the local folder", () => {
        const { project, run } = setUp();
        const result = run([], { PULUMI_BACKEND_URL: "s3://fleet-state", PULUMI_CONFIG_PASSPHRASE: "p" });
        expect(result.status).toBe(0);
        expect(result.calls.map((c) => c.backend)).toEqual(["s3://fleet-state", "s3://fleet-state"]);
        expect(existsSync(path.join(project, ".pulumi-state"))).toBe(false);
    });

    it("selects the stack PULUMI_STACK names and passes extra arguments to pulumi up", () => {
        const result = setUp().run(["--yes", "--skip-preview"], { PULUMI_STACK: "staging", PULUMI_CONFIG_PASSPHRASE: "p" });
        expect(result.status).toBe(0);
        expect(result.calls.map((c) => c.args)).toEqual(["stack select --create staging", "up --yes --skip-preview"]);
    });

    it("stops before pulumi up when the stack cannot be selected or created, and exits with pulumi up's code", () => {
        const select = setUp({ failOn: "stack select" }).run([], { PULUMI_CONFIG_PASSPHRASE: "p" });
        expect(select.status).toBe(7);
        expect(select.calls.map((c) => c.args)).toEqual(["stack select --create dev"]);
        expect(setUp({ failOn: "up" }).run([], { PULUMI_CONFIG_PASSPHRASE: "p" }).status).toBe(7);
    });

    it("says how to install the Pulumi CLI when it is missing, exits 2 and creates nothing", () => {
        const { project, run } = setUp({ withPulumi: false });
        const result = run();
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("the Pulumi CLI (pulumi) is not on PATH");
        expect(result.stderr).toContain("curl -fsSL https://get.pulumi.com | sh");
        expect(readdirSync(project)).toEqual(["scripts"]);
    });
});
