/**
 * `environments` and `portOffset`: which environments the stack deploys (the protocol's, by
 * name, or new ones with their ports), and that no two roles share a host port.
 */
import { ENVIRONMENT_NAME, type EnvironmentDefinition, PROTOCOL_ENVIRONMENTS, findProtocolEnvironment } from "../components/protocol";
import { describeValue } from "../components/values";
import type { ParsedEnvironment, PlannedEnvironment, RawConfig, Report } from "./types";

const ENVIRONMENT_ITEM = /^([^=]*)(?:=(\d+)(?:\/(\d+))?)?$/;

export function parseEnvironments(value: string, portOffset: number, raw: RawConfig, problem: Report): ParsedEnvironment[] {
    let items: unknown;
    try {
        items = value === "" ? [] : JSON.parse(value);
    } catch {
        if (raw.environments !== undefined) problem("environments", `is not a JSON array of strings: ${value}`);
        return [];
    }
    if (!Array.isArray(items)) {
        problem(
            "environments",
            `must be an array of environment names (NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT]), got ${describeValue(items)}`,
        );
        return [];
    }
    // Empty means the whole protocol table, so a new environment in the table is deployed without a config change.
    const selected: unknown[] = items.length === 0 ? PROTOCOL_ENVIRONMENTS.map((e) => e.name) : items;
    const parsed: ParsedEnvironment[] = [];
    const seen = new Set<string>();
    selected.forEach((item, index) => {
        const environment = parseItem(item, `environments[${index}]`, seen, portOffset, problem);
        if (environment) parsed.push(environment);
    });
    return parsed;
}

/** One item of `environments`: NAME, or NAME=VAULT_PORT[/OPERATIONAL_PORT]. */
function parseItem(item: unknown, key: string, seen: Set<string>, portOffset: number, problem: Report): ParsedEnvironment | undefined {
    const match = typeof item === "string" ? ENVIRONMENT_ITEM.exec(item.trim()) : null;
    if (!match) {
        problem(key, `${JSON.stringify(item)} is not NAME or NAME=VAULT_PORT[/OPERATIONAL_PORT]`);
        return undefined;
    }
    const [, name, vault, operational] = match;
    if (!ENVIRONMENT_NAME.test(name)) {
        problem(key, `"${name}" is not a valid environment name (lowercase letters, digits and -, starting with a letter, at most 32)`);
        return undefined;
    }
    if (seen.has(name)) {
        problem(key, `environment "${name}" is listed more than once`);
        return undefined;
    }
    seen.add(name);
    const known = findProtocolEnvironment(name);
    if (vault === undefined) {
        if (!known) {
            problem(
                key,
                `unknown environment "${name}"; the protocol's are ${PROTOCOL_ENVIRONMENTS.map((e) => e.name).join(", ")} (define another as NAME=VAULT_PORT[/OPERATIONAL_PORT])`,
            );
            return undefined;
        }
        return { env: withOffset(known, portOffset), portKey: "portOffset" };
    }
    if (known?.kind === "secure" && operational !== undefined) {
        problem(key, `"${name}" is a secure environment of the protocol: it has no operational, so it takes no operational port`);
        return undefined;
    }
    if (known?.kind === "standard" && operational === undefined) {
        problem(key, `"${name}" is a standard environment of the protocol: give both ports, ${name}=VAULT_PORT/OPERATIONAL_PORT`);
        return undefined;
    }
    const env: PlannedEnvironment =
        operational === undefined
            ? { name, kind: "secure", vaultPort: Number(vault) }
            : { name, kind: "standard", vaultPort: Number(vault), operationalPort: Number(operational) };
    return { env: withOffset(env, portOffset), portKey: key };
}

function withOffset(env: EnvironmentDefinition, offset: number): PlannedEnvironment {
    return {
        ...env,
        vaultPort: env.vaultPort + offset,
        ...(env.operationalPort === undefined ? {} : { operationalPort: env.operationalPort + offset }),
    };
}

export function checkPorts(environments: ParsedEnvironment[], portOffset: number, problem: Report): void {
    const owners = new Map<number, string>();
    for (const { env, portKey } of environments) {
        const ports: [string, number | undefined][] = [
            ["vault", env.vaultPort],
            ["operational", env.operationalPort],
        ];
        for (const [role, port] of ports) {
            if (port === undefined) continue;
            const where = portKey === "portOffset" && portOffset !== 0 ? ` (offset ${portOffset})` : "";
            if (port < 1 || port > 65535) {
                problem(portKey, `${env.name}'s ${role} host port ${port}${where} is outside 1-65535`);
                continue;
            }
            const owner = owners.get(port);
            if (owner) problem(portKey, `host port ${port} is used by both ${owner} and ${env.name} ${role}`);
            else owners.set(port, `${env.name} ${role}`);
        }
    }
}
