/**
 * The swap of the vault's files `nexus-redis restore` runs in a helper container, and the way
 * back the restore page gives, both run here with sh on a folder: what is moved aside (never
 * deleted), what is refused, and what the way back puts where.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
    STAGING_FILE,
    asideFolderName,
    asideFolderOfScript,
    movedFiles,
    restoredFolderName,
    swapScript,
    wayBackCommands,
    wayBackScript,
} from "../../cli/restore/plan";
import { tempFolder } from "./tempFolder";

/** Every temporary folder of these tests, removed after them. */
const TEMP = tempFolder("nexus-redis-restore-unit-");

describe("the swap of the vault's files (run with sh on a folder)", () => {
    function dataFolder(files: Record<string, string>): string {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-swap-"));
        for (const [name, content] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            writeFileSync(path.join(dir, name), content);
        }
        return dir;
    }
    const uid = String(process.getuid?.() ?? 0);
    const STAGED = "REDIS0010snapshot";
    const swap = (dir: string, bytes = STAGED.length) =>
        spawnSync("sh", ["-c", swapScript("nexus-redis-restore-20260126T030000Z", uid, bytes, dir)], { encoding: "utf8" });

    it("moves the AOF folder, Redis 6's single AOF and dump.rdb aside (never deletes them), and puts the snapshot in as dump.rdb, 0600", () => {
        const dir = dataFolder({
            "appendonlydir/appendonly.aof.manifest": "m",
            "appendonlydir/appendonly.aof.1.base.rdb": "base",
            "appendonly.aof": "old",
            "dump.rdb": "old-rdb",
            "appendonlydir.incomplete-20260101T000000Z/x": "kept where it is",
            [STAGING_FILE]: STAGED,
        });
        const run = swap(dir);
        expect(run.status).toBe(0);
        expect(movedFiles(run.stdout)).toEqual(["appendonlydir", "appendonly.aof", "dump.rdb"]);
        expect(readdirSync(dir).sort()).toEqual([
            "appendonlydir.incomplete-20260101T000000Z",
            "dump.rdb",
            "nexus-redis-restore-20260126T030000Z",
        ]);
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("REDIS0010snapshot");
        expect(statSync(path.join(dir, "dump.rdb")).mode & 0o777).toBe(0o600);
        const aside = path.join(dir, "nexus-redis-restore-20260126T030000Z");
        expect(readdirSync(aside).sort()).toEqual(["appendonly.aof", "appendonlydir", "dump.rdb"]);
        expect(readFileSync(path.join(aside, "appendonlydir/appendonly.aof.1.base.rdb"), "utf8")).toBe("base");
        // As private as what it holds (mkdir's default would be 0755 under a 022 umask).
        expect(statSync(aside).mode & 0o777).toBe(0o700);
    });

    it("refuses a staged snapshot cut short, moving nothing", () => {
        const dir = dataFolder({ "dump.rdb": "old-rdb", [STAGING_FILE]: "REDIS00" });
        const run = swap(dir, STAGED.length);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/the staged snapshot is 7 bytes, not 17: its staging was cut short/);
        expect(readdirSync(dir).sort()).toEqual([STAGING_FILE, "dump.rdb"].sort());
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("old-rdb");
    });

    it("is found again from the script a killed restore's helper ran", () => {
        expect(asideFolderOfScript(swapScript("nexus-redis-restore-20260126T030000Z", "999", 17))).toBe(
            "nexus-redis-restore-20260126T030000Z",
        );
    });

    it("leaves no empty folder behind when the vault had no files (a lost volume)", () => {
        const dir = dataFolder({ [STAGING_FILE]: STAGED });
        const run = swap(dir);
        expect(run.status).toBe(0);
        expect(movedFiles(run.stdout)).toEqual([]);
        expect(readdirSync(dir)).toEqual(["dump.rdb"]);
    });

    it("moves nothing when the snapshot was not staged", () => {
        const dir = dataFolder({ "dump.rdb": "old-rdb", "appendonlydir/appendonly.aof.manifest": "m" });
        const run = swap(dir);
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(/the staged snapshot is missing/);
        expect(readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb"]);
    });

    it("names the aside folder by the UTC second of the restore", () => {
        expect(asideFolderName(new Date("2026-01-26T03:00:05.123Z"))).toBe("nexus-redis-restore-20260126T030005Z");
    });
});

describe("the way back after a restore (run with sh on a folder)", () => {
    const aside = "nexus-redis-restore-20261126T170256Z";

    it("puts the previous files back and keeps what the restored vault holds, writes since the restore included, aside too", () => {
        const dir = mkdtempSync(path.join(TEMP, "nexus-redis-wayback-"));
        const files: Record<string, string> = {
            "appendonlydir/appendonly.aof.2.base.rdb": "the restored snapshot",
            "appendonlydir/appendonly.aof.2.incr.aof": "SET written-after-the-restore",
            "dump.rdb": "the restored snapshot",
            [`${aside}/appendonlydir/appendonly.aof.1.incr.aof`]: "FLUSHALL",
            [`${aside}/dump.rdb`]: "before the restore",
        };
        for (const [name, content] of Object.entries(files)) {
            mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
            writeFileSync(path.join(dir, name), content);
        }
        const run = spawnSync("sh", ["-c", wayBackScript(aside, dir)], { encoding: "utf8" });
        expect(run.status).toBe(0);
        const restored = path.join(dir, restoredFolderName(aside));
        expect(readdirSync(dir).sort()).toEqual(["appendonlydir", "dump.rdb", "nexus-redis-restored-20261126T170256Z"]);
        expect(readFileSync(path.join(dir, "appendonlydir/appendonly.aof.1.incr.aof"), "utf8")).toBe("FLUSHALL");
        expect(readFileSync(path.join(dir, "dump.rdb"), "utf8")).toBe("before the restore");
        expect(readFileSync(path.join(restored, "appendonlydir/appendonly.aof.2.incr.aof"), "utf8")).toBe("SET written-after-the-restore");
        expect(statSync(restored).mode & 0o777).toBe(0o700);
        expect(existsSync(path.join(dir, aside))).toBe(false);
    });

    it("is what the restore page gives, for its example", () => {
        const page = readFileSync(path.join(__dirname, "../../docs/restore.md"), "utf8");
        for (const line of wayBackCommands("nexus3-contact-vault", "redis:7.2", aside)) expect(page).toContain(line);
        expect(page).not.toContain("rm -rf appendonlydir appendonly.aof dump.rdb");
    });
});
