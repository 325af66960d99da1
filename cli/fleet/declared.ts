/**
 * What the program declares that `check` compares with: each role's settings and ACL users,
 * from the same functions the Pulumi program runs. Kept apart from the judge (health/diagnose.ts) so
 * that observe, which asks the servers for exactly these names, does not import the judge.
 */
import {
    type Settings,
    type TlsPaths,
    operationalSettings,
    operationalUsers,
    tlsPaths,
    vaultSettings,
    vaultUsers,
} from "../../components/redisServer";
import type { EnvironmentOutput, StandardEnvironmentOutput } from "./environment";

/**
 * Vault settings `check` compares with `CONFIG GET`. Declared without a memory limit: the
 * stack output does not carry it, so maxmemory and its policy are not compared.
 */
export function declaredVaultSettings(tls?: TlsPaths): Settings {
    const { maxmemory: _maxmemory, "maxmemory-policy": _policy, ...rest } = vaultSettings({ tls });
    return rest;
}

export function declaredOperationalSettings(vaultContainer: string, tls?: TlsPaths): Settings {
    return operationalSettings({ vaultContainer, tls });
}

/** Where an environment's servers read their TLS files, when its outputs say it speaks TLS: its tls-* settings are declared too. */
export function declaredTlsPaths(env: EnvironmentOutput): TlsPaths | undefined {
    return env.vault.tls ? tlsPaths(env.platform === "swarm" ? "swarm" : "docker") : undefined;
}

/** The vault's ACL users and their declared rules (password hashes), from the program's own function. */
export function declaredVaultUsers(env: EnvironmentOutput): Record<string, string[]> {
    const passwords = {
        password: env.vault.password,
        replicationPassword: env.kind === "standard" ? env.replication.password : undefined,
        backupPassword: env.backup.password,
    };
    return remembered(vaultUsersOf, env, JSON.stringify(passwords), () => vaultUsers(passwords));
}

/** The operational's ACL users and their declared rules: the passwordless default user and the admin user. */
export function declaredOperationalUsers(env: StandardEnvironmentOutput): Record<string, string[]> {
    return remembered(operationalUsersOf, env, env.operational.adminPassword, () => operationalUsers(env.operational.adminPassword));
}

// Each check asks for an environment's declared users several times (observing, diagnosing),
// and each answer hashes its passwords: kept per environment, for the passwords it was made from.
const vaultUsersOf = new WeakMap<object, { key: string; users: Record<string, string[]> }>();
const operationalUsersOf = new WeakMap<object, { key: string; users: Record<string, string[]> }>();

function remembered(
    memory: WeakMap<object, { key: string; users: Record<string, string[]> }>,
    env: object,
    key: string,
    make: () => Record<string, string[]>,
): Record<string, string[]> {
    const known = memory.get(env);
    if (known?.key === key) return structuredClone(known.users);
    const users = make();
    memory.set(env, { key, users });
    return structuredClone(users);
}
