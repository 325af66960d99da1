/** `nexus-redis backup`: its options, usage, help page and parser, the one place they are described. */
import { UsageError, parseCommandLine, parseMs } from "../core/errors";
import { OWN_PAGE_OUTPUTS, OWN_PAGE_STACK } from "../core/options";
import { HELP_OPTION, type CommandSpec, checkCommandLine, parserConfig, renderCommandHelp } from "../core/spec";
import { parsePrometheusFile } from "../core/prometheus";
import { KEEP_OPTIONS, type RetentionPolicy, hasRetention, resticPasswordGiven, retentionProblems } from "../snapshot/restic";
import type { BackupOptions } from "./backup";

export const DEFAULT_BACKUP_TIMEOUT_MS = 300_000;
export const DEFAULT_BACKUP_DIR = "backups";

export const BACKUP = {
    name: "backup",
    placement: "first",
    usage: "[--env NAME]... [--to DIR] [--json] [--prometheus FILE] [--restic-repo URL [--keep-last N ...]] [--outputs FILE|-] [--stack NAME] [--timeout MS]",
    summary: [
        "A verified point-in-time snapshot of every vault, over the network as its",
        "backup user, to ./backups/ENV/UTC-STAMP.rdb with a manifest; optionally into",
        "restic with retention. `nexus-redis backup --help` for its options.",
    ],
    arguments: [],
    options: {
        env: { type: "string", multiple: true, value: "NAME", help: ["only this environment (repeatable; default: all of the stack's)"] },
        to: {
            type: "string",
            value: "DIR",
            help: [
                `where to write (default ./${DEFAULT_BACKUP_DIR}); scheduled backups should name`,
                "a folder of their own, outside any checkout",
            ],
        },
        json: { type: "boolean", help: ["print one JSON document on stdout (for monitoring), nothing on stderr"] },
        prometheus: {
            type: "string",
            value: "FILE",
            help: [
                "also write each vault's last run and last success as Prometheus metrics",
                "into FILE (*.prom, for node_exporter's textfile collector), replaced",
                "atomically; a failed run keeps the last success FILE had (2 when every",
                "backup succeeded but FILE cannot be written)",
            ],
        },
        timeout: {
            type: "string",
            value: "MS",
            help: ["bound of each environment's backup, verification and restic upload", `included (default ${DEFAULT_BACKUP_TIMEOUT_MS})`],
        },
        "restic-repo": {
            type: "string",
            value: "URL",
            help: [
                "also store each snapshot and manifest in this restic repository",
                "(encrypted, deduplicated; local folder, sftp:, s3:, ...; create it once",
                "with `restic init`). Its password from RESTIC_PASSWORD_FILE.",
            ],
        },
        "keep-last": {
            type: "string",
            value: "N ...",
            help: [
                "with --restic-repo: retention, applied with `restic forget --prune`",
                "to each environment's snapshots (tagged env:NAME) after the backups;",
                "skipped when any backup of the run failed. Also --keep-hourly,",
                "--keep-daily, --keep-weekly, --keep-monthly, --keep-yearly N and",
                "--keep-within DURATION (30d, 12h, 1y6m)",
            ],
        },
        // Described together under --keep-last.
        "keep-hourly": { type: "string" },
        "keep-daily": { type: "string" },
        "keep-weekly": { type: "string" },
        "keep-monthly": { type: "string" },
        "keep-yearly": { type: "string" },
        "keep-within": { type: "string" },
        outputs: OWN_PAGE_OUTPUTS,
        stack: OWN_PAGE_STACK,
        help: HELP_OPTION,
    },
    examples: [
        "./bin/nexus-redis.js backup --to /var/backups/nexus-redis",
        "./bin/nexus-redis.js backup --env locker --json | jq '.backups[] | {environment, status, error}'",
        "RESTIC_PASSWORD_FILE=/etc/nexus-redis/restic.pw ./bin/nexus-redis.js backup --to /var/backups/nexus-redis \\\n      --restic-repo sftp:backup@vault-store:/srv/restic/nexus-redis --keep-hourly 24 --keep-daily 14",
    ],
    sharedExamples: 1,
    page: {
        usage: [
            "[--env NAME]... [--to DIR] [--json] [--prometheus FILE] [--timeout MS]",
            "[--restic-repo URL [--keep-last N] [--keep-hourly N] [--keep-daily N]",
            " [--keep-weekly N] [--keep-monthly N] [--keep-yearly N] [--keep-within DURATION]]",
            "[--outputs FILE|-] [--stack NAME]",
        ],
        description: `Takes a point-in-time snapshot of every vault (or of each --env) at once, over the network
as the vault's backup user (redis-cli --rdb), while the vault keeps taking writes; verifies
each by loading it into a scratch Redis server of the vault's image (no network), and writes
it atomically to DIR/ENV/UTC-STAMP.rdb with a manifest (ENV/UTC-STAMP.json: keys, Redis
version, replication id and offset, sha256, DEBUG DIGEST). Folders are created 0700, files
0600: every snapshot is a secret (locker's holds every vault password).`,
        notes: `Needs on this machine: redis-cli (Redis 6 or newer), access to the fleet's Docker engine
(DOCKER_HOST or /var/run/docker.sock), and restic for --restic-repo.`,
        width: 21,
        exits: `  0  every environment was backed up and verified (and stored in restic, and retention applied)
  1  a backup, its verification, its upload to restic or the retention failed
  2  usage or configuration error (bad option, unknown environment, unreadable outputs, no
     redis-cli, restic or Docker engine, no restic password)
  3  internal error: a bug in nexus-redis (the stack trace is on stderr)`,
    },
} as const satisfies CommandSpec & { options: Record<(typeof KEEP_OPTIONS)[number], unknown> };

export const BACKUP_HELP = renderCommandHelp(BACKUP);

const OPTIONS = parserConfig(BACKUP.options);

/** Parses and checks backup's arguments; "help" for --help. Throws UsageError. */
export function parseBackupArgs(argv: string[], env: Readonly<Record<string, string | undefined>>): BackupOptions | "help" {
    const parsed = parseCommandLine(argv, OPTIONS, "backup");
    const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
    if (values.help) return "help";
    checkCommandLine(BACKUP, parsed.positionals, values, "own page");
    const retention: RetentionPolicy = {};
    for (const option of KEEP_OPTIONS) if (typeof values[option] === "string") retention[option] = values[option] as string;
    const problems = retentionProblems(retention);
    if (problems.length > 0) throw new UsageError(problems.join("; "), "backup");
    const resticRepo = values["restic-repo"] as string | undefined;
    if (resticRepo === "") throw new UsageError("--restic-repo needs a repository (a folder, sftp:..., s3:...)", "backup");
    if (hasRetention(retention) && resticRepo === undefined) {
        throw new UsageError(
            "--keep-* applies retention to a restic repository: give --restic-repo (the local folder keeps every snapshot; see docs/backup.md for pruning it)",
            "backup",
        );
    }
    if (resticRepo !== undefined && !resticPasswordGiven(env)) {
        throw new UsageError(
            "--restic-repo needs the repository's password: set RESTIC_PASSWORD_FILE to a file that holds it (mode 0600)",
            "backup",
        );
    }
    const to = values.to as string | undefined;
    if (to === "") throw new UsageError("--to needs a folder", "backup");
    const timeoutMs = parseMs("--timeout", values.timeout as string | undefined, DEFAULT_BACKUP_TIMEOUT_MS, "backup");
    return {
        environments: (values.env as string[] | undefined) ?? [],
        to: to ?? DEFAULT_BACKUP_DIR,
        json: values.json === true,
        timeoutMs,
        resticRepo,
        retention,
        prometheus: parsePrometheusFile(values.prometheus as string | undefined, "backup"),
        outputs: values.outputs as string | undefined,
        stack: values.stack as string | undefined,
    };
}
