/**
 * The dev stack's configuration as the Pulumi CLI would hand it over, keys without namespace, and
 * the problems the parser finds in it once changed (for the config tests). Not a test file itself.
 */
import * as path from "node:path";
import { CONFIG_KEYS, ConfigError, type RawConfig, parseFleetConfig } from "../../config";
import { loadProjectConfig } from "../../plan/projectConfig";

const ROOT = path.resolve(__dirname, "../..");

export function devConfig(): RawConfig {
    const { config } = loadProjectConfig(ROOT, "dev");
    const raw: RawConfig = {};
    for (const key of CONFIG_KEYS) if (config[`nexus-redis:${key}`] !== undefined) raw[key] = config[`nexus-redis:${key}`];
    return raw;
}

/** What parseFleetConfig refuses in the dev stack's configuration changed by `overrides` (`passwords` set as a secret); none when it accepts it. */
export function problemsOf(overrides: RawConfig): { key: string; message: string }[] {
    try {
        parseFleetConfig({ ...devConfig(), ...overrides }, new Set(["passwords"]));
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}
