/**
 * restic, for backups kept off the host: encrypted, deduplicated, on any backend restic
 * supports (local folder, SFTP, S3, ...). The commands are built here (pure, tested
 * argument by argument) and run through the CLI's replaceable command runner.
 *
 * Every snapshot is tagged `nexus-redis` and `env:{environment}`. Retention groups by tags
 * (one group per environment): restic's default grouping by host and paths would make every
 * backup a group of its own, since each file name carries its time, and keep them all.
 */

export const RESTIC_TAG = "nexus-redis";
export const envTag = (environment: string) => `env:${environment}`;

/** restic's `--keep-*` options the CLI passes through, as `forget` names them. */
export const KEEP_OPTIONS = [
    "keep-last",
    "keep-hourly",
    "keep-daily",
    "keep-weekly",
    "keep-monthly",
    "keep-yearly",
    "keep-within",
] as const;
export type KeepOption = (typeof KEEP_OPTIONS)[number];
export type RetentionPolicy = Partial<Record<KeepOption, string>>;

/** restic's duration: years, months, days, hours (`1y6m`, `30d`, `12h`). */
const DURATION = /^(\d+y)?(\d+m)?(\d+d)?(\d+h)?$/;

/** Problems with a retention policy, in words (empty when it is valid). */
export function retentionProblems(policy: RetentionPolicy): string[] {
    const problems: string[] = [];
    for (const [option, value] of Object.entries(policy) as [KeepOption, string][]) {
        if (option === "keep-within") {
            if (value === "" || !DURATION.test(value))
                problems.push(`--keep-within takes a restic duration such as 30d, 12h or 1y6m, got "${value}"`);
        } else if (!/^\d+$/.test(value) || Number(value) < 1) {
            problems.push(`--${option} takes a whole number of at least 1, got "${value}"`);
        }
    }
    return problems;
}

export function hasRetention(policy: RetentionPolicy): boolean {
    return Object.keys(policy).length > 0;
}

/** The `--keep-*` arguments of `restic forget`, in a fixed order. */
export function retentionArgs(policy: RetentionPolicy): string[] {
    return KEEP_OPTIONS.filter((o) => policy[o] !== undefined).flatMap((o) => [`--${o}`, policy[o]!]);
}

/** Stores one backup (its snapshot and manifest) as one restic snapshot. */
export function resticBackupCommand(repository: string, environment: string, files: string[]): string[] {
    return ["restic", "--repo", repository, "backup", "--json", "--tag", RESTIC_TAG, "--tag", envTag(environment), ...files];
}

/**
 * Applies retention to the environments backed up, each on its own: `--tag a,b` selects the
 * snapshots that have both tags, repeated `--tag` any of them; `--prune` then deletes the data
 * no snapshot needs any more.
 */
export function resticForgetCommand(repository: string, environments: string[], policy: RetentionPolicy): string[] {
    if (!hasRetention(policy)) throw new Error("resticForgetCommand: no --keep-* option: restic would forget nothing");
    return [
        "restic",
        "--repo",
        repository,
        "forget",
        "--json",
        "--prune",
        "--group-by",
        "tags",
        ...environments.flatMap((e) => ["--tag", `${RESTIC_TAG},${envTag(e)}`]),
        ...retentionArgs(policy),
    ];
}

/**
 * Writes a restic snapshot's files under `target`. `latest` means the environment's latest
 * (restic picks it among the snapshots with the tags given).
 */
export function resticRestoreCommand(repository: string, environment: string, snapshot: string, target: string): string[] {
    return [
        "restic",
        "--repo",
        repository,
        "restore",
        snapshot,
        ...(snapshot === "latest" ? ["--tag", `${RESTIC_TAG},${envTag(environment)}`] : []),
        "--target",
        target,
    ];
}

export function resticVersionCommand(): string[] {
    return ["restic", "version"];
}

/** The snapshot ID from `restic backup --json`: the last line is its summary. */
export function parseBackupSummary(stdout: string): string {
    for (const line of stdout.trim().split("\n").reverse()) {
        try {
            const message = JSON.parse(line) as { message_type?: string; snapshot_id?: string };
            if (message.message_type === "summary" && typeof message.snapshot_id === "string") return message.snapshot_id;
        } catch {
            // Not JSON (restic prints some warnings as text): keep looking.
        }
    }
    throw new Error("restic backup printed no summary with a snapshot ID");
}

export interface ForgetOutcome {
    /** Snapshots kept and removed, over every group. */
    kept: number;
    removed: number;
}

/** Counts from `restic forget --json --prune`: its first line is the JSON of the groups; prune's report follows as text. */
export function parseForgetOutput(stdout: string): ForgetOutcome {
    const line = stdout.split("\n").find((l) => l.startsWith("["));
    if (line === undefined) throw new Error("restic forget printed no JSON");
    const groups = JSON.parse(line) as { keep?: unknown[] | null; remove?: unknown[] | null }[];
    return {
        kept: groups.reduce((n, g) => n + (g.keep?.length ?? 0), 0),
        removed: groups.reduce((n, g) => n + (g.remove?.length ?? 0), 0),
    };
}

/** `restic:ID` or `restic:latest` → the snapshot; undefined for a file name. */
export function resticSnapshotOf(from: string): string | undefined {
    return from.startsWith("restic:") ? from.slice("restic:".length) : undefined;
}

export function validSnapshotId(snapshot: string): boolean {
    return snapshot === "latest" || /^[0-9a-f]{8,64}$/.test(snapshot);
}

/** The environment variables restic needs from ours: its own (password file, repository options). */
export function resticEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const picked: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (k.startsWith("RESTIC_") && v !== undefined) picked[k] = v;
    return picked;
}

/** Whether restic will find the repository's password without asking for it on a terminal. */
export function resticPasswordGiven(env: Readonly<Record<string, string | undefined>>): boolean {
    return !!(env.RESTIC_PASSWORD_FILE || env.RESTIC_PASSWORD_COMMAND || env.RESTIC_PASSWORD);
}

/** The last line of a failed program's error output, for a one-line report. */
export function lastLine(text: string): string {
    const lines = text
        .trim()
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    return lines[lines.length - 1] ?? "no message";
}
