/**
 * Runtime drift of ACL users: what `ACL GETUSER` reports against the rules the program
 * declares (components/redisServer.ts). Pure.
 *
 * Redis does not always echo the rules it was given. `ACL GETUSER default` of an operational
 * started with `on nopass ~* resetchannels -@all +@read +@connection -@dangerous +info`
 * reports, on Redis 7.0.15 (Debian's, the test image; captured from a container):
 *
 *     flags     on nopass sanitize-payload
 *     passwords (none)
 *     commands  -@all +@read +@connection +info -keys -sort_ro -client|kill -client|pause ...
 *     keys      ~*
 *     channels  (none)
 *
 * Redis 7.0 rebuilds the rules from the user's command bitmap: `-@dangerous` comes back
 * written out as the single commands it removed (which ones depends on the version), in an
 * order that changes from one server process to the next. Redis 7.2 keeps the command and
 * category rules as they were written (redis/redis#11224): `-@all +@read +@connection
 * -@dangerous +info`. So the comparison is by meaning, not by text, and holds for both:
 *
 * - flags: on/off and nopass as declared (other flags, such as sanitize-payload, are Redis's own);
 * - passwords: exactly the SHA-256 of each declared `>password` (compared, never printed);
 * - keys and channels: the same set of patterns;
 * - no selectors;
 * - commands: the same base (`-@all` / `+@all`), exactly the declared grants (every `+...`
 *   token: a `+@all`, `+@dangerous`, `+set` or `+config|set` added by hand shows here),
 *   category removals only those declared; removals of single commands are accepted
 *   (they are how Redis 7.0 writes out a declared category removal, and can only narrow).
 *
 * Not seen: a widening that brings no new grant token. On 7.0, `ACL SETUSER default +keys`
 * only drops `-keys` from the list; on 7.2, `ACL SETUSER default +@read` moves `+@read` after
 * `-@dangerous`. Either gives KEYS back to clients without a password, and the tokens still
 * compare equal: seeing it needs the categories' contents (ACL CAT) or the rules' order.
 */
import { passwordHash } from "../../components/redisServer";
import type { AclUser } from "./replies";

/** Differences between a user as Redis reports it and its declared rules, in words; [] when none. Never a password. */
export function aclDifferences(actual: AclUser | undefined, declared: string[]): string[] {
    if (!actual) return ["does not exist"];
    const expected = expectedUser(declared);
    const differences: string[] = [];

    const enabled = actual.flags.includes("on");
    if (enabled !== expected.enabled) differences.push(`is ${enabled ? "on" : "off"}, declared ${expected.enabled ? "on" : "off"}`);
    const nopass = actual.flags.includes("nopass");
    if (nopass !== expected.nopass)
        differences.push(nopass ? "accepts any password (nopass), declared with a password" : "needs a password, declared nopass");
    if (!sameSet(actual.passwords, expected.passwordHashes)) {
        const extra = actual.passwords.filter((p) => !expected.passwordHashes.includes(p)).length;
        const kept = expected.passwordHashes.every((p) => actual.passwords.includes(p));
        differences.push(
            expected.passwordHashes.length === 0
                ? `has ${actual.passwords.length} password${actual.passwords.length === 1 ? "" : "s"}, declared none`
                : kept
                  ? // What `nexus-redis rotate` leaves until the next `pulumi up`: the stack's password and a new one.
                    `accepts ${extra} password${extra === 1 ? "" : "s"} besides the stack's: a rotation is open (\`pulumi up\` finishes it)`
                  : "its passwords differ from the stack's",
        );
    }
    const keys = words(actual.keys);
    if (!sameSet(keys, expected.keys)) differences.push(`keys ${show(keys)}, declared ${show(expected.keys)}`);
    const channels = words(actual.channels);
    if (!sameSet(channels, expected.channels)) differences.push(`channels ${show(channels)}, declared ${show(expected.channels)}`);
    if (actual.selectors.length > 0)
        differences.push(`has ${actual.selectors.length} selector${actual.selectors.length === 1 ? "" : "s"}, declared none`);

    const commands = words(actual.commands);
    const base = commands[0] ?? "";
    if (base !== expected.base) differences.push(`commands start from ${base || "nothing"}, declared ${expected.base}`);
    const grants = commands.slice(1).filter((w) => w.startsWith("+"));
    const expectedGrants = expected.commands.slice(1).filter((w) => w.startsWith("+"));
    if (!sameSet(grants, expectedGrants)) {
        const added = grants.filter((g) => !expectedGrants.includes(g));
        const missing = expectedGrants.filter((g) => !grants.includes(g));
        differences.push(
            [
                added.length > 0 ? `grants ${added.join(" ")} beyond the declared` : "",
                missing.length > 0 ? `lacks ${missing.join(" ")}` : "",
            ]
                .filter(Boolean)
                .join(" and "),
        );
    }
    const removedCategories = commands.slice(1).filter((w) => w.startsWith("-@") && !expected.commands.includes(w));
    if (removedCategories.length > 0) differences.push(`removes ${removedCategories.join(" ")}, not declared`);
    return differences;
}

interface ExpectedUser {
    enabled: boolean;
    nopass: boolean;
    passwordHashes: string[];
    keys: string[];
    channels: string[];
    /** `-@all` or `+@all`, then the declared command rules in order. */
    base: string;
    commands: string[];
}

/** What Redis reports for a user created with these rules (Redis 7: no channels unless granted). */
export function expectedUser(rules: string[]): ExpectedUser {
    const user: ExpectedUser = {
        enabled: false,
        nopass: false,
        passwordHashes: [],
        keys: [],
        channels: [],
        base: "-@all",
        commands: ["-@all"],
    };
    for (const rule of rules) {
        const lower = rule.toLowerCase();
        if (lower === "on") user.enabled = true;
        else if (lower === "off") user.enabled = false;
        else if (lower === "nopass") {
            user.nopass = true;
            user.passwordHashes = [];
        } else if (lower === "resetpass") {
            user.nopass = false;
            user.passwordHashes = [];
        } else if (rule.startsWith(">")) {
            user.nopass = false;
            user.passwordHashes.push(passwordHash(rule.slice(1)));
        } else if (rule.startsWith("#")) user.passwordHashes.push(rule.slice(1).toLowerCase());
        else if (lower === "allkeys") user.keys = ["~*"];
        else if (lower === "resetkeys") user.keys = [];
        else if (rule.startsWith("~") || rule.startsWith("%")) user.keys.push(rule);
        else if (lower === "allchannels") user.channels = ["&*"];
        else if (lower === "resetchannels") user.channels = [];
        else if (rule.startsWith("&")) user.channels.push(rule);
        else if (lower === "allcommands" || lower === "+@all") user.commands = ["+@all"];
        else if (lower === "nocommands" || lower === "-@all") user.commands = ["-@all"];
        else if (rule.startsWith("+") || rule.startsWith("-")) user.commands.push(rule);
        else throw new Error(`aclDifferences: unsupported declared ACL rule ${JSON.stringify(rule.startsWith("<") ? "<..." : rule)}`);
    }
    user.base = user.commands[0];
    return user;
}

function words(text: string): string[] {
    return text.split(" ").filter((w) => w !== "");
}

function sameSet(a: string[], b: string[]): boolean {
    const x = new Set(a);
    const y = new Set(b);
    return x.size === y.size && [...x].every((v) => y.has(v));
}

function show(patterns: string[]): string {
    return patterns.length === 0 ? "none" : patterns.join(" ");
}
