/**
 * What the judge (diagnose.ts) says, as data: the problem codes check can report (docs/check.md's
 * table is tested against this file's `PROBLEM_CODES`), the vault's own ones, and the shapes of a
 * diagnosis and of what it needs to know about the rest of the stack.
 */
/** Every code check can report (docs/check.md's table is tested against this list). */
export const PROBLEM_CODES = [
    "vault-unreachable",
    "vault-auth",
    "vault-error",
    "vault-not-master",
    "persistence-off",
    "persistence-failing",
    "snapshot-failing",
    "vault-loading",
    "vault-memory-full",
    "vault-drift",
    "vault-acl-drift",
    "secure-has-replicas",
    "operational-unreachable",
    "operational-reads-need-password",
    "operational-error",
    "not-replica",
    "wrong-master",
    "syncing",
    "link-down",
    "admin-auth",
    "masterauth-drift",
    "masteruser-drift",
    "operational-drift",
    "operational-acl-drift",
    "replication-user",
    "replica-unseen",
    "not-fixed",
    "fix-failed",
    "vault-not-running",
    "operational-not-running",
    "vault-misplaced",
    "operational-misplaced",
    "tls-cert-expiring",
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

/**
 * Problems of the vault alone. Nothing done to the operational causes or cures them: --fix
 * never writes to a vault, and recover does not wait for them.
 */
export const VAULT_PROBLEMS: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
    "vault-not-master",
    "persistence-off",
    "persistence-failing",
    "snapshot-failing",
    "vault-loading",
    "vault-memory-full",
    "vault-drift",
    "vault-acl-drift",
    "secure-has-replicas",
    "vault-misplaced",
]);

export interface Problem {
    code: ProblemCode;
    /** In words, for a person; never a password. */
    message: string;
    /** The setting concerned, for drift. */
    setting?: string;
    /** The ACL user concerned, for ACL drift. */
    user?: string;
    /** The server concerned, for a problem either role can have (tls-cert-expiring). */
    role?: "vault" | "operational";
}

/** What the operational's replication looks like, for the report. */
export interface ReplicationState {
    role: string | null;
    /** `host:port` it replicates from, or null when it is no replica. */
    master: string | null;
    /** master_link_status: "up", "down", or null. */
    link: string | null;
    /** ACL user the vault lists the replica's connection under, when known. */
    user: string | null;
}

/** Values that change from one run to the next on a healthy fleet: kept out of the stable report. */
export interface Lag {
    /** Vault's master_repl_offset minus the replica's offset; null when they follow different histories or the link is down. */
    bytes: number | null;
    /** master_last_io_seconds_ago: seconds since the replica last heard from the vault (0-1 on an idle link: the vault pings every second, repl-ping-replica-period 1). */
    seconds: number | null;
}

export interface Diagnosis {
    problems: Problem[];
    replication: ReplicationState | null;
    lag: Lag | null;
}

export interface DiagnosisContext {
    /** Container name → environment, for every vault of the stack: names "another environment's vault". */
    vaultOwners: ReadonlyMap<string, string>;
    /** Now, in ms since the epoch: what a certificate's end is measured against. Default: the clock. */
    now?: number;
}

/** A setting's value as a message shows it. */
export function show(value: string | undefined): string {
    if (value === undefined) return "not reported";
    return JSON.stringify(value);
}
