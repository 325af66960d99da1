/**
 * `nexus-redis adopt`, the old vault's settings against the ones the new vault will run with:
 * every setting of Redis's config list (7.0 and 7.2), the loaded modules and the renamed
 * commands, each classified as
 *
 *   - refused: the old data would not load on the new vault (`databases`, modules), or its
 *     clients would see it behave otherwise (evictions, keyspace notifications, TLS, a fsync
 *     per write...). The message names the setting, both values and how to go on;
 *   - carried over: what the program has a configuration for (the password, the data, the
 *     ports, the network) is set by adopt itself, and `maxmemory` is named with `memoryLimitMb`;
 *   - harmless: the same data and the same replies, only memory, CPU, logging or timing
 *     differ. The dry run lists those that differ, so nothing changes unsaid.
 *
 * What the new vault runs with is `vaultSettings()` (its config file) over Redis's own
 * defaults. Pure: adopt/discover.ts asks the old vault (`CONFIG GET *`, `MODULE LIST`,
 * `INFO keyspace`, `ACL CAT` and `COMMAND INFO`), adopt/judge.ts turns the verdicts into the plan.
 *
 * Here: what the judgement reads (the facts, the keyspace, the modules, the renamed commands),
 * the rules' types and the persistence note; every setting's rule, and the judgement by them, in
 * adopt/settingRules.ts; Redis's own defaults in adopt/redisDefaults.ts.
 */
import { type Settings, vaultSettings } from "../../components/redisServer";
import { readKeyspace } from "../redis/keyspace";
import type { Info } from "../redis/replies";
import { REDIS_DEFAULTS } from "./redisDefaults";

/** What the new vault runs with: the program's declared settings over Redis's defaults. */
export function newVaultSettings(memoryLimitMb: number): Settings {
    return { ...REDIS_DEFAULTS, ...vaultSettings({ memoryLimitMb: memoryLimitMb === 0 ? undefined : memoryLimitMb }) };
}

/** One database's line of INFO keyspace. */
export interface DatabaseKeys {
    keys: number;
    expires: number;
}

/** INFO keyspace by database number: only databases that hold keys are listed by Redis. */
export type Keyspace = Readonly<Record<number, DatabaseKeys>>;

/**
 * INFO keyspace (`db3:keys=17000,expires=2,avg_ttl=0`) as counts by database, read by
 * redis/keyspace.ts. In adopt's own shape (`expires`), which its rollback journal and `--json`
 * plan keep.
 */
export function parseKeyspace(info: Info): Keyspace {
    return Object.fromEntries(
        Object.entries(readKeyspace(info).databases).map(([db, c]) => [Number(db), { keys: c.keys, expires: c.expiringKeys }]),
    );
}

/** Every database's keys together: what DBSIZE would say if it did not count database 0 only. */
export function totalKeys(keyspace: Keyspace): number {
    return Object.values(keyspace).reduce((sum, db) => sum + db.keys, 0);
}

/** `db0 17004, db3 17000` for the databases that hold keys, in order. */
export function describeKeyspace(keyspace: Keyspace): string {
    return Object.entries(keyspace)
        .map(([db, counts]) => [Number(db), counts.keys] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([db, keys]) => `db${db} ${keys}`)
        .join(", ");
}

/**
 * Whether a server that should hold `expected`'s data holds it: every database at least its
 * keys, less those that may have expired since (`expires`) and 1 % for deletions by clients
 * meanwhile. Returns what falls short, in words, or undefined. More keys is never a shortfall:
 * clients may have written since.
 */
export function keyspaceShortfall(expected: Keyspace, found: Keyspace): string | undefined {
    const short: string[] = [];
    for (const [db, counts] of Object.entries(expected)) {
        const floor = counts.keys - counts.expires - Math.floor(counts.keys / 100);
        const has = found[Number(db)]?.keys ?? 0;
        if (has < floor) short.push(`db${db} holds ${has} keys, not ${counts.keys}`);
    }
    return short.length === 0 ? undefined : short.join(", ");
}

/** A module as `MODULE LIST` describes it (Redis 7 adds its path and arguments). */
export interface LoadedModule {
    name: string;
    ver?: string;
    path?: string;
}

/** `MODULE LIST`'s reply (RESP2: one flat name/value list per module). */
export function parseModuleList(reply: unknown): LoadedModule[] {
    if (!Array.isArray(reply)) return [];
    return reply.filter(Array.isArray).map((entry: unknown[]) => {
        const fields: Record<string, string> = {};
        for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = String(entry[i + 1]);
        return { name: fields.name ?? "?", ...(fields.ver ? { ver: fields.ver } : {}), ...(fields.path ? { path: fields.path } : {}) };
    });
}

/**
 * Commands renamed or removed with `rename-command`, which `CONFIG GET` does not show: every
 * command Redis knows (`ACL CAT`, which lists commands by their original names even when they
 * are renamed or removed) that `COMMAND INFO` under its own name does not find.
 */
export function renamedCommands(known: readonly string[], infoReplies: readonly unknown[]): string[] {
    return known.filter((_, i) => infoReplies[i] === null || infoReplies[i] === undefined);
}

/** What is known about the old vault beside its settings. */
export interface SettingsFacts {
    /** The old vault's container name, for the messages. */
    container: string;
    /** `CONFIG GET *`. */
    config: Readonly<Record<string, string>>;
    declared: Settings;
    /** memoryLimitMb of the stack (0: no limit), to say which value gives what maxmemory. */
    memoryLimitMb: number;
    keyspace: Keyspace;
    modules: readonly LoadedModule[];
    /** Commands renamed or removed (rename-command). */
    renamed: readonly string[];
    /** INFO memory used_memory, INFO clients connected_clients. */
    usedMemory?: number;
    connectedClients?: number;
}

/** The verdict on one setting (or group of settings judged together). */
export interface SettingVerdict {
    refuse?: string;
    note?: string;
}

type Judge = (f: SettingsFacts) => SettingVerdict;

/** A setting whose difference can refuse the takeover: judged by its function. */
export interface RefusingRule {
    kind: "refuse";
    names: readonly string[];
    judge: Judge;
}

/** Settings whose difference changes nothing clients see: listed in the dry run when they differ. */
export interface HarmlessRule {
    kind: "harmless";
    /** Why they do not matter, for the note. */
    why: string;
    names: readonly (string | RegExp)[];
}

/** Settings another rule of adopt judges (or carries over), never listed here. */
export interface HandledRule {
    kind: "handled";
    by: string;
    names: readonly (string | RegExp)[];
}

export type SettingRule = RefusingRule | HarmlessRule | HandledRule;

export const shown = (v: string) => (v === "" ? "''" : v);

/**
 * How the new vault's persistence differs from the old one's (save points, AOF, fsync), for
 * the dry run: undefined when they agree. Values as `CONFIG GET` gives them.
 */
export function persistenceChange(old: Readonly<Record<string, string>>, declared: Settings): string | undefined {
    const changes: string[] = [];
    for (const name of ["save", "appendonly", "appendfsync", "stop-writes-on-bgsave-error"]) {
        const was = old[name];
        const will = declared[name];
        if (was === undefined || will === undefined || was === will) continue;
        if (name === "appendfsync" && old.appendonly !== "yes") continue; // it meant nothing with AOF off
        changes.push(`${name} ${shown(was)} → ${shown(will)}`);
    }
    if (changes.length === 0) return undefined;
    const save = declared.save ?? "";
    const what =
        save === ""
            ? "the new vault takes no RDB snapshot of its own (backups take them)"
            : `the new vault snapshots dump.rdb at Redis's save points (${save})`;
    return `the new vault's persistence differs from the old one's: ${changes.join(", ")}; ${what}, its AOF is fsynced ${declared.appendfsync === "always" ? "at every write" : declared.appendfsync === "no" ? "when the kernel decides" : "every second"}`;
}
