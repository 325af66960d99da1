/**
 * A stand-in for the Pulumi CLI of one stack, as a `CommandRunner` (cli/core/runner.ts): the
 * live tests and benchmarks hand it to the CLI, which then configures and applies "the
 * stack" exactly as it would with Pulumi, and the commands it ran are recorded.
 *
 * It keeps the stack's configuration the way Pulumi.<stack>.yaml does: a plain value per key,
 * or a structured one where `--path` built it, and which keys are secret. `pulumi up` checks
 * every value against the type Pulumi.yaml declares (as Pulumi does: an array key set to a
 * string fails), then hands the configuration, in the form the program reads it (strings,
 * structured values as JSON), to `onUp`, which applies it with the Docker harness.
 *
 * Only what nexus-redis runs is understood; anything else is an error, so a new command in
 * the CLI cannot pass unnoticed.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import type { CommandRunner, RunResult } from "../cli/core/runner";

/** The configuration as the program receives it: `values` (`-c KEY=VALUE`) and `secrets` (`--secret KEY=VALUE`). */
export interface StackConfig {
    values: Record<string, string>;
    secrets: Record<string, string>;
}

export interface FakeStackOptions {
    /** The stack's name (`pulumi stack --show-name`). Default `dev`. */
    stack?: string;
    /** Values the stack holds before anything runs (unqualified keys, plain strings). */
    initial?: Record<string, string>;
    /** `pulumi up`: applies the configuration; a throw is a failed update. */
    onUp?: (config: StackConfig) => Promise<void>;
    /** `pulumi destroy`: removes every resource of the stack; a throw is a failed destroy. */
    onDestroy?: () => Promise<void>;
    /** `pulumi preview`: plans the configuration, changing nothing; a throw is a failed preview. */
    onPreview?: (config: StackConfig) => Promise<void>;
    /** `pulumi stack output --json --show-secrets`: the outputs, `{"environments": ...}`. */
    outputs?: () => unknown;
    /** Folder with Pulumi.yaml (declared keys and types). */
    projectDir?: string;
}

const ROOT = path.resolve(__dirname, "..");

interface Declared {
    type: string;
    items?: { type: string };
}

export class FakePulumiStack {
    readonly name: string;
    readonly project: string;
    /** Key (unqualified) → its value: a string, or a structured value built with --path. */
    readonly config = new Map<string, unknown>();
    readonly secret = new Set<string>();
    /** Every command run, in order. */
    readonly commands: string[][] = [];
    /** What each command was given on stdin (a secret value), by the command's index. */
    readonly inputs = new Map<number, string>();
    private readonly declared: Record<string, Declared>;

    constructor(private readonly options: FakeStackOptions = {}) {
        this.name = options.stack ?? "dev";
        const project = parse(readFileSync(path.join(options.projectDir ?? ROOT, "Pulumi.yaml"), "utf8")) as {
            name: string;
            config: Record<string, Declared>;
        };
        this.project = project.name;
        this.declared = project.config;
        for (const [k, v] of Object.entries(options.initial ?? {})) this.config.set(k, v);
    }

    /** The runner to give the CLI. */
    readonly runner: CommandRunner = async (command, options) => {
        this.commands.push(command);
        if (options.input !== undefined) this.inputs.set(this.commands.length - 1, options.input);
        try {
            return await this.handle(command, options.input);
        } catch (e) {
            return { exitCode: 255, stdout: "", stderr: `error: ${(e as Error).message}\n` };
        }
    };

    /** The configuration as the program would receive it on `pulumi up`. */
    programConfig(): StackConfig {
        const values: Record<string, string> = {};
        const secrets: Record<string, string> = {};
        for (const [key, value] of this.config) {
            const text = typeof value === "string" ? value : JSON.stringify(value);
            if (this.secret.has(key)) secrets[key] = text;
            else values[key] = text;
        }
        return { values, secrets };
    }

    private async handle(command: string[], input: string | undefined): Promise<RunResult> {
        if (command[0] !== "pulumi") throw new Error(`not a pulumi command: ${command.join(" ")}`);
        const args = command.slice(1);
        const flags = new Set<string>();
        const positional: string[] = [];
        for (let i = 0; i < args.length; i++) {
            if (args[i] === "--stack") {
                if (args[i + 1] !== this.name) throw new Error(`no stack ${args[i + 1]} (this one is ${this.name})`);
                i++;
            } else if (args[i].startsWith("--")) flags.add(args[i]);
            else positional.push(args[i]);
        }
        const ok = (stdout = ""): RunResult => ({ exitCode: 0, stdout, stderr: "" });
        const [verb, sub, ...rest] = positional;
        if (verb === "config" && sub === "get" && rest.length === 1 && flags.size === 0) {
            const key = this.key(rest[0]);
            if (!this.config.has(key))
                return {
                    exitCode: 255,
                    stdout: "",
                    stderr: `error: configuration key '${this.project}:${key}' not found for stack '${this.name}'\n`,
                };
            const value = this.config.get(key);
            return ok(`${typeof value === "string" ? value : JSON.stringify(value)}\n`);
        }
        if (verb === "config" && sub === "set" && [...flags].every((f) => f === "--secret" || f === "--path")) {
            // Without a value on the command line, Pulumi reads it from stdin.
            const value = rest.length === 2 ? rest[1] : rest.length === 1 ? input : undefined;
            if (value === undefined) throw new Error(`config set needs a key and a value (or the value on stdin): ${command.join(" ")}`);
            this.set(rest[0], value, flags.has("--path"));
            if (flags.has("--secret")) this.secret.add(this.key(rest[0].replace(/\[.*$/, "")));
            return ok();
        }
        if (verb === "config" && sub === "rm" && rest.length === 1) {
            if (flags.has("--path")) {
                const { key, index } = this.path(rest[0]);
                (this.config.get(key) as unknown[]).splice(index, 1);
            } else this.config.delete(this.key(rest[0]));
            return ok();
        }
        if (verb === "stack" && sub === undefined && flags.has("--show-name")) return ok(`${this.name}\n`);
        if (verb === "stack" && sub === "output" && flags.has("--json") && flags.has("--show-secrets")) {
            if (!this.options.outputs) throw new Error("this stack has no outputs");
            return ok(`${JSON.stringify(this.options.outputs(), null, 2)}\n`);
        }
        if (verb === "preview" && sub === undefined) {
            this.checkTypes();
            if (!this.options.onPreview) throw new Error("this stack cannot be previewed");
            await this.options.onPreview(this.programConfig());
            return ok();
        }
        if (verb === "destroy" && sub === undefined && flags.has("--yes")) {
            if (!this.options.onDestroy) throw new Error("this stack cannot be destroyed");
            await this.options.onDestroy();
            return ok();
        }
        if (verb === "up" && sub === undefined && flags.has("--yes")) {
            this.checkTypes();
            if (!this.options.onUp) throw new Error("this stack cannot be applied");
            await this.options.onUp(this.programConfig());
            return ok();
        }
        throw new Error(`the fake Pulumi does not understand: ${command.join(" ")}`);
    }

    private key(name: string): string {
        const key = name.startsWith(`${this.project}:`) ? name.slice(this.project.length + 1) : name;
        if (key.includes(":")) throw new Error(`configuration key ${name} is not of project ${this.project}`);
        return key;
    }

    private path(name: string): { key: string; index: number } {
        const match = /^([^[]+)\[(\d+)\]$/.exec(name);
        if (!match) throw new Error(`this fake understands --path KEY[INDEX] only, got ${name}`);
        return { key: this.key(match[1]), index: Number(match[2]) };
    }

    private set(name: string, value: string, isPath: boolean): void {
        if (!isPath) {
            this.config.set(this.key(name), value);
            return;
        }
        const { key, index } = this.path(name);
        const current = this.config.get(key) ?? [];
        if (!Array.isArray(current)) throw new Error(`${key} is not a list`);
        // As Pulumi: an index may replace an item or append one, nothing beyond.
        if (index > current.length) throw new Error(`array index ${index} out of range for ${key} (length ${current.length})`);
        const next = [...current];
        next[index] = value;
        this.config.set(key, next);
    }

    /** As Pulumi validates the stack's configuration against Pulumi.yaml's declared types. */
    private checkTypes(): void {
        for (const [key, value] of this.config) {
            const declared = this.declared[key];
            if (!declared) throw new Error(`configuration key '${this.project}:${key}' is not declared in Pulumi.yaml`);
            const fail = () => {
                throw new Error(`Stack '${this.name}' with configuration key '${key}' must be of type '${declared.type}'`);
            };
            if (declared.type === "array") {
                if (!Array.isArray(value) || value.some((v) => typeof v !== declared.items?.type)) fail();
            } else if (typeof value !== "string") fail();
            else if (declared.type === "boolean" && value !== "true" && value !== "false") fail();
            else if (declared.type === "integer" && !/^-?\d+$/.test(value)) fail();
        }
    }
}
