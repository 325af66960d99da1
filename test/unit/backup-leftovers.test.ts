/**
 * What backup and restore make for a moment and must not leave behind: the containers they start
 * next to the vault (labels and names that say whose they are), the temporary files of a killed
 * run (which process owns one, and which are safe to remove), and a full disk (recognised, said
 * with the folder and sizes, and a file written durably or not at all).
 */
import { mkdtempSync, readdirSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { redisCliRanOutOfSpace } from "../../cli/backup/failures";
import { diskFullMessage, isDiskFull, removeAbandonedFiles, spaceOf, writeFileDurably } from "../../cli/snapshot/files";
import { LABEL_ROLE, isTemporaryNameOf, temporaryLabels } from "../../cli/snapshot/vaultContainer";
import { ownerState, ownerTag } from "../../cli/core/owner";
import { LABEL_ROLE as PROGRAM_ROLE_LABEL } from "../../components/containerSpec";
import { tempFolder } from "./tempFolder";

/** Every temporary folder of these tests, removed after them. */
const TEMP = tempFolder("nexus-redis-backup-unit-");

describe("the containers backup and restore create for a moment", () => {
    it("carry the vault's labels (a test run's included, so its cleanup finds them), their own role, and the temporary label", () => {
        expect(LABEL_ROLE).toBe(PROGRAM_ROLE_LABEL);
        const vault = {
            id: "c0ffee",
            name: "nexus3-contact-vault",
            image: "sha256:1",
            running: true,
            data: undefined,
            labels: { "nexus-redis.environment": "contact", "nexus-redis.role": "vault", "nexus-redis.test-run": "nrt12345678" },
        };
        expect(temporaryLabels(vault, "backup-verify", "ops:4242")).toEqual({
            "nexus-redis.environment": "contact",
            "nexus-redis.role": "backup-verify",
            "nexus-redis.test-run": "nrt12345678",
            "nexus-redis.temporary": "true",
            "nexus-redis.owner": "ops:4242",
        });
    });

    it("are the vault's by name: its name, their role, six hex digits", () => {
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-restore-0a1b2c")).toBe(true);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-verify-0a1b2c")).toBe(true);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault-2-restore-0a1b2c")).toBe(false);
        expect(isTemporaryNameOf("nexus3-contact-vault", "nexus3-contact-vault")).toBe(false);
        expect(isTemporaryNameOf("nexus3-contact", "nexus3-contact-vault-restore-0a1b2c")).toBe(false);
    });
});

describe("what a killed run left, and what a running one is using", () => {
    const here = { host: "ops", alive: (pid: number) => pid === 100 };

    it.each<[string, string | undefined, string]>([
        ["a process of this host that runs", "ops:100", "alive"],
        ["a process of this host that is gone", "ops:200", "dead"],
        ["a process of another host, which this one cannot ask", "backup-host:200", "elsewhere"],
        ["no owner (made by an older version)", undefined, "unknown"],
    ])("tells %s", (_what, tag, state) => {
        expect(ownerState(tag, here)).toBe(state);
    });

    it("asks the kernel about this process and about one that has exited", () => {
        expect(ownerState(ownerTag())).toBe("alive");
        const gone = require("node:child_process").spawnSync(process.execPath, ["-e", ""]).pid as number;
        expect(ownerState(ownerTag(undefined, gone))).toBe("dead");
    });

    it("removes the temporary files of backups whose process is gone, and nothing else", () => {
        const folder = mkdtempSync(path.join(TEMP, "nexus-redis-abandoned-"));
        const names = [
            ".20260126T030000.000Z.pid200@ops.rdb.partial", // killed
            ".20260126T030000.000Z.pid200@ops.json.partial", // killed
            ".20260126T040000.000Z.pid100@ops.rdb.partial", // still being written
            ".20260126T040000.000Z.pid300@other.rdb.partial", // another host's
            ".20260126T020000.000Z.rdb.partial", // an older version's: whose, nobody can tell
            "20260126T010000.000Z.rdb",
            "20260126T010000.000Z.json",
        ];
        for (const name of names) writeFileSync(path.join(folder, name), "x");
        const removed = removeAbandonedFiles(folder, (owner) => ownerState(owner, here));
        expect(removed.sort()).toEqual([".20260126T030000.000Z.pid200@ops.json.partial", ".20260126T030000.000Z.pid200@ops.rdb.partial"]);
        expect(readdirSync(folder).sort()).toEqual(names.slice(2).sort());
    });
});

describe("a full disk", () => {
    it("is what redis-cli's short write means when the file system has nothing left, and is said so, with the folder and the sizes", () => {
        expect(redisCliRanOutOfSpace("Error writing data to file: short write", { free: 3072 })).toBe(true);
        expect(redisCliRanOutOfSpace("Error writing data to file: No space left on device", undefined)).toBe(true);
        expect(redisCliRanOutOfSpace("Error writing data to file: short write", { free: 50 * 1024 * 1024 })).toBe(false);
        expect(redisCliRanOutOfSpace("AUTH failed: WRONGPASS", { free: 0 })).toBe(false);
        expect(
            diskFullMessage({
                folder: "/var/backups/nexus-redis/contact",
                writing: "the manifest",
                space: { free: 0, size: 20 * 1024 * 1024 },
                snapshotBytes: 3664574,
            }),
        ).toBe(
            "disk full: no room for the manifest in /var/backups/nexus-redis/contact: 0 B free of 20.0 MiB (the snapshot: 3.5 MiB); nothing of this backup was kept. Free space there, or back up to a larger folder (--to)",
        );
    });

    it("is recognised by the error's code, and the file system's space is what a file may still take", () => {
        expect(isDiskFull(Object.assign(new Error("write"), { code: "ENOSPC" }))).toBe(true);
        expect(isDiskFull(Object.assign(new Error("write"), { code: "EDQUOT" }))).toBe(true);
        expect(isDiskFull(Object.assign(new Error("open"), { code: "EACCES" }))).toBe(false);
        const s = statfsSync(tmpdir());
        expect(spaceOf(tmpdir())).toEqual({ free: s.bavail * s.bsize, size: s.blocks * s.bsize });
    });

    it("leaves a file written durably whole, 0600, and never overwrites one", () => {
        const file = path.join(mkdtempSync(path.join(TEMP, "nexus-redis-durable-")), "m.json");
        writeFileDurably(file, "{}\n");
        expect(require("node:fs").statSync(file).mode & 0o777).toBe(0o600);
        expect(() => writeFileDurably(file, "again")).toThrow(/EEXIST/);
    });
});
