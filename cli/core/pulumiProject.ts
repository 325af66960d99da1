/**
 * The project's Pulumi.yaml, read by the commands that need more than the stack's outputs:
 * its name (recover builds URNs from it) and its configuration defaults (adopt judges the
 * stack's configuration as the program will receive it).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { OutputsError } from "./errors";

/** The project's name, from its Pulumi.yaml. */
export function projectName(projectDir: string): string {
    const file = path.join(projectDir, "Pulumi.yaml");
    let document: unknown;
    try {
        document = parse(readFileSync(file, "utf8"));
    } catch (e) {
        throw new OutputsError(`cannot read the project name from ${file}: ${(e as Error).message}`);
    }
    const name = (document as { name?: unknown } | null)?.name;
    if (typeof name !== "string" || name === "") throw new OutputsError(`${file} has no "name"`);
    return name;
}

/** Pulumi.yaml's default of each key, as the program receives it (arrays and objects as JSON). */
export function projectDefaults(projectDir: string): Partial<Record<string, string>> {
    const file = path.join(projectDir, "Pulumi.yaml");
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, { default?: unknown }> } | null;
    const defaults: Partial<Record<string, string>> = {};
    for (const [key, decl] of Object.entries(doc?.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl)
            defaults[key] = typeof decl.default === "string" ? decl.default : JSON.stringify(decl.default);
    }
    return defaults;
}
