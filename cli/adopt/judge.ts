/**
 * `nexus-redis adopt`, the judgement of one environment: adopt it, refuse it (and why), or skip
 * it, from what was found (adopt/findings.ts) and the stack's configuration (adopt/stack.ts).
 * Pure functions over plain data, so every refusal is tested without Docker or Pulumi.
 */
import type { EnvironmentKind } from "../../components/protocol";
import { DATA_DIR, type Settings, containerName, vaultSettings } from "../../components/redisServer";
import { clientHost } from "../../components/containerSpec";
import { type Keyspace, newVaultSettings, describeKeyspace, persistenceChange, totalKeys } from "./settings";
import { judgeSettings } from "./settingRules";
import { type Info, infoInt } from "../redis/replies";
import type { StackView } from "./stack";
import { type ContainerFacts, type DataSource, type Findings, compareVersions, dataSource, reachAt, vaultDataValue } from "./findings";
import { moveToFolder, portsProblem } from "./ports";

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
    const left = f.leftovers;
    for (const r of left?.readying ?? [])
        plan.notes.push(
            `${r.name}, the readying server of an adopt that did not finish, on ${vaultName}'s volumes, ${r.removed ? "was removed" : "is removed when adopt runs without --dry-run"}`,
        );
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
