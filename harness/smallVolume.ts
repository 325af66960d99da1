/**
 * A small ext4 volume that can be filled up, for tests of a vault on a full disk: an image
 * file formatted ext4 (no blocks reserved for root, so the host's filler and Redis see the same
 * free space), attached to a loop device and mounted on a folder, which a vault uses as its
 * host-folder data (`vaultData`).
 *
 * Everything is named after the run (`/tmp/{run}-disk.img`, mounted on `/tmp/{run}-disk`,
 * filesystem label `{run}`): `losetup -a` and `findmnt` show whose it is. The loop device is
 * detached right after the mount, which the kernel turns into auto-clear: it goes when the
 * folder is unmounted. `destroy()` unmounts and removes it all; a detached watchdog does the
 * same if the test process dies first (kill -9), once the run's containers are gone.
 *
 * Needs root, `truncate` (coreutils), `mkfs.ext4` (e2fsprogs), `losetup` and `mount` (mount),
 * all of Debian's required priority: on every Debian system.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";

/** Whether this machine can make one: root and the tools. */
export function smallVolumesAvailable(): boolean {
    if (process.getuid?.() !== 0) return false;
    return ["truncate", "mkfs.ext4", "losetup", "mount", "umount", "findmnt"].every((tool) => {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
            return true;
        } catch {
            return false;
        }
    });
}

export class SmallVolume {
    private filler = 0;

    private constructor(
        /** The run it belongs to: in every name. */
        readonly run: string,
        readonly image: string,
        /** The mounted folder: give it to a vault as its data. */
        readonly folder: string,
    ) {}

    /** Makes, formats and mounts a volume of `megabytes`; removes what it made if a step fails. */
    static create(run: string, megabytes: number): SmallVolume {
        if (!/^[a-z0-9-]+$/.test(run)) throw new Error(`SmallVolume: "${run}" is not a plain run name`);
        const volume = new SmallVolume(run, `/tmp/${run}-disk.img`, `/tmp/${run}-disk`);
        try {
            fs.mkdirSync(volume.folder);
            execFileSync("truncate", ["-s", `${megabytes}M`, volume.image]);
            execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", "-L", run.slice(0, 16), volume.image], { stdio: "pipe" });
            const device = execFileSync("losetup", ["--find", "--show", volume.image], { encoding: "utf8" }).trim();
            try {
                execFileSync("mount", [device, volume.folder], { stdio: "pipe" });
            } finally {
                // Mounted: detaching now only marks it auto-clear. Not mounted: it goes at once.
                execFileSync("losetup", ["-d", device], { stdio: "pipe" });
            }
            volume.watch();
        } catch (e) {
            volume.destroy();
            throw e;
        }
        return volume;
    }

    /** Bytes still free for an unprivileged writer (Redis runs as uid 999). */
    freeBytes(): number {
        const stat = fs.statfsSync(this.folder);
        return stat.bavail * stat.bsize;
    }

    /**
     * Fills the volume from the host until the filesystem refuses, leaving nothing a write of
     * a few hundred kilobytes could use. Files named `.filler-*`, which Redis never reads.
     */
    fill(): void {
        const chunk = Buffer.alloc(64 * 1024, 0x78);
        for (;;) {
            const file = `${this.folder}/.filler-${this.filler++}`;
            const fd = fs.openSync(file, "w");
            try {
                for (let i = 0; i < 4096; i++) fs.writeSync(fd, chunk);
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code === "ENOSPC") return;
                throw e;
            } finally {
                fs.closeSync(fd);
            }
        }
    }

    /** Removes what `fill` wrote. */
    free(): void {
        for (const name of fs.readdirSync(this.folder)) if (name.startsWith(".filler-")) fs.rmSync(`${this.folder}/${name}`);
    }

    /** Unmounts (the loop device goes with it), removes the image and the folder. Safe to call twice. */
    destroy(): void {
        if (isMountPoint(this.folder)) execFileSync("umount", [this.folder], { stdio: "pipe" });
        fs.rmSync(this.image, { force: true });
        if (fs.existsSync(this.folder)) fs.rmdirSync(this.folder);
    }

    /**
     * A detached shell that waits for this process to end, however it ends, then unmounts
     * (lazily: a container may still hold the folder until the fleet's own watchdog removes
     * it) and removes the image and the folder.
     */
    private watch(): void {
        const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
findmnt -rn --target "$1" -o TARGET | grep -qx "$1" && umount -l "$1"
rm -f "$2"; rmdir "$1" 2>/dev/null; exit 0`;
        spawn("sh", ["-c", script, "small-volume-watchdog", this.folder, this.image], { detached: true, stdio: "ignore" }).unref();
    }
}

function isMountPoint(folder: string): boolean {
    try {
        return execFileSync("findmnt", ["-rn", "-o", "TARGET", folder], { encoding: "utf8" }).trim() === folder;
    } catch {
        return false;
    }
}
