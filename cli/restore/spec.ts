/** `nexus-redis restore`: its options, usage, help page and parser, the one place they are described. */
import { UsageError, parseCommandLine, parseMs } from "../core/errors";
import { OWN_PAGE_OUTPUTS, OWN_PAGE_STACK } from "../core/options";
import { HELP_OPTION, type CommandSpec, checkCommandLine, parserConfig, renderCommandHelp } from "../core/spec";
import { resticPasswordGiven, resticSnapshotOf, validSnapshotId } from "../snapshot/restic";
import type { RestoreOptions } from "./inputs";

export const DEFAULT_RESTORE_TIMEOUT_MS = 600_000;

export const RESTORE = {
    name: "restore",
    placement: "first",
    usage: "ENV --from FILE|restic:SNAPSHOT [--force] [--json] [--restic-repo URL] [--outputs FILE|-] [--stack NAME] [--timeout MS]",
    summary: [
        "Brings ENV's vault up on a verified snapshot (and its operational re-syncs),",
        "refusing to replace data that differs unless --force.",
        "`nexus-redis restore --help` for its options.",
    ],
    arguments: [{ name: "ENV", what: "environment" }],
    options: {
        from: {
            type: "string",
            value: "FILE",
            help: [
                "a snapshot written by `nexus-redis backup`, with its manifest beside it",
                "(FILE with .json for .rdb): a snapshot without one is refused, since a",
                "backup writes its manifest last (see --without-manifest)",
            ],
            more: [
                {
                    value: "restic:ID",
                    help: [
                        "restic snapshot ID from `restic snapshots`, or restic:latest for ENV's",
                        "latest; needs --restic-repo and RESTIC_PASSWORD_FILE",
                    ],
                },
            ],
        },
        force: {
            type: "boolean",
            help: [
                "replace what the vault holds even when it differs from the snapshot",
                "(or cannot be read); its files are kept aside all the same",
            ],
        },
        "without-manifest": {
            type: "boolean",
            help: ["restore an RDB file that has no manifest (a dump.rdb copied by hand):", "it is then checked by loading it only"],
        },
        json: { type: "boolean", help: ["print one JSON document on stdout, nothing on stderr"] },
        "restic-repo": { type: "string", value: "URL", help: ["the restic repository of --from restic:..."] },
        timeout: {
            type: "string",
            value: "MS",
            help: [
                "bound of the whole restore, the vault's start and the operational's",
                `re-sync included (default ${DEFAULT_RESTORE_TIMEOUT_MS})`,
            ],
        },
        outputs: OWN_PAGE_OUTPUTS,
        stack: OWN_PAGE_STACK,
        help: HELP_OPTION,
    },
    examples: [
        "./bin/nexus-redis.js restore contact --from /var/backups/nexus-redis/contact/20260126T030000.000Z.rdb",
        "RESTIC_PASSWORD_FILE=/etc/nexus-redis/restic.pw ./bin/nexus-redis.js restore locker \\\n      --from restic:latest --restic-repo sftp:backup@vault-store:/srv/restic/nexus-redis",
    ],
    sharedExamples: 0,
    page: {
        usage: [
            "ENV --from FILE|restic:SNAPSHOT [--force] [--without-manifest] [--json]",
            "[--restic-repo URL] [--outputs FILE|-] [--stack NAME] [--timeout MS]",
        ],
        description: `Brings ENV's vault up on exactly the snapshot, with AOF on, and waits until its operational
has re-synced from it. Before anything stops, the snapshot is verified (sha256 against its
manifest, and loaded into a scratch Redis server of the vault's image), and restore refuses
to replace data that differs from it (every database counts). The snapshot is staged in the
vault's volume, writes are paused, the vault's container stopped (the same container:
Pulumi's state stays true), its files moved aside into /data/nexus-redis-restore-STAMP
(kept, 0700), the snapshot put in as dump.rdb, the container started again; then the
snapshot's, the vault's and the operational's DEBUG DIGEST are compared.

A write pause lasts a few seconds at a time and is renewed while restore runs: if restore is
killed, writes resume by themselves. The next restore of the environment removes what a
killed one left (its helper container, a staged snapshot) and, if that one had stopped the
vault, starts it again; it says what it found.`,
        width: 21,
        exits: `  0  the vault holds the snapshot and every digest agrees (or it held it already)
  1  refused (the snapshot is corrupt or has no manifest, the vault holds other data and no
     --force, or the vault is paused, not started by the program's start script, not the server
     at its port, or without AOF; nothing was changed), or the restore or its verification
     failed, or the operational did not re-sync (the report says where things are)
  2  usage or configuration error (bad option, unknown environment, unreadable file, a
     snapshot of another environment, no Docker engine or restic)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr)`,
    },
} as const satisfies CommandSpec;

export const RESTORE_HELP = renderCommandHelp(RESTORE);

const OPTIONS = parserConfig(RESTORE.options);

export function parseRestoreArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): RestoreOptions | "help" {
    const parsed = parseCommandLine(argv, OPTIONS, "restore");
    const { values, positionals } = parsed;
    if (values.help) return "help";
    checkCommandLine(RESTORE, positionals, values, "own page");
    if (!values.from) throw new UsageError("--from FILE or --from restic:SNAPSHOT is required: which snapshot to restore", "restore");
    const snapshot = resticSnapshotOf(values.from);
    if (snapshot !== undefined) {
        if (!validSnapshotId(snapshot))
            throw new UsageError(
                `--from restic:${snapshot}: give a snapshot ID (8 to 64 hex digits, from \`restic snapshots\`) or restic:latest`,
                "restore",
            );
        if (!values["restic-repo"]) throw new UsageError("--from restic:... needs --restic-repo URL", "restore");
        if (!resticPasswordGiven(env))
            throw new UsageError("--from restic:... needs the repository's password: set RESTIC_PASSWORD_FILE", "restore");
    } else if (values["restic-repo"] !== undefined) {
        throw new UsageError("--restic-repo only applies to --from restic:SNAPSHOT", "restore");
    } else if (values.from.endsWith(".json")) {
        // backup writes X.rdb and its manifest X.json: the manifest is found from the snapshot, not the other way.
        throw new UsageError(
            `--from ${values.from} is a manifest: --from takes the snapshot, the .rdb beside it (--from ${values.from.slice(0, -5)}.rdb); its manifest is found from it`,
            "restore",
        );
    }
    const timeoutMs = parseMs("--timeout", values.timeout, DEFAULT_RESTORE_TIMEOUT_MS, "restore");
    return {
        environment: positionals[0],
        from: values.from,
        force: values.force ?? false,
        withoutManifest: values["without-manifest"] ?? false,
        json: values.json ?? false,
        resticRepo: values["restic-repo"],
        outputs: values.outputs,
        stack: values.stack,
        timeoutMs,
    };
}
