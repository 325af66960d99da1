/**
 * `nexus-redis adopt`: puts a fleet built by hand by the protocol's steps under the program's
 * management, keeping every key and every password.
 *
 * It reads the stack's configuration (`pulumi config get`) and what runs on this Docker host
 * (adopt/discover.ts), judges each environment (adopt/judge.ts, its settings in adopt/settings.ts),
 * prints what it found and will do, and with no refusal takes the environments over one at a
 * time (adopt/takeover.ts): each step checked before the next, the new vault gated, and
 * everything put back by adopt itself when a step fails.
 *
 * Loaded only on adopt's path (it brings dockerode), so `check` starts as fast as before.
 */
import { readFileSync } from "node:fs";
import { type Docker, connectDocker } from "../docker/client";
import type { ConfigKey } from "../../config";
import { type ConfigStep, configSteps, judgeFleet } from "./plan";
import { AdoptError, type StackView, stackView } from "./stack";
import { type Candidate, candidates } from "./candidates";
import type { Findings } from "./findings";
import { type EnvironmentPlan, judgeEnvironment } from "./judge";
import { type PasswordsFile, discoverEnvironment, imageRedisVersion, managedEnvironments } from "./discover";
import { type AdoptReport, renderJson, renderTable } from "./report";
import { newVaultSettings } from "./settings";
import { Takeover } from "./takeover";
import { unfinishedPlan } from "./unfinished";
import { PROBE_TIMEOUT_MS } from "./probes";
import type { CommandRunner, RunResult } from "../core/runner";
import {
    PULUMI_NOT_ON_PATH,
    configGetCommand,
    configSetCommand,
    isConfigNotFound,
    previewCommand,
    printable,
    runPulumi as runPulumiCli,
    upCommand,
} from "../core/pulumi";
import { projectDefaults } from "../core/pulumiProject";
import { containerName } from "../../components/redisServer";
import { LockRefusal, lockName, lockRefusalNow, takeVaultLock } from "../snapshot/vaultLock";
import { lockFor, lockHeldNote, lockedPlan } from "./lock";

/** Keys adopt reads: everything it judges or changes. */
export const READ_KEYS: readonly ConfigKey[] = [
    "platform",
    "image",
    "network",
    "createNetwork",
    "bindAddress",
    "containerPrefix",
    "portOffset",
    "memoryLimitMb",
    "environments",
    "passwords",
    "vaultData",
];

export interface AdoptOptions {
    /** --env: only these (default: every environment found). */
    environments: string[];
    dryRun: boolean;
    stack?: string;
    /** --passwords FILE: passwords of vaults started without --requirepass on their command line. */
    passwordsFile?: string;
    /** Bound of each wait: the AOF rewrite, the new vault answering, the environment healthy. */
    timeoutMs: number;
}

export interface AdoptIo {
    run: CommandRunner;
    projectDir: string;
    /** Progress, for people (stderr). */
    log(message: string): void;
    docker(): Promise<Docker>;
    now(): number;
    sleep(ms: number): Promise<void>;
}

export interface AdoptResult {
    exitCode: number;
    report: AdoptReport;
}

async function runPulumi(io: AdoptIo, command: string[], capture: boolean, input?: string): Promise<RunResult> {
    return runPulumiCli(
        io.run,
        io.projectDir,
        command,
        capture,
        input,
        () =>
            new AdoptError(
                `${PULUMI_NOT_ON_PATH}: adopt configures and applies the stack with it; install Pulumi where the stack is deployed`,
                2,
            ),
    );
}

/** The stack's configuration: `pulumi config get KEY` for each key, Pulumi.yaml's default where the stack sets none. */
export async function readStack(io: AdoptIo, stack: string | undefined): Promise<StackView> {
    const values: Partial<Record<ConfigKey, string>> = {};
    const results = await Promise.all(READ_KEYS.map((key) => runPulumi(io, configGetCommand(key, stack), true)));
    READ_KEYS.forEach((key, i) => {
        const r = results[i];
        if (r.exitCode === 0) values[key] = r.stdout.replace(/\r?\n$/, "");
        else if (!isConfigNotFound(r.stderr))
            throw new AdoptError(
                `\`${configGetCommand(key, stack).join(" ")}\` failed (exit ${r.exitCode}): ${r.stderr.trim() || "no message"}`,
                2,
            );
    });
    return stackView(values, projectDefaults(io.projectDir));
}

/** Reads --passwords FILE: `{"ENV": {"vault": "...", ...}}`, the passwords config key's shape. */
export function readPasswordsFile(file: string | undefined): PasswordsFile {
    if (file === undefined) return {};
    let text: string;
    try {
        text = readFileSync(file, "utf8");
    } catch (e) {
        throw new AdoptError(`cannot read --passwords ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
    }
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch {
        // Never echo it: it holds passwords.
        throw new AdoptError(`--passwords ${file} is not JSON; expected {"ENV": {"vault": "..."}}`, 2);
    }
    const roles = ["vault", "replication", "operationalAdmin", "backup"];
    const ok =
        typeof parsed === "object" &&
        parsed !== null &&
        !Array.isArray(parsed) &&
        Object.values(parsed).every(
            (r) =>
                typeof r === "object" &&
                r !== null &&
                !Array.isArray(r) &&
                Object.entries(r).every(([role, p]) => roles.includes(role) && typeof p === "string" && p !== ""),
        );
    if (!ok) throw new AdoptError(`--passwords ${file} must be {"ENV": {"vault": "...", ...}} with roles ${roles.join(", ")}`, 2);
    return parsed as PasswordsFile;
}

/** One environment's configuration steps, and the stack as it is just before them (what its failure is undone to). */
type StepsOf = Map<string, { steps: ConfigStep[]; before: StackView }>;

/**
 * Finds, judges and (unless --dry-run) takes over. Never prints; the caller renders the report.
 * The order is the order of what can go wrong: the stack and the names asked for (usage errors),
 * the engine, the plans; nothing is changed unless every plan goes ahead.
 */
export async function adopt(options: AdoptOptions, io: AdoptIo): Promise<AdoptResult> {
    const given = readPasswordsFile(options.passwordsFile);
    const view = await readStack(io, options.stack);
    if (view.platform !== "docker")
        throw new AdoptError(
            `the stack's platform is ${view.platform}: adopt takes over a fleet built by hand on one Docker engine, for platform docker only (its data is used in place there)`,
            2,
        );
    const selected = selectCandidates(view, options, given);
    // The vaults' locks this run holds, released however it ends (adopted, refused, put back, an error).
    const locks: Lock[] = [];
    try {
        const { docker, findings, managed, imageVersion, imageProblem } = await findFleet(view, selected, given, options.dryRun, io, locks);
        const { plans, stepsOf } = planFleet(view, options, findings, managed, imageVersion, imageProblem);
        const toAdopt = plans.filter((p) => p.status === "adopt");
        const commands = toAdopt.flatMap((p) => [
            ...stepsOf.get(p.name)!.steps.map((s) => printable(configSetCommand(s, options.stack))),
            printable(previewCommand(options.stack)),
            printable(upCommand(options.stack)),
        ]);
        const report: AdoptReport = { dryRun: options.dryRun, plans, commands, outcomes: {} };
        if (plans.some((p) => p.status === "refused")) return { exitCode: 1, report: { ...report, commands: [] } };
        if (options.dryRun || toAdopt.length === 0) return { exitCode: 0, report };

        report.commands = [];
        return { exitCode: await takeOverAll(toAdopt, stepsOf, options, io, docker, report), report };
    } finally {
        for (const lock of locks)
            await lock
                .release()
                .catch((e: Error) =>
                    io.log(`${lock.environment}: the vault's lock could not be removed (${e.message}): \`docker rm ${lock.name}\``),
                );
    }
}

/** A vault's lock this run holds. */
interface Lock {
    environment: string;
    name: string;
    release(): Promise<void>;
}

/** The environments --env asks for (every one when none), each name in --env and --passwords checked. */
function selectCandidates(view: StackView, options: AdoptOptions, given: PasswordsFile): Candidate[] {
    const all = candidates(view);
    const unknown = options.environments.filter((name) => !all.some((c) => c.name === name));
    if (unknown.length > 0)
        throw new AdoptError(
            `unknown environment${unknown.length === 1 ? "" : "s"} ${unknown.map((n) => `"${n}"`).join(", ")} in --env; the protocol's and the stack's are ${all.map((c) => c.name).join(", ")}`,
            2,
        );
    const unknownInFile = Object.keys(given).filter((name) => !all.some((c) => c.name === name));
    if (unknownInFile.length > 0)
        throw new AdoptError(
            `--passwords names unknown environment${unknownInFile.length === 1 ? "" : "s"} ${unknownInFile.join(", ")}`,
            2,
        );
    return options.environments.length === 0 ? all : all.filter((c) => options.environments.includes(c.name));
}

/** What the engine holds: each environment's findings, the environments nexus-redis already manages, the image's Redis version. */
async function findFleet(view: StackView, selected: Candidate[], given: PasswordsFile, dryRun: boolean, io: AdoptIo, locks: Lock[]) {
    let docker: Docker;
    try {
        docker = await io.docker();
    } catch (e) {
        throw new AdoptError(`no Docker engine answers (${(e as Error).message}): adopt finds the fleet through the Docker Engine API`, 2);
    }
    io.log(
        `adopt: looking for ${selected.length} environment${selected.length === 1 ? "" : "s"} (containerPrefix ${view.containerPrefix}) on this Docker host...`,
    );
    // Each environment's lock before anything of it is looked at: discovery removes what it takes
    // for a killed adopt's leftovers, and what it reads is what the takeover acts on. An
    // environment whose lock another run holds is refused, unread. A dry run changes nothing: no lock.
    const lockRefusals = new Map<string, string>();
    if (!dryRun)
        for (const c of selected) {
            const of = await lockFor(docker, view.containerPrefix, c.name, view.image);
            if (!of) continue;
            try {
                const release = await takeVaultLock(docker, of, "adopt", (text) => io.log(`${c.name}: ${text}`));
                locks.push({ environment: c.name, name: lockName(of.vaultName), release });
            } catch (e) {
                if (!(e instanceof LockRefusal)) throw e;
                lockRefusals.set(c.name, e.message);
            }
        }
    const [findings, managed] = await Promise.all([
        Promise.all(
            selected.map((c) =>
                lockRefusals.has(c.name)
                    ? { candidate: c, lockRefusal: lockRefusals.get(c.name)! }
                    : discoverEnvironment(docker, view, c, given, PROBE_TIMEOUT_MS, dryRun).then(async (f) => {
                          // A dry run only reads the lock, and tells; it never waits for it.
                          const held = dryRun
                              ? await lockRefusalNow(docker, containerName(view.containerPrefix, c.name, "vault"), c.name, "adopt")
                              : undefined;
                          return held === undefined ? f : { ...f, lockHeld: held };
                      }),
            ),
        ),
        managedEnvironments(docker, view.containerPrefix),
    ]);
    let imageVersion: string | undefined;
    let imageProblem: string | undefined;
    if (findings.some((f: Findings) => f.vault && !f.vault.managed)) {
        try {
            imageVersion = await imageRedisVersion(docker, view.image);
        } catch (e) {
            if (!(e instanceof AdoptError)) throw e;
            imageProblem = e.message;
        }
    }
    return { docker, findings, managed, imageVersion, imageProblem };
}

/** Each environment judged, then the fleet; a plan that goes ahead gets its configuration steps, chained from the one before. */
function planFleet(
    view: StackView,
    options: AdoptOptions,
    findings: Findings[],
    managed: string[],
    imageVersion: string | undefined,
    imageProblem: string | undefined,
): { plans: EnvironmentPlan[]; stepsOf: StepsOf } {
    const requested = new Set(options.environments);
    const declared = newVaultSettings(view.memoryLimitMb);
    const plans = judgeFleet(
        findings.map(
            (f) =>
                lockedPlan(f) ?? unfinishedPlan(f, view, options.stack) ?? judgeEnvironment(f, { view, imageVersion, requested, declared }),
        ),
        view,
        managed,
    );
    for (const f of findings) {
        const note = lockHeldNote(f);
        const plan = plans.find((p) => p.name === f.candidate.name);
        if (note && plan) plan.notes.push(note);
    }
    if (imageProblem)
        for (const p of plans.filter((p) => p.status === "adopt")) {
            p.status = "refused";
            p.reasons.push(imageProblem);
        }

    // The configuration of each environment in turn, each from the one before: its steps, and the
    // stack as it will be just before them (what a failure of that environment is undone to).
    const stepsOf: StepsOf = new Map();
    let next = view;
    for (const plan of plans.filter((p) => p.status === "adopt")) {
        try {
            const result = configSteps(next, plan);
            stepsOf.set(plan.name, { steps: result.steps, before: next });
            next = result.next;
        } catch (e) {
            if (!(e instanceof AdoptError)) throw e;
            plan.status = "refused";
            plan.reasons.push(e.message);
        }
    }
    return { plans, stepsOf };
}

/** One takeover after another; the first that does not adopt stops the rest, which are reported not reached. */
async function takeOverAll(
    toAdopt: EnvironmentPlan[],
    stepsOf: StepsOf,
    options: AdoptOptions,
    io: AdoptIo,
    docker: Docker,
    report: AdoptReport,
): Promise<number> {
    for (const [i, plan] of toAdopt.entries()) {
        const { steps, before } = stepsOf.get(plan.name)!;
        const outcome = await new Takeover(plan, steps, before, options, io, docker, report).run();
        report.outcomes[plan.name] = outcome;
        if (outcome.status !== "adopted") {
            for (const rest of toAdopt.slice(i + 1)) report.outcomes[rest.name] = { status: "not reached" };
            return 1;
        }
    }
    return 0;
}

/** The CLI's adopt: runs it and prints the report; returns the exit code. */
export async function runAdopt(
    options: AdoptOptions & { json: boolean },
    io: Omit<AdoptIo, "docker" | "now" | "sleep" | "log"> & {
        stdout: { write(text: string): unknown };
        stderr: { write(text: string): unknown };
    } & Partial<Pick<AdoptIo, "docker" | "now" | "sleep">>,
): Promise<number> {
    try {
        const result = await adopt(options, {
            run: io.run,
            projectDir: io.projectDir,
            log: (message) => io.stderr.write(`${message}\n`),
            docker: io.docker ?? (() => connectDocker()),
            now: io.now ?? (() => Date.now()),
            sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        });
        io.stdout.write(options.json ? renderJson(result.report) : renderTable(result.report));
        return result.exitCode;
    } catch (e) {
        if (e instanceof AdoptError) {
            io.stderr.write(`nexus-redis adopt: ${e.message}\n`);
            return e.exitCode;
        }
        throw e;
    }
}
