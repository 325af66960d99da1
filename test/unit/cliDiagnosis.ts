/**
 * The CLI's pure diagnosis run on the sample stack (cli-samples.ts), as the diagnosis tests call
 * it: a healthy observation bent into one failure, and the problems' codes and words it yields.
 * Not a test file itself.
 */
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import type { ProblemCode } from "../../cli/health/problems";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { contact, fleetOutputs, healthyStandard } from "./cli-samples";

export const context = diagnosisContext(fleetOutputs);

export function codes(observation: EnvironmentObservation, env = contact): ProblemCode[] {
    return diagnose(env, observation, context).problems.map((p) => p.code);
}

export function messages(observation: EnvironmentObservation, env = contact): string {
    return diagnose(env, observation, context)
        .problems.map((p) => p.message)
        .join("\n");
}

/** A healthy observation bent by `change`. */
export function broken(change: (o: EnvironmentObservation) => void): EnvironmentObservation {
    const o = healthyStandard();
    change(o);
    return o;
}
