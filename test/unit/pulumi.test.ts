import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OutputsError } from "../../cli/core/errors";
import {
    type Invocation,
    PULUMI_NOT_ON_PATH,
    SHOW_STACK_COMMAND,
    configCommand,
    configGetCommand,
    configSetCommand,
    destroyCommand,
    getPasswordsCommand,
    isConfigNotFound,
    previewCommand,
    printable,
    recoverCommand,
    resolveStack,
    runPulumi,
    setPasswordsCommand,
    stackOutputCommand,
    upCommand,
} from "../../cli/core/pulumi";
import { projectDefaults, projectName } from "../../cli/core/pulumiProject";
import type { CommandRunner, RunOptions } from "../../cli/core/runner";
import { FakePulumiStack } from "../../harness/pulumiStack";

const URN = "urn:pulumi:dev::nexus-redis::docker:index/container:Container::nexus3-contact-operational";

// Every argv the CLI hands to Pulumi, byte for byte, with and without --stack: a flag renamed,
// dropped or moved here is a command that no longer does what its caller's tests and docs say.
describe.each<[string, string[], string[]]>([
    ["stack output", stackOutputCommand(undefined), ["pulumi", "stack", "output", "--json", "--show-secrets"]],
    [
        "stack output --stack",
        stackOutputCommand("org/dev"),
        ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", "org/dev"],
    ],
    ["stack --show-name", [...SHOW_STACK_COMMAND], ["pulumi", "stack", "--show-name"]],
    [
        "recover's up (every --target, then every --replace)",
        recoverCommand(["urn:a", "urn:b"], "dev"),
        ["pulumi", "up", "--yes", "--stack", "dev", "--target", "urn:a", "--target", "urn:b", "--replace", "urn:a", "--replace", "urn:b"],
    ],
    ["recover's up without --stack", recoverCommand([URN], undefined), ["pulumi", "up", "--yes", "--target", URN, "--replace", URN]],
    ["rotate's config get", getPasswordsCommand(undefined), ["pulumi", "config", "get", "passwords"]],
    ["rotate's config get --stack", getPasswordsCommand("dev"), ["pulumi", "config", "get", "passwords", "--stack", "dev"]],
    ["rotate's config set", setPasswordsCommand("dev"), ["pulumi", "config", "set", "--secret", "passwords", "--stack", "dev"]],
    ["adopt's config get", configGetCommand("environments", "dev"), ["pulumi", "config", "get", "--stack", "dev", "environments"]],
    ["adopt's config get without --stack", configGetCommand("tls", undefined), ["pulumi", "config", "get", "tls"]],
    ["rollback's config rm", configCommand("rm", "dev"), ["pulumi", "config", "rm", "--stack", "dev"]],
    ["rollback's config set", configCommand("set", undefined), ["pulumi", "config", "set"]],
    ["adopt's preview", previewCommand("dev"), ["pulumi", "preview", "--diff", "--stack", "dev"]],
    ["adopt's up", upCommand("dev"), ["pulumi", "up", "--yes", "--skip-preview", "--stack", "dev"]],
    ["adopt's up without --stack", upCommand(undefined), ["pulumi", "up", "--yes", "--skip-preview"]],
    ["rollback's destroy", destroyCommand("dev"), ["pulumi", "destroy", "--yes", "--skip-preview", "--stack", "dev"]],
])("the %s command", (_name, built, expected) => {
    it("is exactly the argv Pulumi is run with", () => {
        expect(built).toStrictEqual(expected);
    });
});

describe.each<[string, Parameters<typeof configSetCommand>[0], string | undefined, Invocation]>([
    [
        "a plain value, on the command line",
        { key: "containerPrefix", value: "nexus3", secret: false, path: false },
        "dev",
        { command: ["pulumi", "config", "set", "--stack", "dev", "containerPrefix", "nexus3"] },
    ],
    [
        "a secret, on stdin only",
        { key: "passwords", value: '{"contact":{"vault":"s3cret"}}', secret: true, path: false },
        "dev",
        { command: ["pulumi", "config", "set", "--stack", "dev", "--secret", "passwords"], input: '{"contact":{"vault":"s3cret"}}' },
    ],
    [
        "a path into a structured value",
        { key: "environments[2]", value: "contact", secret: false, path: true },
        undefined,
        { command: ["pulumi", "config", "set", "--path", "environments[2]", "contact"] },
    ],
    [
        "a secret at a path",
        { key: "passwords.contact.vault", value: "s3cret", secret: true, path: true },
        undefined,
        { command: ["pulumi", "config", "set", "--secret", "--path", "passwords.contact.vault"], input: "s3cret" },
    ],
])("pulumi config set of %s", (_name, step, stack, expected) => {
    it("puts the flags, the key and the value where Pulumi reads them", () => {
        expect(configSetCommand(step, stack)).toStrictEqual(expected);
    });
});

describe.each<[string, Invocation | string[], string]>([
    ["an argv", ["pulumi", "up", "--yes", "--stack", "org/dev"], "pulumi up --yes --stack org/dev"],
    ["an argument with a space", ["pulumi", "config", "set", "note", "two words"], "pulumi config set note 'two words'"],
    [
        "a value given on stdin",
        { command: ["pulumi", "config", "set", "--secret", "passwords"], input: "s3cret" },
        "pulumi config set --secret passwords  # the value on stdin (secret)",
    ],
])("printable of %s", (_name, invocation, expected) => {
    it("is the command to paste, never the secret", () => {
        expect(printable(invocation)).toBe(expected);
        expect(printable(invocation)).not.toContain("s3cret");
    });
});

describe.each<[string, string, boolean]>([
    ["the missing-key message", "error: configuration key 'nexus-redis:tls' not found for stack 'dev'", true],
    ["another failure", "error: no stack named 'dev' found", false],
])("isConfigNotFound of %s", (_name, stderr, expected) => {
    it("tells a key the stack does not set from a failure", () => {
        expect(isConfigNotFound(stderr)).toBe(expected);
    });
});

function runner(result: { exitCode: number; stdout?: string; stderr?: string } | NodeJS.ErrnoException) {
    const calls: [string[], RunOptions][] = [];
    const run: CommandRunner = async (command, options) => {
        calls.push([command, options]);
        if (result instanceof Error) throw result;
        return { stdout: "", stderr: "", ...result };
    };
    return { run, calls };
}

function enoent(): NodeJS.ErrnoException {
    return Object.assign(new Error("spawn pulumi ENOENT"), { code: "ENOENT" });
}

describe("runPulumi", () => {
    it("runs in the project's folder, giving a value on stdin only when there is one", async () => {
        const { run, calls } = runner({ exitCode: 0 });
        await runPulumi(run, "/project", ["pulumi", "preview"], false, undefined, () => new Error("missing"));
        await runPulumi(run, "/project", ["pulumi", "config", "set"], true, "s3cret", () => new Error("missing"));
        expect(calls).toStrictEqual([
            [["pulumi", "preview"], { cwd: "/project", capture: false }],
            [["pulumi", "config", "set"], { cwd: "/project", capture: true, input: "s3cret" }],
        ]);
    });

    it("turns a missing Pulumi CLI into the caller's error and rethrows anything else", async () => {
        await expect(runPulumi(runner(enoent()).run, "/p", ["pulumi"], true, undefined, () => new Error("no pulumi"))).rejects.toThrow(
            "no pulumi",
        );
        const other = Object.assign(new Error("spawn pulumi EACCES"), { code: "EACCES" });
        await expect(runPulumi(runner(other).run, "/p", ["pulumi"], true, undefined, () => new Error("no pulumi"))).rejects.toBe(other);
    });
});

describe("resolveStack", () => {
    const fail = (message: string) => new Error(message);

    it("takes --stack first, then PULUMI_STACK, and only then asks Pulumi", async () => {
        const { run, calls } = runner({ exitCode: 0, stdout: "selected\n" });
        expect(await resolveStack("given", { run, projectDir: "/p", env: { PULUMI_STACK: "env" } }, fail, "why")).toBe("given");
        expect(await resolveStack(undefined, { run, projectDir: "/p", env: { PULUMI_STACK: "env" } }, fail, "why")).toBe("env");
        expect(calls).toEqual([]);
        expect(await resolveStack(undefined, { run, projectDir: "/p", env: {} }, fail, "why")).toBe("selected");
        expect(calls).toStrictEqual([[["pulumi", "stack", "--show-name"], { cwd: "/p", capture: true }]]);
    });

    it("says how to go on when no stack is selected or Pulumi is missing", async () => {
        await expect(
            resolveStack(
                undefined,
                { run: runner({ exitCode: 255, stderr: "error: no stack selected\n" }).run, projectDir: "/p", env: {} },
                fail,
                "why",
            ),
        ).rejects.toThrow("`pulumi stack --show-name` failed (exit 255): error: no stack selected; pass --stack NAME");
        await expect(
            resolveStack(undefined, { run: runner(enoent()).run, projectDir: "/p", env: {} }, fail, "recover runs `pulumi up`"),
        ).rejects.toThrow(`${PULUMI_NOT_ON_PATH}: recover runs \`pulumi up\``);
    });
});

describe("the project's Pulumi.yaml", () => {
    const dirs: string[] = [];
    const projectDir = (): string => {
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-pulumi-test-"));
        dirs.push(dir);
        return dir;
    };
    afterEach(() => {
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    });

    it("gives the project's name and each key's default as the program receives it", () => {
        const dir = projectDir();
        writeFileSync(
            path.join(dir, "Pulumi.yaml"),
            "name: fleet\nruntime: nodejs\nconfig:\n  containerPrefix:\n    default: nexus3\n  environments:\n    default: [a, b]\n  tls:\n    type: string\n",
        );
        expect(projectName(dir)).toBe("fleet");
        expect(projectDefaults(dir)).toStrictEqual({ containerPrefix: "nexus3", environments: '["a","b"]' });
    });

    it("refuses a Pulumi.yaml without a name, naming the file", () => {
        const dir = projectDir();
        writeFileSync(path.join(dir, "Pulumi.yaml"), "runtime: nodejs\n");
        expect(() => projectName(dir)).toThrow(OutputsError);
        expect(() => projectName(dir)).toThrow(`${path.join(dir, "Pulumi.yaml")} has no "name"`);
    });
});

// The stand-in Pulumi the live tests and benchmarks give the CLI refuses what it does not
// understand: every argv built here must be one it runs, or those tests would run a grammar
// of their own rather than the CLI's. Recover's `up --target --replace` is not among them:
// the stand-in applies whole stacks only, and recover's tests check that argv themselves.
describe.each<[string, (stack: string | undefined) => Invocation]>([
    ["stack output", (stack) => ({ command: stackOutputCommand(stack) })],
    ["stack --show-name", () => ({ command: [...SHOW_STACK_COMMAND] })],
    ["rotate's config get", (stack) => ({ command: getPasswordsCommand(stack) })],
    ["rotate's config set", (stack) => ({ command: setPasswordsCommand(stack), input: "{}" })],
    ["adopt's config get", (stack) => ({ command: configGetCommand("containerPrefix", stack) })],
    ["adopt's config set", (stack) => configSetCommand({ key: "containerPrefix", value: "nexus4", secret: false, path: false }, stack)],
    ["adopt's secret config set", (stack) => configSetCommand({ key: "passwords", value: "{}", secret: true, path: false }, stack)],
    [
        "adopt's config set at a path",
        (stack) => configSetCommand({ key: "environments[1]", value: "track", secret: false, path: true }, stack),
    ],
    ["rollback's config rm", (stack) => ({ command: [...configCommand("rm", stack), "containerPrefix"] })],
    ["rollback's config rm at a path", (stack) => ({ command: [...configCommand("rm", stack), "--path", "environments[0]"] })],
    ["rollback's config set", (stack) => ({ command: [...configCommand("set", stack), "containerPrefix", "nexus3"] })],
    ["adopt's preview", (stack) => ({ command: previewCommand(stack) })],
    ["adopt's up", (stack) => ({ command: upCommand(stack) })],
    ["rollback's destroy", (stack) => ({ command: destroyCommand(stack) })],
])("the stand-in Pulumi (harness/pulumiStack.ts) given %s", (_name, build) => {
    it.each([["dev"], [undefined]])("runs it with --stack %s", async (stack) => {
        const fake = new FakePulumiStack({
            initial: { containerPrefix: "nexus3", passwords: "{}" },
            onUp: async () => {},
            onPreview: async () => {},
            onDestroy: async () => {},
            outputs: () => ({ environments: {} }),
        });
        fake.config.set("environments", ["contact"]);
        const { command, input } = build(stack);
        const result = await fake.runner(command, { capture: true, ...(input === undefined ? {} : { input }) });
        expect(result.stderr).toBe("");
        expect(result.exitCode).toBe(0);
    });
});
