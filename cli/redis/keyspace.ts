/**
 * How many keys a Redis server holds, in every database. `DBSIZE` (and `redis-cli dbsize`)
 * counts the selected database only, database 0 by default: a vault whose data is all in
 * database 2 has a DBSIZE of 0. `INFO keyspace` lists every database that holds a key, with
 * its count and how many of them have an expiry (server.c, genRedisInfoString's "keyspace"
 * section: `db%d:keys=%lld,expires=%lld,avg_ttl=%lld`, skipping empty databases). Pure.
 */

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
 * The reply of `INFO keyspace`. Anything else (an error such as NOAUTH or LOADING, an empty
 * answer) is refused rather than read as "no database listed, so no key": that misreading is
 * how an unreadable vault would pass for an empty one.
 */
export function parseKeyspace(text: string): Keyspace {
    const lines = text.split(/\r?\n/).map((line) => line.trim());
    if (!lines.includes("# Keyspace")) {
        throw new KeyspaceError(`not an INFO keyspace reply: ${JSON.stringify(text.trim().slice(0, 120))}`);
    }
    const keyspace: Keyspace = { keys: 0, expiringKeys: 0, databases: {} };
    for (const line of lines) {
        if (line === "" || line.startsWith("#")) continue;
        const match = /^db(\d+):keys=(\d+),expires=(\d+)(,|$)/.exec(line);
        if (!match) throw new KeyspaceError(`unexpected line in INFO keyspace: ${JSON.stringify(line.slice(0, 120))}`);
        const count = { keys: Number(match[2]), expiringKeys: Number(match[3]) };
        keyspace.databases[String(Number(match[1]))] = count;
        keyspace.keys += count.keys;
        keyspace.expiringKeys += count.expiringKeys;
    }
    return keyspace;
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
