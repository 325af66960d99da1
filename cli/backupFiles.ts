/**
 * The file work of backup and restore: private folders, atomic writes (temporary file,
 * fsync, rename, fsync of the folder), hashes. Every snapshot is a secret: nothing here ever
 * creates a file or folder that others can read.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";

/** `root` and `folder` (inside it) exist, the owner's alone when this creates them; `folder` always is. */
export function createPrivateFolder(root: string, folder: string): void {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    fs.mkdirSync(folder, { recursive: true, mode: 0o700 });
    // An environment's folder holds only its snapshots: tighten it if someone widened it.
    if ((fs.statSync(folder).mode & 0o077) !== 0) fs.chmodSync(folder, 0o700);
}

/** Size and sha256 of a file, read in 1 MiB chunks. */
export async function sha256File(file: string): Promise<{ bytes: number; sha256: string }> {
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
    }
    return { bytes, sha256: hash.digest("hex") };
}

/** Flushes a file (or a folder, after a rename in it) to disk. */
export function fsyncPath(file: string): void {
    const fd = fs.openSync(file, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** The first `bytes` of a file (fewer when it is shorter). */
export function readHead(file: string, bytes = 64 * 1024): Buffer {
    const fd = fs.openSync(file, "r");
    try {
        const buffer = Buffer.alloc(bytes);
        const n = fs.readSync(fd, buffer, 0, buffer.length, 0);
        return buffer.subarray(0, n);
    } finally {
        fs.closeSync(fd);
    }
}

/** Writes `content` to `temp` (new, 0600), fsyncs it and renames it to `target`. */
export function writeFileAtomically(temp: string, target: string, content: string): void {
    const fd = fs.openSync(temp, "wx", 0o600);
    try {
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
}

export function removeQuietly(file: string): void {
    try {
        fs.unlinkSync(file);
    } catch {
        // Not there: nothing to remove.
    }
}
