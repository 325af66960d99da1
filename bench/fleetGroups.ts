/**
 * The groups that run on the benchmark fleet (the program's plan, created by the harness):
 * fleet-up, check, partial-resync, backup, restore, rotate and recovery, in that order, each
 * starting from a fleet that check calls healthy. bench/run.ts runs the others around them.
 */
import type { PlannedRun } from "../harness/engineApply";
import type { LiveFleet } from "../harness/fleet";
import { info } from "../harness/resp";
import { benchBackup, benchRestore } from "./backup";
import { benchCheck } from "./check";
import { expectHealthy, fleetFor, planFleet, waitHealthy } from "./fleet";
import { benchFleetUp } from "./fleetUp";
import type { Attempt, Group, Settings } from "./groups";
import { benchPartialResync } from "./partialResync";
import { benchRecovery } from "./recovery";
import type { BenchResult } from "./results";
import type { BenchRun } from "./resources";
import { benchRotateVault } from "./rotate";

export interface FleetGroupsContext {
    run: BenchRun;
    groups: readonly Group[];
    settings: Settings;
    attempt: Attempt;
    /** The synth group, which --quick runs while partial-resync's operational is cut off. */
    synth: () => Promise<void>;
    /** Tells the caller which fleet to remove if the run is cut short. */
    setFleet: (f: LiveFleet | undefined) => void;
}

/** The benchmark fleet once prepared: the fleet, the settings its first up found, or why there is none. */
interface Prepared {
    fleet?: LiveFleet;
    defaults?: Record<string, string>;
    error?: unknown;
}

/** Runs the fleet's groups and removes the fleet; true when synth ran meanwhile. */
export async function runFleetGroups(context: FleetGroupsContext): Promise<boolean> {
    const { run, groups, settings, attempt } = context;
    const prepared = await prepareFleet(context);
    const { fleet, defaults } = prepared;
    const withFleet = (body: (f: LiveFleet) => Promise<BenchResult[]>) => async () => {
        if (!fleet) throw prepared.error ?? new Error("the benchmark fleet could not be created");
        if (prepared.error) throw prepared.error;
        return body(fleet);
    };
    await attempt(
        "check",
        withFleet((f) =>
            benchCheck(run, f, {
                timeoutMs: settings.checkTimeoutMs,
                healthyRepetitions: settings.checkHealthyRepetitions,
                hung: settings.checkHung,
                hungRepetitions: settings.checkHungRepetitions,
                npxRepetitions: settings.checkNpxRepetitions,
            }),
        ),
    );
    let synthDone: Promise<void> | undefined;
    if (settings.synthDuringPartialResync && groups.includes("partial-resync")) synthDone = context.synth();
    await attempt(
        "partial-resync",
        withFleet((f) => benchPartialResync(run, f, { keys: settings.partialResyncKeys, cutSeconds: settings.partialResyncCutSeconds })),
    );
    // Nothing timed runs beside a plan: the recovery drills wait for it.
    await synthDone;
    // On the secure vault `user`, which the benchmarks above leave alone.
    await attempt(
        "backup",
        withFleet((f) => benchBackup(run, f, settings.backup)),
    );
    await attempt(
        "restore",
        withFleet((f) => benchRestore(run, f, settings.restore)),
    );
    await attempt(
        "rotate",
        withFleet((f) => benchRotateVault(run, f, settings.rotate)),
    );
    // Last on the fleet: it changes one environment's replication settings.
    await attempt(
        "recovery",
        withFleet((f) => benchRecovery(run, f, { datasets: settings.recovery, defaults })),
    );
    if (fleet) {
        run.log("removing the benchmark fleet");
        await fleet.destroy();
        context.setFleet(undefined);
    }
    return synthDone !== undefined;
}

/** Plans the fleet, brings it up (timed as fleet-up when that group runs) and checks that it is healthy. */
async function prepareFleet({ run, groups, settings, attempt, setFleet }: FleetGroupsContext): Promise<Prepared> {
    const name = run.fleetName("fleet");
    const prepared: Prepared = {};
    let planned: PlannedRun | undefined;
    try {
        const environments = settings.fleetEnvironments;
        run.log(`planning the benchmark fleet's first up (${environments.length} environments)`);
        planned = await planFleet(name, environments);
    } catch (e) {
        prepared.error = e;
    }
    await attempt("fleet-up", async () => {
        if (!planned) throw prepared.error;
        // A failure here is also why the benchmarks that need the fleet cannot run.
        const up = await benchFleetUp(run, name, planned, settings.fleetUpRepetitions).catch((e) => {
            prepared.error = e;
            throw e;
        });
        prepared.fleet = up.fleet;
        prepared.defaults = up.defaults;
        setFleet(up.fleet);
        return up.results;
    });
    if (!prepared.fleet && planned && !groups.includes("fleet-up")) {
        try {
            prepared.fleet = fleetFor(run, name, planned);
            setFleet(prepared.fleet);
            run.log("creating the benchmark fleet (untimed: fleet-up was not selected)");
            await prepared.fleet.createAll();
            await waitHealthy(prepared.fleet);
        } catch (e) {
            prepared.error = e;
        }
    }
    if (prepared.fleet && !prepared.error) {
        try {
            // Every benchmark below starts from a fleet that check calls healthy.
            await expectHealthy(prepared.fleet.outputs as Record<string, unknown>, settings.checkTimeoutMs);
            const vault = Object.values(prepared.fleet.outputs)[0].vault;
            const server = await info(vault.port, "server", { password: vault.password });
            run.log(`fleet healthy; Redis ${server.redis_version}`);
        } catch (e) {
            prepared.error = e;
        }
    }
    return prepared;
}
