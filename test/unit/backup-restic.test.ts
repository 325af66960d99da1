/**
 * The restic commands `nexus-redis backup` and `restore` run (backup tagged by environment,
 * retention grouped by tags, restore by ID or latest), the retention options they accept, what
 * they read back from restic 0.14's output, and the `--from restic:ID` form restore takes.
 */
import { describe, expect, it } from "vitest";
import {
    parseBackupSummary,
    parseForgetOutput,
    resticBackupCommand,
    resticForgetCommand,
    resticRestoreCommand,
    resticSnapshotOf,
    retentionArgs,
    retentionProblems,
    validSnapshotId,
} from "../../cli/snapshot/restic";

describe("restic", () => {
    it("stores a backup's snapshot and manifest as one restic snapshot, tagged with the environment", () => {
        expect(resticBackupCommand("/srv/restic", "contact", ["/b/contact/x.rdb", "/b/contact/x.json"])).toEqual([
            "restic",
            "--repo",
            "/srv/restic",
            "backup",
            "--json",
            "--tag",
            "nexus-redis",
            "--tag",
            "env:contact",
            "/b/contact/x.rdb",
            "/b/contact/x.json",
        ]);
    });

    it("applies retention per environment: grouped by tags (each file name is new, so grouping by paths would keep every backup)", () => {
        expect(resticForgetCommand("s3:s3.amazonaws.com/b", ["contact", "locker"], { "keep-daily": "14", "keep-last": "3" })).toEqual([
            "restic",
            "--repo",
            "s3:s3.amazonaws.com/b",
            "forget",
            "--json",
            "--prune",
            "--group-by",
            "tags",
            "--tag",
            "nexus-redis,env:contact",
            "--tag",
            "nexus-redis,env:locker",
            "--keep-last",
            "3",
            "--keep-daily",
            "14",
        ]);
    });

    it("never runs forget without a --keep-* option (restic would refuse, or forget nothing)", () => {
        expect(() => resticForgetCommand("/r", ["contact"], {})).toThrow(/no --keep-\* option/);
    });

    it("passes every --keep-* option in one order", () => {
        expect(
            retentionArgs({
                "keep-within": "30d",
                "keep-yearly": "2",
                "keep-monthly": "12",
                "keep-weekly": "8",
                "keep-daily": "14",
                "keep-hourly": "24",
                "keep-last": "1",
            }),
        ).toEqual([
            "--keep-last",
            "1",
            "--keep-hourly",
            "24",
            "--keep-daily",
            "14",
            "--keep-weekly",
            "8",
            "--keep-monthly",
            "12",
            "--keep-yearly",
            "2",
            "--keep-within",
            "30d",
        ]);
    });

    it.each([
        [{ "keep-last": "0" }, /--keep-last takes a whole number of at least 1, got "0"/],
        [{ "keep-daily": "7d" }, /--keep-daily takes a whole number/],
        [{ "keep-within": "30 days" }, /--keep-within takes a restic duration/],
        [{ "keep-within": "" }, /--keep-within takes a restic duration/],
    ])("refuses the retention %j", (policy, message) => {
        expect(retentionProblems(policy).join("; ")).toMatch(message);
    });

    it("accepts restic's durations", () => {
        expect(retentionProblems({ "keep-within": "1y6m" })).toEqual([]);
        expect(retentionProblems({ "keep-within": "12h" })).toEqual([]);
    });

    it("restores a snapshot by ID, or the environment's latest by its tags", () => {
        expect(resticRestoreCommand("/r", "kb", "d879ba56", "/tmp/x")).toEqual([
            "restic",
            "--repo",
            "/r",
            "restore",
            "d879ba56",
            "--target",
            "/tmp/x",
        ]);
        expect(resticRestoreCommand("/r", "kb", "latest", "/tmp/x")).toEqual([
            "restic",
            "--repo",
            "/r",
            "restore",
            "latest",
            "--tag",
            "nexus-redis,env:kb",
            "--target",
            "/tmp/x",
        ]);
    });

    it("reads the snapshot ID from restic 0.14's backup --json output", () => {
        const stdout = [
            '{"message_type":"status","percent_done":0,"total_files":1,"total_bytes":3}',
            '{"message_type":"summary","files_new":2,"files_changed":0,"files_unmodified":0,"dirs_new":3,"dirs_changed":0,"dirs_unmodified":0,"data_blobs":2,"tree_blobs":4,"data_added":20710,"total_files_processed":2,"total_bytes_processed":18961,"total_duration":0.219957155,"snapshot_id":"d879ba56"}',
        ].join("\n");
        expect(parseBackupSummary(stdout)).toBe("d879ba56");
        expect(() => parseBackupSummary('{"message_type":"status"}')).toThrow(/no summary/);
    });

    it("counts what restic 0.14's forget --json --prune kept and removed (prune's text report follows the JSON)", () => {
        const stdout = [
            '[{"tags":["env:contact","nexus-redis"],"host":"","paths":null,"keep":[{"short_id":"d5cec4e2"}],"remove":[{"short_id":"d879ba56"}],"reasons":[]},' +
                '{"tags":["env:user","nexus-redis"],"host":"","paths":null,"keep":[{"short_id":"aa"},{"short_id":"bb"}],"remove":null,"reasons":[]}]',
            "loading indexes...",
            "to delete:             6 blobs / 4.906 KiB",
        ].join("\n");
        expect(parseForgetOutput(stdout)).toEqual({ kept: 3, removed: 1 });
    });

    it.each([
        ["restic:d879ba56", "d879ba56", true],
        ["restic:latest", "latest", true],
        ["restic:../etc", "../etc", false],
        ["restic:", "", false],
        ["backups/contact/x.rdb", undefined, undefined],
    ])("reads --from %s", (from, snapshot, valid) => {
        expect(resticSnapshotOf(from)).toBe(snapshot);
        if (snapshot !== undefined) expect(validSnapshotId(snapshot)).toBe(valid);
    });
});
