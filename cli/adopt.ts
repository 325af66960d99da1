/**
 * `nexus-redis adopt`: puts a fleet built by hand by the protocol's steps under the program's
 * management, keeping every key and every password.
 *
 * It reads the stack's configuration (`pulumi config get`) and what runs on this Docker host
 * (adoptDiscover.ts), judges each environment (adoptPlan.ts), prints what it found and will
 * do, and with no refusal takes the environments over one at a time, each step checked
 * before the next:
 *
 *   a. the stack's configuration for it (`pulumi config set`: its vault password as a
 *      secret, its data in place as `vaultData`, the network, one more `environments` item);
 *   b. its old vault's persistence made safe while it runs (AOF on, the rewrite finished);
 *   c. the old containers stopped (Redis fsyncs and saves) and renamed aside, never removed;
 *   d. the stack applied (`pulumi up`: only what is adopted is in `environments`);
 *   e. `check` healthy; then the old containers removed (never a volume).
 *
 * Loaded only on adopt's path (it brings dockerode), so `check` starts as fast as before.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parse } from "yaml";
import { type Docker, connectDocker, isNotFound } from "./docker";
import { containerName } from "../components/redisServer";
import type { ConfigKey } from "../config";
import {
    AdoptError,
    type ConfigStep,
    DEFAULT_SAVE_POINTS,
    type EnvironmentPlan,
    type Findings,
    type Journal,
    type StackView,
    asideName,
    candidates,
    configGetCommand,
    configSetCommand,
    configSteps,
    isConfigNotFound,
    previewCommand,
    judgeEnvironment,
    judgeFleet,
    printable,
    rollbackText,
    stackView,
    upCommand,
} from "./adoptPlan";
import { type PasswordsFile, discoverEnvironment, imageRedisVersion, managedEnvironments } from "./adoptDiscover";
import { type AdoptReport, renderJson, renderTable } from "./adoptReport";
import { diagnose, diagnosisContext } from "./diagnose";
import { observeEnvironment } from "./observe";
import { type EnvironmentsOutput, loadOutputs } from "./outputs";
import { aofSettled, parseInfo } from "./redisReplies";
import type { CommandRunner, RunResult } from "./runner";
import { Deadline, RedisSession } from "./session";

/** Keys adopt reads: everything it judges or changes. */
export const READ_KEYS: readonly ConfigKey[] = [
    "platform",
    "image",
    "network",
    "createNetwork",
    "bindAddress",
    "containerPrefix",
    "portOffset",
    "environments",
    "passwords",
    "vaultData",
];

/** `docker stop -t`: Redis fsyncs its AOF and saves its RDB before it exits; a big dataset takes a while. */
export const STOP_SECONDS = 300;
const PROBE_TIMEOUT_MS = 3_000;

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
    try {
        return await io.run(command, { cwd: io.projectDir, capture, ...(input === undefined ? {} : { input }) });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
            throw new AdoptError(
                "the Pulumi CLI (pulumi) is not on PATH: adopt configures and applies the stack with it; install Pulumi where the stack is deployed",
                2,
            );
        throw e;
    }
}

/** Pulumi.yaml's default of each key, as the program receives it (arrays and objects as JSON). */
export function projectDefaults(projectDir: string): Partial<Record<ConfigKey, string>> {
    const file = path.join(projectDir, "Pulumi.yaml");
    const doc = parse(readFileSync(file, "utf8")) as { config?: Record<string, { default?: unknown }> } | null;
    const defaults: Partial<Record<ConfigKey, string>> = {};
    for (const [key, decl] of Object.entries(doc?.config ?? {})) {
        if (decl && typeof decl === "object" && "default" in decl)
            defaults[key as ConfigKey] = typeof decl.default === "string" ? decl.default : JSON.stringify(decl.default);
    }
    return defaults;
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

/** Finds, judges and (unless --dry-run) takes over. Never prints; the caller renders the report. */
export async function adopt(options: AdoptOptions, io: AdoptIo): Promise<AdoptResult> {
    const given = readPasswordsFile(options.passwordsFile);
    const view = await readStack(io, options.stack);
    if (view.platform !== "docker")
        throw new AdoptError(
            `the stack's platform is ${view.platform}: adopt takes over a fleet built by hand on one Docker engine, for platform docker only (its data is used in place there)`,
            2,
        );
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
    const selected = options.environments.length === 0 ? all : all.filter((c) => options.environments.includes(c.name));

    let docker: Docker;
    try {
        docker = await io.docker();
    } catch (e) {
        throw new AdoptError(`no Docker engine answers (${(e as Error).message}): adopt finds the fleet through the Docker Engine API`, 2);
    }
    io.log(
        `adopt: looking for ${selected.length} environment${selected.length === 1 ? "" : "s"} (containerPrefix ${view.containerPrefix}) on this Docker host...`,
    );
    const [findings, managed] = await Promise.all([
        Promise.all(selected.map((c) => discoverEnvironment(docker, view, c, given, PROBE_TIMEOUT_MS))),
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
    const requested = new Set(options.environments);
    const plans = judgeFleet(
        findings.map((f) => judgeEnvironment(f, { view, imageVersion, requested })),
        view,
        managed,
    );
    if (imageProblem)
        for (const p of plans.filter((p) => p.status === "adopt")) {
            p.status = "refused";
            p.reasons.push(imageProblem);
        }

    // The configuration of each environment in turn, each from the one before.
    const stepsOf = new Map<string, ConfigStep[]>();
    let next = view;
    for (const plan of plans.filter((p) => p.status === "adopt")) {
        try {
            const result = configSteps(next, plan);
            stepsOf.set(plan.name, result.steps);
            next = result.next;
        } catch (e) {
            if (!(e instanceof AdoptError)) throw e;
            plan.status = "refused";
            plan.reasons.push(e.message);
        }
    }
    const toAdopt = plans.filter((p) => p.status === "adopt");
    const commands = toAdopt.flatMap((p) => [
        ...stepsOf.get(p.name)!.map((s) => printable(configSetCommand(s, options.stack))),
        printable(previewCommand(options.stack)),
        printable(upCommand(options.stack)),
    ]);
    const report: AdoptReport = { dryRun: options.dryRun, plans, commands, outcomes: {} };
    if (plans.some((p) => p.status === "refused")) return { exitCode: 1, report: { ...report, commands: [] } };
    if (options.dryRun || toAdopt.length === 0) return { exitCode: 0, report };

    report.commands = [];
    for (const [i, plan] of toAdopt.entries()) {
        const steps = stepsOf.get(plan.name)!;
        try {
            const done = await takeOver(plan, steps, view, options, io, docker, report);
            report.outcomes[plan.name] = { status: "adopted", writesRefusedMs: done.writesRefusedMs, kept: done.kept };
        } catch (e) {
            if (!(e instanceof TakeoverError)) throw e;
            report.outcomes[plan.name] = {
                status: "failed",
                message: `${e.message}\n${rollbackText(e.journal, options.stack)}`,
                ...(e.writesRefusedMs === undefined ? {} : { writesRefusedMs: e.writesRefusedMs }),
            };
            for (const rest of toAdopt.slice(i + 1)) report.outcomes[rest.name] = { status: "not reached" };
            return { exitCode: 1, report };
        }
    }
    return { exitCode: 0, report };
}

class TakeoverError extends Error {
    constructor(
        message: string,
        readonly journal: Journal,
        readonly writesRefusedMs?: number,
    ) {
        super(message);
        this.name = "TakeoverError";
    }
}

/** INFO persistence of a vault, asked with its password on a fresh connection; undefined when it does not answer. */
async function persistence(target: { host: string; port: number }, password: string, extra: (string | number)[][] = []) {
    const deadline = new Deadline(PROBE_TIMEOUT_MS);
    try {
        const [auth, info, ...rest] = await new RedisSession(target, deadline).callAll([
            ["AUTH", password],
            ["INFO", "persistence"],
            ...extra,
        ]);
        if (auth.failure || info.failure) return undefined;
        return { info: parseInfo(String(info.value)), rest };
    } finally {
        deadline.finish();
    }
}

async function takeOver(
    plan: EnvironmentPlan,
    steps: ConfigStep[],
    view: StackView,
    options: AdoptOptions,
    io: AdoptIo,
    docker: Docker,
    report: AdoptReport,
): Promise<{ writesRefusedMs: number; kept: string[] }> {
    const name = plan.name;
    const vault = plan.vault!;
    const password = plan.password!;
    const journal: Journal = {
        environment: name,
        steps,
        stepsDone: 0,
        aofEnabled: false,
        savePointsSet: false,
        stopped: [],
        renamed: [],
        applyStarted: false,
        newVaultAnswered: false,
    };
    const fail = (message: string, writesRefusedMs?: number): never => {
        throw new TakeoverError(`${name}: ${message}`, journal, writesRefusedMs);
    };
    const oldVault = vault.container;
    const old = endpointOf(vault.endpoint);

    // a. The stack's configuration.
    io.log(`${name}: configuring the stack (${steps.length} value${steps.length === 1 ? "" : "s"})`);
    for (const step of steps) {
        const invocation = configSetCommand(step, options.stack);
        report.commands.push(printable(invocation));
        const r = await runPulumi(io, invocation.command, true, invocation.input);
        if (r.exitCode !== 0) fail(`\`${printable(invocation.command)}\` failed (exit ${r.exitCode}): ${r.stderr.trim() || "no message"}`);
        journal.stepsDone++;
    }
    io.log(`${name}: previewing (${previewCommand(options.stack).join(" ")}) before anything is stopped`);
    report.commands.push(printable(previewCommand(options.stack)));
    const preview = await runPulumi(io, previewCommand(options.stack), false);
    if (preview.exitCode !== 0)
        fail(`\`${previewCommand(options.stack).join(" ")}\` failed (exit ${preview.exitCode})${said(preview)}; nothing was stopped`);

    // b. Persistence made safe while the old vault runs.
    const before = await persistence(old, password, [["CONFIG", "GET", "save"]]);
    if (!before) fail(`${oldVault} stopped answering before its persistence was made safe; nothing was stopped`);
    if (vault.setSavePoints) {
        const r = await persistence(old, password, [["CONFIG", "SET", "save", DEFAULT_SAVE_POINTS]]);
        if (!r || r.rest[0].failure) fail(`CONFIG SET save on ${oldVault} failed: ${r?.rest[0].failure?.message ?? "no answer"}`);
        journal.savePointsSet = true;
    }
    const rewritesBefore = before!.info.aof_rewrites === undefined ? undefined : Number(before!.info.aof_rewrites);
    if (before!.info.aof_enabled !== "1") {
        io.log(`${name}: turning AOF on in ${oldVault} (CONFIG SET appendonly yes) and waiting for the rewrite`);
        const r = await persistence(old, password, [["CONFIG", "SET", "appendonly", "yes"]]);
        if (!r || r.rest[0].failure) fail(`CONFIG SET appendonly yes on ${oldVault} failed: ${r?.rest[0].failure?.message ?? "no answer"}`);
        journal.aofEnabled = true;
    }
    const aofStarted = io.now();
    for (;;) {
        const r = await persistence(old, password);
        if (r?.info.aof_last_bgrewrite_status === "err")
            fail(`${oldVault} could not write its AOF (aof_last_bgrewrite_status:err; disk full?)`);
        if (r && aofSettled(r.info, journal.aofEnabled ? rewritesBefore : undefined)) break;
        if (io.now() - aofStarted > options.timeoutMs)
            fail(`${oldVault}'s AOF rewrite did not finish within ${Math.round(options.timeoutMs / 1000)} s`);
        await io.sleep(100);
    }
    io.log(`${name}: ${oldVault}'s AOF holds its data (${((io.now() - aofStarted) / 1000).toFixed(1)} s)`);

    // c. The old containers stopped (Redis fsyncs the AOF and saves dump.rdb), then renamed aside.
    const olds = [oldVault, ...(plan.operational ? [plan.operational.container] : [])];
    const stopStarted = performance.now();
    for (const container of olds) {
        io.log(`${name}: docker stop -t ${STOP_SECONDS} ${container}`);
        try {
            await docker.getContainer(container).stop({ t: STOP_SECONDS });
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode !== 304) fail(`docker stop ${container} failed: ${(e as Error).message}`);
        }
        journal.stopped.push(container);
    }
    const exit = (await docker.getContainer(oldVault).inspect()).State;
    if (exit.ExitCode !== 0)
        fail(
            `${oldVault} did not shut down cleanly (exit code ${exit.ExitCode}${exit.OOMKilled ? ", killed for memory" : ""}): its last writes may not be on disk`,
        );
    const at = new Date(io.now());
    for (const container of olds) {
        const aside = asideName(container, at);
        try {
            await docker.getContainer(container).rename({ name: aside });
        } catch (e) {
            fail(`docker rename ${container} ${aside} failed: ${(e as Error).message}`);
        }
        journal.renamed.push([container, aside]);
    }

    // d. The stack applied; meanwhile, the new vault is waited for: writes work again once it
    // accepts an authenticated command with its data loaded.
    const target = endpointOf(vault.newEndpoint);
    let answered: number | undefined;
    let stopWaiting = false;
    const waiting = (async () => {
        while (!stopWaiting) {
            const r = await persistence(target, password);
            if (r?.info.loading === "0") {
                answered = performance.now();
                journal.newVaultAnswered = true;
                return;
            }
            await io.sleep(50);
        }
    })();
    journal.applyStarted = true;
    io.log(`${name}: applying the stack (${upCommand(options.stack).join(" ")})`);
    report.commands.push(printable(upCommand(options.stack)));
    try {
        // Applied through `run` like every Pulumi command: the live tests and the benchmark give
        // adopt a stand-in Pulumi CLI whose `pulumi up` applies exactly this configuration with
        // the Docker harness (harness/pulumiStack.ts, harness/adoption.ts).
        const r = await runPulumi(io, upCommand(options.stack), false);
        if (r.exitCode !== 0) fail(`\`${upCommand(options.stack).join(" ")}\` failed (exit ${r.exitCode})${said(r)}`);
        const applied = io.now();
        while (answered === undefined && io.now() - applied < options.timeoutMs) await io.sleep(50);
    } catch (e) {
        stopWaiting = true;
        await waiting;
        if (e instanceof TakeoverError) throw e;
        fail(`applying the stack failed: ${(e as Error).message}`);
    }
    stopWaiting = true;
    await waiting;
    if (answered === undefined)
        fail(
            `the new ${containerName(view.containerPrefix, name, "vault")} did not accept its password with its data loaded within ${Math.round(options.timeoutMs / 1000)} s`,
        );
    const writesRefusedMs = Math.round(answered! - stopStarted);
    io.log(`${name}: the new vault takes writes again: writes were refused for ${(writesRefusedMs / 1000).toFixed(1)} s`);

    // e. Healthy by check's own judgement, then the old containers go (never a volume).
    const environments: EnvironmentsOutput = await loadOutputs(
        { stack: options.stack },
        { readStdin: async () => "", run: io.run, projectDir: io.projectDir },
    );
    const env = environments[name];
    if (!env) fail(`the stack's outputs have no environment ${name} after pulumi up`, writesRefusedMs);
    const context = diagnosisContext(environments);
    const healthStarted = io.now();
    for (;;) {
        const diagnosis = diagnose(env, await observeEnvironment(env, PROBE_TIMEOUT_MS), context);
        if (diagnosis.problems.length === 0) break;
        if (io.now() - healthStarted > options.timeoutMs)
            fail(
                `check does not report ${name} healthy after ${Math.round(options.timeoutMs / 1000)} s: ${diagnosis.problems.map((p) => p.message).join("; ")}`,
                writesRefusedMs,
            );
        await io.sleep(500);
    }
    io.log(`${name}: check reports it healthy; removing the old containers (their volumes stay)`);
    const kept: string[] = [];
    const inUse = vault.data.kind === "volume" ? vault.data.name : undefined;
    for (const [, aside] of journal.renamed) {
        const info = await docker.getContainer(aside).inspect();
        for (const m of info.Mounts ?? [])
            if (m.Type === "volume" && m.Name && m.Name !== inUse)
                kept.push(
                    `kept volume ${m.Name} of ${aside}: the stack does not use it (docker volume rm ${m.Name} once you no longer need it)`,
                );
        try {
            await docker.getContainer(aside).remove({ v: false });
        } catch (e) {
            if (!isNotFound(e)) throw e;
        }
    }
    return { writesRefusedMs, kept };
}

/** What a command said on stderr, when it was captured (a stand-in runner's); Pulumi's own goes straight to ours. */
function said(r: RunResult): string {
    return r.stderr.trim() ? `: ${r.stderr.trim()}` : "";
}

function endpointOf(endpoint: string): { host: string; port: number } {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
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
