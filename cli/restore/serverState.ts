/** What a server (the vault, the operational) holds, read inside its container: keys of every database, and its DEBUG DIGEST when needed. */
import { IN_CONTAINER_TLS } from "../../components/redisServer";
import type { SnapshotContent } from "../snapshot/manifest";
import { lastLine } from "../snapshot/restic";
import type { VaultContainer } from "../snapshot/vaultContainer";
import { type Docker, exec, isNotFound } from "../docker/client";
import { type Keyspace, KeyspaceError, parseKeyspace } from "../redis/keyspace";
import type { EnvironmentOutput } from "../fleet/environment";
import { parseInfo } from "../redis/replies";
import type { ServerState } from "./plan";

/**
 * A sh -c script that prints INFO keyspace (every database's keys: DBSIZE counts database 0
 * only), memory, replication and persistence, `@@` between them.
 */
const STATE_SCRIPT = `${IN_CONTAINER_TLS}redis-cli "$@" info keyspace && echo @@ && redis-cli "$@" info memory && echo @@ &&
redis-cli "$@" info replication && echo @@ && redis-cli "$@" info persistence`;

/** What a server holds, and (when `digest` says so, given what it holds) its DEBUG DIGEST. */
export interface StateRead extends ServerState {
    /** INFO replication's master_link_status (a replica's). */
    link?: string;
    /** Changes since the last save and the last save's time: equal twice means no write in between. */
    writeMark?: string;
    /** rdb_changes_since_last_save: writes since the server started (a restored vault starts at 0) or last saved. */
    changes?: number;
    /** rdb_last_save_time. */
    lastSave?: string;
}

/**
 * What a server holds, read inside its container with redis-cli (loopback: DEBUG is allowed
 * there only; the password through REDISCLI_AUTH, never argv). DEBUG DIGEST blocks the server
 * while it runs (seconds for a million keys), so it is asked only when `digest` needs it, and
 * always when no key is listed (then it costs nothing, and "empty" rests on the digest too).
 */
export async function serverState(
    docker: Docker,
    container: VaultContainer | string,
    password: string,
    user: string | undefined,
    timeoutMs: number,
    digest: (state: StateRead) => boolean,
): Promise<StateRead> {
    const name = typeof container === "string" ? container : container.name;
    try {
        const running = typeof container === "string" ? (await docker.getContainer(name).inspect()).State.Running : container.running;
        if (!running) return { unavailable: `container ${name} is not running` };
    } catch (e) {
        if (isNotFound(e)) return { unavailable: `there is no container ${name}` };
        throw e;
    }
    const cli = async (script: string) => {
        const args = user ? ["--user", user] : [];
        return exec(docker, name, ["sh", "-c", script, "state", ...args], { env: [`REDISCLI_AUTH=${password}`], timeoutMs });
    };
    const result = await cli(STATE_SCRIPT);
    const [keyspaceText, memory, replication, persistence] = result.stdout.split(/\r?\n@@\r?\n/).map((p) => p.trim());
    let keyspace: Keyspace | undefined;
    try {
        keyspace = persistence === undefined ? undefined : parseKeyspace(keyspaceText);
    } catch (e) {
        if (!(e instanceof KeyspaceError)) throw e;
    }
    if (result.exitCode !== 0 || keyspace === undefined || !/^# Persistence/m.test(persistence ?? "")) {
        return { unavailable: `redis-cli in ${name} answered ${JSON.stringify(lastLine(result.output)).slice(0, 120)}` };
    }
    const dataset = parseInfo(memory).used_memory_dataset;
    const saves = parseInfo(persistence);
    const state: StateRead = {
        keys: keyspace.keys,
        expiringKeys: keyspace.expiringKeys,
        databases: keyspace.databases,
        datasetBytes: dataset === undefined ? undefined : Number(dataset),
        link: parseInfo(replication).master_link_status,
        writeMark: `${saves.rdb_changes_since_last_save}@${saves.rdb_last_save_time}`,
        changes: Number(saves.rdb_changes_since_last_save),
        lastSave: saves.rdb_last_save_time,
    };
    if (state.keys !== 0 && !digest(state)) return state;
    const digested = await cli(`${IN_CONTAINER_TLS}redis-cli "$@" debug digest`);
    const value = digested.stdout.trim();
    if (digested.exitCode !== 0 || !/^[0-9a-f]{40}$/.test(value)) {
        return { unavailable: `DEBUG DIGEST in ${name} answered ${JSON.stringify(lastLine(digested.output)).slice(0, 120)}` };
    }
    return { ...state, digest: value };
}

/** What restore needs to know of a vault before it decides: its digest only when its key count could be the snapshot's. */
export function vaultState(docker: Docker, vault: VaultContainer, env: EnvironmentOutput, snapshot: SnapshotContent, timeoutMs: number) {
    return serverState(docker, vault, env.vault.password, undefined, timeoutMs, (s) => s.keys === snapshot.keys);
}

/**
 * What restore needs to know of an operational: a replica with its link up holds the vault's
 * data (what the vault's answer covers); one that is cut off may hold something else, which
 * only its digest tells.
 */
export function operationalState(docker: Docker, env: EnvironmentOutput, timeoutMs: number): Promise<StateRead> {
    if (env.kind !== "standard") throw new Error("a secure environment has no operational");
    return serverState(
        docker,
        env.operational.container,
        env.operational.adminPassword,
        env.operational.adminUser,
        timeoutMs,
        (s) => s.link !== "up",
    );
}

/** What a server reports right now: DBSIZE, INFO keyspace's expires, DEBUG DIGEST (inside its container). */
export async function contentOf(
    docker: Docker,
    container: string,
    password: string,
    user: string | undefined,
    timeoutMs: number,
): Promise<SnapshotContent & Pick<StateRead, "writeMark" | "changes" | "lastSave">> {
    const state = await serverState(docker, container, password, user, timeoutMs, () => true);
    if (state.unavailable !== undefined) throw new Error(state.unavailable);
    return {
        keys: state.keys!,
        expiringKeys: state.expiringKeys!,
        databases: state.databases,
        digest: state.digest!,
        writeMark: state.writeMark,
        changes: state.changes,
        lastSave: state.lastSave,
    };
}

/** A state as reported: without the internals only restore uses. */
export function publicState(state: StateRead): ServerState {
    const { link: _link, writeMark: _mark, changes: _changes, lastSave: _lastSave, ...rest } = state;
    return rest;
}

/** A server's content as restore reads it, with what tells whether clients wrote since. */
export type ReadContent = Awaited<ReturnType<typeof contentOf>>;
