/** `nexus-redis check [--fix]`: its options, usage and examples, the one place they are described. */
import { DEFAULT_CHECK_TIMEOUT_MS, DEFAULT_SYNC_TIMEOUT_MS } from "../core/defaults";
import { ENV, FORCE, JSON_OUTPUT, OUTPUTS, STACK } from "../core/options";
import { type CommandSpec, HELP_OPTION } from "../core/spec";

export const CHECK = {
    name: "check",
    placement: "anywhere",
    usage: "[--fix [--force] [--sync-timeout MS]] [--json] [--prometheus FILE] [--env NAME]... [--outputs FILE|-] [--stack NAME] [--timeout MS] [--wait MS]",
    summary: [
        "Checks every environment of the stack at once: vault reachable, password",
        "accepted and persistence on; operational a replica of its vault's container on",
        "6379 (never localhost), link up, lag, replication user; no replica on a secure",
        "environment; and runtime drift (CONFIG SET or REPLICAOF by hand) from the",
        "settings the program declares. One row per environment.",
    ],
    arguments: [],
    options: {
        fix: {
            type: "boolean",
            help: [
                "check: repair the operational as its admin user (REPLICAOF the vault,",
                "restore masteruser/masterauth and drifted settings), wait for the link,",
                "report what changed. Never writes to a vault. Refuses a re-sync that",
                "could lose data (vault empty while the operational holds keys, or the",
                "vault's replication id is not one the operational followed).",
            ],
        },
        force: FORCE,
        json: JSON_OUTPUT,
        prometheus: {
            type: "string",
            value: "FILE",
            help: [
                "check: also write what it found as Prometheus metrics into FILE (*.prom,",
                "for node_exporter's textfile collector), replaced atomically; the table or",
                "JSON and the exit code as usual (2 when healthy but FILE cannot be written)",
            ],
        },
        env: ENV,
        outputs: OUTPUTS,
        stack: STACK,
        timeout: {
            type: "string",
            value: "MS",
            help: [`check: bound of each environment's check and repair (default ${DEFAULT_CHECK_TIMEOUT_MS});`],
        },
        "sync-timeout": {
            type: "string",
            value: "MS",
            help: [
                "check --fix: how long to wait for the link to come up after a repair",
                `that re-syncs (a full sync of a real dataset takes a while; default ${DEFAULT_SYNC_TIMEOUT_MS})`,
            ],
        },
        wait: {
            type: "string",
            value: "MS",
            help: [
                "check: until every environment is healthy, check again (every second)",
                "for up to MS, e.g. right after a deployment (default 0: check once)",
            ],
        },
        help: HELP_OPTION,
    },
    needs: { force: "fix", "sync-timeout": "fix" },
    examples: [
        "./bin/nexus-redis.js check",
        "./bin/nexus-redis.js check --env contact --env kb --json | jq '.environments[].status'",
        "pulumi stack output --json --show-secrets | ./bin/nexus-redis.js check --outputs - --wait 60000",
        "./bin/nexus-redis.js check --fix",
        "./bin/nexus-redis.js check --prometheus /var/lib/prometheus/node-exporter/nexus-redis-check.prom",
    ],
} as const satisfies CommandSpec;
