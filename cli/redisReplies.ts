/**
 * Parsers for the Redis replies the checks read: INFO sections, CLIENT LIST lines and
 * CONFIG GET's flat name/value list. Pure, so the diagnosis is tested on samples.
 */

/** `INFO` text as `field → value` (section headers and blank lines dropped). */
export type Info = Readonly<Record<string, string>>;

export function parseInfo(text: string): Info {
    const fields: Record<string, string> = {};
    for (const line of text.split(/\r?\n/)) {
        if (line === "" || line.startsWith("#")) continue;
        const colon = line.indexOf(":");
        if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
    }
    return fields;
}

/** One line of CLIENT LIST: `id=3 addr=172.20.0.3:56494 laddr=172.20.0.2:6379 ... user=replicator`. */
export type ClientEntry = Readonly<Record<string, string>>;

export function parseClientList(text: string): ClientEntry[] {
    return text
        .split(/\r?\n/)
        .filter((line) => line.trim() !== "")
        .map((line) => keyValues(line.trim(), " "));
}

/**
 * CONFIG GET's reply `[name, value, name, value, ...]` as an object. A malformed reply is
 * described by its shape only: the values may be passwords (the operational's masterauth).
 */
export function configPairs(reply: unknown): Record<string, string> {
    if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error(`unexpected CONFIG GET reply: ${replyShape(reply)}, expected name/value pairs`);
    const result: Record<string, string> = {};
    for (let i = 0; i < reply.length; i += 2) result[String(reply[i])] = String(reply[i + 1]);
    return result;
}

/** What a reply is, never what it holds. */
export function replyShape(reply: unknown): string {
    if (Array.isArray(reply)) return `an array of ${reply.length} element${reply.length === 1 ? "" : "s"}`;
    if (reply === null || reply === undefined) return "nil";
    return `a ${typeof reply}`;
}

/** Integer field of an INFO reply, or undefined when absent or not a number. */
export function infoInt(info: Info | undefined, field: string): number | undefined {
    const value = info?.[field];
    if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
    return Number(value);
}

/** The replication id Redis shows before any history exists (`master_replid2` of a server that never switched). */
export const NO_REPLID = "0000000000000000000000000000000000000000";

function keyValues(text: string, separator: string): Record<string, string> {
    const result: Record<string, string> = {};
    for (const part of text.split(separator)) {
        const eq = part.indexOf("=");
        if (eq > 0) result[part.slice(0, eq)] = part.slice(eq + 1);
    }
    return result;
}
