import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadOutputs, parseOutputs } from "../../cli/fleet/outputs";
import { OutputsError } from "../../cli/core/errors";
import { stackOutputCommand } from "../../cli/core/pulumi";
import type { CommandRunner, RunOptions } from "../../cli/core/runner";
import { contact, fleetOutputs, user } from "./cli-samples";

const stackOutput = JSON.stringify({ environments: fleetOutputs });

function errorOf(fn: () => unknown): string {
    try {
        fn();
    } catch (e) {
        expect(e).toBeInstanceOf(OutputsError);
        return (e as Error).message;
    }
    throw new Error("expected an OutputsError");
}

/** `fleetOutputs` with one value replaced at a dotted path. */
function withValue(pathText: string, value: unknown): string {
    const copy = JSON.parse(stackOutput);
    const keys = pathText.split(".");
    let node = copy;
    for (const key of keys.slice(0, -1)) node = node[key];
    if (value === undefined) delete node[keys[keys.length - 1]];
    else node[keys[keys.length - 1]] = value;
    return JSON.stringify(copy);
}

describe("the shapes the CLI accepts", () => {
    it("reads `pulumi stack output --json --show-secrets`", () => {
        expect(parseOutputs(stackOutput, "f")).toEqual(fleetOutputs);
    });

    it("reads the offline plan's document (`synth --show-secrets`), whose outputs field has the same shape", () => {
        const plan = JSON.stringify({ project: "nexus-redis", stack: "dev", resources: [], outputs: { environments: fleetOutputs } });
        expect(parseOutputs(plan, "f")).toEqual(fleetOutputs);
    });

    it("keeps the stack's order of environments", () => {
        expect(Object.keys(parseOutputs(stackOutput, "f"))).toEqual(["contact", "kb", "user"]);
    });
});

describe.each<[string, string, RegExp]>([
    [
        "text that is not JSON",
        "{nope",
        /^f is not JSON: it stops being JSON at line 1, column 2 .*pulumi stack output --json --show-secrets/,
    ],
    ["a JSON array", "[]", /must hold a JSON object with an "environments" key/],
    ["no environments key", JSON.stringify({ other: 1 }), /f has no "environments" key: expected \{"environments": \{\.\.\.\}\}/],
    [
        "environments that are not an object",
        JSON.stringify({ environments: [1] }),
        /^environments must be an object of environments by name, got an array/,
    ],
    ["no environment at all", JSON.stringify({ environments: {} }), /environments is empty/],
    [
        "an unknown kind",
        withValue("environments.contact.kind", "replica"),
        /environments\.contact\.kind must be "standard" or "secure", got "replica"/,
    ],
    [
        "a port that is a string",
        withValue("environments.contact.vault.port", "6630"),
        /environments\.contact\.vault\.port must be a port number \(1-65535\), got "6630"/,
    ],
    [
        "a port out of range",
        withValue("environments.kb.operational.port", 70000),
        /environments\.kb\.operational\.port must be a port number \(1-65535\), got 70000/,
    ],
    [
        "a missing container name",
        withValue("environments.contact.vault.container", undefined),
        /environments\.contact\.vault\.container must be a non-empty string, got nothing \(the key is missing\)/,
    ],
    [
        "a missing replication block",
        withValue("environments.kb.replication", undefined),
        /environments\.kb\.replication must be an object, got nothing/,
    ],
    [
        "a password that is a number",
        withValue("environments.user.vault.password", 1234),
        /environments\.user\.vault\.password must be a non-empty string, got a number/,
    ],
    [
        "a missing password: its kind, never 'a undefined'",
        withValue("environments.user.vault.password", undefined),
        /environments\.user\.vault\.password must be a non-empty string, got nothing \(the key is missing\)/,
    ],
    [
        "an empty password",
        withValue("environments.contact.operational.adminPassword", ""),
        /environments\.contact\.operational\.adminPassword must be a non-empty string, got an empty string/,
    ],
    [
        "a password that is null",
        withValue("environments.contact.backup.password", null),
        /environments\.contact\.backup\.password must be a non-empty string, got null$/m,
    ],
    [
        "a password that is a boolean",
        withValue("environments.contact.backup.password", true),
        /environments\.contact\.backup\.password must be a non-empty string, got a boolean$/m,
    ],
    [
        "a block that is a string (a password one level too high): its kind, not its value",
        withValue("environments.kb.replication", "hunter2"),
        /environments\.kb\.replication must be an object, got a string$/m,
    ],
    [
        "a value still unknown (a preview's outputs)",
        withValue("environments.contact.operational.host", "[unknown]"),
        /environments\.contact\.operational\.host is "\[unknown\]": the stack is not deployed yet/,
    ],
    [
        "an environment named .. (backup writes into --to/NAME/: its parent folder)",
        JSON.stringify({ environments: { "..": contact } }),
        /environments: "\.\." is not an environment name the program makes \(lowercase letters, digits and -, starting with a letter, at most 32\)$/m,
    ],
    [
        "an environment name with a slash",
        JSON.stringify({ environments: { "a/b": contact } }),
        /environments: "a\/b" is not an environment name the program makes/,
    ],
    [
        "an environment name with a quote and a newline (Prometheus label values, file names)",
        JSON.stringify({ environments: { 'we"ird\nx': contact } }),
        /environments: "we\\"ird\\nx" is not an environment name the program makes/,
    ],
])("outputs with %s", (_what, text, expected) => {
    it("are a configuration error naming the offending key", () => {
        expect(errorOf(() => parseOutputs(text, "f"))).toMatch(expected);
    });
});

describe("outputs printed without --show-secrets", () => {
    it("tell the user to pass --show-secrets when a password is hidden", () => {
        const message = errorOf(() => parseOutputs(withValue("environments.contact.vault.password", "[secret]"), "f"));
        expect(message).toMatch(/environments\.contact\.vault\.password is "\[secret\]"/);
        expect(message).toMatch(/pass --show-secrets/);
    });

    it("tell the user to pass --show-secrets when the whole output is hidden, as Pulumi does for outputs holding secrets", () => {
        expect(errorOf(() => parseOutputs(JSON.stringify({ environments: "[secret]" }), "f"))).toMatch(
            /^environments is "\[secret\]": .*pass --show-secrets/,
        );
    });

    it("list every problem at once", () => {
        const text = JSON.stringify({
            environments: {
                contact: { ...contact, vault: { ...contact.vault, password: "[secret]", port: 0 } },
                user: { ...user, kind: "?" },
            },
        });
        const message = errorOf(() => parseOutputs(text, "f"));
        expect(message).toMatch(/^invalid stack outputs \(4 problems\)/);
        expect(message).toMatch(/environments\.contact\.vault\.port/);
        expect(message).toMatch(/environments\.user\.kind/);
    });

    it("never echo a password, even a malformed one", () => {
        const message = errorOf(() => parseOutputs(withValue("environments.contact.replication.password", ["hunter2"]), "f"));
        expect(message).toMatch(/environments\.contact\.replication\.password must be a non-empty string, got an array/);
        expect(message).not.toContain("hunter2");
    });
});

describe("where the outputs come from", () => {
    const unusedRunner: CommandRunner = async () => {
        throw new Error("the Pulumi CLI must not run when --outputs is given");
    };

    it("reads --outputs FILE", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-cli-"));
        const file = path.join(dir, "outputs.json");
        writeFileSync(file, stackOutput);
        expect(await loadOutputs({ file }, { readStdin: async () => "", run: unusedRunner, projectDir: dir })).toEqual(fleetOutputs);
    });

    it("names a file it cannot read", async () => {
        await expect(
            loadOutputs({ file: "/nonexistent/outputs.json" }, { readStdin: async () => "", run: unusedRunner, projectDir: "/" }),
        ).rejects.toThrow("cannot read --outputs /nonexistent/outputs.json: ENOENT");
    });

    it("reads stdin for --outputs -", async () => {
        expect(await loadOutputs({ file: "-" }, { readStdin: async () => stackOutput, run: unusedRunner, projectDir: "/" })).toEqual(
            fleetOutputs,
        );
    });

    it("runs `pulumi stack output --json --show-secrets` in the project, with --stack when given", async () => {
        const calls: [string[], RunOptions][] = [];
        const runner: CommandRunner = async (command, options) => {
            calls.push([command, options]);
            return { exitCode: 0, stdout: stackOutput, stderr: "" };
        };
        expect(await loadOutputs({ stack: "prod" }, { readStdin: async () => "", run: runner, projectDir: "/project" })).toEqual(
            fleetOutputs,
        );
        expect(calls).toEqual([
            [["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", "prod"], { cwd: "/project", capture: true }],
        ]);
        expect(stackOutputCommand(undefined)).toEqual(["pulumi", "stack", "output", "--json", "--show-secrets"]);
    });

    it("explains a missing Pulumi CLI and how to pass the outputs instead", async () => {
        const runner: CommandRunner = async () => {
            throw Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
        };
        await expect(loadOutputs({}, { readStdin: async () => "", run: runner, projectDir: "/" })).rejects.toThrow(
            /the Pulumi CLI \(pulumi\) is not on PATH: install it, or pass the outputs with --outputs FILE/,
        );
    });

    it("reports Pulumi's own error when it fails", async () => {
        const runner: CommandRunner = async () => ({ exitCode: 255, stdout: "", stderr: "error: no stack named 'prod' found\n" });
        await expect(loadOutputs({ stack: "prod" }, { readStdin: async () => "", run: runner, projectDir: "/" })).rejects.toThrow(
            "`pulumi stack output --json --show-secrets --stack prod` failed (exit 255): error: no stack named 'prod' found",
        );
    });
});

describe("an environment name a hand-written outputs file puts control characters in", () => {
    it("is quoted, escaped, in the error: never written raw to the terminal", () => {
        const error = errorOf(() => parseOutputs(JSON.stringify({ environments: { "a\u001b[2Jb\nc": contact } }), "f"));
        expect(error).toContain('"a\\u001b[2Jb\\nc" is not an environment name');
        expect(error).not.toContain(String.fromCharCode(0x1b));
        expect(error).not.toContain("b\nc");
    });
});
