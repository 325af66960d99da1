/**
 * Stack configuration the way the Pulumi CLI assembles it: Pulumi.yaml defaults, then
 * Pulumi.<stack>.yaml, then `-c` overrides. The mock runtime applies none of this itself.
 */
import { readFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface ProjectConfig {
    project: string;
    stack: string;
    /** Runtime config as the language host receives it: `namespace:key` → string. */
    config: Record<string, string>;
    /** Keys whose values are secrets. */
    secretKeys: string[];
}

/** A problem with the project or stack files or the overrides; the offline plan exits 2 on it. */
export class ProjectConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ProjectConfigError";
    }
}

export interface ConfigOverrides {
    /** `-c KEY=VALUE`: plain values, like `pulumi up -c`. */
    values?: Record<string, string>;
    /** `--secret KEY=VALUE`: values treated as secrets, like `pulumi config set --secret`. */
    secrets?: Record<string, string>;
    /** A stack file elsewhere than the project's `Pulumi.<stack>.yaml` (an example's); it must exist. */
    stackFile?: string;
}

function asConfigString(value: unknown): string {
    // Arrays and objects reach the program as JSON, as the CLI passes them.
    return typeof value === "string" ? value : JSON.stringify(value);
}

/** `image` → `nexus-redis:image`; keys that carry a namespace stay as they are. */
export function qualifyKey(project: string, key: string): string {
    return key.includes(":") ? key : `${project}:${key}`;
}

export function loadProjectConfig(projectDir: string, stack: string, overrides: ConfigOverrides = {}): ProjectConfig {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    if (!existsSync(projectFile)) throw new ProjectConfigError(`no Pulumi.yaml in ${projectDir}`);
    const projectDoc = parse(readFileSync(projectFile, "utf8")) ?? {};
    const project = String(projectDoc.name);
    const config: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const declared = new Set(Object.keys(projectDoc.config ?? {}).map((k) => qualifyKey(project, k)));
    // The Pulumi CLI rejects a key of the project's namespace that Pulumi.yaml does not
    // declare; so does the plan, or a typo (portOfset) would silently show an unchanged plan.
    const checkDeclared = (full: string, where: string) => {
        if (full.startsWith(`${project}:`) && !declared.has(full)) {
            throw new ProjectConfigError(`${full} (${where}) is not declared in Pulumi.yaml; the keys are ${[...declared].join(", ")}`);
        }
    };

    for (const [key, decl] of Object.entries<unknown>(projectDoc.config ?? {})) {
        const full = qualifyKey(project, key);
        if (decl !== null && typeof decl === "object" && !Array.isArray(decl)) {
            const d = decl as Record<string, unknown>;
            if ("default" in d) config[full] = asConfigString(d.default);
            else if ("value" in d) config[full] = asConfigString(d.value);
        } else {
            config[full] = asConfigString(decl);
        }
    }

    const stackFile = overrides.stackFile ?? path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (overrides.stackFile !== undefined && !existsSync(stackFile)) throw new ProjectConfigError(`no stack file ${stackFile}`);
    const stackFileName = path.basename(stackFile);
    if (existsSync(stackFile)) {
        const stackDoc = parse(readFileSync(stackFile, "utf8")) ?? {};
        for (const [key, value] of Object.entries<unknown>(stackDoc.config ?? {})) {
            const full = qualifyKey(project, key);
            checkDeclared(full, stackFileName);
            if (value !== null && typeof value === "object" && "secure" in (value as object)) {
                // Encrypted by the stack's secrets provider, which only the Pulumi CLI can open.
                throw new ProjectConfigError(
                    `${full} is encrypted in ${stackFileName} and the offline plan cannot decrypt it; pass it with --secret ${full}=VALUE`,
                );
            }
            config[full] = asConfigString(value);
        }
    }

    for (const [key, value] of Object.entries(overrides.values ?? {})) {
        checkDeclared(qualifyKey(project, key), "-c");
        config[qualifyKey(project, key)] = value;
    }
    for (const [key, value] of Object.entries(overrides.secrets ?? {})) {
        checkDeclared(qualifyKey(project, key), "--secret");
        config[qualifyKey(project, key)] = value;
        secretKeys.add(qualifyKey(project, key));
    }
    return { project, stack, config, secretKeys: [...secretKeys] };
}
