/**
 * A small ext4 file system on a loop device, mounted on a folder of its own: a disk that can
 * be filled, for the tests of what nexus-redis does when a disk is full. Needs root and
 * losetup, mkfs.ext4 and mount (Debian's mount and e2fsprogs; scripts/ensure-disk-tools.sh
 * installs them).
 *
 * Everything lives in one temporary folder named for this process,
 * `{tmp}/nexus-redis-loop-pid{pid}-XXXXXX` (the image file and the mount point): `dispose()`
 * unmounts, detaches and removes it, and the next volume made on this host first sweeps the
 * ones whose process is gone (a test killed before its cleanup).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { processAlive } from "../cli/core/owner";

const PREFIX = "nexus-redis-loop-pid";

export interface LoopVolume {
    /** Where the file system is mounted. */
    dir: string;
    /** The loop device, /dev/loopN. */
    device: string;
    /** Free bytes a file may still take (the file system has no blocks reserved for root). */
    free(): number;
    /** Fills the file system with a file until exactly `bytes` are left free (rounded down to the block). */
    leaveFree(bytes: number): void;
    dispose(): void;
}

/** What this machine lacks to make one, in words; undefined when nothing. */
export function loopVolumeUnavailable(): string | undefined {
    if (process.getuid?.() !== 0) return "loop devices need root";
    for (const tool of ["losetup", "mkfs.ext4", "mount", "umount"]) {
        if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
            return `${tool} is missing (Debian: mount, e2fsprogs; scripts/ensure-disk-tools.sh)`;
    }
    return undefined;
}

/** An ext4 file system of `sizeBytes` with `blockSize`-byte blocks, no reserved blocks, mounted. */
export function createLoopVolume(sizeBytes: number, blockSize: 1024 | 4096 = 1024): LoopVolume {
    sweepLoopVolumes();
    const home = fs.mkdtempSync(path.join(tmpdir(), `${PREFIX}${process.pid}-`));
    const image = path.join(home, "volume.img");
    const dir = path.join(home, "mnt");
    fs.mkdirSync(dir);
    let device = "";
    try {
        execFileSync("truncate", ["-s", String(sizeBytes), image]);
        execFileSync("mkfs.ext4", ["-q", "-F", "-m", "0", "-b", String(blockSize), "-L", "nexus-redis-t", image]);
        device = execFileSync("losetup", ["-f", "--show", image], { encoding: "utf8" }).trim();
        execFileSync("mount", [device, dir]);
    } catch (e) {
        release(home, device);
        throw e;
    }
    // What a file may still take: ext4 keeps some clusters for itself beyond the reserved blocks
    // (ext4_statfs leaves them in f_bfree, not in f_bavail).
    const free = () => {
        const s = fs.statfsSync(dir);
        return s.bavail * s.bsize;
    };
    let fillers = 0;
    return {
        dir,
        device,
        free,
        leaveFree(bytes: number) {
            const target = Math.floor(bytes / blockSize) * blockSize;
            const excess = free() - target;
            if (excess < 0) throw new Error(`leaveFree(${bytes}): only ${free()} bytes are free`);
            if (excess === 0) return;
            execFileSync("fallocate", ["-l", String(excess), path.join(dir, `.filler-${fillers++}`)]);
            if (free() !== target) throw new Error(`leaveFree(${bytes}): ${free()} bytes are free after filling, not ${target}`);
        },
        dispose: () => release(home, device),
    };
}

/** Unmounts and detaches a volume and removes its folder; what is already gone is fine. */
function release(home: string, device: string): void {
    const dir = path.join(home, "mnt");
    if (spawnSync("mountpoint", ["-q", dir]).status === 0) {
        // A busy mount (a file still open) is detached lazily rather than left behind.
        if (spawnSync("umount", [dir]).status !== 0) spawnSync("umount", ["-l", dir]);
    }
    if (device !== "") spawnSync("losetup", ["-d", device]);
    else {
        // Made by a process that died before it noted its device: find it by its image.
        for (const d of loopDevicesBackedBy(path.join(home, "volume.img"))) spawnSync("losetup", ["-d", d]);
    }
    fs.rmSync(home, { recursive: true, force: true });
}

function loopDevicesBackedBy(image: string): string[] {
    const listed = spawnSync("losetup", ["-n", "-O", "NAME,BACK-FILE", "-l"], { encoding: "utf8" });
    if (listed.status !== 0) return [];
    return listed.stdout
        .split("\n")
        .map((line) => line.trim().split(/\s+/))
        .filter(([, back]) => back === image)
        .map(([name]) => name);
}

/** Removes the volumes of test processes that are gone (killed before their cleanup). */
export function sweepLoopVolumes(): void {
    for (const name of fs.readdirSync(tmpdir())) {
        const pid = new RegExp(`^${PREFIX}(\\d+)-[A-Za-z0-9]{6}$`).exec(name)?.[1];
        if (pid === undefined || processAlive(Number(pid))) continue;
        release(path.join(tmpdir(), name), "");
    }
}
