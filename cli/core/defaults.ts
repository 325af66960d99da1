/**
 * The CLI's default bounds, in one place: the help text shows them without loading the
 * commands that use them.
 */

/** check --timeout: each environment's conversation (and repair) is bounded by this. */
export const DEFAULT_CHECK_TIMEOUT_MS = 3000;
/** recover --timeout: how long recover waits for the new operational to sync. */
export const DEFAULT_RECOVER_WAIT_MS = 120_000;
/** check --fix --sync-timeout: how long to wait for the link after a repair that re-syncs (a full sync of a real dataset takes a while). */
export const DEFAULT_SYNC_TIMEOUT_MS = 60_000;
/** adopt --timeout: the bound of each wait (the AOF rewrite, the new vault answering, the environment healthy). */
export const DEFAULT_ADOPT_TIMEOUT_MS = 300_000;
