/**
 * `nexus-redis restore` on a vault whose data is a small ext4 volume (a loop device, the
 * vault's host-folder data): a vault its start script is still converting is waited for, then
 * checked, not refused as a server that cannot be proven to be the outputs'; and with --force,
 * a full disk at staging is refused with nothing changed, without first saying it goes ahead.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type Redis from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, runCli } from "../../harness/cliRun";
import { type LiveFleet, dockerAvailable, parseInfo, startLiveFleet, waitFor } from "../../harness/fleet";
import { SmallVolume, smallVolumesAvailable } from "../../harness/smallVolume";

const live = dockerAvailable() && disksAvailable();
const RUN = `nrt${randomBytes(4).toString("hex")}`;
/** 60 MB of incompressible values: a conversion that lasts long enough for restore to find it under way. */
const KEYS = 60_000;

function disksAvailable(): boolean {
    if (smallVolumesAvailable()) return true;
    const why = "not root, or no truncate, mkfs.ext4, losetup, mount or findmnt (Debian's coreutils, e2fsprogs, mount, util-linux)";
    if (process.env.CI === "true") throw new Error(`the restore small-volume tests cannot run under CI: ${why}`);
    process.stderr.write(`\n*** SKIPPING THE RESTORE SMALL-VOLUME TESTS: ${why} ***\n\n`);
    return false;
}

let fleet: LiveFleet;
let volume: SmallVolume;
let vault: Redis;
let work: string;
let snapshot: string;

function restore(argv: string[]): Promise<CliRun> {
    return runCli(fleet.outputs, ["restore", "contact", "--from", snapshot, ...argv]);
}

async function untouched() {
    const started = (await fleet.container("contact", "vault").inspect()).State.StartedAt;
    return { started, digest: await fleet.digest("contact", "vault") };
}

beforeAll(async () => {
    if (!live) return;
    volume = SmallVolume.create(RUN, 320);
    // vaultData must hold data: an empty RDB ("REDIS0009", EOF, a zero checksum Redis does not check).
    fs.writeFileSync(`${volume.folder}/dump.rdb`, Buffer.concat([Buffer.from("REDIS0009"), Buffer.from([0xff]), Buffer.alloc(8)]));
    fleet = await startLiveFleet({
        name: RUN,
        environments: ["contact"],
        config: { vaultData: JSON.stringify({ contact: volume.folder }) },
    });
    vault = fleet.client("contact", "vault", "password");
    for (let at = 0; at < KEYS; at += 1000) {
        const batch = vault.pipeline();
        for (let i = at; i < at + 1000; i++) batch.set(`contact:${i}`, randomBytes(500).toString("hex"));
        await batch.exec();
    }
    work = fs.mkdtempSync(path.join(tmpdir(), `${RUN}-restore-disk-`));
    const backup = await runCli(fleet.outputs, ["backup", "--json", "--env", "contact", "--to", work]);
    expect(backup.code, backup.stderr).toBe(0);
    snapshot = JSON.parse(backup.stdout).backups[0].snapshot.file;
    // The vault then holds a key the snapshot lacks: only --force would replace it.
    await vault.set("written-after-the-backup", "1");
}, 300_000);

afterAll(async () => {
    await fleet?.destroy();
    volume?.destroy();
    if (work) fs.rmSync(work, { recursive: true, force: true });
}, 120_000);

describe.skipIf(!live)("restore on a vault's small volume", () => {
    it("waits for a vault that is converting its data at start, then checks it as usual (here: refused for its data)", async () => {
        // A dump.rdb of everything and no append-only file: at its next start the vault converts.
        await vault.bgsave();
        await waitFor("the RDB save", async () =>
            parseInfo(await vault.info("persistence")).rdb_bgsave_in_progress === "0" ? true : undefined,
        );
        const container = fleet.container("contact", "vault");
        await container.stop();
        fs.rmSync(`${volume.folder}/appendonlydir`, { recursive: true });
        await container.start();
        const run = await restore([]);
        expect(run.stderr).toContain(
            `contact: ${fleet.containerName("contact", "vault")} is converting its data into an append-only file (its start script loads dump.rdb with no client port open, then starts Redis on the AOF): waiting for it (within --timeout); nothing is changed before then`,
        );
        expect(run.code).toBe(1);
        expect(run.stdout).not.toContain("could not be proven");
        expect(run.stdout).toMatch(
            /^contact NOT restored: refused, nothing was changed: the vault holds 60001 keys .*\(--force overrides\)$/m,
        );
        expect(await vault.get("written-after-the-backup")).toBe("1");
    }, 180_000);

    it("with --force and no room to stage the snapshot, refuses with nothing changed and never says it goes ahead", async () => {
        // On its data as the test above left it: converted, answering (asked inside the container,
        // so that each try ends at once while it does not answer).
        await waitFor(
            "the vault to answer",
            async () => (parseInfo(await fleet.cli("contact", "vault", ["INFO", "persistence"])).loading === "0" ? true : undefined),
            60_000,
            200,
        );
        const before = await untouched();
        volume.fill();
        let run: CliRun;
        try {
            run = await restore(["--force"]);
        } finally {
            volume.free();
        }
        expect(run.code).toBe(1);
        expect(run.stderr).not.toMatch(/--force: (restoring|going ahead)/);
        expect(run.stderr).toMatch(/^contact: REFUSED: refused, nothing was changed: disk full: folder \S+ has no room for the snapshot/m);
        expect(run.stdout).toMatch(
            new RegExp(
                `^contact NOT restored: refused, nothing was changed: disk full: folder ${volume.folder} has no room for the snapshot \\(\\d+\\.\\d MiB\\) beside the vault's files \\(.*no space left on device.*\\)\\. Free at least that much there`,
                "im",
            ),
        );
        expect(run.stdout).toMatch(/^ {2}--force would have gone ahead although the vault holds 60001 keys .*; nothing was replaced$/m);
        expect(await untouched()).toEqual(before);
        expect(fs.readdirSync(volume.folder)).not.toContain(".nexus-redis-restore.rdb");
    }, 180_000);
});
