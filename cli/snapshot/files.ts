/**
 * The file work of backup and restore: private folders, atomic writes (temporary file,
 * fsync, rename, fsync of the folder), hashes. Every snapshot is a secret: nothing here ever
 * creates a file or folder that others can read.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { temporaryFileOwner } from "./manifest";
import { ownerState } from "../core/owner";
import { formatBytes } from "../core/format";

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

/** Writes `content` to `file` (new, 0600) and fsyncs it: whole on disk when this returns, or an error. */
export function writeFileDurably(file: string, content: string): void {
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        const bytes = Buffer.from(content);
        // writeSync may write less than asked (a full disk writes what fits, then fails): loop.
        for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/**
 * Removes the temporary files of `folder` that a backup left when it was killed (they name
 * their process, and it is gone from this host); never one a running backup is writing, nor
 * any other file. Returns the names removed.
 */
export function removeAbandonedFiles(folder: string, state: (owner: string) => string = (o) => ownerState(o)): string[] {
    const removed: string[] = [];
    for (const name of fs.readdirSync(folder)) {
        const owner = temporaryFileOwner(name);
        if (owner === undefined || state(owner) !== "dead") continue;
        removeQuietly(path.join(folder, name));
        removed.push(name);
    }
    return removed;
}

/** Whether an error is the file system's "no space left" (or the user's quota). */
export function isDiskFull(e: unknown): boolean {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * The free space and size of the file system `folder` is on. Free is what statfs calls
 * available: ext4 keeps some blocks that no file may take (ext4_statfs subtracts its reserved
 * clusters from f_bavail, not from f_bfree), so f_bfree would name room that is not there.
 */
export function spaceOf(folder: string): { free: number; size: number } | undefined {
    try {
        const s = fs.statfsSync(folder);
        return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
    } catch {
        return undefined;
    }
}

/** "disk full": what could not be written where, with the sizes that tell why. */
export function diskFullMessage(o: {
    folder: string;
    writing: string;
    space: { free: number; size: number } | undefined;
    /** The snapshot's size, or as far as it got. */
    snapshotBytes?: number;
}): string {
    const space = o.space ? `: ${formatBytes(o.space.free)} free of ${formatBytes(o.space.size)}` : "";
    const snapshot = o.snapshotBytes === undefined ? "" : ` (the snapshot: ${formatBytes(o.snapshotBytes)})`;
    return `disk full: no room for ${o.writing} in ${o.folder}${space}${snapshot}; nothing of this backup was kept. Free space there, or back up to a larger folder (--to)`;
}

export function removeQuietly(file: string): void {
    try {
        fs.unlinkSync(file);
    } catch {
        // Not there: nothing to remove.
    }
}
