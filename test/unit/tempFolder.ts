/**
 * A temporary folder for one test file: made when the file loads, removed after its tests (the
 * call registers vitest's afterAll in the file that makes it). Not a test file itself.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

/** A new folder in the system's temporary one, named from `prefix`, removed after the calling file's tests. */
export function tempFolder(prefix: string): string {
    const folder = mkdtempSync(path.join(tmpdir(), prefix));
    afterAll(() => rmSync(folder, { recursive: true, force: true }));
    return folder;
}
