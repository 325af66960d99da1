/** `nexus-redis restore ENV --from ...`: its options are its own (cli/restore/restore.ts parses them). */
export { restoreCommand as runArgv } from "./restore";
