/**
 * ACL drift, on what Redis 7.0.15 (the test image) really answers to ACL GETUSER for the
 * program's declared users, and after the widenings an operator could run by hand.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { operationalAdminRules, operationalDefaultUserRules, replicationUserRules } from "../../components/redisServer";
import { aclDifferences } from "../../cli/acl";
import { aclProblems, declaredOperationalUsers, diagnose, diagnosisContext } from "../../cli/diagnose";
import type { EnvironmentObservation } from "../../cli/observe";
import { planFix } from "../../cli/fix";
import { type AclUser, parseAclUser } from "../../cli/redisReplies";
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

// Captured from a container started with the program's rules.
const DEFAULT_COMMANDS =
    "-@all +@read +@connection -sort_ro +info -keys -client|list -client|unblock -client|kill -client|pause -client|unpause -client|no-evict";
const defaultUser = (commands = DEFAULT_COMMANDS, more: Partial<AclUser> = {}): AclUser => ({
    ...parseAclUser(reply(["on", "nopass", "sanitize-payload"], [], commands, "~*", ""))!,
    ...more,
});
const adminUser = () => parseAclUser(reply(["on"], [sha(contact.operational.adminPassword)], "+@all", "~*", "&*"))!;
const replicator = (commands = "-@all +psync +replconf") =>
    parseAclUser(reply(["on"], [sha(contact.replication.password)], commands, "", ""))!;

describe("ACL GETUSER against the declared rules", () => {
    it("finds no difference in what Redis reports for the declared users", () => {
        expect(aclDifferences(defaultUser(), operationalDefaultUserRules())).toEqual([]);
        expect(aclDifferences(adminUser(), operationalAdminRules(contact.operational.adminPassword))).toEqual([]);
        expect(aclDifferences(replicator(), replicationUserRules(contact.replication.password))).toEqual([]);
    });

    it.each<[string, string, RegExp]>([
        ["ACL SETUSER default +@all", "+@all", /commands start from \+@all, declared -@all/],
        [
            "ACL SETUSER default +set",
            "-@all +@read +@connection -sort_ro +set -client|no-evict -client|list -client|kill -client|unpause -client|unblock -client|pause +info -keys",
            /grants \+set beyond the declared/,
        ],
        [
            "ACL SETUSER default +@dangerous",
            "-@all +@read +@admin +@connection +sort +flushdb +restore-asking +set +info +swapdb +migrate +restore +flushall",
            /grants \+@admin \+sort \+flushdb .* beyond the declared/,
        ],
        ["ACL SETUSER default -@read", "-@all +@connection -@read +info", /lacks \+@read.*removes -@read, not declared/],
    ])("catches %s on the operational's default user", (_what, commands, message) => {
        expect(aclDifferences(defaultUser(commands), operationalDefaultUserRules()).join("; ")).toMatch(message);
    });

    it("catches a password, keys, channels or a selector added to the default user, never printing a password", () => {
        const differences = aclDifferences(
            defaultUser(DEFAULT_COMMANDS, {
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

    it("catches a widened or re-passworded replication user, and a missing one", () => {
        const rules = replicationUserRules(contact.replication.password);
        expect(aclDifferences(replicator("-@all +psync +replconf +@read"), rules)).toEqual(["grants +@read beyond the declared"]);
        const other = { ...replicator(), passwords: [sha("guessed")] };
        expect(aclDifferences(other, rules)).toEqual(["its passwords differ from the stack's"]);
        expect(aclDifferences(undefined, rules)).toEqual(["does not exist"]);
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

    it("--fix resets the default user to its declared rules, and only it", () => {
        const o = observation();
        o.operational!.acl!.admin = { ...adminUser(), keys: "~app:*" };
        const plan = planFix(contact, o, diagnose(contact, o, context), { force: false });
        expect(plan.actions.map((a) => a.command)).toEqual([["ACL", "SETUSER", "default", "reset", ...operationalDefaultUserRules()]]);
        expect(plan.notFixed).toEqual(["--fix restores only the default user's ACL: admin stays for an operator"]);
    });
});
