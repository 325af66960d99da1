/** `nexus-redis backup [options]`: its options are its own (cli/backup.ts parses them). */
export { backupCommand as runArgv } from "./backup";
