/**
 * `nexus-redis adopt`, putting things back: what a takeover had done when it failed (the
 * journal), and from it the exact steps that restore the environment as it was (the stack's
 * configuration, the stack's containers, the old containers, the old operational's
 * replication). adopt.ts runs them itself; `rollbackText` says what is left when that too
 * fails. Pure; never holds a password in any text it returns.
 */
import type { Keyspace } from "./settings";
import type { ConfigStep } from "./plan";
import { type Invocation, configCommand, destroyCommand, printable, upCommand } from "../core/pulumi";

/** The old operational's replication, set at runtime by the protocol's steps: lost when it restarts. */
export interface RecordedReplication {
    operational: string;
    /** master_host as the operational had it: the vault's address, by the protocol. */
    masterHost: string;
    masterPort: number;
    /** `CONFIG GET masterauth` (never printed); undefined when it could not be read. */
    masterauth?: string;
    masteruser?: string;
    /** The old vault's address on its network when this was recorded. */
    vaultIp?: string;
    network?: string;
}

/** What a takeover had done when it stopped. */
export interface Journal {
    environment: string;
    steps: ConfigStep[];
    /** How many of the steps ran. */
    stepsDone: number;
    /** The stack's `environments` before this environment's steps. */
    environmentsBefore: string[];
    /** This environment's `environments` item. */
    item: string;
    aofEnabled: boolean;
    savePointsSet: boolean;
    /** Recorded before the old operational was stopped; undefined when it was no replica (or there is none). */
    replication?: RecordedReplication;
    /** The old vault's keys by database just before its stop. */
    keyspaceAtStop?: Keyspace;
    stopped: string[];
    /** Old name → name it was renamed to. */
    renamed: [string, string][];
    applyStarted: boolean;
    /** The new vault served (authenticated, loaded, took a write): clients may have written to it. */
    newVaultAnswered: boolean;
    /** Its keys by database when it was last seen serving. */
    newVaultKeyspace?: Keyspace;
    /** How the old vault finds its files. */
    files?: VaultFiles;
}

/** How far an automatic rollback got. */
export interface RollbackProgress {
    configUndone: boolean;
    stackApplied: boolean;
    /** The data folder holds what the old vault loads, every write the new one took included. */
    dataReady: boolean;
    renamedBack: string[];
    started: string[];
    replicationRestored: boolean;
}

export const NO_PROGRESS: RollbackProgress = {
    configUndone: false,
    stackApplied: false,
    dataReady: false,
    renamedBack: [],
    started: [],
    replicationRestored: false,
};

export interface Undo {
    /** Each step done, undone, last first (a secret's former value on stdin), then the item removed if it was there before. */
    invocations: Invocation[];
    /** The environments item was in the stack before adopt: it goes too, or `pulumi up` would create the environment anew. */
    removesItem: boolean;
    /**
     * What then removes what `pulumi up` created: `up` (the stack keeps other environments),
     * `destroy` (none is left: an empty `environments` means the whole table, which `up` would
     * deploy), or nothing (`pulumi up` never ran).
     */
    apply: "up" | "destroy" | "none";
    command?: string[];
}

/** The configuration undone, and how the stack's containers of the environment go. */
export function undoPlan(j: Journal, stack: string | undefined): Undo {
    const invocations: Invocation[] = [];
    const base = (verb: "rm" | "set") => configCommand(verb, stack);
    for (const step of j.steps.slice(0, j.stepsDone).reverse()) {
        // An environments key adopt created goes as a whole: an empty list left behind would read the same, but not be as it was.
        if (step.path && step.createsKey) invocations.push({ command: [...base("rm"), step.key.replace(/\[\d+\]$/, "")] });
        else if (step.path) invocations.push({ command: [...base("rm"), "--path", step.key] });
        else if (step.before === undefined) invocations.push({ command: [...base("rm"), step.key] });
        else if (step.secret) invocations.push({ command: [...base("set"), "--secret", step.key], input: step.before });
        else invocations.push({ command: [...base("set"), step.key, step.before] });
    }
    const index = j.environmentsBefore.indexOf(j.item);
    const removesItem = j.applyStarted && index >= 0;
    if (removesItem) invocations.push({ command: [...base("rm"), "--path", `environments[${index}]`] });
    const left = j.environmentsBefore.length - (removesItem ? 1 : 0);
    const apply = !j.applyStarted ? "none" : left === 0 ? "destroy" : "up";
    return {
        invocations,
        removesItem,
        apply,
        ...(apply === "none" ? {} : { command: apply === "up" ? upCommand(stack) : destroyCommand(stack) }),
    };
}

/**
 * The same undo as commands a person pastes, never holding a password: a secret's former
 * value is rebuilt from the stack's own (`pulumi config get`), piped through jq into
 * `pulumi config set`, which reads it on stdin.
 */
export function undoCommands(j: Journal, stack: string | undefined): string[] {
    const s = stack ? ` --stack ${stack}` : "";
    const { invocations } = undoPlan(j, stack);
    const secret = j.steps.slice(0, j.stepsDone).find((step) => step.secret);
    return invocations.map((inv) => {
        if (inv.input === undefined || !secret) return printable(inv.command);
        const before = JSON.parse(secret.before ?? "{}") as Record<string, Record<string, string>>;
        const after = JSON.parse(secret.value) as Record<string, Record<string, string>>;
        const env = j.environment;
        const added = Object.keys(after[env] ?? {}).filter((role) => before[env]?.[role] === undefined);
        const changed = Object.keys(after[env] ?? {}).filter(
            (role) => before[env]?.[role] !== undefined && before[env][role] !== after[env][role],
        );
        const filter = before[env] === undefined ? `del(.${env})` : `.${env} |= del(${added.map((r) => `.${r}`).join(", ")})`;
        return (
            `pulumi config get${s} ${secret.key} | jq -c '${filter}' | pulumi config set${s} --secret ${secret.key}` +
            (changed.length > 0 ? `   # and give ${env}'s ${changed.join(", ")} password back its former value` : "")
        );
    });
}

/** Where the operational replicates from after the rollback: the vault's new address when it followed the vault by address. */
export function replicaHost(r: RecordedReplication, vaultIpNow: string | undefined): string {
    return r.vaultIp !== undefined && r.masterHost === r.vaultIp && vaultIpNow ? vaultIpNow : r.masterHost;
}

/** The protocol's step 2 again, as RESP commands sent over the CLI's own connection (the password never on a command line). */
export function replicationCommands(r: RecordedReplication, vaultIpNow: string | undefined): string[][] {
    return [
        ...(r.masterauth === undefined ? [] : [["CONFIG", "SET", "masterauth", r.masterauth]]),
        ...(r.masteruser ? [["CONFIG", "SET", "masteruser", r.masteruser]] : []),
        ["REPLICAOF", replicaHost(r, vaultIpNow), String(r.masterPort)],
    ];
}

/** The files a vault loads, as adopt found them (CONFIG GET). */
export interface VaultFiles {
    dir: string;
    dbfilename: string;
    appenddirname?: string;
    appendfilename: string;
    databases: string;
}

/**
 * The arguments of the short-lived server that readies the data folder for the old vault: the
 * old vault's own Redis, on the folder, loading the append-only file (the newest state: the
 * old vault's writes and any the new one took), with the old vault's number of databases, a
 * one-time password, and no save points: it saves dump.rdb only when adopt says `SAVE`, once
 * the data is known to be whole.
 */
export function readyingArgs(files: VaultFiles, oneTimePassword: string): string[] {
    return [
        "redis-server",
        "--port",
        "6379",
        "--protected-mode",
        "no",
        "--requirepass",
        oneTimePassword,
        "--dir",
        files.dir,
        "--dbfilename",
        files.dbfilename,
        "--appendonly",
        "yes",
        ...(files.appenddirname === undefined ? [] : ["--appenddirname", files.appenddirname]),
        "--appendfilename",
        files.appendfilename,
        "--databases",
        files.databases,
        "--save",
        "",
    ];
}

/**
 * What is left to do by hand when the automatic rollback could not finish, from what the
 * takeover and the rollback had done: each step a line, its commands on the lines below it,
 * indented, in the order to run them. Every command works as written; none holds a password.
 */
export function rollbackText(j: Journal, stack: string | undefined, p: RollbackProgress = NO_PROGRESS): string {
    const lines: string[] = [];
    const step = (what: string, commands: string[]) => lines.push(`${what}:`, ...commands.map((c) => `  ${c}`));
    const env = j.environment;
    lines.push(`${env}'s data was never removed or renamed: no volume or folder was.`);
    const undo = undoPlan(j, stack);
    if (!p.configUndone && undo.invocations.length > 0)
        step(
            `undo the stack's configuration${undo.removesItem ? ` (the environments item ${j.item} too, or pulumi up would create ${env} anew)` : ""}`,
            undoCommands(j, stack),
        );
    if (!p.stackApplied && undo.command)
        step(`remove what pulumi up created for ${env} (its vault's data is not a stack resource and stays)`, [printable(undo.command)]);
    const vault = j.stopped[0];
    const current = (name: string) => (p.renamedBack.includes(name) ? name : (j.renamed.find(([from]) => from === name)?.[1] ?? name));
    if (!p.dataReady && vault) {
        // The old vault's own Redis, on its own volumes, loads the AOF (the newest state) and saves dump.rdb.
        const old = current(vault);
        const helper = `${vault}.readying`;
        step(
            `before the old vault starts, let its own Redis load the append-only file and save dump.rdb: the AOF is the newest state (adopt turned it on before the stop${j.newVaultAnswered ? ", and the new vault took writes into it" : ""}), and the old vault does not read it unless it runs with appendonly yes. Compare INFO keyspace with what you expect before the SAVE`,
            [
                `docker run -d --name ${helper} --network none --volumes-from ${old} "$(docker inspect -f '{{.Image}}' ${old})" redis-server --appendonly yes --save '' --dir ${j.files?.dir ?? "/data"} --databases ${j.files?.databases ?? "16"}`,
                `until docker exec ${helper} redis-cli INFO persistence | grep -q '^loading:0'; do sleep 0.2; done`,
                `docker exec ${helper} redis-cli INFO keyspace`,
                `docker exec ${helper} redis-cli SAVE`,
                // Stopped by Docker, not by SHUTDOWN through `docker exec`: that exec dies with its
                // container and exits 137 when it loses the race, which stops a `set -e` paste
                // halfway. SIGTERM without save points saves nothing (the SAVE above did).
                `docker stop -t 60 ${helper} && docker rm ${helper}`,
            ],
        );
    }
    const toRename = j.renamed.filter(([from]) => !p.renamedBack.includes(from));
    const toStart = j.stopped.filter((c) => !p.started.includes(c));
    if (toRename.length > 0 || toStart.length > 0)
        step(`put the old containers back${toStart.length > 0 ? " and start them, the vault first" : ""}`, [
            ...toRename.map(([from, to]) => `docker rename ${to} ${from}`),
            ...(toStart.length > 0 ? [`docker start ${toStart.join(" ")}`] : []),
        ]);
    const r = j.replication;
    if (r && !p.replicationRestored) {
        const host =
            r.vaultIp !== undefined && r.masterHost === r.vaultIp && r.network && vault
                ? `"$(docker inspect -f '{{(index .NetworkSettings.Networks "${r.network}").IPAddress}}' ${vault})"`
                : r.masterHost;
        step(
            `give ${r.operational} its replication back (the protocol set it at runtime, and its restart lost it); the vault's password is typed, never on a command line`,
            [
                "read -rs VAULT_PASSWORD",
                `printf 'CONFIG SET masterauth %s\\n' "$VAULT_PASSWORD" | docker exec -i ${r.operational} redis-cli`,
                ...(r.masteruser ? [`docker exec ${r.operational} redis-cli CONFIG SET masteruser ${r.masteruser}`] : []),
                `docker exec ${r.operational} redis-cli REPLICAOF ${host} ${r.masterPort}`,
            ],
        );
    }
    if (j.aofEnabled && j.stopped.length === 0)
        lines.push("the old vault now has appendonly yes (CONFIG SET, until it restarts): harmless");
    return lines.join("\n");
}
