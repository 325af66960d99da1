/**
 * What is wrong with an environment, in words: pure functions from observations (see
 * `observe.ts`) and the stack output to problems, so every rule is tested on INFO/CONFIG
 * samples without a server (what the program declares that they compare with is in
 * `fleet/declared.ts`). The sequence and the operational's side are here; the vault's own
 * problems are in vaultProblems.ts, a server that did not answer in unanswered.ts, Swarm
 * placement in placement.ts, and whether re-syncing an operational could lose data in resync.ts.
 */
import { REDIS_INTERNAL_PORT } from "../../components/protocol";
import { declaredOperationalSettings, declaredOperationalUsers, declaredTlsPaths } from "../fleet/declared";
import type { EnvironmentOutput, EnvironmentsOutput, SecureEnvironmentOutput, StandardEnvironmentOutput } from "../fleet/environment";
import { type ClientEntry, type Info, infoInt } from "../redis/replies";
import type { EnvironmentObservation, OperationalObservation, VaultObservation } from "./observe";
import { withPlacement } from "./placement";
import { type Diagnosis, type DiagnosisContext, type Lag, type Problem, type ReplicationState, show } from "./problems";
import { type Containers, unansweredMessage } from "./unanswered";
import { USER_ROLE, aclProblems, vaultProblems } from "./vaultProblems";

export function diagnosisContext(environments: EnvironmentsOutput, now = Date.now()): DiagnosisContext {
    return { vaultOwners: new Map(Object.entries(environments).map(([name, env]) => [env.vault.container, name])), now };
}

/** How long before a certificate's end `check` reports it (tls-cert-expiring, exit 1). */
export const CERT_EXPIRY_WARNING_DAYS = 30;

/**
 * A server's certificate that ends within CERT_EXPIRY_WARNING_DAYS (or has ended). Nothing
 * renews certificates by itself (pulumi/pulumi-tls#39): the message says how to. Pure.
 */
export function certificateProblem(
    environment: string,
    role: "vault" | "operational",
    validTo: string | undefined,
    now: number,
): Problem | undefined {
    if (validTo === undefined) return undefined;
    const end = Date.parse(validTo);
    const days = Math.floor((end - now) / 86_400_000);
    if (Number.isNaN(end) || days >= CERT_EXPIRY_WARNING_DAYS) return undefined;
    const when = end <= now ? `expired on ${validTo}` : `expires on ${validTo}, in ${days} day${days === 1 ? "" : "s"}`;
    return {
        code: "tls-cert-expiring",
        role,
        message: `the ${role}'s TLS certificate ${when}: renew it with \`pulumi up --target URN --target-dependents --replace URN\`, URN the one of ${environment}-${role}-tls-cert (docs/tls.md, Certificate rotation); that ${role} restarts once`,
    };
}

const LOCALHOST = new Set(["localhost", "127.0.0.1", "::1", "0.0.0.0"]);
const IP_ADDRESS = /^(\d{1,3}\.){3}\d{1,3}$|:/;

export function diagnose(env: EnvironmentOutput, observation: EnvironmentObservation, context: DiagnosisContext): Diagnosis {
    const diagnosis =
        env.kind === "standard"
            ? diagnoseStandard(env, observation.vault, observation.operational ?? {}, context, observation.containers)
            : diagnoseSecure(env, observation.vault, observation.containers);
    const name = context.vaultOwners.get(env.vault.container) ?? env.vault.container;
    const now = context.now ?? Date.now();
    const certificates = [
        certificateProblem(name, "vault", observation.vault.certificateValidTo, now),
        certificateProblem(name, "operational", observation.operational?.certificateValidTo, now),
    ].filter((p): p is Problem => p !== undefined);
    const withCertificates = certificates.length > 0 ? { ...diagnosis, problems: [...diagnosis.problems, ...certificates] } : diagnosis;
    return observation.swarm ? withPlacement(env, observation.swarm, withCertificates) : withCertificates;
}

export function diagnoseSecure(env: SecureEnvironmentOutput, vault: VaultObservation, containers?: Containers): Diagnosis {
    const problems = vaultProblems(env, vault, containers);
    const reported = infoInt(vault.info, "connected_slaves");
    // While `nexus-redis backup` (redis-cli --rdb) streams a snapshot, the vault counts that
    // connection as a replica: stayingReplicas leaves it out, and only it (see there).
    const replicas = vault.replicas && stayingReplicas(env, vault.replicas, vault.info);
    const attached = replicas ? replicas.length : reported;
    if (attached !== undefined && attached > 0) {
        const backups = (vault.replicas?.length ?? 0) - attached;
        const who = (replicas ?? []).map((c) => `${c.addr ?? "?"} as ${c.user ?? "?"}`).join(", ");
        const counted = `connected_slaves:${reported ?? "?"}${backups > 0 ? `, ${backups} of them a backup by user ${env.backup.user}` : ""}`;
        const asBackupUser = (replicas ?? []).some((c) => c.user === env.backup.user)
            ? `; a connection of user ${env.backup.user} is a backup only while INFO lists it as a snapshot being sent (port=0, state wait_bgsave or send_bulk)`
            : "";
        problems.push({
            code: "secure-has-replicas",
            message: `secure environment has ${attached} replica${attached === 1 ? "" : "s"} attached (${counted}${who ? `; ${who}` : ""}${asBackupUser}): its data must never leave the vault`,
        });
    }
    return { problems, replication: null, lag: null };
}

/** A `slaveN:` line of a master's INFO replication: `ip=172.20.0.3,port=6379,state=online,offset=4242,lag=0`. */
export interface ReplicaLine {
    ip: string;
    /** What the replica sent as `REPLCONF listening-port`; 0 when it sent none. */
    port: number;
    /** `wait_bgsave`, `send_bulk` or `online`. */
    state: string;
}

/** The `slaveN:` lines of INFO replication, in order. Pure. */
export function replicaLines(info: Info | undefined): ReplicaLine[] {
    const lines: ReplicaLine[] = [];
    for (let n = 0; info?.[`slave${n}`] !== undefined; n++) {
        const fields = Object.fromEntries(
            info[`slave${n}`].split(",").map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)]),
        );
        lines.push({ ip: fields.ip ?? "", port: Number(fields.port ?? "0"), state: fields.state ?? "" });
    }
    return lines;
}

/** The IP address of a CLIENT LIST `addr` (`172.20.0.3:56494`, `[::1]:56494`), as INFO's `ip=` writes it. */
function addressIp(addr: string | undefined): string | undefined {
    if (addr === undefined || addr.lastIndexOf(":") < 0) return undefined;
    const ip = addr.slice(0, addr.lastIndexOf(":"));
    return ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
}

/**
 * A vault's replica connections (CLIENT LIST TYPE replica) less the backups being taken:
 * whatever user a connection authenticated as, it is a replica that stays unless it is
 * `redis-cli --rdb` as the backup user. The backup user's ACL (`+sync +replconf`) cannot tell
 * the two apart: a Redis server made a replica with it (`--masteruser backup`) gets NOPERM on
 * PSYNC, retries with SYNC (redis/redis src/replication.c, syncWithMaster: "Retrying with
 * SYNC...") and replicates for as long as it likes. What tells them apart is what redis-cli
 * --rdb does and a replica does not (redis-cli.c, main: sendCapa, sendRdbOnly, then getRDB):
 *
 * - it sends `REPLCONF rdb-only 1`, so the master frees it once the snapshot is sent and
 *   never puts it `online` (replication.c, replicaPutOnline: SLAVE_STATE_RDB_TRANSMITTED,
 *   which INFO does not list); CLIENT LIST does not show that flag, INFO's `state=` does;
 * - it never sends `REPLCONF listening-port`, so INFO lists it with `port=0`; a Redis replica
 *   sends its port, even when PSYNC is refused (replication.c, syncWithMaster);
 * - its last command is SYNC (CLIENT LIST `cmd=sync`).
 *
 * So a connection of the backup user is a backup in progress when its last command is SYNC
 * and INFO replication has a line from its IP with port 0 in state wait_bgsave or send_bulk,
 * each line taken once (INFO and CLIENT LIST come in one batch, which Redis runs back to back).
 * A replica sending its first snapshot without a listening port (say `redis-cli --replica`)
 * looks the same until that snapshot is sent: it is counted from then on. Without INFO
 * nothing can be told apart, and every connection counts. Pure.
 */
export function stayingReplicas(env: EnvironmentOutput, replicas: ClientEntry[], info: Info | undefined): ClientEntry[] {
    const snapshotLines = replicaLines(info).filter((l) => l.port === 0 && (l.state === "wait_bgsave" || l.state === "send_bulk"));
    return replicas.filter((c) => {
        if (c.user !== env.backup.user || c.cmd !== "sync") return true;
        const line = snapshotLines.findIndex((l) => l.ip === addressIp(c.addr));
        if (line < 0) return true;
        snapshotLines.splice(line, 1);
        return false;
    });
}

/**
 * A standard environment's problems, in the order the report lists them: the vault's, the
 * operational's answer, its replication, its admin user, its settings, its ACL, then the
 * vault's side of the link.
 */
export function diagnoseStandard(
    env: StandardEnvironmentOutput,
    vault: VaultObservation,
    operational: OperationalObservation,
    context: DiagnosisContext,
    containers?: Containers,
): Diagnosis {
    const problems = vaultProblems(env, vault, containers);
    const where = `operational ${env.operational.host}:${env.operational.port}`;
    problems.push(...operationalFailures(env, operational, where, containers));
    const { replication, lag, wrongMaster, problems: replicationProblems } = replicationState(env, vault, operational, context);
    problems.push(...replicationProblems);
    problems.push(...adminProblems(env, operational, where));
    if (operational.config) problems.push(...operationalDrift(env, operational.config));
    problems.push(...readerAcl(env, operational));
    if (replication && replication.link === "up" && !wrongMaster && vault.replicas)
        problems.push(...replicaSide(env, vault, vault.replicas, operational, replication));
    return { problems, replication, lag };
}

/** The operational did not answer, or would not let anyone read without a password. */
function operationalFailures(
    env: StandardEnvironmentOutput,
    operational: OperationalObservation,
    where: string,
    containers: Containers | undefined,
): Problem[] {
    const problems: Problem[] = [];
    if (operational.failure) {
        const f = operational.failure;
        const code =
            f.kind === "denied" || f.kind === "error" || f.kind === "not-redis" || f.kind === "auth" || f.kind === "tls"
                ? "operational-error"
                : "operational-unreachable";
        problems.push({
            code,
            message:
                code === "operational-unreachable" ? unansweredMessage(env, "operational", where, f, containers) : `${where} ${f.message}`,
        });
    }
    if (operational.readFailure) {
        problems.push({
            code: "operational-reads-need-password",
            message: `${where} ${operational.readFailure.message}: the protocol's reads (and its INFO replication check) need no password`,
        });
    }
    return problems;
}

/** Role, master, link and lag from the operational's INFO replication; whether it follows another master. */
function replicationState(
    env: StandardEnvironmentOutput,
    vault: VaultObservation,
    operational: OperationalObservation,
    context: DiagnosisContext,
): { problems: Problem[]; replication: ReplicationState | null; lag: Lag | null; wrongMaster: boolean } {
    const problems: Problem[] = [];
    const info = operational.info;
    if (!info) return { problems, replication: null, lag: null, wrongMaster: false };
    let lag: Lag | null = null;
    let wrongMaster = false;
    const role = info.role ?? null;
    const isReplica = role === "slave";
    const masterHost = info.master_host;
    const masterPort = infoInt(info, "master_port");
    const link = info.master_link_status ?? null;
    const replication = { role, master: isReplica ? `${masterHost}:${masterPort}` : null, link: isReplica ? link : null, user: null };
    if (!isReplica) {
        problems.push({
            code: "not-replica",
            message: `the operational is not a replica (role:${role}; REPLICAOF NO ONE?): it no longer receives the vault's writes`,
        });
    } else if (masterHost !== env.vault.container || masterPort !== REDIS_INTERNAL_PORT) {
        wrongMaster = true;
        problems.push({ code: "wrong-master", message: wrongMasterMessage(env, masterHost ?? "", masterPort, context) });
    } else if (link !== "up") {
        if (info.master_sync_in_progress === "1") {
            problems.push({ code: "syncing", message: `the operational is loading the vault's data (initial sync in progress)` });
        } else {
            // No "down for N s": the report must read the same on two runs against an unchanged fleet.
            const expected = `${env.vault.container}:${REDIS_INTERNAL_PORT}`;
            problems.push({
                code: "link-down",
                message: `the replication link to ${expected} is ${link ?? "unknown"}${linkDownCause(vault, operational, env)}`,
            });
        }
    }
    if (isReplica && !wrongMaster && link === "up" && vault.info) {
        lag = replicationLag(vault.info, info);
    } else if (isReplica && link === "up") {
        lag = { bytes: null, seconds: infoInt(info, "master_last_io_seconds_ago") ?? null };
    }
    return { problems, replication, lag, wrongMaster };
}

/** The admin user could not log in: runtime settings can be neither checked nor repaired. */
function adminProblems(env: StandardEnvironmentOutput, operational: OperationalObservation, where: string): Problem[] {
    if (!operational.adminFailure) return [];
    const f = operational.adminFailure;
    return [
        {
            code: "admin-auth",
            message:
                f.kind === "auth"
                    ? `${where} rejected the admin user ${env.operational.adminUser}'s password: runtime settings cannot be checked, nor repaired`
                    : `${where}: the admin user ${env.operational.adminUser} ${f.message}`,
        },
    ];
}

/** The operational's runtime settings against what the program declares (masterauth compared, never printed). */
function operationalDrift(env: StandardEnvironmentOutput, config: Record<string, string>): Problem[] {
    const problems: Problem[] = [];
    if (config.masterauth !== env.replication.password) {
        // Never print either value: both are passwords.
        problems.push({
            code: "masterauth-drift",
            setting: "masterauth",
            message: `masterauth differs from the stack's replication password (CONFIG SET by hand?): the vault refuses the replica`,
        });
    }
    for (const [setting, declared] of Object.entries(declaredOperationalSettings(env.vault.container, declaredTlsPaths(env)))) {
        // replicaof is judged from INFO replication above, which says more.
        if (setting === "replicaof") continue;
        const actual = config[setting];
        if (actual === declared) continue;
        if (setting === "masteruser") {
            problems.push({
                code: "masteruser-drift",
                setting,
                message: `masteruser is ${show(actual)}, declared ${show(declared)} (the replication-only user)`,
            });
        } else {
            problems.push({
                code: "operational-drift",
                setting,
                message: `operational setting ${setting} is ${show(actual)}, declared ${show(declared)}`,
            });
        }
    }
    return problems;
}

/** The operational's ACL users against their declarations; the reader's commands (ACL DRYRUN) when its rules looked right. */
function readerAcl(env: StandardEnvironmentOutput, operational: OperationalObservation): Problem[] {
    const problems: Problem[] = [];
    if (operational.users && operational.acl) {
        problems.push(
            ...aclProblems("operational-acl-drift", "operational", declaredOperationalUsers(env), operational.users, operational.acl),
        );
    }
    // Only aclProblems above reports operational-acl-drift: the default user is reported once.
    if (
        operational.readerMayRun &&
        operational.readerMayRun.length > 0 &&
        !problems.some((p) => p.code === "operational-acl-drift" && p.user === "default")
    ) {
        problems.push({
            code: "operational-acl-drift",
            user: "default",
            message: `operational ACL user default (${USER_ROLE.default}, who may only read) may run ${operational.readerMayRun.join(", ")} (ACL DRYRUN; ACL SETUSER by hand?)`,
        });
    }
    return problems;
}

/** The vault's side of an up link: which user the replica's connection authenticated as (written into `replication`). */
function replicaSide(
    env: StandardEnvironmentOutput,
    vault: VaultObservation,
    replicas: NonNullable<VaultObservation["replicas"]>,
    operational: OperationalObservation,
    replication: ReplicationState,
): Problem[] {
    // Found by its address among every connection, whatever user it authenticated as (the
    // backup user's included: then it is replication-user, not replica-unseen); only the
    // guess without an address leaves the backups being taken out.
    const connection = replicaConnection(
        operational.masterLink?.laddr ? replicas : stayingReplicas(env, replicas, vault.info),
        operational.masterLink,
    );
    if (connection) {
        replication.user = connection.user ?? null;
        if (connection.user !== env.replication.user) {
            return [
                {
                    code: "replication-user",
                    message: `the operational replicates as user ${connection.user ?? "?"}, not ${env.replication.user} (the replication-only user)`,
                },
            ];
        }
    } else if (operational.masterLink) {
        return [
            {
                code: "replica-unseen",
                message: `the vault does not list the operational's connection (${operational.masterLink.laddr}) among its replicas`,
            },
        ];
    }
    return [];
}

function wrongMasterMessage(env: StandardEnvironmentOutput, host: string, port: number | undefined, context: DiagnosisContext): string {
    const expected = `${env.vault.container}:${REDIS_INTERNAL_PORT}`;
    const actual = `${host}:${port}`;
    if (LOCALHOST.has(host)) {
        return `the operational replicates from ${actual}: localhost inside its container is the operational itself; it must replicate from ${expected}`;
    }
    if (host === env.vault.container) {
        return `the operational replicates from ${actual}: port ${port} is not the vault's internal port; it must replicate from ${expected}`;
    }
    const owner = context.vaultOwners.get(host);
    if (owner !== undefined) {
        return `the operational replicates from ${actual}, the vault of environment ${owner}, not from ${expected}`;
    }
    if (IP_ADDRESS.test(host)) {
        return `the operational replicates from the IP address ${actual}, which changes when a container is re-created; it must replicate from ${expected}`;
    }
    return `the operational replicates from ${actual}, not from ${expected}`;
}

function linkDownCause(vault: VaultObservation, operational: OperationalObservation, env: StandardEnvironmentOutput): string {
    if (vault.info?.loading === "1") return ": the vault is loading its data";
    if (vault.failure && vault.failure.kind !== "auth") return ": the vault is not answering";
    if (operational.config && operational.config.masterauth !== env.replication.password) return ": masterauth is wrong";
    if (operational.config && operational.config.masteruser !== env.replication.user) return ": masteruser is wrong";
    return "";
}

/** Lag of a replica that follows the vault's current history; bytes are unknown otherwise. */
export function replicationLag(vaultInfo: Info, replicaInfo: Info): Lag {
    const seconds = infoInt(replicaInfo, "master_last_io_seconds_ago") ?? null;
    const vaultOffset = infoInt(vaultInfo, "master_repl_offset");
    const replicaOffset = infoInt(replicaInfo, "slave_repl_offset");
    const sameHistory = vaultInfo.master_replid !== undefined && vaultInfo.master_replid === replicaInfo.master_replid;
    if (!sameHistory || vaultOffset === undefined || replicaOffset === undefined) return { bytes: null, seconds };
    // Both INFOs are read at about the same time, not atomically: never report a negative lag.
    return { bytes: Math.max(0, vaultOffset - replicaOffset), seconds };
}

/**
 * The vault's connection from this operational: the one whose address is the operational's
 * local end of its master link. Without that (no admin access), a vault with a single
 * replica can only be listing this one.
 */
export function replicaConnection(replicas: ClientEntry[], masterLink: ClientEntry | undefined): ClientEntry | undefined {
    if (masterLink?.laddr) return replicas.find((c) => c.addr === masterLink.laddr);
    return replicas.length === 1 ? replicas[0] : undefined;
}
