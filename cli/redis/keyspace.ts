/**
 * How many keys a Redis server holds, in every database. `DBSIZE` (and `redis-cli dbsize`)
 * counts the selected database only, database 0 by default: a vault whose data is all in
 * database 2 has a DBSIZE of 0. `INFO keyspace` lists every database that holds a key, with
 * its count and how many of them have an expiry (server.c, genRedisInfoString's "keyspace"
 * section: `db%d:keys=%lld,expires=%lld,avg_ttl=%lld`, skipping empty databases). Pure.
 */
import type { Info } from "./replies";

/** One database's line of INFO keyspace. */
export interface DatabaseCount {
    keys: number;
    expiringKeys: number;
}

export interface Keyspace {
    /** Keys in every database. */
    keys: number;
    /** Keys with an expiry, in every database. */
    expiringKeys: number;
    /** The databases that hold a key, by number ("0", "2"); empty ones are not listed. */
    databases: Record<string, DatabaseCount>;
}

export class KeyspaceError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "KeyspaceError";
    }
}

/**
 * A database's entry of INFO keyspace: field `db2`, value `keys=5000,expires=0,avg_ttl=0` (a
 * newer Redis adds fields after `expires`), or undefined when the field or value is not one.
 */
function databaseEntry(field: string, value: string): [string, DatabaseCount] | undefined {
    const db = /^db(\d+)$/.exec(field);
    const counts = /^keys=(\d+),expires=(\d+)(,|$)/.exec(value);
    if (!db || !counts) return undefined;
    return [String(Number(db[1])), { keys: Number(counts[1]), expiringKeys: Number(counts[2]) }];
}

function keyspaceOf(entries: [string, DatabaseCount][]): Keyspace {
    const keyspace: Keyspace = { keys: 0, expiringKeys: 0, databases: {} };
    for (const [db, count] of entries) {
        keyspace.databases[db] = count;
        keyspace.keys += count.keys;
        keyspace.expiringKeys += count.expiringKeys;
    }
    return keyspace;
}

/**
 * The reply of `INFO keyspace`. Anything else (an error such as NOAUTH or LOADING, an empty
 * answer) is refused rather than read as "no database listed, so no key": that misreading is
 * how an unreadable vault would pass for an empty one.
 */
export function parseKeyspace(text: string): Keyspace {
    const lines = text.split(/\r?\n/).map((line) => line.trim());
    if (!lines.includes("# Keyspace")) {
        throw new KeyspaceError(`not an INFO keyspace reply: ${JSON.stringify(text.trim().slice(0, 120))}`);
    }
    const entries = lines
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => {
            const colon = line.indexOf(":");
            const entry = colon < 0 ? undefined : databaseEntry(line.slice(0, colon), line.slice(colon + 1));
            if (!entry) throw new KeyspaceError(`unexpected line in INFO keyspace: ${JSON.stringify(line.slice(0, 120))}`);
            return entry;
        });
    return keyspaceOf(entries);
}

/**
 * The keyspace in INFO's fields (parseInfo, of `INFO keyspace` or a whole `INFO`): the
 * databases among them, other fields ignored. A reply without the section reads as no key, so
 * this is for a server already known to answer; parseKeyspace refuses an answer that is not one.
 */
export function readKeyspace(info: Info): Keyspace {
    return keyspaceOf(
        Object.entries(info)
            .map(([field, value]) => databaseEntry(field, value))
            .filter((entry) => entry !== undefined),
    );
}

/** The highest database number that holds a key, or undefined when none does. */
export function highestDatabase(databases: Record<string, DatabaseCount>): number | undefined {
    const numbers = Object.keys(databases).map(Number);
    return numbers.length === 0 ? undefined : Math.max(...numbers);
}

/** "100000 keys in db0, 5000 in db2": where the keys are, for people. */
export function describeDatabases(databases: Record<string, DatabaseCount>): string {
    const entries = Object.entries(databases).sort(([a], [b]) => Number(a) - Number(b));
    if (entries.length === 0) return "no key in any database";
    return entries.map(([db, c], i) => `${c.keys}${i === 0 ? ` key${c.keys === 1 ? "" : "s"}` : ""} in db${db}`).join(", ");
}
