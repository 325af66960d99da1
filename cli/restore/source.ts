/**
 * Where the snapshot comes from: --from FILE with its manifest beside it, or a restic snapshot
 * restored into a private temporary folder (removed afterwards, or by the next restore if this one is killed).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type BackupManifest, ManifestError, manifestPathOf, parseManifest } from "../snapshot/manifest";
import { lastLine, resticEnv, resticRestoreCommand, resticSnapshotOf, resticVersionCommand } from "../snapshot/restic";
import { UsageError } from "../core/errors";
import { processAlive } from "../core/owner";
import type { RestoreOptions, RestoreDeps, LocalSnapshot } from "./inputs";
import { Refusal } from "./report";

/** The snapshot as a file on this machine: --from FILE as it is, restic:... restored into a private temporary folder. */
export async function fetchSnapshot(options: RestoreOptions, deps: RestoreDeps, remaining: () => number): Promise<LocalSnapshot> {
    const snapshot = resticSnapshotOf(options.from);
    if (snapshot === undefined) {
        try {
            if (!fs.statSync(options.from).isFile()) throw new UsageError(`--from ${options.from} is not a file`, "restore");
        } catch (e) {
            if (e instanceof UsageError) throw e;
            throw new UsageError(
                `cannot read --from ${options.from}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
                "restore",
            );
        }
        return { file: options.from, manifest: readManifest(manifestPathOf(options.from), options.environment), cleanup: () => undefined };
    }
    const repository = options.resticRepo!;
    try {
        const version = await deps.run(resticVersionCommand(), { capture: true, timeoutMs: 10_000 });
        if (version.exitCode !== 0) throw new UsageError(`\`restic version\` failed: ${lastLine(version.stderr)}`, "restore");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
            throw new UsageError("restic is not on PATH: install it (Debian: restic)", "restore");
        throw e;
    }
    // Private: the snapshot is a secret. Removed afterwards whatever happens, or by the next
    // restore if this one is killed (the folder names its process).
    const target = fs.mkdtempSync(tempFolderPrefix("restore"));
    const cleanup = () => fs.rmSync(target, { recursive: true, force: true });
    try {
        deps.log(`${options.environment}: fetching restic snapshot ${snapshot} from ${repository}`);
        const result = await deps.run(resticRestoreCommand(repository, options.environment, snapshot, target), {
            capture: true,
            env: resticEnv(deps.env),
            timeoutMs: remaining(),
        });
        if (result.exitCode !== 0)
            throw new UsageError(`restic restore ${snapshot} from ${repository} failed: ${lastLine(result.stderr)}`, "restore");
        const rdbs = findFiles(target, ".rdb");
        if (rdbs.length !== 1)
            throw new UsageError(
                `restic snapshot ${snapshot} holds ${rdbs.length} .rdb files; a nexus-redis backup holds one snapshot and its manifest`,
                "restore",
            );
        const manifest = readManifest(manifestPathOf(rdbs[0]), options.environment);
        if (!manifest)
            throw new UsageError(
                `restic snapshot ${snapshot} holds no manifest beside ${path.basename(rdbs[0])}: not a nexus-redis backup`,
                "restore",
            );
        return { file: rdbs[0], manifest, cleanup };
    } catch (e) {
        cleanup();
        throw e;
    }
}

function findFiles(folder: string, suffix: string): string[] {
    return fs
        .readdirSync(folder, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile() && d.name.endsWith(suffix))
        .map((d) => path.join(d.parentPath, d.name));
}

function readManifest(file: string, environment: string): BackupManifest | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
    let manifest: BackupManifest;
    try {
        manifest = parseManifest(text, file);
    } catch (e) {
        if (e instanceof ManifestError) throw new Refusal(`refused, nothing was changed: ${e.message}`);
        throw e;
    }
    if (manifest.environment !== environment) {
        throw new UsageError(
            `the snapshot is a backup of ${manifest.environment} (${file} says so), not of ${environment}: restore it to ${manifest.environment}`,
            "restore",
        );
    }
    return manifest;
}

/** Why an RDB file without its manifest is refused, and how to go on. */
export function noManifestRefusal(from: string): string {
    return (
        `refused, nothing was changed: ${from} has no manifest beside it (${manifestPathOf(from)}). ` +
        "nexus-redis backup writes the manifest last, so this is a backup that did not finish, or a file from elsewhere. " +
        "Restore a backup that has its manifest; or, for an RDB file you know (a dump.rdb copied by hand), give --without-manifest: it is then checked by loading it only"
    );
}

/** Temporary folders restore makes on this machine: `{tmp}/nexus-redis-{what}-pid{pid}-XXXXXX` (mkdtemp: 0700). */
export function tempFolderPrefix(what: "restore" | "aof-base"): string {
    return path.join(os.tmpdir(), `nexus-redis-${what}-pid${process.pid}-`);
}

/** Removes the temporary folders (snapshots: secrets) of restores that were killed (their process is gone); returns them. */
export function removeAbandonedTempFolders(): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
        names = fs.readdirSync(os.tmpdir());
    } catch {
        return removed;
    }
    for (const name of names) {
        const pid = /^nexus-redis-(?:restore|aof-base)-pid(\d+)-[A-Za-z0-9]{6}$/.exec(name)?.[1];
        if (pid === undefined || processAlive(Number(pid))) continue;
        const folder = path.join(os.tmpdir(), name);
        try {
            if (fs.statSync(folder).uid !== process.getuid?.()) continue;
            fs.rmSync(folder, { recursive: true, force: true });
            removed.push(folder);
        } catch {
            // Gone already, or not ours to remove.
        }
    }
    return removed;
}
