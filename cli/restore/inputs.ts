/** What one restore runs on: its options (the command line's), its ports, and the snapshot as a file on this machine. */
import type { BackupManifest } from "../snapshot/manifest";
import type { Docker } from "../docker/client";
import type { CommandRunner } from "../core/runner";

export interface RestoreOptions {
    environment: string;
    from: string;
    force: boolean;
    withoutManifest: boolean;
    json: boolean;
    resticRepo?: string;
    outputs?: string;
    stack?: string;
    timeoutMs: number;
}

export interface RestoreDeps {
    docker: Docker;
    run: CommandRunner;
    env: Readonly<Record<string, string | undefined>>;
    log(message: string): void;
    now(): Date;
}

/** Where the snapshot to restore is on this machine, and how to clean up after. */
export interface LocalSnapshot {
    file: string;
    manifest?: BackupManifest;
    cleanup(): void;
}
