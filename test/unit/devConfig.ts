/** The dev stack's configuration as the Pulumi CLI would hand it over, keys without namespace (for the config tests). */
import * as path from "node:path";
import { CONFIG_KEYS, type RawConfig } from "../../config";
import { loadProjectConfig } from "../../plan/projectConfig";

const ROOT = path.resolve(__dirname, "../..");

export function devConfig(): RawConfig {
    const { config } = loadProjectConfig(ROOT, "dev");
    const raw: RawConfig = {};
    for (const key of CONFIG_KEYS) if (config[`nexus-redis:${key}`] !== undefined) raw[key] = config[`nexus-redis:${key}`];
    return raw;
}
