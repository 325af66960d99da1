/** Plain value parsers the configuration's rules share; each reports a bad value under its key. */
import type { ConfigKey, RawConfig, Report } from "./types";

// Docker's own rule for container, volume and network names.
export const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A key Pulumi.yaml gives a default for: unset means this project's Pulumi.yaml is not in use. */
export function requiredValue(raw: RawConfig, key: ConfigKey, problem: Report): string {
    const value = raw[key];
    if (value === undefined) {
        problem(key, "is not set (Pulumi.yaml declares its default: is this project's Pulumi.yaml in use?)");
        return "";
    }
    return value;
}

export function parseBoolean(value: string, key: ConfigKey, raw: RawConfig, problem: Report): boolean {
    if (value === "true") return true;
    if (value === "false") return false;
    if (raw[key] !== undefined) problem(key, `"${value}" is not a boolean (true or false)`);
    return false;
}

export function parseInteger(value: string, key: ConfigKey, raw: RawConfig, problem: Report): number | undefined {
    if (/^-?\d+$/.test(value.trim())) return Number(value.trim());
    if (raw[key] !== undefined) problem(key, `"${value}" is not an integer`);
    return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}
