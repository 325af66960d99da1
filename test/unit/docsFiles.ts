/**
 * The Markdown a user reads: the README, every page under docs/ and every example's README,
 * by path relative to the project's folder. Not a test file itself.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const ROOT = path.resolve(__dirname, "../..");

function markdownUnder(folder: string): string[] {
    const full = path.join(ROOT, folder);
    if (!fs.existsSync(full)) return [];
    return fs
        .readdirSync(full, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && e.name.endsWith(".md"))
        .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
        .sort();
}

/** README.md, docs/**\/*.md and examples/**\/*.md. */
export function markdownFiles(): string[] {
    return ["README.md", ...markdownUnder("docs"), ...markdownUnder("examples")];
}
