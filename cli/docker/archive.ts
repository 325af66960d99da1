/**
 * Tar archives of files for the Docker Engine API's archive endpoint (`PUT .../archive`,
 * dockerode's `putArchive`), which is how files get into a container or a volume without a
 * shell: the engine takes each entry's mode, uid and gid from its header.
 */
import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";

export interface ArchiveEntry {
    /** Path inside the archive: absolute paths are extracted from the archive's target, usually "/". */
    path: string;
    content: Buffer | string;
    /** Permission bits, e.g. 0o400. */
    mode: number;
    uid: number;
    gid: number;
}

/** One tar archive holding `entries`, each with its own mode and numeric owner. */
export function tarArchive(entries: ArchiveEntry[]): Promise<Buffer> {
    const archive = pack();
    const chunks: Buffer[] = [];
    archive.on("data", (chunk) => chunks.push(chunk as Buffer));
    const done = new Promise<Buffer>((resolve, reject) => {
        archive.on("end", () => resolve(Buffer.concat(chunks)));
        archive.on("error", reject);
    });
    for (const e of entries) {
        archive.entry({ name: e.path.replace(/^\/+/, ""), mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date() }, e.content);
    }
    archive.finalize();
    return done;
}

/**
 * A tar archive of one file, streamed from disk (a snapshot may be gigabytes: never held in
 * memory), for `putArchive`. Rejects through the stream when the file cannot be read or
 * changes size while it is read.
 */
export function tarFileStream(file: string, entry: Omit<ArchiveEntry, "content">): Readable {
    const archive = pack();
    const { size } = statSync(file);
    const sink = archive.entry(
        { name: entry.path.replace(/^\/+/, ""), size, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime: new Date() },
        (e) => {
            if (e) archive.destroy(e);
            else archive.finalize();
        },
    );
    pipeline(createReadStream(file), sink).catch((e: Error) => archive.destroy(e));
    // tar-stream's streams are streamx streams: a Node stream for dockerode, errors included.
    return Readable.from(archive);
}
