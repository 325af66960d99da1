/**
 * Tar archives of files for the Docker Engine API's archive endpoint (`PUT .../archive`,
 * dockerode's `putArchive`), which is how files get into a container or a volume without a
 * shell: the engine takes each entry's mode, uid and gid from its header.
 */
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
