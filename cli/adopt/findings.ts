/**
 * `nexus-redis adopt`: what was found on the Docker host about one environment (its containers,
 * their mounts and bindings, what its Redis answered), and the pure readings of it: the password
 * on a command line, where the data lives, the Redis version, where a client reaches it.
 * adopt/discover.ts gathers these facts; adopt/judge.ts judges them.
 */
import { clientHost } from "../../components/containerSpec";
import type { Keyspace, LoadedModule } from "./settings";
import type { Info } from "../redis/replies";
import type { Candidate } from "./candidates";

/** A published binding of the container's port 6379/tcp, as Docker holds it (HostConfig.PortBindings). */
export interface Binding {
    /** "" or "0.0.0.0": every IPv4 (and, for "", IPv6) address. */
    hostIp: string;
    hostPort: number;
}

export interface FoundMount {
    /** Docker's mount type: volume, bind, tmpfs. */
    type: string;
    /** Volume name (volumes only). */
    name?: string;
    /** Host path (binds), or the volume's folder on the host. */
    source: string;
    destination: string;
    /** Named in `docker run -v`/`--mount` (HostConfig); false: an anonymous volume from the image's VOLUME. */
    declared: boolean;
}

/** One container as `docker inspect` shows it, reduced to what adopt judges. */
export interface ContainerFacts {
    name: string;
    /** State.Status: running, exited, paused, restarting, created. */
    state: string;
    /** Carries the nexus-redis labels: created by this program, not by hand. */
    managed: boolean;
    image: string;
    /** Config.Entrypoint then Config.Cmd: where a `--requirepass` is found. */
    command: string[];
    /** Bindings of 6379/tcp. */
    bindings: Binding[];
    /** Network name → the container's address on it. */
    networks: Record<string, string>;
    mounts: FoundMount[];
}

/** What the vault's Redis answered, asked with the password adopt knows. */
export interface VaultRedisFacts {
    failure?: { kind: "unreachable" | "auth" | "not-redis" | "error"; message: string };
    /** INFO server, replication, persistence, keyspace, memory and clients, merged. */
    info?: Info;
    /** CONFIG GET *: every setting (passwords among them: never printed). */
    config?: Record<string, string>;
    /** Why CONFIG GET failed (renamed, refused), when it did. */
    configFailure?: string;
    /** INFO keyspace: keys by database. */
    keyspace?: Keyspace;
    /** MODULE LIST. */
    modules?: LoadedModule[];
    /** Commands renamed or removed (rename-command), when that could be read. */
    renamed?: string[];
    /** ACL USERS. */
    users?: string[];
}

export interface OperationalRedisFacts {
    failure?: { kind: string; message: string };
    /** INFO replication. */
    info?: Info;
}

/** Where a password came from. */
export type PasswordSource = "its command line" | "--passwords";

/** Everything found about one environment. */
export interface Findings {
    candidate: Candidate;
    vault?: ContainerFacts;
    operational?: ContainerFacts;
    password?: { value: string; source: PasswordSource };
    /** Other passwords of the environment given in --passwords (replication, operationalAdmin, backup). */
    extraPasswords?: Record<string, string>;
    vaultRedis?: VaultRedisFacts;
    operationalRedis?: OperationalRedisFacts;
    /** Owner uid of a host folder, when this machine can see it. */
    folderOwner?: number;
    /** What an adopt of this environment that never finished (killed) left behind. */
    leftovers?: Leftovers;
    /**
     * The refusal when another adopt (or a restore) holds the vault's lock
     * (cli/snapshot/vaultLock.ts): nothing else was looked at, nothing changed.
     */
    lockRefusal?: string;
    /** A dry run's: the refusal a run without --dry-run would meet now, the lock being held. */
    lockHeld?: string;
}

/**
 * What a takeover leaves when its process dies midway (adopt keeps its journal in memory only):
 * the old containers renamed aside (`NAME.adopted-TIME`), and the readying server of a rollback
 * (`VAULT.readying-TIME`, labelled nexus-redis.adopt-rollback with the environment's name).
 */
export interface Leftovers {
    /** The old containers set aside, vault first: their own name, and what they are now. */
    aside: { from: string; container: ContainerFacts }[];
    /** Readying servers found: removed before anything else, or, with --dry-run, still there. */
    readying: { name: string; removed: boolean }[];
}

/** The password on a hand-built vault's command line: `--requirepass PW`, also inside one `sh -c` string. */
export function passwordFromCommand(command: string[]): string | undefined {
    const i = command.lastIndexOf("--requirepass");
    if (i >= 0 && i + 1 < command.length) return command[i + 1];
    for (const arg of [...command].reverse()) {
        const match = /--requirepass\s+("([^"]*)"|'([^']*)'|(\S+))/.exec(arg);
        if (match) return match[2] ?? match[3] ?? match[4];
    }
    return undefined;
}

/** Where the vault's data lives: the mount at Redis's `dir`. */
export type DataSource =
    | { kind: "volume"; name: string; anonymous: boolean }
    | { kind: "host"; path: string }
    /** Nothing mounted at dir (the writable layer), or only a mount above or below it, or a tmpfs. */
    | { kind: "none"; why: string };

export function dataSource(mounts: FoundMount[], dir: string): DataSource {
    const clean = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);
    const at = mounts.find((m) => clean(m.destination) === clean(dir));
    if (at?.type === "volume" && at.name) return { kind: "volume", name: at.name, anonymous: !at.declared };
    if (at?.type === "bind") return { kind: "host", path: clean(at.source) };
    if (at) return { kind: "none", why: `a ${at.type} mount is at ${dir}: its data does not outlive the container` };
    const above = mounts.find((m) => clean(dir).startsWith(`${clean(m.destination)}/`));
    if (above)
        return { kind: "none", why: `${dir} is a subfolder of the ${above.type} mounted at ${above.destination}, not a mount of its own` };
    return { kind: "none", why: `nothing is mounted at ${dir}: the data is in the container's writable layer` };
}

/** `vaultData`'s value for a data source. */
export function vaultDataValue(data: DataSource): string | undefined {
    if (data.kind === "volume") return data.name;
    if (data.kind === "host") return data.path;
    return undefined;
}

export function describeData(data: DataSource): string {
    if (data.kind === "volume") return data.anonymous ? `anonymous volume ${data.name}` : `volume ${data.name}`;
    if (data.kind === "host") return `host folder ${data.path}`;
    return "none";
}

/** `Redis server v=7.0.15 sha=...` → `7.0.15`. */
export function parseRedisServerVersion(text: string): string | undefined {
    return /v=(\d+(?:\.\d+)*)/.exec(text)?.[1];
}

/** Negative when dotted version a is older than b, 0 when equal, positive when newer. */
export function compareVersions(a: string, b: string): number {
    const x = a.split(".").map(Number);
    const y = b.split(".").map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        const d = (x[i] ?? 0) - (y[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}

/** A binding's host address as the stack's `bindAddress` would say it. */
export function bindingAddress(b: Binding): string {
    return b.hostIp === "" ? "0.0.0.0" : b.hostIp;
}

/** Where a client on this host reaches a container: its published port, else its address on its network. */
export function reachAt(container: ContainerFacts): { host: string; port: number } | undefined {
    const b = container.bindings[0];
    if (b) return { host: clientHost(bindingAddress(b)), port: b.hostPort };
    const ip = Object.values(container.networks).find((a) => a !== "");
    return ip ? { host: ip, port: 6379 } : undefined;
}
