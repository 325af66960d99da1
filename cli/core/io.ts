/**
 * The process's ports, as every command receives them: where output goes, how a program is
 * run, which engine is asked about a container; and what a command module exports. Kept
 * apart from the entry file (main imports the commands; the commands import only this).
 */
import type { CommandRunner } from "./runner";

export interface CliIo {
    stdout: { write(text: string): unknown };
    stderr: { write(text: string): unknown };
    readStdin(): Promise<string>;
    run: CommandRunner;
    /** Folder with Pulumi.yaml, where the Pulumi CLI runs. */
    projectDir: string;
    env: Readonly<Record<string, string | undefined>>;
    /**
     * The Docker engine `check` and `recover` ask why a container's server does not answer
     * (Docker deployments); unset: none is asked, and the report says only what the port did.
     */
    engine?: ContainerSource;
}

/** Something a command opened that must be closed when it ends (a Swarm route's probe container). */
export interface Closeable {
    close(): Promise<void>;
}

/** Parsed options by name (each command's run types them with cli/core/spec.ts's ValuesOf). */
export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** One run of a command: its options, its arguments after the command's name, and where to put what it opens. */
export interface Invocation<V = OptionValues> {
    values: V;
    args: string[];
    /** Closed by the dispatcher when the command ends, however it ends. */
    opened: Closeable[];
}

/** What a command module exports. */
export interface Command {
    run(invocation: Invocation, io: CliIo): Promise<number>;
}

/** What a command module that parses its own options exports. */
export interface OwnCommand {
    runArgv(argv: string[], io: CliIo): Promise<number>;
}

/** What the Docker engine says about a container (cli/docker/engine.ts): asked only when its server did not answer. */
export interface ContainerFacts {
    /** false: the engine has no container of that name. */
    exists: boolean;
    /** State.Status: "running", "exited", "restarting", "paused", "created", "dead", "removing". */
    status?: string;
    /** State.ExitCode of its last run. */
    exitCode?: number;
    /** State.OOMKilled: the kernel killed it for lack of memory. */
    oomKilled?: boolean;
    /** The networks it is attached to, by name. */
    networks: string[];
}

/** Asks the Docker engine about a container by name (cli/docker/engine.ts); rejects when the engine cannot say. */
export interface ContainerSource {
    inspect(name: string, timeoutMs: number): Promise<ContainerFacts>;
}
