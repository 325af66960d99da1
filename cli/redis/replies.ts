/**
 * Parsers for the Redis replies the checks read: INFO sections, CLIENT LIST lines and
 * CONFIG GET's flat name/value list, and what INFO persistence says of the AOF. Pure, so the
 * diagnosis is tested on samples.
 */
import { kindOf } from "../../components/values";

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
    if (!Array.isArray(reply) || reply.length % 2 !== 0)
        throw new Error(`unexpected CONFIG GET reply: ${replyShape(reply)}, expected name/value pairs`);
    const result: Record<string, string> = {};
    for (let i = 0; i < reply.length; i += 2) result[String(reply[i])] = String(reply[i + 1]);
    return result;
}

/** What a reply is, never what it holds. */
export function replyShape(reply: unknown): string {
    if (Array.isArray(reply)) return `an array of ${reply.length} element${reply.length === 1 ? "" : "s"}`;
    if (reply === null || reply === undefined) return "nil";
    return kindOf(reply);
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

/** ACL GETUSER's reply, as Redis 7 describes a user (RESP2: a flat name/value list). */
export interface AclUser {
    flags: string[];
    /** SHA-256 hex of each password (Redis never returns a password itself). */
    passwords: string[];
    /** Command rules as Redis normalised them: `-@all +@read +@connection -sort_ro +info -keys ...`. */
    commands: string;
    /** Key patterns, space separated: `~*`, `%R~cache:*`, or "". */
    keys: string;
    /** Channel patterns: `&*`, or "". */
    channels: string;
    /** Further selectors (`(~x +get)`), each described as Redis lists it. */
    selectors: unknown[];
}

/** ACL GETUSER's reply as an `AclUser`; undefined for nil (no such user). Described by shape only when malformed. */
export function parseAclUser(reply: unknown): AclUser | undefined {
    if (reply === null || reply === undefined) return undefined;
    if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error(`unexpected ACL GETUSER reply: ${replyShape(reply)}`);
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < reply.length; i += 2) fields[String(reply[i])] = reply[i + 1];
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    const text = (v: unknown) => (Array.isArray(v) ? v.map(String).join(" ") : v === null || v === undefined ? "" : String(v));
    return {
        flags: list(fields.flags),
        passwords: list(fields.passwords),
        commands: text(fields.commands),
        keys: text(fields.keys),
        channels: text(fields.channels),
        selectors: Array.isArray(fields.selectors) ? fields.selectors : [],
    };
}

/** The AOF holds the whole dataset: no rewrite running or pending, the last one (and the last write) fine. */
export function aofSettled(info: Record<string, string>, rewritesBefore: number | undefined): boolean {
    const rewrites = info.aof_rewrites === undefined ? undefined : Number(info.aof_rewrites);
    return (
        info.aof_enabled === "1" &&
        info.aof_rewrite_in_progress === "0" &&
        info.aof_rewrite_scheduled === "0" &&
        info.aof_last_bgrewrite_status === "ok" &&
        info.aof_last_write_status === "ok" &&
        // Redis 7 counts rewrites: one must have finished since AOF was turned on.
        (rewritesBefore === undefined || rewrites === undefined || rewrites > rewritesBefore)
    );
}
