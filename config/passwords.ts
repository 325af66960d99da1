/** `passwords`: passwords the stack adopts instead of generating; never echoed in a problem. */
import { PASSWORD_ROLES, type PasswordRole, isValidPassword } from "../components/redisServer";
import { kindOf } from "../components/values";
import type { EnvironmentPasswords, ParsedEnvironment, Report } from "./types";
import { isPlainObject } from "./values";

export function parsePasswords(value: string, environments: ParsedEnvironment[], problem: Report): Record<string, EnvironmentPasswords> {
    if (value.trim() === "") return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        // Never echo the value: it holds passwords.
        problem("passwords", 'is not valid JSON; expected {"ENV": {"vault": "...", "replication": "...", "operationalAdmin": "..."}}');
        return {};
    }
    if (!isPlainObject(parsed)) {
        // Its kind only, never the value: it holds passwords.
        problem("passwords", `must be a JSON object {"ENV": {"vault": "...", ...}}, got ${kindOf(parsed)}`);
        return {};
    }
    const result: Record<string, EnvironmentPasswords> = {};
    for (const [name, roles] of Object.entries(parsed)) {
        const env = environments.find((e) => e.env.name === name)?.env;
        if (!env) {
            problem(`passwords.${name}`, `"${name}" is not an environment this stack deploys`);
            continue;
        }
        if (!isPlainObject(roles)) {
            problem(`passwords.${name}`, `must be an object with any of ${PASSWORD_ROLES.join(", ")}, got ${kindOf(roles)}`);
            continue;
        }
        result[name] = {};
        for (const [role, password] of Object.entries(roles)) {
            const key = `passwords.${name}.${role}`;
            if (!(PASSWORD_ROLES as readonly string[]).includes(role)) {
                problem(key, `unknown password role "${role}"; the roles are ${PASSWORD_ROLES.join(", ")}`);
            } else if (env.kind === "secure" && role !== "vault" && role !== "backup") {
                problem(key, `"${name}" is a secure environment: it has only a vault and a backup password`);
            } else if (typeof password !== "string" || !isValidPassword(password)) {
                const got =
                    typeof password === "string" && password !== "" ? "a string with a space or control character" : kindOf(password);
                problem(key, `must be a non-empty string without spaces or control characters, got ${got}`);
            } else {
                result[name][role as PasswordRole] = password;
            }
        }
    }
    return result;
}
