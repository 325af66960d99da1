/** `nexus-redis backup [options]`: its options are its own (cli/backup/backup.ts parses them). */
export { backupCommand as runArgv } from "./backup";
