/**
 * `nexus-redis adopt`, the decisions: what the stack's configuration says, what was found on
 * the Docker host, whether each environment can be taken over safely, and the exact Pulumi
 * commands that give the stack the same data and passwords. Pure functions over plain data
 * (adopt/discover.ts gathers it, adopt.ts acts on it), so every refusal and every command is
 * tested without Docker or Pulumi.
 */
import { CONFIG_KEYS, type ConfigKey, ConfigError, type RawConfig, parseFleetConfig } from "../../config";
import { type EnvironmentKind, PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "../../components/protocol";
import { DATA_DIR, REDIS_UID, type Role, type Settings, containerName, vaultSettings } from "../../components/redisServer";
import { DEFAULT_BIND_ADDRESS, clientHost } from "../../components/containerSpec";
import {
    type Keyspace,
    type LoadedModule,
    newVaultSettings,
    describeKeyspace,
    judgeSettings,
    persistenceChange,
    totalKeys,
} from "./settings";
import { type Info, infoInt } from "../redis/replies";

/** An adoption that cannot go ahead, or cannot go on: exit code 1 (the fleet) or 2 (usage, configuration). */
export class AdoptError extends Error {
    constructor(
        message: string,
        readonly exitCode: 1 | 2,
    ) {
        super(message);
        this.name = "AdoptError";
    }
}

// ---------------------------------------------------------------------------------------
// The stack's configuration

/** The stack's configuration as adopt reads it (`pulumi config get`, else Pulumi.yaml's default). */
export interface StackView {
    /** `docker` (adopt's only) or `swarm`. */
    platform: string;
    image: string;
    network: string;
    createNetwork: boolean;
    bindAddress: string;
    containerPrefix: string;
    portOffset: number;
    /** Memory limit of each container in MiB (0: none): the new vault's maxmemory is 75 % of it. */
    memoryLimitMb: number;
    /** The `environments` items as the stack holds them; [] means the whole table. */
    environments: string[];
    /** The `passwords` secret, parsed; {} when unset. */
    passwords: Record<string, Record<string, string>>;
    /** The `vaultData` value, parsed; {} when unset. */
    vaultData: Record<string, string>;
    /** Keys the stack itself sets (the others come from Pulumi.yaml's defaults): what an undo removes. */
    setInStack: ReadonlySet<ConfigKey>;
}

/** The keys adopt reads, in the order it reads them. */
export const VIEW_KEYS: readonly ConfigKey[] = CONFIG_KEYS;

/**
 * The view from raw strings: `stack` holds what `pulumi config get` printed for each key the
 * stack has, `defaults` Pulumi.yaml's default of each key. A malformed value is a
 * configuration error naming its key (exit 2); a secret's value is never echoed.
 */
export function stackView(stack: Partial<Record<ConfigKey, string>>, defaults: Partial<Record<ConfigKey, string>>): StackView {
    const problems: string[] = [];
    const raw = (key: ConfigKey): string => stack[key] ?? defaults[key] ?? "";
    const json = (key: ConfigKey, secret: boolean): unknown => {
        const text = raw(key).trim();
        if (text === "") return undefined;
        try {
            return JSON.parse(text);
        } catch {
            problems.push(`${key} is not valid JSON${secret ? "" : `: ${text}`}`);
            return undefined;
        }
    };
    const createNetwork = raw("createNetwork");
    if (createNetwork !== "true" && createNetwork !== "false") problems.push(`createNetwork is "${createNetwork}", not true or false`);
    const portOffset = raw("portOffset").trim();
    if (!/^-?\d+$/.test(portOffset)) problems.push(`portOffset is "${portOffset}", not an integer`);
    const memoryLimitMb = (raw("memoryLimitMb") || "0").trim();
    if (!/^\d+$/.test(memoryLimitMb)) problems.push(`memoryLimitMb is "${memoryLimitMb}", not a whole number`);

    const environments = json("environments", false) ?? [];
    if (!Array.isArray(environments) || environments.some((item) => typeof item !== "string"))
        problems.push("environments is not an array of strings (NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT])");
    const passwords = json("passwords", true) ?? {};
    if (
        !isObject(passwords) ||
        Object.values(passwords).some((roles) => !isObject(roles) || Object.values(roles).some((p) => typeof p !== "string"))
    )
        problems.push('passwords is not {"ENV": {"ROLE": "PASSWORD"}}');
    const vaultData = json("vaultData", false) ?? {};
    if (!isObject(vaultData) || Object.values(vaultData).some((v) => typeof v !== "string"))
        problems.push('vaultData is not {"ENV": "VOLUME_NAME or /host/folder"}');
    if (problems.length > 0)
        throw new AdoptError(`the stack's configuration cannot be read:\n${problems.map((p) => `  - ${p}`).join("\n")}`, 2);
    return {
        platform: raw("platform") || "docker",
        image: raw("image"),
        network: raw("network"),
        createNetwork: createNetwork === "true",
        bindAddress: raw("bindAddress") || DEFAULT_BIND_ADDRESS,
        containerPrefix: raw("containerPrefix"),
        portOffset: Number(portOffset),
        memoryLimitMb: Number(memoryLimitMb),
        environments: environments as string[],
        passwords: passwords as Record<string, Record<string, string>>,
        vaultData: vaultData as Record<string, string>,
        setInStack: new Set(CONFIG_KEYS.filter((k) => stack[k] !== undefined)),
    };
}

/** The view as the raw strings the program reads (`config.get`), for checking it with the program's own validation. */
export function rawConfigOf(view: StackView): RawConfig {
    return {
        platform: view.platform,
        image: view.image,
        network: view.network,
        createNetwork: String(view.createNetwork),
        bindAddress: view.bindAddress,
        containerPrefix: view.containerPrefix,
        portOffset: String(view.portOffset),
        environments: JSON.stringify(view.environments),
        memoryLimitMb: String(view.memoryLimitMb),
        passwords: Object.keys(view.passwords).length === 0 ? "" : JSON.stringify(view.passwords),
        vaultData: Object.keys(view.vaultData).length === 0 ? "" : JSON.stringify(view.vaultData),
    };
}

/** One environment adopt may take over: from the protocol's table, or an item of the stack's own. */
export interface Candidate {
    name: string;
    kind: EnvironmentKind;
    /** Host ports the stack publishes it on (item or table, plus portOffset). */
    vaultPort: number;
    operationalPort?: number;
    /** The stack's `environments` item that names it, when there is one. */
    item?: string;
}

const ITEM = /^([^=]*)(?:=(\d+)(?:\/(\d+))?)?$/;

/** The environment an `environments` item names, and the ports it gives (undefined: the table's). */
export function parseItem(item: string): { name: string; vaultPort?: number; operationalPort?: number } {
    const match = ITEM.exec(item.trim());
    if (!match) return { name: item.trim() };
    return {
        name: match[1],
        ...(match[2] === undefined ? {} : { vaultPort: Number(match[2]) }),
        ...(match[3] === undefined ? {} : { operationalPort: Number(match[3]) }),
    };
}

/** Every environment adopt looks for: the protocol's table, then the stack's own additions, each once. */
export function candidates(view: StackView): Candidate[] {
    const items = new Map(view.environments.map((item) => [parseItem(item).name, item]));
    const result: Candidate[] = [];
    const add = (name: string, kind: EnvironmentKind, vaultPort: number, operationalPort: number | undefined) => {
        const item = items.get(name);
        const given = item === undefined ? undefined : parseItem(item);
        const vault = (given?.vaultPort ?? vaultPort) + view.portOffset;
        const operational = kind === "standard" ? (given?.operationalPort ?? operationalPort ?? 0) + view.portOffset : undefined;
        result.push({
            name,
            kind,
            vaultPort: vault,
            ...(operational === undefined ? {} : { operationalPort: operational }),
            ...(item ? { item } : {}),
        });
    };
    for (const e of PROTOCOL_ENVIRONMENTS) add(e.name, e.kind, e.vaultPort, e.operationalPort);
    for (const [name, item] of items) {
        if (findProtocolEnvironment(name)) continue;
        const given = parseItem(item);
        if (given.vaultPort === undefined) continue; // an unknown name: the program refuses it itself
        add(name, given.operationalPort === undefined ? "secure" : "standard", given.vaultPort, given.operationalPort);
    }
    return result;
}

// ---------------------------------------------------------------------------------------
// What was found

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

// ---------------------------------------------------------------------------------------
// The judgement

export type EnvironmentStatus = "adopt" | "refused" | "skipped";

export interface EnvironmentPlan {
    name: string;
    kind: EnvironmentKind;
    status: EnvironmentStatus;
    /** Why it is refused or skipped, each naming what to do. */
    reasons: string[];
    /** What a person should know before it is done (a host folder chowned, an anonymous volume kept...). */
    notes: string[];
    vault?: {
        container: string;
        /** host:port where this host reaches the old vault. */
        endpoint: string;
        /** host:port where the adopted vault is reached (what the stack publishes). */
        newEndpoint: string;
        data: DataSource;
        network?: string;
        version?: string;
        /** Keys in every database (INFO keyspace), not DBSIZE's database 0. */
        keys?: number;
        keyspace?: Keyspace;
        /** How the old vault finds and loads its files: what a rollback loads them with. */
        files?: { dir: string; dbfilename: string; appenddirname?: string; appendfilename: string; databases: string };
        /** appendonly already on. */
        appendonly: boolean;
        /** Save points off: step 1 turns Redis's defaults on, so a rollback finds every key in dump.rdb. */
        setSavePoints: boolean;
    };
    operational?: { container: string; endpoint: string };
    /** For the takeover (never printed). */
    password?: string;
    extraPasswords?: Record<string, string>;
    /** The environments item and vaultData value the stack gets. */
    item?: string;
    vaultData?: string;
}

/** Redis's own default save points (redis.conf), set on a vault that has none before it is stopped. */
export const DEFAULT_SAVE_POINTS = "3600 1 300 100 60 10000";

const DEFAULT_NAMES: Record<string, string> = {
    dbfilename: vaultSettings().dbfilename,
    appenddirname: vaultSettings().appenddirname,
    appendfilename: vaultSettings().appendfilename,
};

// Characters the `passwords` config takes (config.ts): no whitespace or control characters.
const BAD_PASSWORD = /[\s\p{Cc}]/u;
const HOST_FOLDER = /^\/[^\s:]*$/;

export interface JudgeContext {
    view: StackView;
    /** Redis version of the stack's image (`redis-server --version` in it). */
    imageVersion?: string;
    /** Environments named with --env: not finding them is a refusal, not a skip. */
    requested: ReadonlySet<string>;
    /** What the new vault runs with; default: `newVaultSettings` of the stack's memoryLimitMb. */
    declared?: Settings;
}

/** One environment being judged: what every step reads, and the plan each step writes into. */
interface Judging {
    f: Findings;
    ctx: JudgeContext;
    plan: EnvironmentPlan;
    vaultName: string;
    operationalName: string;
    /** Marks the plan refused and says why; the judgement goes on, so every reason is given at once. */
    refuse: (reason: string) => void;
}

/** The hand-built vault found, and where its data lives. */
interface VaultWhere {
    vault: ContainerFacts;
    dir: string;
    data: DataSource;
    networks: string[];
}

/** What a running vault that took the password answered: the judgement goes on with these. */
interface Answered {
    password: NonNullable<Findings["password"]>;
    info: Info;
    config: Record<string, string>;
    version: string;
}

/**
 * One environment: adopt it, refuse it (and why), or skip it (nothing to adopt). The steps run in
 * this order so the reasons read as before: whether there is a vault to adopt, its container and
 * Redis (a vault that is stopped, unknown or not answering ends it), its settings, its data and
 * where clients reach it, then what the plan does.
 */
export function judgeEnvironment(f: Findings, ctx: JudgeContext): EnvironmentPlan {
    const { candidate } = f;
    const name = candidate.name;
    const prefix = ctx.view.containerPrefix;
    const plan: EnvironmentPlan = { name, kind: candidate.kind, status: "adopt", reasons: [], notes: [] };
    const j: Judging = {
        f,
        ctx,
        plan,
        vaultName: containerName(prefix, name, "vault"),
        operationalName: containerName(prefix, name, "operational"),
        refuse: (reason: string) => {
            plan.status = "refused";
            plan.reasons.push(reason);
        },
    };
    const vault = presence(j);
    if (!vault) return plan;
    const dir = f.vaultRedis?.config?.dir ?? DATA_DIR;
    const where: VaultWhere = { vault, dir, data: dataSource(vault.mounts, dir), networks: Object.keys(vault.networks) };
    const planned = describeVault(j, where);

    // The container and its Redis.
    const answered = judgeAnswer(j, vault);
    if (!answered) return plan;
    judgeServerState(j, answered);
    const settings = judgeVaultSettings(j, answered);

    judgeDataAndReach(j, where, answered);
    if (plan.status === "refused") return plan;
    plannedNotes(j, where, answered, settings, planned);
    return plan;
}

/**
 * Whether there is a hand-built vault to judge: none, or one nexus-redis already manages, ends the
 * judgement (refused or skipped). A managed operational beside a hand-built vault, or an operational
 * in a secure environment, is refused while the rest is still judged.
 */
function presence({ f, ctx, plan, vaultName, operationalName, refuse }: Judging): ContainerFacts | undefined {
    const { name } = f.candidate;
    const skip = (reason: string) => {
        plan.status = "skipped";
        plan.reasons.push(reason);
    };
    if (!f.vault) {
        if (f.operational && !f.operational.managed)
            refuse(
                `${operationalName} exists but ${vaultName} does not: there is no vault to adopt (the operational's data is rebuilt from its vault)`,
            );
        else if (ctx.requested.has(name))
            refuse(`no container ${vaultName} on this Docker host (containerPrefix ${ctx.view.containerPrefix})`);
        else skip(`no container ${vaultName}`);
        return undefined;
    }
    if (f.vault.managed) {
        if (f.operational && !f.operational.managed)
            refuse(
                `${vaultName} is managed by nexus-redis, but ${operationalName} was made by hand: remove or rename it, then run pulumi up`,
            );
        else skip(`${vaultName} is already managed by nexus-redis`);
        return undefined;
    }
    if (f.operational?.managed)
        refuse(
            `${operationalName} is managed by nexus-redis but ${vaultName} is not: this state was not made by adopt; sort it out by hand`,
        );
    if (f.candidate.kind === "secure" && f.operational)
        refuse(
            `${operationalName} exists, but ${name} is a secure environment (a vault alone): remove it first, or declare ${name} with both ports`,
        );
    return f.vault;
}

/** The plan's picture of the old vault and operational: where they are reached now and after. */
function describeVault({ f, ctx, plan, vaultName, operationalName }: Judging, where: VaultWhere) {
    const { vault, data, networks } = where;
    const at = reachAt(vault);
    const planned: NonNullable<EnvironmentPlan["vault"]> = {
        container: vaultName,
        endpoint: at ? `${at.host}:${at.port}` : "-",
        newEndpoint: `${clientHost(ctx.view.bindAddress)}:${f.candidate.vaultPort}`,
        data,
        ...(networks.length === 1 ? { network: networks[0] } : {}),
        ...(f.vaultRedis?.info?.redis_version ? { version: f.vaultRedis.info.redis_version } : {}),
        ...(f.vaultRedis?.keyspace === undefined ? {} : { keys: totalKeys(f.vaultRedis.keyspace), keyspace: f.vaultRedis.keyspace }),
        appendonly: f.vaultRedis?.config?.appendonly === "yes",
        setSavePoints: (f.vaultRedis?.config?.save ?? "x").trim() === "",
    };
    plan.vault = planned;
    if (f.operational) {
        const o = reachAt(f.operational);
        plan.operational = { container: operationalName, endpoint: o ? `${o.host}:${o.port}` : "-" };
    }
    return planned;
}

/**
 * The refusals that end the judgement: a vault that is not running, whose password is unknown or
 * refused, that is not Redis, or that refuses CONFIG GET cannot be judged any further.
 */
function judgeAnswer({ f, plan, vaultName, refuse }: Judging, vault: ContainerFacts): Answered | undefined {
    const { name } = f.candidate;
    if (vault.state !== "running") {
        refuse(
            `${vaultName} is ${vault.state}, not running: start it (docker start ${vaultName}) so its data can be made safe before the takeover`,
        );
        return undefined;
    }
    if (!f.password) {
        refuse(
            `${name}'s vault password is unknown: ${vaultName} has no --requirepass on its command line; give it with --passwords FILE ({"${name}": {"vault": "..."}})`,
        );
        return undefined;
    }
    if (BAD_PASSWORD.test(f.password.value))
        refuse(
            `${name}'s vault password (from ${f.password.source}) holds spaces or control characters, which the stack's passwords config does not take`,
        );
    plan.password = f.password.value;
    if (f.extraPasswords) plan.extraPasswords = f.extraPasswords;
    const redis = f.vaultRedis;
    if (redis?.failure) {
        const what = {
            unreachable: `${vaultName} is not answering (${redis.failure.message})`,
            auth: `${vaultName} rejected the password from ${f.password.source}: it is not ${name}'s vault password`,
            "not-redis": `${vaultName} is not Redis: ${redis.failure.message}`,
            error: `${vaultName}: ${redis.failure.message}`,
        }[redis.failure.kind];
        refuse(what);
        return undefined;
    }
    const info = redis?.info ?? {};
    const config = redis?.config ?? {};
    if (info.redis_version === undefined) {
        refuse(`${vaultName} is not Redis: it answered, but INFO server has no redis_version`);
        return undefined;
    }
    if (redis && !redis.config) {
        refuse(
            `${vaultName} refused CONFIG GET (${redis.configFailure ?? "no answer"}): adopt reads every setting to compare it with the new vault's, and turns AOF on with CONFIG SET; if CONFIG is renamed (rename-command), restart the vault without that, then adopt again`,
        );
        return undefined;
    }
    return { password: f.password, info, config, version: info.redis_version };
}

/** What the vault is doing now that a takeover could not carry: loading, replicating, syncing, its users and file names. */
function judgeServerState({ f, vaultName, operationalName, refuse }: Judging, { info, config }: Answered): void {
    if (info.loading === "1") refuse(`${vaultName} is still loading its data: try again once it is done`);
    if (info.role !== "master")
        refuse(
            `${vaultName} is a replica (role:${info.role ?? "?"}), not a vault: it follows ${info.master_host ?? "?"}:${info.master_port ?? "?"}`,
        );
    const syncing = Object.entries(info)
        .filter(([k, v]) => /^slave\d+$/.test(k) && !/state=online/.test(v))
        .map(([k, v]) => `${k} ${/state=([^,]*)/.exec(v)?.[1] ?? "?"}`);
    if (syncing.length > 0 || f.operationalRedis?.info?.master_sync_in_progress === "1")
        refuse(
            `a full sync is in progress (${[...syncing, ...(f.operationalRedis?.info?.master_sync_in_progress === "1" ? [`${operationalName} master_sync_in_progress:1`] : [])].join(", ")}): try again once every replica is online`,
        );
    const users = (f.vaultRedis?.users ?? ["default"]).filter((u) => u !== "default");
    if (users.length > 0)
        refuse(
            `${vaultName} has ACL users ${users.join(", ")}, which the adopted vault would not have: clients using them would be refused`,
        );
    for (const [setting, expected] of Object.entries(DEFAULT_NAMES)) {
        const value = config[setting];
        // Redis 6 has no appenddirname: its AOF is one file in dir.
        if (value !== undefined && value !== expected)
            refuse(
                `${vaultName} has ${setting} ${value}, not ${expected}: rename the file to ${expected} (the program declares Redis's default names), or CONFIG SET ${setting} back`,
            );
    }
}

/** Its settings against the new vault's, and its Redis version against the stack's image. */
function judgeVaultSettings({ f, ctx, vaultName, refuse }: Judging, { info, config, version }: Answered) {
    const redis = f.vaultRedis;
    const declared = ctx.declared ?? newVaultSettings(ctx.view.memoryLimitMb);
    const settings = judgeSettings({
        container: vaultName,
        config,
        declared,
        memoryLimitMb: ctx.view.memoryLimitMb,
        keyspace: redis?.keyspace ?? {},
        modules: redis?.modules ?? [],
        renamed: redis?.renamed ?? [],
        usedMemory: infoInt(info, "used_memory"),
        connectedClients: infoInt(info, "connected_clients"),
    });
    for (const r of settings.refusals) refuse(r);
    if (ctx.imageVersion && compareVersions(version, ctx.imageVersion) > 0)
        refuse(
            `${vaultName} runs Redis ${version}, newer than the stack's image ${ctx.view.image} (Redis ${ctx.imageVersion}): its data may not load there; set the stack's image to Redis ${version} or newer (pulumi config set image ...)`,
        );
    return { declared, notes: settings.notes };
}

/** Its data (usable in place, as the stack declares it) and where clients reach it (ports, network). */
function judgeDataAndReach(j: Judging, where: VaultWhere, { password, config }: Answered): void {
    const { f, ctx, plan, vaultName, operationalName, refuse } = j;
    const { vault, dir, data, networks } = where;
    const { candidate } = f;
    const name = candidate.name;
    if (data.kind === "none") {
        refuse(`${name}'s data cannot be used in place: ${data.why}. ${moveToFolder(vaultName, dir, config.dbfilename ?? "dump.rdb")}`);
    } else if (data.kind === "host" && (!HOST_FOLDER.test(data.path) || data.path.split("/").includes(".."))) {
        refuse(`${name}'s data is in host folder ${data.path}, whose name the program cannot bind-mount (spaces, colons or ..): move it`);
    }
    const declaredData = ctx.view.vaultData[name];
    const value = vaultDataValue(data);
    if (declaredData !== undefined && value !== undefined && declaredData !== value)
        refuse(`the stack's vaultData says ${name}'s data is ${declaredData}, but ${vaultName} runs on ${value}: fix vaultData first`);
    const declaredPassword = ctx.view.passwords[name]?.vault;
    if (declaredPassword !== undefined && declaredPassword !== password.value)
        refuse(`the stack's passwords holds another vault password for ${name} than ${vaultName} accepts: fix passwords first`);

    // Ports and addresses: clients must find the vault and the operational where they are.
    const portProblem = portsProblem(f, ctx.view);
    if (portProblem) refuse(portProblem);
    if (f.operational && !f.operational.bindings.length && candidate.operationalPort)
        plan.notes.push(
            `${operationalName} publishes no port; the adopted one will publish ${ctx.view.bindAddress}:${candidate.operationalPort}`,
        );
    if (!vault.bindings.length)
        plan.notes.push(`${vaultName} publishes no port; the adopted one will publish ${ctx.view.bindAddress}:${candidate.vaultPort}`);

    // The network.
    if (networks.length !== 1)
        refuse(
            `${vaultName} is attached to ${networks.length === 0 ? "no network" : `${networks.length} networks (${networks.join(", ")})`}: the program attaches one; clients on the others would lose it`,
        );
    else if (f.operational && !(networks[0] in f.operational.networks))
        plan.notes.push(`${operationalName} is not on ${networks[0]}; the adopted one will be`);
}

/** An environment to adopt: its stack item and vaultData, the files a rollback loads, and what a person should know. */
function plannedNotes(
    { f, plan }: Judging,
    { dir, data }: VaultWhere,
    { config }: Answered,
    settings: { declared: Settings; notes: string[] },
    planned: NonNullable<EnvironmentPlan["vault"]>,
): void {
    const keyspace = f.vaultRedis?.keyspace ?? {};
    plan.item = f.candidate.item ?? f.candidate.name;
    plan.vaultData = vaultDataValue(data);
    if (data.kind === "host")
        plan.notes.push(
            `host folder ${data.path} is bind-mounted at ${DATA_DIR}; the vault's start script gives its files to the redis user (uid 999) as the vault starts` +
                (f.folderOwner === undefined ? "" : ` (owned by uid ${f.folderOwner} now)`),
        );
    if (data.kind === "volume" && data.anonymous)
        plan.notes.push(
            `anonymous volume ${data.name} (the image's VOLUME ${DATA_DIR}) is used in place under its ID; it is never removed`,
        );
    if (Object.keys(keyspace).length > 1) plan.notes.push(`keys by database: ${describeKeyspace(keyspace)}`);
    planned.files = {
        dir,
        dbfilename: config.dbfilename ?? "dump.rdb",
        ...(config.appenddirname === undefined ? {} : { appenddirname: config.appenddirname }),
        appendfilename: config.appendfilename ?? "appendonly.aof",
        databases: config.databases ?? "16",
    };
    plan.notes.push(...settings.notes);
    const persistence = persistenceChange(config, settings.declared);
    if (persistence) plan.notes.push(persistence);
    if (!planned.appendonly)
        plan.notes.push("AOF is off: it is turned on while the vault runs (CONFIG SET appendonly yes), and the rewrite waited for");
    if (planned.setSavePoints)
        plan.notes.push(
            `save points are off: Redis's defaults (${DEFAULT_SAVE_POINTS}) are set before the stop, so dump.rdb holds every key should the old container be started again`,
        );
}

/**
 * The commands that move a vault's data out of its container's writable layer into a host
 * folder, as a person runs them. The snapshot is taken by hand (`SAVE`): a vault with save
 * points off writes nothing as it stops. Writes wait (`CLIENT PAUSE ... WRITE`) from just
 * before the snapshot until the stop, so none is acknowledged and then left behind. The
 * password is read from the terminal into REDISCLI_AUTH, which `docker exec -e` passes on by
 * name: never on a command line.
 */
export function moveToFolder(container: string, dir: string, dbfilename: string): string {
    const folder = `/srv/${container}-data`;
    const cli = `docker exec -e REDISCLI_AUTH ${container} redis-cli`;
    return [
        "Move it to a host folder first (the snapshot is taken by hand: with save points off, Redis writes nothing as it stops):",
        "read -rs REDISCLI_AUTH && export REDISCLI_AUTH   # the vault's password, typed: never on a command line",
        `${cli} CLIENT PAUSE 600000 WRITE   # writes wait until the stop instead of being lost`,
        `${cli} SAVE`,
        `${cli} INFO persistence | grep rdb_last_bgsave_status   # must say ok`,
        `docker stop -t 300 ${container}`,
        `mkdir -p ${folder} && docker cp ${container}:${dir}/. ${folder}/ && ls -l ${folder}/${dbfilename}`,
        `chown -R ${REDIS_UID}:${REDIS_UID} ${folder}   # docker cp made root the owner; Redis runs as the image's redis user`,
        `docker rename ${container} ${container}.old`,
        `then docker run it again as before, with -v ${folder}:${dir} added, and adopt`,
    ].join("\n");
}

/** The published ports and addresses against what the stack would publish; undefined when they agree. */
export function portsProblem(f: Findings, view: StackView): string | undefined {
    const c = f.candidate;
    const found: string[] = [];
    const wanted: string[] = [];
    let portsDiffer = false;
    let addressDiffers = false;
    const roles: [Role, ContainerFacts | undefined, number | undefined][] = [
        ["vault", f.vault, c.vaultPort],
        ["operational", f.operational, c.operationalPort],
    ];
    const seen: Record<string, number | undefined> = {};
    for (const [role, container, port] of roles) {
        if (!container || container.bindings.length === 0 || port === undefined) continue;
        const ports = new Set(container.bindings.map((b) => b.hostPort));
        const addresses = new Set(container.bindings.map(bindingAddress));
        const allAddresses = [...addresses].every((a) => a === "0.0.0.0" || a === "::");
        const sameAddress = addresses.size === 1 ? [...addresses][0] === view.bindAddress : allAddresses && view.bindAddress === "0.0.0.0";
        seen[role] = ports.size === 1 ? [...ports][0] : undefined;
        if (ports.size !== 1 || !ports.has(port)) portsDiffer = true;
        if (!sameAddress) addressDiffers = true;
        if (ports.size !== 1 || !ports.has(port) || !sameAddress) {
            found.push(`${role} publishes ${container.bindings.map((b) => `${bindingAddress(b)}:${b.hostPort}`).join(" and ")}`);
            wanted.push(`${view.bindAddress}:${port}`);
        }
    }
    if (!portsDiffer && !addressDiffers) return undefined;
    const keep: string[] = [];
    if (portsDiffer) {
        const vault = (seen.vault ?? c.vaultPort) - view.portOffset;
        const item =
            c.kind === "standard"
                ? `${c.name}=${vault}/${(seen.operational ?? c.operationalPort ?? 0) - view.portOffset}`
                : `${c.name}=${vault}`;
        const index = c.item === undefined ? view.environments.length : view.environments.indexOf(c.item);
        keep.push(
            `The environments item ${item} keeps the ports${view.portOffset === 0 ? "" : ` (portOffset ${view.portOffset} is added to it)`}: pulumi config set --path 'environments[${index}]' ${item}`,
        );
    }
    if (addressDiffers) {
        const addresses = [...new Set([f.vault, f.operational].flatMap((x) => x?.bindings.map(bindingAddress) ?? []))];
        keep.push(
            addresses.length === 1
                ? `${portsDiffer ? "b" : "B"}indAddress ${addresses[0]} keeps the address: pulumi config set bindAddress ${addresses[0]}${addresses[0] === "0.0.0.0" ? " (every interface: the operational reads without a password)" : ""}`
                : `no single bindAddress publishes on ${addresses.join(" and ")}`,
        );
    }
    return `${c.name}'s ${found.join(", its ")}, where the stack would publish ${wanted.join(" and ")}: clients would not find them. ${keep.join("; ")}; then run adopt again (it keeps that configuration)`;
}

/**
 * Rules over the whole run: every adopted vault on one network, and that network the
 * stack's when the stack already manages containers; never shrink a stack that deploys
 * the whole table (`environments` []) to the adopted ones.
 */
export function judgeFleet(plans: EnvironmentPlan[], view: StackView, managed: string[]): EnvironmentPlan[] {
    const adopting = plans.filter((p) => p.status === "adopt");
    const refuseAll = (reason: string) => {
        for (const p of adopting) {
            p.status = "refused";
            p.reasons.push(reason);
        }
    };
    const networks = [...new Set(adopting.map((p) => p.vault?.network).filter((n): n is string => n !== undefined))];
    if (networks.length > 1)
        refuseAll(
            `the vaults are on different networks (${adopting.map((p) => `${p.name}: ${p.vault?.network}`).join(", ")}): the stack has one network; adopt each network's environments from a stack of their own (containerPrefix, network), or move them`,
        );
    else if (networks.length === 1 && managed.length > 0 && networks[0] !== view.network)
        refuseAll(
            `the vaults are on ${networks[0]}, but the stack's network is ${view.network}, where it already runs ${managed.join(", ")}: moving them is not adopt's to do`,
        );
    if (adopting.length > 0 && view.environments.length === 0 && managed.length > 0)
        refuseAll(
            `the stack's environments is [] (the whole table) and it already runs ${managed.join(", ")}: list them first (pulumi config set --path 'environments[0]' NAME, ...), or adopting would remove the rest`,
        );
    return plans;
}

// ---------------------------------------------------------------------------------------
// The stack's configuration, changed one environment at a time

/** One `pulumi config set`, with what the key held before (to undo it). */
export interface ConfigStep {
    key: string;
    value: string;
    secret: boolean;
    /** `--path`: key is a path into a structured value (`environments[3]`). */
    path: boolean;
    /** The key as the stack held it before, undefined when it did not set it. */
    before?: string;
    /** A `--path` step that created its key (the stack did not set it): undone by removing the key, not the item. */
    createsKey?: true;
}

/**
 * The configuration that takes one more environment over, as steps from `view`, and the view
 * after them. Only keys whose value changes get a step; `environments` grows by one item at
 * the end, so that a `pulumi up` touches only what has been adopted.
 */
export function configSteps(view: StackView, plan: EnvironmentPlan): { steps: ConfigStep[]; next: StackView } {
    if (
        plan.status !== "adopt" ||
        !plan.vault?.network ||
        plan.password === undefined ||
        plan.vaultData === undefined ||
        plan.item === undefined
    )
        throw new Error(`configSteps: ${plan.name} is not ready to adopt`);
    const steps: ConfigStep[] = [];
    const set = new Set(view.setInStack);
    const was = (key: ConfigKey, value: string) => (view.setInStack.has(key) ? { before: value } : {});
    let next: StackView = { ...view };
    if (view.network !== plan.vault.network) {
        steps.push({ key: "network", value: plan.vault.network, secret: false, path: false, ...was("network", view.network) });
        next = { ...next, network: plan.vault.network };
        set.add("network");
    }
    if (view.createNetwork) {
        steps.push({ key: "createNetwork", value: "false", secret: false, path: false, ...was("createNetwork", "true") });
        next = { ...next, createNetwork: false };
        set.add("createNetwork");
    }
    const roles = { ...view.passwords[plan.name], ...plan.extraPasswords, vault: plan.password };
    if (JSON.stringify(roles) !== JSON.stringify(view.passwords[plan.name])) {
        const passwords = { ...view.passwords, [plan.name]: roles };
        steps.push({
            key: "passwords",
            value: JSON.stringify(passwords),
            secret: true,
            path: false,
            ...was("passwords", JSON.stringify(view.passwords)),
        });
        next = { ...next, passwords };
        set.add("passwords");
    }
    if (view.vaultData[plan.name] !== plan.vaultData) {
        const vaultData = { ...view.vaultData, [plan.name]: plan.vaultData };
        steps.push({
            key: "vaultData",
            value: JSON.stringify(vaultData),
            secret: false,
            path: false,
            ...was("vaultData", JSON.stringify(view.vaultData)),
        });
        next = { ...next, vaultData };
        set.add("vaultData");
    }
    if (!view.environments.includes(plan.item)) {
        // Appended with --path: Pulumi.yaml declares environments an array, so a JSON string would not do.
        steps.push({
            key: `environments[${view.environments.length}]`,
            value: plan.item,
            secret: false,
            path: true,
            ...(view.setInStack.has("environments") ? {} : { createsKey: true as const }),
        });
        next = { ...next, environments: [...view.environments, plan.item] };
        set.add("environments");
    }
    next = { ...next, setInStack: set };
    // The program must accept what the stack will hold: checked with its own validation.
    try {
        parseFleetConfig(rawConfigOf(next), new Set<ConfigKey>(["passwords"]));
    } catch (e) {
        if (e instanceof ConfigError)
            throw new AdoptError(`adopting ${plan.name} would give the stack a configuration the program refuses:\n${e.message}`, 1);
        throw e;
    }
    return { steps, next };
}

/** The name an old container is kept under until the adopted one is healthy: `nexus3-contact-vault.adopted-20261201T101500Z`. */
export function asideName(name: string, at: Date): string {
    return `${name}.adopted-${at
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z")}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
