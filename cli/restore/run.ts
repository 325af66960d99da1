/** `nexus-redis restore ENV --from ...`: its options are its own (cli/restore.ts parses them). */
export { restoreCommand as runArgv } from "./restore";
