/** The bench command line: its help text and its parser (`npm run bench -- [--quick] [--json] [--only GROUP]...`). */
import { parseArgs } from "node:util";
import { GROUPS, type Group } from "./groups";

export const BENCH_HELP = `Usage: npm run bench -- [--quick] [--json] [--only GROUP]...

Measures what users of nexus-redis wait for, each against a baseline measured in the
same run on the same Docker engine, and reports value, baseline and their ratio:
  fleet-up          the protocol's 12 environments from nothing to every link up,
                    vs. the engine starting 22 bare Redis containers
  check             nexus-redis check as a whole process over the fleet, healthy and
                    with hung hosts, vs. the protocol's sequential redis-cli script; and
                    check-floor, a bare Node process holding the check's conversations
                    (check-connections-floor: the same, one command per server)
  partial-resync    an operational's 10 s network cut under writes: partial resync?
                    bytes the vault sent vs. a full sync's
  recovery          wipe an operational and its volume, re-create it from the plan,
                    until its DEBUG DIGEST equals the vault's, vs. Redis's default
                    replication settings and vs. a plain full sync (100k, 1M keys)
  synth             the offline plan of 12, 120 and 1200 environments: time and memory,
                    each vs. the size before (12 vs. its start-up alone)
  adopt             nexus-redis adopt of a fleet built by the protocol's steps (the whole
                    table, 100k keys per vault): how long writes are refused per
                    environment and in total, vs. docker restart of the same vaults
  backup            nexus-redis backup of a 1M-key vault vs. a bare redis-cli --rdb of it,
                    and a steady writer's p99 latency during the backup vs. without
  restore           how long writes fail while nexus-redis restore brings a flushed 1M-key
                    vault back, vs. docker restart of the vault on the same data
  rotate            rotate-vault: how long writes are refused while a vault password is
                    rotated as docs/rotate.md says (nexus-redis rotate, clients switch, pulumi
                    up), under a writer, every acknowledged write checked, vs. docker restart
  swarm             on a three-node Docker Swarm built on this machine (not in --quick
                    unless named with --only): swarm-fleet-up, the table from nothing
                    to healthy vs. as many bare services; swarm-operational-failover,
                    the loss of the node that runs operationals until each is healthy
                    elsewhere vs. recover of the same environments on one host
Every container, volume and network it creates is labelled and removed at the end,
also on failure or Ctrl-C (a detached watchdog sweeps even after kill -9).

Options:
  --quick        smoke run for CI, one to two minutes: smaller datasets, fewer
                 repetitions, --timeout 1000 for check, no npx, no recovery-1m,
                 plans of 12 and 24 environments, backup and restore of 20k keys,
                 rotate-vault on 10k keys, no adopt (--quick --only adopt: one
                 environment with 10k keys)
  --json         print exactly one JSON document on stdout:
                 {"results": [{"name", "value", "unit", "baseline", "ratio", "note"}]}
                 (progress goes to stderr either way)
  --only GROUP   run only this group (repeatable): fleet-up, check, partial-resync,
                 recovery, synth, adopt, backup, restore, rotate, swarm
  -h, --help     this text

Prerequisites: a Docker engine and the test image (scripts/ensure-docker.sh,
scripts/build-test-image.sh), redis-cli, bash and coreutils' timeout on PATH. GNU time
(/usr/bin/time) is used for peak memory when installed.

Exit codes: 0 every benchmark ran (whether it met its target is in its note),
1 a benchmark could not run (its results say why), 2 usage error or no Docker.

Examples:
  npm run --silent bench -- --quick --json | jq '.results[] | {name, ratio}'
  npm run bench -- --only recovery
  npm run bench`;

export interface Parsed {
    quick: boolean;
    json: boolean;
    groups: Group[];
}

export class UsageError extends Error {}

export function parseBenchArgs(argv: string[]): Parsed | "help" {
    let parsed;
    try {
        parsed = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            options: {
                quick: { type: "boolean" },
                json: { type: "boolean" },
                only: { type: "string", multiple: true },
                help: { type: "boolean", short: "h" },
            },
        });
    } catch (e) {
        throw new UsageError((e as Error).message);
    }
    if (parsed.values.help) return "help";
    const only = parsed.values.only ?? [];
    const unknown = only.filter((g) => !(GROUPS as readonly string[]).includes(g));
    if (unknown.length > 0)
        throw new UsageError(`unknown group ${unknown.map((g) => `"${g}"`).join(", ")} in --only; the groups are ${GROUPS.join(", ")}`);
    const quick = parsed.values.quick ?? false;
    return {
        quick,
        json: parsed.values.json ?? false,
        // Swarm and adopt take minutes: a --quick run has them only when asked for by name.
        groups:
            only.length === 0 ? GROUPS.filter((g) => !(quick && (g === "swarm" || g === "adopt"))) : GROUPS.filter((g) => only.includes(g)),
    };
}
