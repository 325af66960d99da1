/**
 * What each environment looks like at runtime: `observe*` talks to its servers (bounded by a
 * deadline, never throws) and returns plain observations, which `diagnose.ts` judges. The I/O
 * half of `nexus-redis check`, `--fix` and `recover`.
 */
import type { EnvironmentOutput, StandardEnvironmentOutput, SwarmObservation } from "../fleet/environment";
import { READER_FORBIDDEN_COMMANDS } from "../../components/redisServer";
import { type AclUser, type ClientEntry, type Info, configPairs, parseAclUser, parseClientList, parseInfo } from "../redis/replies";
import { readKeyspace } from "../redis/keyspace";
import {
    declaredOperationalSettings,
    declaredOperationalUsers,
    declaredTlsPaths,
    declaredVaultSettings,
    declaredVaultUsers,
} from "../fleet/declared";
import type { ContainerFacts, ContainerSource } from "../core/io";
import { Deadline, ProbeError, type ProbeFailure, RedisSession } from "../redis/session";

export interface VaultObservation {
    /** Where the conversation stopped, if it did. Everything before it is filled in. */
    failure?: ProbeFailure;
    /** INFO replication, persistence, keyspace and memory, merged (persistence for the diagnosis; keyspace and memory for --prometheus). */
    info?: Info;
    /** CONFIG GET of the declared settings, and of min-replicas-to-write. */
    config?: Record<string, string>;
    /** Over TLS: the end of its certificate's validity (ISO 8601). */
    certificateValidTo?: string;
    /** Keys in every database (INFO keyspace; DBSIZE, which the batch also sends, counts database 0 alone). */
    keys?: number;
    /** CLIENT LIST TYPE replica: the replicas' connections, with the ACL user each authenticated as. */
    replicas?: ClientEntry[];
    /** ACL USERS. */
    users?: string[];
    /** ACL GETUSER of each declared user (default, and the replication user of a standard vault); undefined: no such user. */
    acl?: Record<string, AclUser | undefined>;
}

export interface OperationalObservation {
    /** Where the conversation stopped (unreachable, silent...). */
    failure?: ProbeFailure;
    /** Unauthenticated reads refused: the protocol says reads need no password. */
    readFailure?: ProbeFailure;
    /** INFO replication, persistence, keyspace and memory, merged (all but replication for --prometheus). */
    info?: Info;
    /** Keys in every database (INFO keyspace), as the vault's. */
    keys?: number;
    /** The admin user's login or commands failed; what follows is unknown. */
    adminFailure?: ProbeFailure;
    /** CONFIG GET of the declared settings and masterauth, as the admin user. */
    config?: Record<string, string>;
    /** Over TLS: the end of its certificate's validity (ISO 8601). */
    certificateValidTo?: string;
    /** CLIENT LIST TYPE master: the operational's own connection to its master (its `laddr` is how the vault lists it). */
    masterLink?: ClientEntry;
    /** ACL USERS, as the admin user. */
    users?: string[];
    /** ACL GETUSER of default and the admin user, as the admin user. */
    acl?: Record<string, AclUser | undefined>;
    /** Of READER_FORBIDDEN_COMMANDS, those `ACL DRYRUN default` says the passwordless user may run. */
    readerMayRun?: string[];
}

export interface EnvironmentObservation {
    vault: VaultObservation;
    /** Standard environments only. */
    operational?: OperationalObservation;
    /** Swarm deployments only, when the manager answered. */
    swarm?: SwarmObservation;
    /**
     * Docker deployments only, when a server did not answer and the engine did: both
     * containers of the environment, as the engine sees them.
     */
    containers?: { vault?: ContainerFacts; operational?: ContainerFacts };
}

/** What the check sends one server, in order, and the ACL users whose GETUSER replies it holds. */
export interface Batch {
    commands: string[][];
    aclUsers: string[];
}

/**
 * The INFO sections each server is asked for, in the batch's one INFO: what the diagnosis reads
 * (replication; the vault's persistence), and what `--prometheus` reports besides (keys of every
 * database from keyspace, memory against its limit, each server's AOF and RDB status), asked
 * for in the same command rather than in a round trip of their own.
 */
export const INFO_SECTIONS = ["replication", "persistence", "keyspace", "memory"];

/** The vault's batch: AUTH first, then every read observeVault makes. Pure. */
export function vaultBatch(env: EnvironmentOutput): Batch {
    const aclUsers = Object.keys(declaredVaultUsers(env));
    const commands = [
        ["AUTH", env.vault.password],
        ["INFO", ...INFO_SECTIONS],
        // min-replicas-to-write is no declared setting, but one set by hand makes the vault refuse writes.
        ["CONFIG", "GET", ...Object.keys(declaredVaultSettings(declaredTlsPaths(env))), "min-replicas-to-write"],
        ["DBSIZE"],
        ["CLIENT", "LIST", "TYPE", "replica"],
        ["ACL", "USERS"],
        ...aclUsers.map((user) => ["ACL", "GETUSER", user]),
    ];
    return { commands, aclUsers };
}

/**
 * The operational's batch: the reads without a password (as the protocol's check makes them),
 * then AUTH as its admin user and the rest; the last READER_FORBIDDEN_COMMANDS.length replies
 * are ACL DRYRUN's. Pure.
 */
export function operationalBatch(env: StandardEnvironmentOutput): Batch {
    const aclUsers = Object.keys(declaredOperationalUsers(env));
    const names = [...Object.keys(declaredOperationalSettings(env.vault.container, declaredTlsPaths(env))), "masterauth"];
    const commands = [
        ["INFO", ...INFO_SECTIONS],
        ["DBSIZE"],
        ["AUTH", env.operational.adminUser, env.operational.adminPassword],
        ["CONFIG", "GET", ...names],
        ["CLIENT", "LIST", "TYPE", "master"],
        ["ACL", "USERS"],
        ...aclUsers.map((user) => ["ACL", "GETUSER", user]),
        ...READER_FORBIDDEN_COMMANDS.map((command) => ["ACL", "DRYRUN", "default", ...command]),
    ];
    return { commands, aclUsers };
}

/**
 * Talks to a vault in one round trip (every command sent at once, after AUTH in the same
 * batch); never throws, never waits past the deadline.
 */
export async function observeVault(env: EnvironmentOutput, deadline: Deadline): Promise<VaultObservation> {
    const { commands, aclUsers } = vaultBatch(env);
    return converse<VaultObservation>(env.vault, deadline, async (session, observation) => {
        const [auth, ...replies] = await session.callAll(commands);
        // Refused AUTH: what follows ran unauthenticated and says nothing more.
        if (auth.failure) throw new ProbeError(auth.failure);
        const [info, config, dbsize, replicas, users, ...acl] = replies;
        if (info.failure === undefined) observation.info = parseInfo(String(info.value));
        if (config.failure === undefined) observation.config = configPairs(config.value);
        if (dbsize.failure === undefined && observation.info) observation.keys = readKeyspace(observation.info).keys;
        if (replicas.failure === undefined) observation.replicas = parseClientList(String(replicas.value));
        if (users.failure === undefined && acl.every((r) => r.failure === undefined)) {
            observation.users = (users.value as unknown[]).map(String);
            observation.acl = Object.fromEntries(aclUsers.map((user, i) => [user, parseAclUser(acl[i].value)]));
        }
        const failed = replies.find((r) => r.failure);
        if (failed?.failure) observation.failure = failed.failure;
    });
}

/**
 * Talks to an operational: reads without a password as the protocol's check does, the rest
 * as its admin user, all in one round trip (a second only when the reads were refused).
 */
export async function observeOperational(env: StandardEnvironmentOutput, deadline: Deadline): Promise<OperationalObservation> {
    const { commands, aclUsers } = operationalBatch(env);
    return converse<OperationalObservation>(env.operational, deadline, async (session, observation) => {
        const [info, dbsize, auth, ...admin] = await session.callAll(commands);
        const readFailure = info.failure ?? dbsize.failure;
        if (readFailure) {
            // Refused reads are a finding, not the end: the admin user can still look.
            if (readFailure.kind !== "denied") throw new ProbeError(readFailure);
            observation.readFailure = readFailure;
        } else {
            observation.info = parseInfo(String(info.value));
            observation.keys = readKeyspace(observation.info).keys;
        }
        const adminFailure = auth.failure ?? admin.find((r) => r.failure)?.failure;
        if (adminFailure && adminFailure.kind !== "auth" && adminFailure.kind !== "denied") throw new ProbeError(adminFailure);
        if (adminFailure) {
            observation.adminFailure = adminFailure;
            return;
        }
        const [config, masterLink, users, ...rest] = admin;
        const acl = rest.slice(0, aclUsers.length);
        const dryRuns = rest.slice(aclUsers.length);
        observation.config = configPairs(config.value);
        observation.masterLink = parseClientList(String(masterLink.value))[0];
        observation.users = (users.value as unknown[]).map(String);
        observation.acl = Object.fromEntries(aclUsers.map((user, i) => [user, parseAclUser(acl[i].value)]));
        // DRYRUN answers OK when the user may run the command, or says why not.
        observation.readerMayRun = READER_FORBIDDEN_COMMANDS.filter((_, i) => dryRuns[i].value === "OK").map((c) => commandLabel(c));
        if (!observation.info) {
            const [adminInfo, adminDbsize] = await session.callAll([["INFO", ...INFO_SECTIONS], ["DBSIZE"]]);
            if (adminInfo.failure ?? adminDbsize.failure) throw new ProbeError((adminInfo.failure ?? adminDbsize.failure)!);
            observation.info = parseInfo(String(adminInfo.value));
            observation.keys = readKeyspace(observation.info).keys;
        }
    });
}

/**
 * One conversation with one server: whatever `talk` throws ends it as the observation's failure
 * (everything filled in before stays), and the certificate the server showed is kept either way,
 * so an expiring one is reported even when the conversation failed.
 */
async function converse<T extends { failure?: ProbeFailure; certificateValidTo?: string }>(
    endpoint: ConstructorParameters<typeof RedisSession>[0],
    deadline: Deadline,
    talk: (session: RedisSession, observation: T) => Promise<void>,
): Promise<T> {
    const observation = {} as T;
    const session = new RedisSession(endpoint, deadline);
    try {
        await talk(session, observation);
    } catch (e) {
        observation.failure = failureOf(e);
    } finally {
        if (session.certificate) observation.certificateValidTo = session.certificate.validTo;
        session.close();
    }
    return observation;
}

/**
 * Observes one environment, vault and operational at once (and on Swarm where their tasks
 * run), within `timeoutMs`; on Docker, asks the engine about its containers when a server did
 * not answer (within `timeoutMs` too).
 */
export async function observeEnvironment(env: EnvironmentOutput, timeoutMs: number): Promise<EnvironmentObservation> {
    const deadline = new Deadline(timeoutMs);
    let observation: EnvironmentObservation;
    try {
        const [vault, operational, swarm] = await Promise.all([
            observeVault(env, deadline),
            env.kind === "standard" ? observeOperational(env, deadline) : Promise.resolve(undefined),
            // The manager's view is what explains a server that does not answer; without it the
            // servers' own answers still stand.
            env.placement ? within(env.placement.observe(env), timeoutMs).catch(() => undefined) : Promise.resolve(undefined),
        ]);
        observation = { vault, ...(operational ? { operational } : {}), ...(swarm ? { swarm } : {}) };
    } finally {
        deadline.finish();
    }
    if (env.engine && (unanswered(observation.vault.failure) || unanswered(observation.operational?.failure))) {
        const containers = await askEngine(env, env.engine, timeoutMs);
        if (containers) observation.containers = containers;
    }
    return observation;
}

/** A server that did not answer at all (as opposed to one that answered with an error). */
export function unanswered(failure: ProbeFailure | undefined): boolean {
    return failure !== undefined && ["refused", "unreachable", "silent", "closed"].includes(failure.kind);
}

/** Both containers of an environment as the engine sees them, or undefined when it cannot say. */
async function askEngine(
    env: EnvironmentOutput,
    engine: ContainerSource,
    timeoutMs: number,
): Promise<EnvironmentObservation["containers"] | undefined> {
    const ask = (name: string) => within(engine.inspect(name, timeoutMs), timeoutMs).catch(() => undefined);
    const [vault, operational] = await Promise.all([
        ask(env.vault.container),
        env.kind === "standard" ? ask(env.operational.container) : Promise.resolve(undefined),
    ]);
    if (!vault && !operational) return undefined;
    return { ...(vault ? { vault } : {}), ...(operational ? { operational } : {}) };
}

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** "CONFIG SET", "KEYS": a command as a person names it, without its arguments. */
export function commandLabel(command: readonly string[]): string {
    return ["CONFIG", "ACL"].includes(command[0]) ? `${command[0]} ${command[1]}` : command[0];
}

function failureOf(e: unknown): ProbeFailure {
    if (e instanceof ProbeError) return e.failure;
    return { kind: "error", command: "?", message: e instanceof Error ? e.message : String(e) };
}
