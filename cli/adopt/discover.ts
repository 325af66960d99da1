/**
 * `nexus-redis adopt`, what is there: the protocol's containers on this Docker host (Docker
 * Engine API, through dockerode), and what their Redis says. Reads only: nothing here
 * changes a container, a volume, a network or a Redis setting. The one thing it creates is
 * a short-lived container of the stack's image that prints `redis-server --version`, removed
 * at once with its anonymous volume.
 */
import { statSync } from "node:fs";
import { type Docker, containerLog, imageExists, inspectOrUndefined, isNotFound } from "../docker/client";
import { LABEL_ENVIRONMENT } from "../../components/containerSpec";
import { containerName } from "../../components/redisServer";
import { AdoptError, type StackView } from "./stack";
import type { Candidate } from "./candidates";
import { READYING_LABEL } from "./putBack";
import {
    type Binding,
    type ContainerFacts,
    type Findings,
    type FoundMount,
    type Leftovers,
    type OperationalRedisFacts,
    type VaultRedisFacts,
    dataSource,
    parseRedisServerVersion,
    passwordFromCommand,
    reachAt,
} from "./findings";
import { parseKeyspace, parseModuleList, renamedCommands } from "./settings";
import { type Info, configPairs, parseInfo } from "../redis/replies";
import { Deadline, type ProbeFailure, RedisSession } from "../redis/session";

/** Label of the container that asks the stack's image for its Redis version; removed right after. */
export const PROBE_LABEL = "nexus-redis.adopt-probe";

/** A container as adopt judges it, or undefined when there is none of that name. */
export async function inspectContainer(docker: Docker, name: string): Promise<ContainerFacts | undefined> {
    const c = await inspectOrUndefined(docker, name);
    return c && containerFacts(c);
}

/** The parts of `docker inspect` adopt judges. Pure. */
export function containerFacts(c: Docker.ContainerInspectInfo): ContainerFacts {
    const bindings: Binding[] = (c.HostConfig?.PortBindings?.["6379/tcp"] ?? []).map((b: { HostIp?: string; HostPort?: string }) => ({
        hostIp: b.HostIp ?? "",
        hostPort: Number(b.HostPort),
    }));
    const declared = new Set<string>();
    for (const bind of c.HostConfig?.Binds ?? []) declared.add(bind.split(":")[1] ?? "");
    for (const m of (c.HostConfig as { Mounts?: { Target?: string }[] } | undefined)?.Mounts ?? []) if (m.Target) declared.add(m.Target);
    const mounts: FoundMount[] = (c.Mounts ?? []).map((m) => ({
        type: String(m.Type),
        ...(m.Name ? { name: m.Name } : {}),
        source: m.Source,
        destination: m.Destination,
        declared: m.Type !== "volume" || declared.has(m.Destination),
    }));
    const networks: Record<string, string> = {};
    for (const [name, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) networks[name] = n.IPAddress ?? "";
    return {
        name: c.Name.replace(/^\//, ""),
        state: c.State?.Status ?? "unknown",
        managed: c.Config?.Labels?.[LABEL_ENVIRONMENT] !== undefined,
        image: c.Config?.Image ?? "",
        command: [...((c.Config?.Entrypoint as string[] | null | undefined) ?? []), ...(c.Config?.Cmd ?? [])],
        bindings,
        networks,
        mounts,
    };
}

/** Environments whose containers under this prefix carry the program's labels: what the stack already runs. */
export async function managedEnvironments(docker: Docker, prefix: string): Promise<string[]> {
    const listed = await docker.listContainers({ all: true, filters: { label: [LABEL_ENVIRONMENT] } });
    const names = new Set<string>();
    for (const c of listed) {
        const env = c.Labels[LABEL_ENVIRONMENT];
        if (c.Names.some((n) => n === `/${containerName(prefix, env, "vault")}` || n === `/${containerName(prefix, env, "operational")}`))
            names.add(env);
    }
    return [...names].sort();
}

function failureKind(f: ProbeFailure): NonNullable<VaultRedisFacts["failure"]>["kind"] {
    if (f.kind === "not-redis") return "not-redis";
    if (f.kind === "auth") return "auth";
    if (f.kind === "refused" || f.kind === "unreachable" || f.kind === "silent" || f.kind === "closed") return "unreachable";
    return "error";
}

/**
 * Asks a vault, with `password`: INFO server, replication, persistence, keyspace, memory and
 * clients, every setting (`CONFIG GET *`, which Redis 6 answers too), `MODULE LIST`, `ACL
 * USERS`; then which commands are renamed or removed (`rename-command`, which no setting
 * shows): every command `ACL CAT` knows by its own name that `COMMAND INFO` does not find.
 * Never throws; bounded by `timeoutMs`.
 */
export async function askVault(target: { host: string; port: number }, password: string, timeoutMs: number): Promise<VaultRedisFacts> {
    const deadline = new Deadline(timeoutMs);
    const sections = ["server", "replication", "persistence", "keyspace", "memory", "clients"];
    try {
        const session = new RedisSession(target, deadline);
        const [auth, ...replies] = await session.callAll([
            ["AUTH", password],
            ...sections.map((s) => ["INFO", s]),
            ["CONFIG", "GET", "*"],
            ["MODULE", "LIST"],
            ["ACL", "USERS"],
            ["ACL", "CAT"],
        ]);
        if (auth.failure) {
            if (/without any password configured|no password is set/i.test(auth.failure.message))
                return {
                    failure: {
                        kind: "error",
                        message:
                            "it has no password (AUTH: none configured): the adopted vault would require one, and its clients would be refused",
                    },
                };
            const kind = failureKind(auth.failure);
            if (kind === "not-redis")
                return { failure: { kind, message: `it answered AUTH in another protocol (${auth.failure.message})` } };
            return { failure: { kind, message: auth.failure.message } };
        }
        const infos = replies.slice(0, sections.length);
        const [config, modules, users, categories] = replies.slice(sections.length);
        const failed = infos.slice(0, 3).find((s) => s.failure);
        if (failed?.failure) return { failure: { kind: failureKind(failed.failure), message: failed.failure.message } };
        const info = Object.assign({}, ...infos.map((s) => (s.failure ? {} : parseInfo(String(s.value))))) as Info;
        const facts: VaultRedisFacts = {
            info,
            keyspace: parseKeyspace(info),
            ...(config.failure ? { configFailure: config.failure.message } : { config: configPairs(config.value) }),
            ...(modules.failure ? {} : { modules: parseModuleList(modules.value) }),
            ...(users.failure ? {} : { users: (users.value as unknown[]).map(String) }),
        };
        if (!categories.failure) {
            const lists = await session.callAll((categories.value as unknown[]).map((c) => ["ACL", "CAT", String(c)]));
            const known = [
                ...new Set(lists.flatMap((l) => (l.failure ? [] : (l.value as unknown[]).map(String))).filter((c) => !c.includes("|"))),
            ].sort();
            const [found] = known.length === 0 ? [] : await session.callAll([["COMMAND", "INFO", ...known]]);
            if (found && !found.failure && Array.isArray(found.value)) facts.renamed = renamedCommands(known, found.value);
        }
        return facts;
    } finally {
        deadline.finish();
    }
}

/** Asks an operational for INFO replication, without a password (the protocol's). Never throws. */
export async function askOperational(target: { host: string; port: number }, timeoutMs: number): Promise<OperationalRedisFacts> {
    const deadline = new Deadline(timeoutMs);
    try {
        const [reply] = await new RedisSession(target, deadline).callAll([["INFO", "replication"]]);
        if (reply.failure) return { failure: { kind: reply.failure.kind, message: reply.failure.message } };
        return { info: parseInfo(String(reply.value)) };
    } finally {
        deadline.finish();
    }
}

/** Passwords given with --passwords: the `passwords` config key's shape. */
export type PasswordsFile = Record<string, Record<string, string>>;

/**
 * What an adopt of this environment that did not finish left: its old containers set aside
 * (`NAME.adopted-TIME`), and the readying servers of its rollback (`VAULT.readying-TIME`, with
 * READYING_LABEL naming this environment: both, or it is not ours). Unless `dryRun`, each
 * readying server is removed here, before anything else reads the old vault's folder: it is a
 * Redis on that folder that nobody can use any more (its password was in the killed process's
 * memory), and the old vault must never be started beside it. Removed without a volume: it ran
 * the old vault's image with the old vault's volumes (VolumesFrom), so it has none of its own.
 */
export async function findLeftovers(docker: Docker, view: StackView, env: string, dryRun: boolean): Promise<Leftovers | undefined> {
    const vaultName = containerName(view.containerPrefix, env, "vault");
    const operationalName = containerName(view.containerPrefix, env, "operational");
    const stamp = "\\d{8}T\\d{6}Z";
    const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const aside = new RegExp(`^/(${literal(vaultName)}|${literal(operationalName)})\\.adopted-${stamp}$`);
    const readying = new RegExp(`^/${literal(vaultName)}\\.readying-${stamp}$`);
    // Docker's name filter matches anywhere in the name; the expressions above say exactly which.
    const listed = await docker.listContainers({ all: true, filters: { name: [`${vaultName}.`, `${operationalName}.`] } });
    const found: Leftovers = { aside: [], readying: [] };
    for (const c of listed) {
        const name = c.Names.find((n) => aside.test(n) || readying.test(n));
        if (!name) continue;
        if (aside.test(name)) {
            const facts = await inspectContainer(docker, c.Id);
            if (facts) found.aside.push({ from: aside.exec(name)![1], container: facts });
        } else if (c.Labels?.[READYING_LABEL] === env) {
            if (!dryRun)
                await docker
                    .getContainer(c.Id)
                    .remove({ force: true, v: false })
                    .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
            found.readying.push({ name: name.slice(1), removed: !dryRun });
        }
    }
    found.aside.sort((a, b) => (a.from === vaultName ? -1 : b.from === vaultName ? 1 : a.from.localeCompare(b.from)));
    return found.aside.length + found.readying.length > 0 ? found : undefined;
}

/** Everything about one environment: what an unfinished adopt left, its containers, its password (verified with AUTH), its Redis. */
export async function discoverEnvironment(
    docker: Docker,
    view: StackView,
    candidate: Candidate,
    given: PasswordsFile,
    timeoutMs: number,
    dryRun = true,
): Promise<Findings> {
    const leftovers = await findLeftovers(docker, view, candidate.name, dryRun);
    const [vault, operational] = await Promise.all([
        inspectContainer(docker, containerName(view.containerPrefix, candidate.name, "vault")),
        inspectContainer(docker, containerName(view.containerPrefix, candidate.name, "operational")),
    ]);
    const findings: Findings = {
        candidate,
        ...(vault ? { vault } : {}),
        ...(operational ? { operational } : {}),
        ...(leftovers ? { leftovers } : {}),
    };
    if (!vault || vault.managed) return findings;
    const fromFile = given[candidate.name];
    const fromCommand = passwordFromCommand(vault.command);
    if (fromFile?.vault !== undefined) findings.password = { value: fromFile.vault, source: "--passwords" };
    else if (fromCommand !== undefined) findings.password = { value: fromCommand, source: "its command line" };
    if (fromFile) {
        const { vault: _vault, ...extra } = fromFile;
        if (Object.keys(extra).length > 0) findings.extraPasswords = extra;
    }
    const at = reachAt(vault);
    if (vault.state === "running" && findings.password && at) {
        findings.vaultRedis = await askVault(at, findings.password.value, timeoutMs);
        const data = dataSource(vault.mounts, findings.vaultRedis.config?.dir ?? "/data");
        if (data.kind === "host") {
            try {
                findings.folderOwner = statSync(data.path).uid;
            } catch {
                // The engine may be on another machine: the owner is then unknown here.
            }
        }
    } else if (vault.state === "running" && findings.password && !at) {
        findings.vaultRedis = { failure: { kind: "unreachable", message: "it publishes no port and has no address on a network" } };
    }
    const opAt = operational ? reachAt(operational) : undefined;
    if (operational?.state === "running" && opAt) findings.operationalRedis = await askOperational(opAt, timeoutMs);
    return findings;
}

/**
 * The Redis version of an image: `redis-server --version` in a container of it (no network,
 * removed with its anonymous volume right after). The image must be on the engine already.
 */
export async function imageRedisVersion(docker: Docker, image: string): Promise<string> {
    if (!(await imageExists(docker, image)))
        throw new AdoptError(
            `the stack's image ${image} is not on this Docker engine: docker pull ${image} first (adopt compares its Redis version with the vaults': a newer Redis's data may not load on an older one)`,
            1,
        );
    const container = await docker.createContainer({
        Image: image,
        Entrypoint: ["redis-server"],
        Cmd: ["--version"],
        Labels: { [PROBE_LABEL]: "1" },
        HostConfig: { NetworkMode: "none" },
    });
    try {
        await container.start();
        const { StatusCode } = await container.wait();
        const log = await containerLog(container);
        const version = parseRedisServerVersion(log);
        if (StatusCode !== 0 || version === undefined)
            throw new AdoptError(
                `\`redis-server --version\` in the stack's image ${image} did not print a version (exit ${StatusCode}): ${log.trim()}`,
                1,
            );
        return version;
    } finally {
        await container.remove({ force: true, v: true });
    }
}
