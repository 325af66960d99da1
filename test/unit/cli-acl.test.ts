/**
 * ACL drift, on what Redis answers to ACL GETUSER for the program's declared users and after
 * the widenings an operator could run by hand, in the two forms Redis writes command rules.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { operationalAdminRules, operationalDefaultUserRules, replicationUserRules } from "../../components/redisServer";
import { aclDifferences } from "../../cli/redis/acl";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import { aclProblems } from "../../cli/health/vaultProblems";
import { declaredOperationalUsers } from "../../cli/fleet/declared";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { planFix } from "../../cli/health/fix";
import { type AclUser, parseAclUser } from "../../cli/redis/replies";
import { contact, fleetOutputs, healthyStandard } from "./cli-samples";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

/** ACL GETUSER as RESP2 delivers it. */
const reply = (flags: string[], passwords: string[], commands: string, keys: string, channels: string) => [
    "flags",
    flags,
    "passwords",
    passwords,
    "commands",
    commands,
    "keys",
    keys,
    "channels",
    channels,
    "selectors",
    [],
];

/** The `commands` field of ACL GETUSER for the declared users, and after each widening by hand. */
interface CommandsForm {
    default: string;
    replicator: string;
    afterSetuser: { "+@all": string; "+set": string; "+@dangerous": string; "-@read": string; "replicator +@read": string };
    /** What aclDifferences says about each widening (declared: the program's rules). */
    differences: { "+@all": string[]; "+set": string[]; "+@dangerous": string[]; "-@read": string[]; "replicator +@read": string[] };
}

/**
 * Redis 7.0, captured from Debian's redis-server 7.0.15 in the test image (a container started
 * with the program's --user rules, then ACL SETUSER default RULE, then ACL GETUSER). 7.0
 * rebuilds the rules from the command bitmap: -@dangerous comes back as single commands, in
 * an order that changes with each server process.
 */
const REDIS_7_0: CommandsForm = {
    default:
        "-@all +@read +@connection +info -keys -sort_ro -client|kill -client|pause -client|unblock -client|unpause -client|no-evict -client|list",
    replicator: "-@all +replconf +psync",
    afterSetuser: {
        "+@all": "+@all",
        "+set": "-@all +@read +@connection +set -sort_ro +info -keys -client|kill -client|list -client|unblock -client|unpause -client|no-evict -client|pause",
        "+@dangerous": "-@all +@read +@admin +@connection +restore +info +flushdb +flushall +swapdb +sort +migrate +restore-asking",
        "-@read": "-@all +@connection +info -client|kill -client|pause -client|unpause -client|list -client|unblock -client|no-evict",
        "replicator +@read": "-@all +@read +psync +replconf",
    },
    differences: {
        "+@all": ["commands start from +@all, declared -@all", "lacks +@read +@connection +info"],
        "+set": ["grants +set beyond the declared"],
        "+@dangerous": ["grants +@admin +restore +flushdb +flushall +swapdb +sort +migrate +restore-asking beyond the declared"],
        "-@read": ["lacks +@read"],
        "replicator +@read": ["grants +@read beyond the declared"],
    },
};

/**
 * Redis 7.2, CONSTRUCTED, not captured: no 7.2 server runs on these machines. From
 * redis/redis#11224 (merged after 7.0, so first released in 7.2; the 7.0.15 replies above
 * show 7.0 without it) and src/acl.c as read in a later release: ACLUpdateCommandRules keeps
 * each command or category rule lowercased, in the order written, dropping an earlier rule
 * for the same command or category; -@all and +@all clear the list; ACL GETUSER prints -@all
 * or +@all followed by the kept rules. So the rules come back as the program wrote them.
 */
const REDIS_7_2: CommandsForm = {
    default: "-@all +@read +@connection -@dangerous +info",
    replicator: "-@all +psync +replconf",
    afterSetuser: {
        "+@all": "+@all",
        "+set": "-@all +@read +@connection -@dangerous +info +set",
        "+@dangerous": "-@all +@read +@connection +info +@dangerous",
        "-@read": "-@all +@connection -@dangerous +info -@read",
        "replicator +@read": "-@all +psync +replconf +@read",
    },
    differences: {
        "+@all": ["commands start from +@all, declared -@all", "lacks +@read +@connection +info"],
        "+set": ["grants +set beyond the declared"],
        "+@dangerous": ["grants +@dangerous beyond the declared"],
        "-@read": ["lacks +@read", "removes -@read, not declared"],
        "replicator +@read": ["grants +@read beyond the declared"],
    },
};

const defaultUser = (commands = REDIS_7_0.default, more: Partial<AclUser> = {}): AclUser => ({
    ...parseAclUser(reply(["on", "nopass", "sanitize-payload"], [], commands, "~*", ""))!,
    ...more,
});
const adminUser = () => parseAclUser(reply(["on"], [sha(contact.operational.adminPassword)], "+@all", "~*", "&*"))!;
const replicator = (commands = REDIS_7_0.replicator) => parseAclUser(reply(["on"], [sha(contact.replication.password)], commands, "", ""))!;

describe.each([
    ["Redis 7.0.15 (captured)", REDIS_7_0],
    ["Redis 7.2 (constructed from its source)", REDIS_7_2],
])("ACL GETUSER of %s against the declared rules", (_version, form) => {
    it("finds no difference in what Redis reports for the declared users", () => {
        expect(aclDifferences(defaultUser(form.default), operationalDefaultUserRules())).toEqual([]);
        expect(aclDifferences(adminUser(), operationalAdminRules(sha(contact.operational.adminPassword)))).toEqual([]);
        expect(aclDifferences(replicator(form.replicator), replicationUserRules(sha(contact.replication.password)))).toEqual([]);
    });

    it.each(["+@all", "+set", "+@dangerous", "-@read"] as const)(
        "catches ACL SETUSER default %s on the operational's default user",
        (rule) => {
            expect(aclDifferences(defaultUser(form.afterSetuser[rule]), operationalDefaultUserRules())).toEqual(form.differences[rule]);
        },
    );

    it("catches ACL SETUSER replicator +@read on the vault's replication user", () => {
        const rules = replicationUserRules(sha(contact.replication.password));
        expect(aclDifferences(replicator(form.afterSetuser["replicator +@read"]), rules)).toEqual(form.differences["replicator +@read"]);
    });
});

describe("ACL GETUSER against the declared rules", () => {
    it("catches a password, keys, channels or a selector added to the default user, never printing a password", () => {
        const differences = aclDifferences(
            defaultUser(REDIS_7_0.default, {
                flags: ["on"],
                passwords: [sha("hunter2")],
                keys: "~* %W~*",
                channels: "&*",
                selectors: [["commands", "+@all"]],
            }),
            operationalDefaultUserRules(),
        ).join("; ");
        expect(differences).toBe(
            "needs a password, declared nopass; has 1 password, declared none; keys ~* %W~*, declared ~*; channels &*, declared none; has 1 selector, declared none",
        );
        expect(differences).not.toContain(sha("hunter2"));
    });

    it("catches a re-passworded replication user, and a missing one", () => {
        const rules = replicationUserRules(sha(contact.replication.password));
        const other = { ...replicator(), passwords: [sha("guessed")] };
        expect(aclDifferences(other, rules)).toEqual(["its passwords differ from the stack's"]);
        expect(aclDifferences(undefined, rules)).toEqual(["does not exist"]);
    });

    it("says a rotation is open when the user holds the stack's password and a new one", () => {
        const rules = replicationUserRules(sha(contact.replication.password));
        const rotating = { ...replicator(), passwords: [sha(contact.replication.password), sha("the-new-one")] };
        expect(aclDifferences(rotating, rules)).toEqual([
            "accepts 1 password besides the stack's: a rotation is open (`pulumi up` finishes it)",
        ]);
    });

    it("reports users nobody declared", () => {
        const problems = aclProblems("vault-acl-drift", "vault", { default: [] }, ["default", "backdoor"], { default: undefined });
        expect(problems.map((p) => [p.code, p.user])).toEqual([
            ["vault-acl-drift", "default"],
            ["vault-acl-drift", "backdoor"],
        ]);
        expect(problems[1].message).toBe("vault ACL user backdoor exists, and the program declares no such user (ACL SETUSER by hand?)");
    });
});

describe("an operational whose default user was widened", () => {
    const context = diagnosisContext(fleetOutputs);
    const observation = (): EnvironmentObservation => {
        const o = healthyStandard();
        o.operational!.users = Object.keys(declaredOperationalUsers(contact));
        o.operational!.acl = { default: defaultUser("+@all"), admin: adminUser() };
        return o;
    };

    it("is operational-acl-drift, naming the user", () => {
        const problems = diagnose(contact, observation(), context).problems;
        expect(problems).toEqual([
            {
                code: "operational-acl-drift",
                user: "default",
                message:
                    "operational ACL user default (clients without a password, who may only read) commands start from +@all, declared -@all; lacks +@read +@connection +info (ACL SETUSER by hand?)",
            },
        ]);
    });

    it("--fix leaves the default user alone when the outputs make it the admin user --fix logs in as", () => {
        const handWritten = { ...contact, operational: { ...contact.operational, adminUser: "default" } };
        const o = observation();
        const plan = planFix(handWritten, o, diagnose(handWritten, o, context), { force: false });
        expect(plan.actions).toEqual([]);
        expect(plan.notFixed).toEqual([
            expect.stringMatching(
                /^the default user's ACL stays: the outputs name default as the operational's admin user, the one --fix logs in as/,
            ),
        ]);
    });

    it("--fix resets the default user to its declared rules, and only it", () => {
        const o = observation();
        o.operational!.acl!.admin = { ...adminUser(), keys: "~app:*" };
        const plan = planFix(contact, o, diagnose(contact, o, context), { force: false });
        expect(plan.actions.map((a) => a.command)).toEqual([["ACL", "SETUSER", "default", "reset", ...operationalDefaultUserRules()]]);
        expect(plan.notFixed).toEqual(["--fix restores only the default user's ACL: admin stays for an operator"]);
    });
});

describe("an operational whose default user may run what it must not, though its rules read the same", () => {
    const context = diagnosisContext(fleetOutputs);
    // `ACL SETUSER default +keys` on Redis 7.0 only drops "-keys" from ACL GETUSER's list, which
    // still matches the declared rules: ACL DRYRUN is what tells.
    const observation = (mayRun: string[]): EnvironmentObservation => {
        const o = healthyStandard();
        o.operational!.users = Object.keys(declaredOperationalUsers(contact));
        o.operational!.acl = { default: defaultUser(), admin: adminUser() };
        o.operational!.readerMayRun = mayRun;
        return o;
    };

    it("is healthy when ACL DRYRUN refuses every forbidden command", () => {
        expect(diagnose(contact, observation([]), context).problems).toEqual([]);
    });

    it("is operational-acl-drift naming what ACL DRYRUN allowed, and --fix resets the user", () => {
        const o = observation(["KEYS", "CONFIG SET"]);
        const diagnosis = diagnose(contact, o, context);
        expect(diagnosis.problems).toEqual([
            {
                code: "operational-acl-drift",
                user: "default",
                message:
                    "operational ACL user default (clients without a password, who may only read) may run KEYS, CONFIG SET (ACL DRYRUN; ACL SETUSER by hand?)",
            },
        ]);
        expect(planFix(contact, o, diagnosis, { force: false }).actions.map((a) => a.command)).toEqual([
            ["ACL", "SETUSER", "default", "reset", ...operationalDefaultUserRules()],
        ]);
    });
    it("is reported once when its rules differ too: the differences, not ACL DRYRUN's list a second time", () => {
        const o = observation(["KEYS"]);
        o.operational!.acl!.default = defaultUser("+@all");
        const problems = diagnose(contact, o, context).problems;
        expect(problems.map((p) => [p.code, p.user])).toEqual([["operational-acl-drift", "default"]]);
        expect(problems[0].message).toContain("commands start from +@all");
    });
});
