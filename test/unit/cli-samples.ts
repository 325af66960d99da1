/**
 * Realistic samples of what Redis 7 answers, for the CLI's pure diagnosis: a healthy
 * standard environment (INFO, CONFIG GET, CLIENT LIST as the servers print them) that each
 * test bends into one failure. Not a test file itself (no `.test.ts`).
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { declaredOperationalSettings, declaredVaultSettings } from "../../cli/fleet/declared";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { FakeRedis, type Reply } from "./cli-fake-redis";
import type { EnvironmentsOutput, SecureEnvironmentOutput, StandardEnvironmentOutput } from "../../cli/fleet/environment";
import { parseClientList, parseInfo } from "../../cli/redis/replies";

export const VAULT_REPLID = "fc19e59b521c479238bf4b9d1eeb4b122050d692";
export const OTHER_REPLID = "524a51f698518afb2f855a61e565a355e0e7e0fb";
export const PROMOTED_REPLID = "8f43ed9ee964d1e52a693036db81d6c20ff2ea9b";
export const NO_ID = "0000000000000000000000000000000000000000";

export const contact: StandardEnvironmentOutput = {
    kind: "standard",
    vault: { container: "nexus3-contact-vault", host: "127.0.0.1", port: 6630, password: "vault-secret-pw" },
    replication: { user: "replicator", password: "replication-secret-pw" },
    operational: {
        container: "nexus3-contact-operational",
        host: "127.0.0.1",
        port: 6631,
        adminUser: "admin",
        adminPassword: "admin-secret-pw",
    },
    backup: { user: "backup", password: "backup-secret-pw" },
};

export const kb: StandardEnvironmentOutput = {
    kind: "standard",
    vault: { container: "nexus3-kb-vault", host: "127.0.0.1", port: 6625, password: "kb-vault-pw" },
    replication: { user: "replicator", password: "kb-replication-pw" },
    operational: { container: "nexus3-kb-operational", host: "127.0.0.1", port: 6626, adminUser: "admin", adminPassword: "kb-admin-pw" },
    backup: { user: "backup", password: "kb-backup-pw" },
};

export const user: SecureEnvironmentOutput = {
    kind: "secure",
    vault: { container: "nexus3-user-vault", host: "127.0.0.1", port: 6610, password: "user-vault-pw" },
    backup: { user: "backup", password: "user-backup-pw" },
};

export const fleetOutputs: EnvironmentsOutput = { contact, kb, user };

/** Writes fleetOutputs as a stack's outputs file (`--outputs`) in `folder`, and returns its path. */
export function fleetOutputsFile(folder: string): string {
    const file = path.join(folder, "outputs.json");
    writeFileSync(file, JSON.stringify({ environments: fleetOutputs }));
    return file;
}

/** The passwords of the samples: no rendered report may contain any of them. */
export const SAMPLE_SECRETS = [
    contact.vault.password,
    contact.replication.password,
    contact.operational.adminPassword,
    kb.vault.password,
    kb.replication.password,
    kb.operational.adminPassword,
    user.vault.password,
    contact.backup.password,
    kb.backup.password,
    user.backup.password,
];

/** INFO replication's line of the operational (a Redis replica: its listening port, online). */
export const OPERATIONAL_LINE = "ip=172.20.0.3,port=6379,state=online,offset=4242,lag=0";

/**
 * INFO replication's line of `redis-cli --rdb` while its snapshot is made (measured on Redis
 * 7.0.15; the address is backupStreamingClient's): no listening port, never online.
 */
export const BACKUP_SNAPSHOT_LINE = "ip=192.168.0.1,port=0,state=wait_bgsave,offset=0,lag=0";

/** A vault's INFO; `lines` are its `slaveN:` lines (by default the operational's, when it has replicas). */
export const vaultInfoText = (
    replicas: number,
    offset = 4242,
    replid = VAULT_REPLID,
    lines: string[] = replicas > 0 ? [OPERATIONAL_LINE] : [],
) => `# Replication\r
role:master\r
connected_slaves:${replicas}\r
${lines.map((line, n) => `slave${n}:${line}\r\n`).join("")}master_failover_state:no-failover\r
master_replid:${replid}\r
master_replid2:${NO_ID}\r
master_repl_offset:${offset}\r
second_repl_offset:-1\r
repl_backlog_active:1\r
repl_backlog_size:67108864\r
repl_backlog_first_byte_offset:1\r
repl_backlog_histlen:4242\r
# Persistence\r
loading:0\r
aof_enabled:1\r
aof_rewrite_in_progress:0\r
aof_last_bgrewrite_status:ok\r
aof_last_write_status:ok\r
`;

export const replicaInfoText = (fields: Partial<Record<string, string>> = {}) => {
    const base: Record<string, string> = {
        role: "slave",
        master_host: "nexus3-contact-vault",
        master_port: "6379",
        master_link_status: "up",
        master_last_io_seconds_ago: "1",
        master_sync_in_progress: "0",
        slave_read_repl_offset: "4200",
        slave_repl_offset: "4200",
        slave_priority: "100",
        slave_read_only: "1",
        replica_announced: "1",
        connected_slaves: "0",
        master_failover_state: "no-failover",
        master_replid: VAULT_REPLID,
        master_replid2: NO_ID,
        master_repl_offset: "4200",
        second_repl_offset: "-1",
    };
    const merged = { ...base, ...fields };
    return (
        "# Replication\r\n" +
        Object.entries(merged)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}:${v}`)
            .join("\r\n") +
        "\r\n"
    );
};

/** INFO of an operational after `REPLICAOF NO ONE`: a master with a new id, the vault's kept as replid2. */
export const promotedInfoText = () => `# Replication\r
role:master\r
connected_slaves:0\r
master_failover_state:no-failover\r
master_replid:${PROMOTED_REPLID}\r
master_replid2:${VAULT_REPLID}\r
master_repl_offset:4200\r
second_repl_offset:4201\r
`;

export const vaultReplicaClients = (user = "replicator") =>
    parseClientList(
        `id=3 addr=172.20.0.3:56494 laddr=172.20.0.2:6379 fd=9 name= age=1 idle=0 flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=20474 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22272 events=r cmd=replconf user=${user} redir=-1 resp=2\n`,
    );

/**
 * The connection of `redis-cli --rdb` as the backup user while its snapshot streams (captured
 * from Redis 7.0.15 with the snapshot held back): a replica to the vault, user=backup.
 */
export const backupStreamingClient = (user = "backup") =>
    parseClientList(
        `id=5 addr=192.168.0.1:58506 laddr=192.168.0.2:6379 fd=10 name= age=2 idle=2 flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=20474 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22272 events=rw cmd=sync user=${user} redir=-1 resp=2\n`,
    )[0];

/**
 * A Redis server made a replica of a vault with the backup user's password (`--masteruser
 * backup`): PSYNC refused, it replicates through SYNC. Measured on Redis 7.0.15: during its
 * first snapshot `cmd=sync` and INFO `port=<its port>,state=wait_bgsave`; once loaded `cmd=replconf`
 * (the one ACK it sends) and `state=online`, then no more ACKs (a SYNC replica sends none).
 * From the same address as backupStreamingClient, as two clients of one host are.
 */
export const rogueBackupUserReplica = (cmd: "sync" | "replconf" = "replconf") =>
    parseClientList(
        `id=9 addr=192.168.0.1:58520 laddr=192.168.0.2:6379 fd=11 name= age=25 idle=2 flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=20474 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=1 omem=20504 tot-mem=42776 events=r cmd=${cmd} user=backup redir=-1 resp=2\n`,
    )[0];

export const rogueReplicaLine = (state: "wait_bgsave" | "online" = "online", port = 16391) =>
    `ip=192.168.0.1,port=${port},state=${state},offset=0,lag=${state === "online" ? 2 : 0}`;

export const operationalMasterLink = () =>
    parseClientList(
        "id=3 addr=172.20.0.2:6379 laddr=172.20.0.3:56494 fd=8 name= age=1 idle=1 flags=M db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=4 argv-mem=0 multi-mem=0 rbs=1024 rbp=34 obl=0 oll=0 omem=0 tot-mem=1800 events=r cmd=NULL user=(superuser) redir=-1 resp=2\n",
    )[0];

/** A healthy standard environment's observation, as the servers answer it. */
export function healthyStandard(env: StandardEnvironmentOutput = contact): EnvironmentObservation {
    return {
        vault: {
            info: parseInfo(vaultInfoText(1)),
            config: { ...declaredVaultSettings() },
            keys: 12,
            replicas: vaultReplicaClients(),
        },
        operational: {
            info: parseInfo(replicaInfoText({ master_host: env.vault.container })),
            keys: 12,
            config: { ...declaredOperationalSettings(env.vault.container), masterauth: env.replication.password },
            masterLink: operationalMasterLink(),
        },
    };
}

export function healthySecure(): EnvironmentObservation {
    return { vault: { info: parseInfo(vaultInfoText(0)), config: { ...declaredVaultSettings() }, keys: 3, replicas: [] } };
}

/**
 * A fake server of contact's vault or operational that answers a check's batch as a healthy one
 * does: INFO from the samples (plus `keyspace`, INFO's `# Keyspace` lines), `dbsize` for DBSIZE.
 */
export function contactServer(role: "vault" | "operational", opts: { keyspace?: string; dbsize?: number } = {}): FakeRedis {
    const settings = role === "vault" ? declaredVaultSettings() : declaredOperationalSettings(contact.vault.container);
    const infoText = () =>
        `${role === "vault" ? vaultInfoText(1) : replicaInfoText()}${opts.keyspace === undefined ? "" : `# Keyspace\r\n${opts.keyspace}`}`;
    return new FakeRedis((command): Reply => {
        const [name, sub] = [command[0].toUpperCase(), command[1]?.toUpperCase()];
        if (name === "AUTH") return { status: "OK" };
        if (name === "INFO") return infoText();
        if (name === "CONFIG" && sub === "GET") return command.slice(2).flatMap((n) => [n, settings[n] ?? contact.replication.password]);
        if (name === "DBSIZE") return opts.dbsize ?? 3;
        if (name === "CLIENT") return "";
        if (name === "ACL" && sub === "USERS") return role === "vault" ? ["default", "replicator"] : ["admin", "default"];
        if (name === "ACL" && sub === "DRYRUN") return `This user has no permissions to run the '${command[3]}' command`;
        if (name === "ACL" && sub === "GETUSER")
            return ["flags", ["on"], "passwords", [], "commands", "+@all", "keys", "~*", "channels", "&*", "selectors", []];
        return { error: `ERR unknown command '${command[0]}'` };
    });
}
