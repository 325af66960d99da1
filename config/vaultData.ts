/** `vaultData`: an adopted vault's existing data, a Docker volume or a host folder, used in place. */
import { describeValue, kindOf } from "../components/values";
import type { ParsedEnvironment, Report } from "./types";
import { DOCKER_NAME, isPlainObject } from "./values";

// A host folder is bind-mounted as "folder:/data": no colon, no spaces, no "..", absolute.
const HOST_FOLDER = /^\/[^\s:]*$/;

export function parseVaultData(value: string, environments: ParsedEnvironment[], problem: Report): Record<string, string> {
    if (value.trim() === "") return {};
    let parsed: unknown;
    try {
        parsed = JSON.parse(value);
    } catch {
        problem("vaultData", `is not valid JSON; expected {"ENV": "VOLUME_NAME or /host/folder"}: ${value}`);
        return {};
    }
    if (!isPlainObject(parsed)) {
        problem("vaultData", `must be a JSON object {"ENV": "VOLUME_NAME or /host/folder"}, got ${describeValue(parsed)}`);
        return {};
    }
    const result: Record<string, string> = {};
    const owners = new Map<string, string>();
    for (const [name, data] of Object.entries(parsed)) {
        const key = `vaultData.${name}`;
        if (!environments.some((e) => e.env.name === name)) {
            problem(key, `"${name}" is not an environment this stack deploys`);
        } else if (typeof data !== "string" || data === "") {
            problem(key, `must be a Docker volume name or an absolute host folder, got ${kindOf(data)}`);
        } else if (data.startsWith("/") ? !HOST_FOLDER.test(data) || data.split("/").includes("..") : !DOCKER_NAME.test(data)) {
            problem(
                key,
                `"${data}" is neither a Docker volume name nor an absolute host folder without spaces, colons or ".." (folders start with /)`,
            );
        } else if (owners.has(data)) {
            problem(
                key,
                `"${data}" already holds the vault of ${owners.get(data)}: two vaults on one data folder would overwrite each other`,
            );
        } else {
            owners.set(data, name);
            result[name] = data;
        }
    }
    return result;
}
