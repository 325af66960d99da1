/** Step 1 of restore.ts's header: the snapshot verified (sha256, manifest, a load in a scratch server) before anything is touched. */
import { IN_CONTAINER_TLS, vaultSettings } from "../../components/redisServer";
import { readHead, sha256File } from "../snapshot/files";
import { type BackupManifest, MANIFEST_FORMAT_1, manifestKeysOf } from "../snapshot/manifest";
import { RdbFormatError, type SnapshotOrigin, parseRdbHeader, snapshotOrigin } from "../snapshot/rdb";
import type { VaultContainer } from "../snapshot/vaultContainer";
import {
    DEFAULT_DATABASES,
    type ScratchResult,
    SnapshotInvalidError,
    TooManyDatabasesError,
    databasesNeeded,
    loadInScratch,
} from "../snapshot/verify";
import { type Docker, exec } from "../docker/client";
import { describeDatabases } from "../redis/keyspace";
import { formatBytes } from "../core/format";
import { short } from "./plan";
import type { RestoreOptions, RestoreDeps, LocalSnapshot } from "./inputs";
import { type RestoreReport, Refusal } from "./report";

/**
 * The vault's `databases`: a snapshot must load on it. Read from the running vault; a stopped
 * one has what the program declares (it declares none: Redis's default, 16).
 */
export async function vaultDatabases(docker: Docker, vault: VaultContainer, password: string, timeoutMs: number): Promise<number> {
    const declared = Number(vaultSettings().databases ?? DEFAULT_DATABASES);
    if (!vault.running) return declared;
    const result = await exec(docker, vault.name, ["sh", "-c", `${IN_CONTAINER_TLS}redis-cli "$@" config get databases`, "databases"], {
        env: [`REDISCLI_AUTH=${password}`],
        timeoutMs: Math.min(timeoutMs, 10_000),
    }).catch(() => undefined);
    const value = Number(result?.stdout.trim().split(/\r?\n/)[1]);
    return result?.exitCode === 0 && Number.isInteger(value) && value > 0 ? value : declared;
}

/**
 * Step 1 of the header: the snapshot checked against its manifest (sha256), loaded in a scratch
 * server with the vault's databases, and its content checked against the manifest again. Any
 * mismatch refuses before anything is touched.
 */
export async function verifySnapshot(
    local: LocalSnapshot,
    vault: VaultContainer,
    databases: number,
    options: RestoreOptions,
    deps: RestoreDeps,
    remaining: () => number,
    report: RestoreReport,
): Promise<ScratchResult> {
    const where = options.from;
    const { sha256, bytes } = await sha256File(local.file);
    if (local.manifest && local.manifest.sha256 !== sha256) {
        throw new Refusal(
            `refused, nothing was changed: ${where}'s sha256 is ${sha256.slice(0, 12)}, its manifest says ${local.manifest.sha256.slice(0, 12)}: the file is corrupt or was changed since the backup`,
        );
    }
    if (!local.manifest) deps.log(`${options.environment}: ${where} has no manifest beside it: checked by loading it only`);
    let origin: SnapshotOrigin;
    let content: ScratchResult;
    try {
        origin = snapshotOrigin(parseRdbHeader(readHead(local.file)));
        deps.log(`${options.environment}: verifying ${where} (${formatBytes(bytes)}) in a scratch server of ${vault.name}'s image`);
        content = await loadInScratch({ docker: deps.docker, vault, file: local.file, timeoutMs: remaining(), databases });
    } catch (e) {
        throw await notLoadable(e, where, local.file, vault, databases, deps, remaining);
    }
    if (local.manifest) manifestAgrees(local.manifest, content, where);
    report.snapshot = {
        ...content,
        sha256,
        bytes,
        redis: origin,
        manifest: !!local.manifest,
        createdAt: local.manifest?.createdAt ?? null,
    };
    deps.log(
        `${options.environment}: the snapshot loads: ${content.keys} keys (${describeDatabases(content.databases ?? {})}; ${content.expiringKeys} with an expiry), DEBUG DIGEST ${short(content.digest)}`,
    );
    return content;
}

/**
 * What to throw when the snapshot did not load: a refusal saying why (more databases than the
 * vault has, and how many it needs; not an RDB; empty), else the error itself.
 */
async function notLoadable(
    e: unknown,
    where: string,
    file: string,
    vault: VaultContainer,
    databases: number,
    deps: RestoreDeps,
    remaining: () => number,
): Promise<unknown> {
    if (e instanceof TooManyDatabasesError) {
        const needed = await databasesNeeded({ docker: deps.docker, vault, file, timeoutMs: remaining() }).catch(() => undefined);
        return new Refusal(
            `refused, nothing was changed: ${where} holds keys in database ${needed === undefined ? `${databases} or above` : needed - 1}, ` +
                `and ${vault.name} has ${databases} databases (databases ${databases}): Redis refuses to load such a file, so the vault would not start on it. ` +
                `Restore it onto a vault with at least ${needed ?? databases + 1} databases, or load it into a Redis server of your own (redis-server --databases ${needed ?? "N"}) and move its keys into databases 0 to ${databases - 1}`,
        );
    }
    if (e instanceof RdbFormatError || e instanceof SnapshotInvalidError)
        return new Refusal(`refused, nothing was changed: ${where} is not a snapshot that loads: ${e.message}`);
    return e;
}

/** Refuses a snapshot whose loaded keys or digest are not what its manifest recorded. */
function manifestAgrees(manifest: BackupManifest, content: ScratchResult, where: string): void {
    const manifestKeys = manifestKeysOf(manifest, content);
    if (manifest.digest !== content.digest || manifest.keys !== manifestKeys) {
        const counted =
            manifest.format === MANIFEST_FORMAT_1 ? ` (${manifestKeys} in database 0, which a ${MANIFEST_FORMAT_1} manifest counts)` : "";
        throw new Refusal(
            `refused, nothing was changed: ${where} loads with ${content.keys} keys${counted} and DEBUG DIGEST ${short(content.digest)}, its manifest says ${manifest.keys} and ${short(manifest.digest)}`,
        );
    }
}
