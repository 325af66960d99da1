/**
 * The benchmark groups, and what each runs with: a full run's datasets and repetitions, and
 * --quick's smaller ones (bench/run.ts runs them; bench/args.ts names them on the command line).
 */
import { DEFAULT_CHECK_TIMEOUT_MS } from "../cli/core/defaults";
import { type AdoptSettings, adoptResultNames } from "./adopt";
import type { SizeOptions } from "./backup";
import { checkResultNames } from "./check";
import { PROTOCOL_NAMES } from "./fleet";
import type { BenchResult } from "./results";
import type { RotateSettings } from "./rotate";

export const GROUPS = [
    "fleet-up",
    "check",
    "partial-resync",
    "recovery",
    "synth",
    "adopt",
    "backup",
    "restore",
    "rotate",
    "swarm",
] as const;
export type Group = (typeof GROUPS)[number];
/** The groups that run on the benchmark fleet (the program's plan, created by the harness). */
export const FLEET_GROUPS: readonly Group[] = ["fleet-up", "check", "partial-resync", "backup", "restore", "rotate", "recovery"];

/** Everything that differs between a full run and --quick. */
export interface Settings {
    /** Environments of the benchmark fleet. */
    fleetEnvironments: string[];
    fleetUpRepetitions: number;
    checkTimeoutMs: number;
    checkHealthyRepetitions: number;
    /** Operationals replaced by hung hosts: the last one alone, then all of them. */
    checkHung: string[];
    checkHungRepetitions: number;
    checkNpxRepetitions: number;
    partialResyncKeys: number;
    partialResyncCutSeconds: number;
    recovery: { name: string; keys: number; repetitions: number }[];
    synth: { size: number; repetitions: number }[];
    /** backup-N and restore-N: keys in the vault, repetitions. */
    backup: SizeOptions;
    restore: SizeOptions;
    /** rotate-vault: keys in the vault, repetitions. */
    rotate: RotateSettings;
    /**
     * Plan (synth) while partial-resync's operational is cut off, instead of after the live
     * benchmarks: what keeps --quick short. partial-resync measures bytes and the
     * kind of resync, which a busy CPU does not change; the plans' times are smoke values then.
     */
    synthDuringPartialResync: boolean;
    /** adopt: the fleet built by hand that it takes over (in --quick only when named: it would not fit in the minute). */
    adopt: AdoptSettings;
    /** Repetitions of swarm-fleet-up (the failover runs once). */
    swarmRepetitions: number;
}

export function settingsFor(quick: boolean): Settings {
    return quick
        ? {
              // Starting a container takes the engine most of a second here: four environments
              // (7 containers) cover every benchmark; the whole fleet would take a minute alone.
              fleetEnvironments: ["contact", "links", "track", "user"],
              fleetUpRepetitions: 1,
              checkTimeoutMs: 1_000,
              checkHealthyRepetitions: 5,
              checkHung: ["links", "track"],
              checkHungRepetitions: 1,
              checkNpxRepetitions: 0,
              partialResyncKeys: 10_000,
              partialResyncCutSeconds: 10,
              recovery: [{ name: "recovery-100k", keys: 100_000, repetitions: 1 }],
              // 24 generated environments take the path of the larger tables at a fraction of
              // 120's cost (half a minute on a loaded machine).
              synth: [
                  { size: 12, repetitions: 1 },
                  { size: 24, repetitions: 1 },
              ],
              synthDuringPartialResync: true,
              adopt: { environments: ["contact"], keys: 10_000 },
              backup: { name: "backup-20k", keys: 20_000, repetitions: 1 },
              restore: { name: "restore-20k", keys: 20_000, repetitions: 1 },
              rotate: { keys: 10_000, repetitions: 1 },
              // Run only when named (--only swarm): building a Swarm and losing a node take minutes.
              swarmRepetitions: 1,
          }
        : {
              fleetEnvironments: PROTOCOL_NAMES,
              fleetUpRepetitions: 3,
              checkTimeoutMs: DEFAULT_CHECK_TIMEOUT_MS,
              checkHealthyRepetitions: 20,
              checkHung: ["kb", "web", "chrono"],
              checkHungRepetitions: 5,
              checkNpxRepetitions: 5,
              partialResyncKeys: 100_000,
              partialResyncCutSeconds: 10,
              recovery: [
                  { name: "recovery-100k", keys: 100_000, repetitions: 5 },
                  { name: "recovery-1m", keys: 1_000_000, repetitions: 3 },
              ],
              synth: [
                  { size: 12, repetitions: 3 },
                  { size: 120, repetitions: 2 },
                  { size: 1200, repetitions: 1 },
              ],
              synthDuringPartialResync: false,
              adopt: { environments: PROTOCOL_NAMES, keys: 100_000 },
              backup: { name: "backup-1m", keys: 1_000_000, repetitions: 3 },
              restore: { name: "restore-1m", keys: 1_000_000, repetitions: 3 },
              rotate: { keys: 100_000, repetitions: 3 },
              swarmRepetitions: 2,
          };
}

/** Result names of a group, for reporting a group that could not run. */
export function resultNames(group: Group, settings: Settings): { name: string; unit: string }[] {
    switch (group) {
        case "fleet-up":
            return [{ name: "fleet-up", unit: "ms" }];
        case "check":
            return checkResultNames({ hung: settings.checkHung, npxRepetitions: settings.checkNpxRepetitions }).map((name) => ({
                name,
                unit: "ms",
            }));
        case "partial-resync":
            return [{ name: "partial-resync", unit: "bytes" }];
        case "recovery":
            return settings.recovery.flatMap((d) => [d.name, `${d.name}-vs-full-sync`]).map((name) => ({ name, unit: "ms" }));
        case "backup":
            return [
                { name: settings.backup.name, unit: "ms" },
                { name: `${settings.backup.name}-verified`, unit: "ms" },
                { name: `${settings.backup.name}-p99`, unit: "ms" },
            ];
        case "restore":
            return [{ name: settings.restore.name, unit: "ms" }];
        case "rotate":
            return [{ name: "rotate-vault", unit: "ms" }];
        case "swarm":
            return [
                { name: "swarm-fleet-up", unit: "ms" },
                { name: "swarm-operational-failover", unit: "ms" },
            ];
        case "synth":
            return [
                ...settings.synth.flatMap((s) => [
                    { name: `synth-${s.size}`, unit: "ms" },
                    { name: `synth-${s.size}-rss`, unit: "MiB" },
                ]),
                ...(settings.synth.length >= 3
                    ? [{ name: `synth-marginal-${settings.synth[settings.synth.length - 1].size}`, unit: "ms/env" }]
                    : []),
            ];
        case "adopt":
            return adoptResultNames(settings.adopt.environments).map((name) => ({ name, unit: "ms" }));
    }
}

/** Runs one group's benchmarks unless the group is left out; a group that fails is reported, and the run goes on. */
export type Attempt = (group: Group, body: () => Promise<BenchResult[]>) => Promise<void>;
