/**
 * `nexus-redis recover ENV`: the protocol's disaster recovery ("stop the operational, delete
 * its volume, restart it, fix replication, data restores from the vault") as one Pulumi
 * update, so the stack's state stays true: the operational's container and volume are
 * replaced (`pulumi up --target ... --replace ...`; on Swarm its service), the new one
 * starts as a replica of its vault by name (its config says so), and the command waits
 * until `check` reports the environment synced.
 */
import { diagnose, diagnosisContext } from "../health/diagnose";
import { type Diagnosis, VAULT_PROBLEMS } from "../health/problems";
import { resyncRisk } from "../health/resync";
import { type OperationalObservation, type VaultObservation, observeEnvironment } from "../health/observe";
import { CliError, OutputsError } from "../core/errors";
import { PULUMI_NOT_ON_PATH, recoverCommand, resolveStack, runPulumi } from "../core/pulumi";
import { projectName } from "../core/pulumiProject";
import type { EnvironmentsOutput } from "../fleet/environment";
import type { CommandRunner } from "../core/runner";

/** Type token of the component that parents an environment's operational (components/standardEnvironment.ts). */
export const STANDARD_ENVIRONMENT_TYPE = "nexus-redis:redis:StandardEnvironment";
export const CONTAINER_TYPE = "docker:index/container:Container";
export const VOLUME_TYPE = "docker:index/volume:Volume";
export const SERVICE_TYPE = "docker:index/service:Service";

export interface OperationalUrns {
    container: string;
    volume: string;
}

/**
 * URNs of an environment's operational container and volume, the two resources a recovery
 * replaces. A child's URN carries its parents' types (the stack's excepted) and its own
 * name, which the component derives from the environment's: `contact-operational`,
 * `contact-operational-data`.
 */
export function operationalUrns(project: string, stack: string, environment: string): OperationalUrns {
    for (const [what, value] of [
        ["project", project],
        ["stack", stack],
        ["environment", environment],
    ] as const) {
        if (value === "" || value.includes("::") || value.includes("$"))
            throw new OutputsError(`cannot build a URN from ${what} ${JSON.stringify(value)}`);
    }
    const prefix = `urn:pulumi:${stackShortName(stack)}::${project}::${STANDARD_ENVIRONMENT_TYPE}$`;
    return {
        container: `${prefix}${CONTAINER_TYPE}::${environment}-operational`,
        volume: `${prefix}${VOLUME_TYPE}::${environment}-operational-data`,
    };
}

/**
 * On Swarm, the URN of an environment's operational service: the one resource a recovery
 * replaces there. Its data is a tmpfs of its task, so the new task starts empty and copies
 * its vault, on whichever node the scheduler picks (never the vault's).
 */
export function swarmOperationalUrn(project: string, stack: string, environment: string): string {
    const { container } = operationalUrns(project, stack, environment);
    return container.replace(`$${CONTAINER_TYPE}::`, `$${SERVICE_TYPE}::`);
}

/** `org/project/dev` and `org/dev` are stack references; the URN holds only `dev`. */
export function stackShortName(stack: string): string {
    return stack.split("/").pop() ?? stack;
}

/** An error that ends `recover` with exit code 2 (usage or configuration) or 1 (the fleet). */
export class RecoverError extends CliError {
    constructor(message: string, exitCode: 1 | 2) {
        super(message, exitCode, "nexus-redis recover");
        this.name = "RecoverError";
    }
}

export interface RecoverOptions {
    environment: string;
    /** `--stack`: passed to Pulumi; also the stack the URNs are built for. */
    stack?: string;
    dryRun: boolean;
    force: boolean;
    /** How long to wait for the new operational to sync. */
    waitMs: number;
    /** Timeout of each check while waiting. */
    checkTimeoutMs: number;
}

export interface RecoverIo {
    run: CommandRunner;
    projectDir: string;
    env: Readonly<Record<string, string | undefined>>;
    /** Progress, for people. */
    log(message: string): void;
    sleep(ms: number): Promise<void>;
    now(): number;
}

/** Refuses what recover must not touch; returns the URNs and the command. */
export async function planRecovery(
    options: RecoverOptions,
    environments: EnvironmentsOutput,
    io: RecoverIo,
): Promise<{ command: string[]; targets: string[] }> {
    const env = environments[options.environment];
    if (!env) {
        throw new RecoverError(`unknown environment "${options.environment}"; the stack's are ${Object.keys(environments).join(", ")}`, 2);
    }
    if (env.kind !== "standard") {
        throw new RecoverError(
            `"${options.environment}" is a secure environment: it has no operational to recover, and recover never replaces a vault (the only copy of its data)`,
            2,
        );
    }
    const stack = await resolveStack(
        options.stack,
        io,
        (message) => new RecoverError(message, 2),
        "recover runs `pulumi up`; install Pulumi where the stack is deployed",
    );
    const project = projectName(io.projectDir);
    // Docker: the container and its volume; Swarm: the service (its data is its task's tmpfs).
    const targets =
        env.platform === "swarm"
            ? [swarmOperationalUrn(project, stack, options.environment)]
            : Object.values(operationalUrns(project, stack, options.environment));
    return { targets, command: recoverCommand(targets, options.stack) };
}

export interface RecoverResult {
    exitCode: number;
    /** The Pulumi command, run or (with --dry-run) only printed. */
    command: string[];
}

export async function recover(options: RecoverOptions, environments: EnvironmentsOutput, io: RecoverIo): Promise<RecoverResult> {
    const { command } = await planRecovery(options, environments, io);
    if (options.dryRun) return { exitCode: 0, command };
    const name = options.environment;
    const env = environments[name];
    if (env.kind !== "standard") throw new Error("unreachable: planRecovery refuses secure environments");

    // The new operational restores from the vault: it must answer, and must not be an empty
    // vault standing in for a lost one while the old operational still holds the data.
    const before = await observeEnvironment(env, options.checkTimeoutMs);
    if (before.vault.failure) {
        throw new RecoverError(
            `${name}'s vault ${env.vault.host}:${env.vault.port} ${before.vault.failure.message}: the new operational would restore from it; repair the vault first`,
            1,
        );
    }
    const risk = recoveryRisk(before.vault, before.operational ?? {});
    if (risk && !options.force) throw new RecoverError(`refused: ${risk} (--force overrides)`, 1);
    if (risk) io.log(`recover: --force: proceeding although ${risk}`);

    io.log(`recover: replacing ${name}'s operational ${env.platform === "swarm" ? "service" : "container and volume"} through Pulumi`);
    const result = await runPulumi(io.run, io.projectDir, command, false, undefined, () => new RecoverError(PULUMI_NOT_ON_PATH, 2));
    if (result.exitCode !== 0)
        throw new RecoverError(
            `\`pulumi up\` failed (exit ${result.exitCode}); the operational may be half replaced: run \`nexus-redis check --env ${name}\``,
            1,
        );

    io.log(`recover: waiting up to ${Math.round(options.waitMs / 1000)} s for ${name}'s new operational to sync from its vault`);
    const context = diagnosisContext(environments);
    const started = io.now();
    let diagnosis: Diagnosis;
    for (;;) {
        diagnosis = diagnose(env, await observeEnvironment(env, options.checkTimeoutMs), context);
        if (isSynced(diagnosis)) return { exitCode: 0, command };
        if (io.now() - started >= options.waitMs) break;
        await io.sleep(500);
    }
    const problems = diagnosis.problems.filter((p) => !VAULT_PROBLEMS.has(p.code));
    throw new RecoverError(
        `${name} is not synced after ${Math.round(options.waitMs / 1000)} s: ${problems.map((p) => p.message).join("; ") || "the link is not up"}`,
        1,
    );
}

/**
 * Why replacing the operational (its container and its volume) could lose data, or undefined.
 * Pure. An operational that answers is judged as `check --fix` judges a re-sync (resyncRisk).
 * One that does not answer cannot be examined, which is usually why it is recovered: its data
 * is an earlier state of the vault's and the new one copies the vault. But when the vault is
 * empty, the old operational's volume (a stopped container, a cut network) may hold the only
 * copy of the data, and the replacement deletes that volume: refused, as --fix refuses to
 * re-sync an operational with keys from an empty vault.
 */
export function recoveryRisk(vault: VaultObservation, operational: OperationalObservation): string | undefined {
    if (!operational.failure) return resyncRisk(vault, operational);
    if (vault.keys === 0)
        return `the vault is empty and the operational ${operational.failure.message}, so its keys cannot be counted: its volume, which recover deletes, may hold the only copy of the data`;
    return undefined;
}

/**
 * The new operational is synced: it replicates from its vault with the link up, and nothing
 * about it or its replication is wrong. Problems of the vault alone (a drifted vault setting)
 * stay in the final report, but they are no reason to keep waiting.
 */
export function isSynced(diagnosis: Diagnosis): boolean {
    return diagnosis.replication?.link === "up" && diagnosis.problems.every((p) => VAULT_PROBLEMS.has(p.code));
}
