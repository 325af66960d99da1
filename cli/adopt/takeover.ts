/**
 * `nexus-redis adopt`, the takeover of one environment and, when it fails, the way back. The
 * I/O shell around adopt/plan.ts (the steps), adopt/gate.ts (is the new vault serving?) and
 * adopt/rollback.ts (what putting things back takes):
 *
 *   a. the stack's configuration, then `pulumi preview`;
 *   b. the old vault's persistence made safe while it runs; the old operational's runtime
 *      replication recorded (its REPLICAOF and masterauth die with its process);
 *   c. the old containers stopped and renamed aside, never removed; "writes refused" starts at
 *      the last write the old vault accepted (a probe writes until the stop refuses it);
 *   d. `pulumi up`, and the gate: the new vault must serve (loaded, a master, every database's
 *      keys there, a write accepted) within a bound, and not stop or restart afterwards;
 *   e. `check` healthy; then the old containers removed (never a volume).
 *
 * Any failure from (a) to (d), or a stop or restart of the new vault while (e) waits, puts
 * everything back by itself: the stack's configuration, its containers of that environment,
 * the data folder readied for the old vault (every write the new one took included), the old
 * containers under their names, started, and the old operational replicating again.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { LABEL_ENVIRONMENT } from "../../components/containerSpec";
import { containerName } from "../../components/redisServer";
import { type ContainerState, type GateObservation, STABLE_MS, START_BOUND_MS, containerFailure, gateVerdict } from "./gate";
import { type ConfigStep, DEFAULT_SAVE_POINTS, type EnvironmentPlan, type StackView, asideName, compareVersions } from "./plan";
import { type Invocation, configSetCommand, previewCommand, printable, upCommand } from "../core/pulumi";
import type { AdoptReport } from "./report";
import {
    type Journal,
    NO_PROGRESS,
    type RecordedReplication,
    type RollbackProgress,
    readyingArgs,
    replicationCommands,
    rollbackText,
    undoPlan,
} from "./rollback";
import { type Keyspace, describeKeyspace, keyspaceShortfall, parseKeyspace } from "./settings";
import { diagnose, diagnosisContext } from "../health/diagnose";
import { type Docker, containerLog, isNotFound } from "../docker/client";
import { observeEnvironment } from "../health/observe";
import { loadOutputs } from "../fleet/outputs";
import type { EnvironmentsOutput } from "../fleet/environment";
import { type Info, aofSettled, configPairs, parseInfo } from "../redis/replies";
import type { CommandRunner, RunResult } from "../core/runner";
import { Deadline, RedisSession, type Settled } from "../redis/session";

/** `docker stop -t`: Redis fsyncs its AOF and saves its RDB before it exits; a big dataset takes a while. */
export const STOP_SECONDS = 300;
export const PROBE_TIMEOUT_MS = 3_000;
/** Label of the short-lived server a rollback readies the data folder with; removed right after. */
export const READYING_LABEL = "nexus-redis.adopt-rollback";

export interface TakeoverIo {
    run: CommandRunner;
    projectDir: string;
    log(message: string): void;
    now(): number;
    sleep(ms: number): Promise<void>;
}

export interface TakeoverOptions {
    stack?: string;
    timeoutMs: number;
}

export type TakeoverOutcome =
    | { status: "adopted"; writesRefusedMs: number; kept: string[] }
    /** The new vault serves, but check does not report the environment healthy: the old containers are kept aside. */
    | { status: "failed"; message: string; writesRefusedMs?: number }
    /** Failed, and everything was put back by adopt itself. */
    | { status: "rolled back"; message: string; writesRefusedMs?: number };

/** A failure of the takeover: what was done is in the journal. */
class StepFailure extends Error {}

type Target = { host: string; port: number };

function endpointOf(endpoint: string): Target {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

/** One bounded batch on a server; the first command is usually AUTH. */
async function ask(target: Target, commands: (string | number)[][], timeoutMs = PROBE_TIMEOUT_MS): Promise<Settled[]> {
    const deadline = new Deadline(timeoutMs);
    try {
        return await new RedisSession(target, deadline).callAll(commands);
    } finally {
        deadline.finish();
    }
}

/** INFO sections of a vault, asked with its password; undefined when it does not answer or refuses. */
async function infoOf(target: Target, password: string, sections: string[], extra: (string | number)[][] = []) {
    const [auth, ...replies] = await ask(target, [["AUTH", password], ...sections.map((s) => ["INFO", s]), ...extra]);
    const infos = replies.slice(0, sections.length);
    if (auth.failure || infos.some((r) => r.failure)) return undefined;
    return { info: Object.assign({}, ...infos.map((r) => parseInfo(String(r.value)))) as Info, rest: replies.slice(sections.length) };
}

/**
 * Writes (a `DEL` of a key that does not exist: nothing changes, nothing is replicated) in a
 * loop until the server stops accepting them: the time of the last one accepted is when writes
 * stopped, which is when "writes refused" starts. Redis stops taking writes as its shutdown
 * begins, which is some time after `docker stop` is called.
 */
export class WriteProbe {
    lastAccepted: number | undefined;
    private stopped = false;
    private readonly done: Promise<void>;
    readonly first: Promise<void>;
    private firstDone!: () => void;

    constructor(
        target: Target,
        password: string,
        private readonly sleep: (ms: number) => Promise<void>,
    ) {
        this.first = new Promise((resolve) => {
            this.firstDone = resolve;
        });
        this.done = this.loop(target, password).finally(() => this.firstDone());
    }

    private async loop(target: Target, password: string): Promise<void> {
        const deadline = new Deadline((STOP_SECONDS + 60) * 1000);
        const key = `nexus-redis:adopt-probe:${randomBytes(8).toString("hex")}`;
        try {
            // A write paused by the shutdown gets no answer: 2 s ends the session.
            const session = new RedisSession(target, deadline, 2_000);
            const [auth] = await session.callAll([["AUTH", password]]);
            if (auth.failure) return;
            while (!this.stopped) {
                const [reply] = await session.callAll([["DEL", key]]);
                if (reply.failure) return;
                this.lastAccepted = performance.now();
                this.firstDone();
                await this.sleep(10);
            }
        } finally {
            deadline.finish();
        }
    }

    async stop(): Promise<void> {
        this.stopped = true;
        await this.done;
    }
}

function stateOf(c: Docker.ContainerInspectInfo): ContainerState {
    return {
        status: c.State?.Status ?? "unknown",
        restartCount: c.RestartCount ?? 0,
        exitCode: c.State?.ExitCode ?? 0,
        oomKilled: c.State?.OOMKilled ?? false,
        ...(c.State?.StartedAt ? { startedAt: c.State.StartedAt } : {}),
    };
}

async function inspectOrUndefined(docker: Docker, name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
        return await docker.getContainer(name).inspect();
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
}

/** The last lines a container logged (what a crash-looping Redis says), for a message. */
async function lastLog(docker: Docker, name: string, lines = 4): Promise<string> {
    try {
        const log = (await containerLog(docker.getContainer(name))).trim().split("\n").slice(-lines);
        return log.length > 0 && log[0] !== "" ? `; its log ends: ${log.map((l) => l.trim()).join(" | ")}` : "";
    } catch {
        return "";
    }
}

/** One observation of the new vault: Docker's state, and one authenticated batch ending in a write. */
async function observeNewVault(docker: Docker, name: string, target: Target, password: string, probeKey: string): Promise<GateObservation> {
    const inspected = await inspectOrUndefined(docker, name);
    if (!inspected) return { vault: { failure: { kind: "absent", message: "no container" } } };
    const [auth, persistence, replication, keyspace, write] = await ask(target, [
        ["AUTH", password],
        ["INFO", "persistence"],
        ["INFO", "replication"],
        ["INFO", "keyspace"],
        ["DEL", probeKey],
    ]);
    const container = stateOf(inspected);
    if (auth.failure) return { container, vault: { failure: { kind: auth.failure.kind, message: auth.failure.message } } };
    const failed = [persistence, replication, keyspace].find((r) => r.failure);
    if (failed?.failure) return { container, vault: { failure: { kind: failed.failure.kind, message: failed.failure.message } } };
    const info = { ...parseInfo(String(persistence.value)), ...parseInfo(String(replication.value)), ...parseInfo(String(keyspace.value)) };
    return { container, vault: { info, ...(write.failure ? { writeRefused: write.failure.message } : {}) } };
}

export class Takeover {
    readonly journal: Journal;
    /** When the old vault accepted its last write (performance.now()), once it is stopped. */
    private writesStopped: number | undefined;
    private readonly name: string;
    private readonly oldVault: string;
    private readonly password: string;

    constructor(
        private readonly plan: EnvironmentPlan,
        steps: ConfigStep[],
        /** The stack's configuration just before this environment's steps (earlier environments' included). */
        private readonly view: StackView,
        private readonly options: TakeoverOptions,
        private readonly io: TakeoverIo,
        private readonly docker: Docker,
        private readonly report: AdoptReport,
    ) {
        this.name = plan.name;
        this.oldVault = plan.vault!.container;
        this.password = plan.password!;
        this.journal = {
            environment: plan.name,
            steps,
            stepsDone: 0,
            environmentsBefore: view.environments,
            item: plan.item!,
            aofEnabled: false,
            savePointsSet: false,
            stopped: [],
            renamed: [],
            applyStarted: false,
            newVaultAnswered: false,
            ...(plan.vault!.files ? { files: plan.vault!.files } : {}),
        };
    }

    private fail(message: string): never {
        throw new StepFailure(`${this.name}: ${message}`);
    }

    private async pulumi(command: string[], capture: boolean, input?: string): Promise<RunResult> {
        const r = await this.io.run(command, { cwd: this.io.projectDir, capture, ...(input === undefined ? {} : { input }) });
        return r;
    }

    /** Takes the environment over; on a failure, puts everything back (or says what is left to do by hand). */
    async run(): Promise<TakeoverOutcome> {
        let answered: number;
        try {
            await this.configure();
            await this.makePersistenceSafe();
            await this.recordReplication();
            await this.stopOld();
            answered = await this.apply();
        } catch (e) {
            // Whatever went wrong (a step, or an error nobody foresaw), the old containers come back.
            return this.rollBack(e instanceof StepFailure ? e.message : `${this.name}: ${(e as Error).message}`);
        }
        const writesRefusedMs = Math.round(answered - this.writesStopped!);
        this.io.log(`${this.name}: the new vault takes writes again: writes were refused for ${(writesRefusedMs / 1000).toFixed(1)} s`);
        return this.finish(answered, writesRefusedMs);
    }

    // a. The stack's configuration, then a preview while the old vault still takes writes.
    private async configure(): Promise<void> {
        const steps = this.journal.steps;
        this.io.log(`${this.name}: configuring the stack (${steps.length} value${steps.length === 1 ? "" : "s"})`);
        for (const step of steps) {
            const invocation = configSetCommand(step, this.options.stack);
            this.report.commands.push(printable(invocation));
            const r = await this.pulumi(invocation.command, true, invocation.input);
            if (r.exitCode !== 0)
                this.fail(`\`${printable(invocation.command)}\` failed (exit ${r.exitCode}): ${r.stderr.trim() || "no message"}`);
            this.journal.stepsDone++;
        }
        const preview = previewCommand(this.options.stack);
        this.io.log(`${this.name}: previewing (${preview.join(" ")}) before anything is stopped`);
        this.report.commands.push(printable(preview));
        const r = await this.pulumi(preview, false);
        if (r.exitCode !== 0) this.fail(`\`${preview.join(" ")}\` failed (exit ${r.exitCode})${said(r)}; nothing was stopped`);
    }

    // b. AOF on and rewritten while the old vault runs; save points where it had none.
    private async makePersistenceSafe(): Promise<void> {
        const old = endpointOf(this.plan.vault!.endpoint);
        const before = await infoOf(old, this.password, ["persistence"]);
        if (!before) this.fail(`${this.oldVault} stopped answering before its persistence was made safe; nothing was stopped`);
        const set = async (name: string, value: string) => {
            const r = await infoOf(old, this.password, [], [["CONFIG", "SET", name, value]]);
            if (!r || r.rest[0].failure)
                this.fail(`CONFIG SET ${name} on ${this.oldVault} failed: ${r?.rest[0].failure?.message ?? "no answer"}`);
        };
        if (this.plan.vault!.setSavePoints) {
            await set("save", DEFAULT_SAVE_POINTS);
            this.journal.savePointsSet = true;
        }
        const rewritesBefore = before!.info.aof_rewrites === undefined ? undefined : Number(before!.info.aof_rewrites);
        if (before!.info.aof_enabled !== "1") {
            this.io.log(`${this.name}: turning AOF on in ${this.oldVault} (CONFIG SET appendonly yes) and waiting for the rewrite`);
            await set("appendonly", "yes");
            this.journal.aofEnabled = true;
        }
        const started = this.io.now();
        for (;;) {
            const r = await infoOf(old, this.password, ["persistence"]);
            if (r?.info.aof_last_bgrewrite_status === "err")
                this.fail(`${this.oldVault} could not write its AOF (aof_last_bgrewrite_status:err; disk full?)`);
            if (r && aofSettled(r.info, this.journal.aofEnabled ? rewritesBefore : undefined)) break;
            if (this.io.now() - started > this.options.timeoutMs)
                this.fail(`${this.oldVault}'s AOF rewrite did not finish within ${Math.round(this.options.timeoutMs / 1000)} s`);
            await this.io.sleep(100);
        }
        this.io.log(`${this.name}: ${this.oldVault}'s AOF holds its data (${((this.io.now() - started) / 1000).toFixed(1)} s)`);
    }

    /**
     * The old operational's replication, before it is stopped: the protocol set its REPLICAOF
     * and masterauth at runtime, so a restart forgets them. Read without a password (the
     * protocol's operational has none); masterauth is kept in memory only, never printed.
     */
    private async recordReplication(): Promise<void> {
        const op = this.plan.operational;
        if (!op || op.endpoint === "-") return;
        const [replication, auth, user] = await ask(endpointOf(op.endpoint), [
            ["INFO", "replication"],
            ["CONFIG", "GET", "masterauth"],
            ["CONFIG", "GET", "masteruser"],
        ]);
        if (replication.failure) return;
        const info = parseInfo(String(replication.value));
        if (info.role !== "slave" || !info.master_host) return;
        const value = (s: Settled, key: string) => (s.failure ? undefined : configPairs(s.value)[key]);
        const network = this.plan.vault!.network;
        const vaultIp = network
            ? (await this.docker.getContainer(this.oldVault).inspect()).NetworkSettings.Networks[network]?.IPAddress
            : undefined;
        const masterauth = value(auth, "masterauth");
        const masteruser = value(user, "masteruser");
        const recorded: RecordedReplication = {
            operational: op.container,
            masterHost: info.master_host,
            masterPort: Number(info.master_port ?? 6379),
            // Unreadable (CONFIG refused): the protocol's masterauth is the vault's password.
            masterauth: masterauth === undefined ? this.password : masterauth === "" ? undefined : masterauth,
            ...(masteruser ? { masteruser } : {}),
            ...(vaultIp ? { vaultIp } : {}),
            ...(network ? { network } : {}),
        };
        this.journal.replication = recorded;
    }

    // c. The old containers stopped (the vault first: Redis fsyncs the AOF and saves dump.rdb), then renamed aside.
    private async stopOld(): Promise<void> {
        const old = endpointOf(this.plan.vault!.endpoint);
        const before = await infoOf(old, this.password, ["keyspace"]);
        if (!before) this.fail(`${this.oldVault} stopped answering before its stop; nothing was stopped`);
        this.journal.keyspaceAtStop = parseKeyspace(before!.info);
        const probe = new WriteProbe(old, this.password, this.io.sleep);
        await probe.first;
        const stopCalled = performance.now();
        const olds = [this.oldVault, ...(this.plan.operational ? [this.plan.operational.container] : [])];
        try {
            for (const container of olds) {
                this.io.log(`${this.name}: docker stop -t ${STOP_SECONDS} ${container}`);
                try {
                    await this.docker.getContainer(container).stop({ t: STOP_SECONDS });
                } catch (e) {
                    if ((e as { statusCode?: number }).statusCode !== 304)
                        this.fail(`docker stop ${container} failed: ${(e as Error).message}`);
                }
                this.journal.stopped.push(container);
            }
        } finally {
            await probe.stop();
        }
        this.writesStopped = probe.lastAccepted ?? stopCalled;
        this.io.log(
            `${this.name}: ${this.oldVault} accepted its last write ${((this.writesStopped - stopCalled) / 1000).toFixed(2)} s after docker stop was called`,
        );
        const exit = (await this.docker.getContainer(this.oldVault).inspect()).State;
        if (exit.ExitCode !== 0)
            this.fail(
                `${this.oldVault} did not shut down cleanly (exit code ${exit.ExitCode}${exit.OOMKilled ? ", killed for memory" : ""}): its last writes may not be on disk`,
            );
        const at = new Date(this.io.now());
        for (const container of olds) {
            const aside = asideName(container, at);
            try {
                await this.docker.getContainer(container).rename({ name: aside });
            } catch (e) {
                this.fail(`docker rename ${container} ${aside} failed: ${(e as Error).message}`);
            }
            this.journal.renamed.push([container, aside]);
        }
    }

    // d. The stack applied; meanwhile and after, the gate.
    private async apply(): Promise<number> {
        const target = endpointOf(this.plan.vault!.newEndpoint);
        const newVault = containerName(this.view.containerPrefix, this.name, "vault");
        const probeKey = `nexus-redis:adopt-probe:${randomBytes(8).toString("hex")}`;
        this.journal.applyStarted = true;
        const up = upCommand(this.options.stack);
        this.io.log(`${this.name}: applying the stack (${up.join(" ")})`);
        this.report.commands.push(printable(up));
        // Applied through `run` like every Pulumi command: the live tests and the benchmark give
        // adopt a stand-in Pulumi CLI whose `pulumi up` applies exactly this configuration with
        // the Docker harness (harness/pulumiStack.ts, harness/adoption.ts).
        let upResult: RunResult | Error | undefined;
        const applying = this.pulumi(up, false).then(
            (r) => {
                upResult = r;
            },
            (e: Error) => {
                upResult = e;
            },
        );
        let appliedAt: number | undefined;
        let loadingSeen = false;
        let failure: string | undefined;
        for (;;) {
            if (upResult !== undefined && appliedAt === undefined) {
                appliedAt = this.io.now();
                if (upResult instanceof Error) failure = `applying the stack failed: ${upResult.message}`;
                else if (upResult.exitCode !== 0) failure = `\`${up.join(" ")}\` failed (exit ${upResult.exitCode})${said(upResult)}`;
                if (failure) break;
            }
            const observation = await observeNewVault(this.docker, newVault, target, this.password, probeKey);
            const verdict = gateVerdict(observation, {
                expected: this.journal.keyspaceAtStop ?? {},
                applied: appliedAt !== undefined,
                sinceAppliedMs: appliedAt === undefined ? 0 : this.io.now() - appliedAt,
                loadingSeen,
                startBoundMs: START_BOUND_MS,
                timeoutMs: this.options.timeoutMs,
                name: newVault,
            });
            if (verdict.verdict === "serving") {
                const answered = performance.now();
                const since = observation.container?.startedAt ? Date.parse(observation.container.startedAt) : Number.NaN;
                this.io.log(
                    `${this.name}: the new vault serves its data (${describeKeyspace(verdict.keyspace) || "no key"})${Number.isNaN(since) ? "" : `, ${((Date.now() - since) / 1000).toFixed(1)} s after its container started`}`,
                );
                this.journal.newVaultAnswered = true;
                this.journal.newVaultKeyspace = verdict.keyspace;
                await applying;
                if (upResult instanceof Error) this.fail(`applying the stack failed: ${upResult.message}`);
                if (upResult && upResult.exitCode !== 0)
                    this.fail(`\`${up.join(" ")}\` failed (exit ${upResult.exitCode})${said(upResult)}`);
                return answered;
            }
            if (verdict.verdict === "failed") {
                failure = `${verdict.reason}${await lastLog(this.docker, newVault)}`;
                break;
            }
            if (verdict.loading) loadingSeen = true;
            await this.io.sleep(100);
        }
        await applying;
        return this.fail(failure);
    }

    // e. Healthy by check's own judgement, and the new vault stable; then the old containers go (never a volume).
    private async finish(answered: number, writesRefusedMs: number): Promise<TakeoverOutcome> {
        const newVault = containerName(this.view.containerPrefix, this.name, "vault");
        const kept = `The old containers are kept, stopped, as ${this.journal.renamed.map(([, aside]) => aside).join(" and ")}: remove them once it is fixed`;
        let environments: EnvironmentsOutput;
        try {
            environments = await loadOutputs(
                { stack: this.options.stack },
                { readStdin: async () => "", run: this.io.run, projectDir: this.io.projectDir },
            );
        } catch (e) {
            // The new vault serves and takes writes: it stays; a person looks at the stack.
            return {
                status: "failed",
                message: `${this.name}: the new vault serves, but the stack's outputs cannot be read (${(e as Error).message}), so check cannot judge it. ${kept}`,
                writesRefusedMs,
            };
        }
        const env = environments[this.name];
        if (!env) return this.rollBack(`${this.name}: the stack's outputs have no environment ${this.name} after pulumi up`);
        const context = diagnosisContext(environments);
        const started = this.io.now();
        for (;;) {
            const inspected = await inspectOrUndefined(this.docker, newVault);
            const stopped = inspected ? containerFailure(newVault, stateOf(inspected)) : `the new ${newVault} is gone`;
            if (stopped) return this.rollBack(`${this.name}: ${stopped} after it had served${await lastLog(this.docker, newVault)}`);
            const diagnosis = diagnose(env, await observeEnvironment(env, PROBE_TIMEOUT_MS), context);
            if (diagnosis.problems.length === 0 && performance.now() - answered >= STABLE_MS) break;
            if (this.io.now() - started > this.options.timeoutMs && diagnosis.problems.length > 0)
                return {
                    status: "failed",
                    message: `${this.name}: the new vault serves, but check does not report ${this.name} healthy after ${Math.round(this.options.timeoutMs / 1000)} s: ${diagnosis.problems.map((p) => p.message).join("; ")}. ${kept}`,
                    writesRefusedMs,
                };
            await this.io.sleep(500);
        }
        this.io.log(`${this.name}: check reports it healthy; removing the old containers (their volumes stay)`);
        const volumesKept: string[] = [];
        const vault = this.plan.vault!;
        const inUse = vault.data.kind === "volume" ? vault.data.name : undefined;
        for (const [, aside] of this.journal.renamed) {
            const info = await this.docker.getContainer(aside).inspect();
            for (const m of info.Mounts ?? [])
                if (m.Type === "volume" && m.Name && m.Name !== inUse)
                    volumesKept.push(
                        `kept volume ${m.Name} of ${aside}: the stack does not use it (docker volume rm ${m.Name} once you no longer need it)`,
                    );
            try {
                await this.docker.getContainer(aside).remove({ v: false });
            } catch (e) {
                if (!isNotFound(e)) throw e;
            }
        }
        return { status: "adopted", writesRefusedMs, kept: volumesKept };
    }

    // ----------------------------------------------------------------------------------
    // The way back

    /** Puts everything back after `reason`; says what happened, or what is left to do by hand. */
    private async rollBack(reason: string): Promise<TakeoverOutcome> {
        const progress: RollbackProgress = { ...NO_PROGRESS, renamedBack: [], started: [] };
        const done: string[] = [];
        this.io.log(`${reason}\n${this.name}: putting everything back`);
        let back: number | undefined;
        try {
            await this.stopNewVault(done);
            await this.undoStack(progress, done);
            const expected = await this.readyData(progress, done);
            back = await this.restartOld(expected, progress, done);
            await this.restoreReplication(progress, done);
        } catch (e) {
            return {
                status: "failed",
                message: `${reason}\nputting it back stopped: ${(e as Error).message}${done.length > 0 ? `\ndone by adopt: ${done.join("; ")}` : ""}\nleft to do by hand:\n${rollbackText(this.journal, this.options.stack, progress)}`,
            };
        }
        const refused = back === undefined || this.writesStopped === undefined ? undefined : Math.round(back - this.writesStopped);
        return {
            status: "rolled back",
            message: `${reason}\nadopt put everything back by itself: ${done.length > 0 ? done.join("; ") : "nothing had been changed"}${refused === undefined ? "" : `; writes were refused for ${(refused / 1000).toFixed(1)} s in all`}`,
            ...(refused === undefined ? {} : { writesRefusedMs: refused }),
        };
    }

    /** The new vault stopped gracefully first (its AOF fsynced, no more restarts), so the data folder is still. */
    private async stopNewVault(done: string[]): Promise<void> {
        if (!this.journal.applyStarted) return;
        const newVault = containerName(this.view.containerPrefix, this.name, "vault");
        const inspected = await inspectOrUndefined(this.docker, newVault);
        if (!inspected || inspected.Config?.Labels?.[LABEL_ENVIRONMENT] !== this.name) return;
        try {
            await this.docker.getContainer(newVault).stop({ t: STOP_SECONDS });
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode !== 304 && !isNotFound(e))
                this.fail(`docker stop ${newVault} failed: ${(e as Error).message}`);
        }
        done.push(`stopped the new ${newVault}`);
    }

    /** The stack's configuration as it was (a secret on stdin), and its containers of this environment gone. */
    private async undoStack(progress: RollbackProgress, done: string[]): Promise<void> {
        const undo = undoPlan(this.journal, this.options.stack);
        for (const inv of undo.invocations) await this.runOrFail(inv);
        progress.configUndone = true;
        if (undo.invocations.length > 0)
            done.push(
                `undid the stack's configuration (${undo.invocations.length} value${undo.invocations.length === 1 ? "" : "s"}${undo.removesItem ? `, the environments item ${this.journal.item} included: it was there before, and pulumi up would have created ${this.name} anew` : ""})`,
            );
        if (!undo.command) return;
        this.io.log(`${this.name}: ${printable(undo.command)}`);
        await this.runOrFail({ command: undo.command }, false);
        progress.stackApplied = true;
        done.push(`removed what pulumi up had created for ${this.name} (${undo.command.slice(0, 2).join(" ")})`);
        for (const role of ["vault", "operational"] as const) {
            const name = containerName(this.view.containerPrefix, this.name, role);
            if (this.journal.renamed.some(([from]) => from === name) && (await inspectOrUndefined(this.docker, name)))
                this.fail(`${name} still exists after ${printable(undo.command)}: the old one cannot have its name back`);
        }
    }

    private async runOrFail(inv: Invocation, capture = true): Promise<void> {
        this.report.commands.push(printable(inv));
        const r = await this.pulumi(inv.command, capture, inv.input);
        if (r.exitCode !== 0) this.fail(`\`${printable(inv)}\` failed (exit ${r.exitCode})${said(r)}`);
    }

    /**
     * The data folder readied for the old vault. The new vault may have taken writes (into the
     * append-only file; the old vault, started as before, may load dump.rdb instead) and may have
     * written files in its own Redis's format; an old vault that did not shut down cleanly left
     * its last writes in the AOF alone. A short-lived server of the old vault's own image loads
     * the folder as the newest state is (the AOF, which adopt turned on before the stop), and only
     * once it holds at least every key expected, `SAVE`s dump.rdb in the old Redis's format.
     * Returns the keys the old vault must come back with. The readying server is removed however
     * this ends, from its start on.
     */
    private async readyData(progress: RollbackProgress, done: string[]): Promise<Keyspace> {
        const j = this.journal;
        const atStop = j.keyspaceAtStop ?? {};
        const holder =
            j.renamed.find(([from]) => from === this.oldVault)?.[1] ?? (j.stopped.includes(this.oldVault) ? this.oldVault : undefined);
        if (!holder) {
            progress.dataReady = true;
            return atStop;
        }
        const version = this.plan.vault!.version ?? "0";
        if (compareVersions(version, "7.0") < 0) {
            // Redis 6 keeps its AOF as one file, which a Redis 7 moves into a folder as it starts:
            // an old server cannot be made to load that.
            if (j.applyStarted && (j.newVaultAnswered || this.plan.vault!.appendonly))
                this.fail(`${this.oldVault} runs Redis ${version}, which cannot load the append-only folder the new vault may have made`);
            progress.dataReady = true;
            return atStop;
        }
        const files = j.files!;
        const old = await this.docker.getContainer(holder).inspect();
        const oneTime = randomBytes(18).toString("hex");
        const { helper, helperName } = await this.createReadyingServer(holder, old, files, oneTime);
        try {
            await helper.start();
            const port = Number((await helper.inspect()).NetworkSettings.Ports?.["6379/tcp"]?.[0]?.HostPort);
            const target = { host: "127.0.0.1", port };
            const keyspace = await this.loadedKeyspace(helper, helperName, target, oneTime, atStop);
            await this.saveForOldRedis(helper, helperName, target, oneTime);
            progress.dataReady = true;
            done.push(
                `readied the data folder with ${this.oldVault}'s own Redis (${describeKeyspace(keyspace) || "no key"}; ${files.dbfilename} saved)`,
            );
            return keyspace;
        } finally {
            await this.removeReadyingServer(helper, old);
        }
    }

    /** A server of the old vault's own image on the old vault's volumes, loading its append-only file; created, not started. */
    private async createReadyingServer(
        holder: string,
        old: Docker.ContainerInspectInfo,
        files: NonNullable<Journal["files"]>,
        oneTime: string,
    ): Promise<{ helper: Docker.Container; helperName: string }> {
        const helperName = asideName(this.oldVault, new Date(this.io.now())).replace(".adopted-", ".readying-");
        this.io.log(
            `${this.name}: readying the data folder for ${this.oldVault} (${helperName}: its own Redis loads the append-only file, then saves ${files.dbfilename})`,
        );
        const helper = await this.docker.createContainer({
            name: helperName,
            Image: old.Image,
            Cmd: readyingArgs(files, oneTime),
            Labels: { [READYING_LABEL]: this.name },
            ExposedPorts: { "6379/tcp": {} },
            HostConfig: {
                VolumesFrom: [holder],
                PortBindings: { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: "" }] },
            },
        });
        return { helper, helperName };
    }

    /** The keys the readying server loaded, once it has; fails unless it holds every key the old and the new vault had. */
    private async loadedKeyspace(
        helper: Docker.Container,
        helperName: string,
        target: Target,
        oneTime: string,
        atStop: Keyspace,
    ): Promise<Keyspace> {
        const started = this.io.now();
        let keyspace: Keyspace | undefined;
        while (keyspace === undefined) {
            const state = (await helper.inspect()).State;
            if (!state.Running)
                this.fail(
                    `${helperName} stopped (exit code ${state.ExitCode}) before it had loaded the folder${await lastLog(this.docker, helperName)}`,
                );
            const r = await infoOf(target, oneTime, ["persistence", "keyspace"]);
            if (r && r.info.loading === "0") keyspace = parseKeyspace(r.info);
            else if (this.io.now() - started > this.options.timeoutMs)
                this.fail(`${helperName} did not load the folder within ${Math.round(this.options.timeoutMs / 1000)} s`);
            else await this.io.sleep(100);
        }
        for (const [what, expected] of [
            ["the old vault had at its stop", atStop],
            ["the new vault served", this.journal.newVaultKeyspace],
        ] as const) {
            const short = expected && keyspaceShortfall(expected, keyspace);
            if (short)
                this.fail(
                    `the data folder's append-only file holds fewer keys than ${what} (${short}); nothing was overwritten, and the old containers stay stopped`,
                );
        }
        return keyspace;
    }

    /** dump.rdb written by the old Redis itself (`SAVE`, checked), then the readying server shut down without saving again. */
    private async saveForOldRedis(helper: Docker.Container, helperName: string, target: Target, oneTime: string): Promise<void> {
        const r = await infoOf(target, oneTime, [], [["SAVE"], ["INFO", "persistence"]]);
        const status = r && !r.rest[1].failure ? parseInfo(String(r.rest[1].value)).rdb_last_bgsave_status : undefined;
        if (!r || r.rest[0].failure || status !== "ok")
            this.fail(`SAVE in ${helperName} failed: ${r?.rest[0].failure?.message ?? `rdb_last_bgsave_status:${status ?? "?"}`}`);
        await ask(target, [
            ["AUTH", oneTime],
            ["SHUTDOWN", "NOSAVE"],
        ]);
        await helper.wait();
    }

    /** The readying server removed, with the volumes it made itself (never one of the old vault's). */
    private async removeReadyingServer(helper: Docker.Container, old: Docker.ContainerInspectInfo): Promise<void> {
        const mounts = new Set((old.Mounts ?? []).map((m) => m.Name).filter(Boolean));
        const own = ((await helper.inspect().catch(() => undefined))?.Mounts ?? []).filter(
            (m) => m.Type === "volume" && m.Name && !mounts.has(m.Name),
        );
        await helper.remove({ force: true, v: false }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        for (const m of own)
            await this.docker
                .getVolume(m.Name!)
                .remove()
                .catch(() => undefined);
    }

    /** The old containers under their names again, started; the vault must serve its data before anything else. Returns when it does. */
    private async restartOld(expected: Keyspace, progress: RollbackProgress, done: string[]): Promise<number | undefined> {
        const j = this.journal;
        for (const [from, to] of j.renamed) {
            try {
                await this.docker.getContainer(to).rename({ name: from });
            } catch (e) {
                this.fail(`docker rename ${to} ${from} failed: ${(e as Error).message}`);
            }
            progress.renamedBack.push(from);
        }
        if (j.renamed.length > 0) done.push(`gave the old containers their names back`);
        if (!j.stopped.includes(this.oldVault)) return undefined;
        await this.startContainer(this.oldVault, progress);
        const target = endpointOf(this.plan.vault!.endpoint);
        const key = `nexus-redis:adopt-probe:${randomBytes(8).toString("hex")}`;
        const started = this.io.now();
        for (;;) {
            const r = await infoOf(target, this.password, ["persistence", "keyspace"], [["DEL", key]]);
            if (r && r.info.loading === "0" && !r.rest[0].failure) {
                const back = performance.now();
                const keyspace = parseKeyspace(r.info);
                const short = keyspaceShortfall(expected, keyspace);
                if (short) this.fail(`${this.oldVault} came back without all its data: ${short}`);
                done.push(`started ${this.oldVault}: it takes writes again, with its data (${describeKeyspace(keyspace) || "no key"})`);
                for (const c of j.stopped.slice(1)) await this.startContainer(c, progress);
                return back;
            }
            const state = (await this.docker.getContainer(this.oldVault).inspect()).State;
            if (!state.Running && !state.Restarting)
                this.fail(`${this.oldVault} stopped again (exit code ${state.ExitCode})${await lastLog(this.docker, this.oldVault)}`);
            if (this.io.now() - started > this.options.timeoutMs)
                this.fail(`${this.oldVault} did not take writes with its data within ${Math.round(this.options.timeoutMs / 1000)} s`);
            await this.io.sleep(100);
        }
    }

    private async startContainer(name: string, progress: RollbackProgress): Promise<void> {
        try {
            await this.docker.getContainer(name).start();
        } catch (e) {
            if ((e as { statusCode?: number }).statusCode !== 304) this.fail(`docker start ${name} failed: ${(e as Error).message}`);
        }
        progress.started.push(name);
    }

    /** The protocol's step 2 again on the old operational, over the CLI's own connection; then its link must come up. */
    private async restoreReplication(progress: RollbackProgress, done: string[]): Promise<void> {
        const r = this.journal.replication;
        if (!r || !progress.started.includes(r.operational)) return;
        const op = endpointOf(this.plan.operational!.endpoint);
        const vaultIp = r.network
            ? (await this.docker.getContainer(this.oldVault).inspect()).NetworkSettings.Networks[r.network]?.IPAddress
            : undefined;
        const commands = replicationCommands(r, vaultIp);
        const started = this.io.now();
        for (;;) {
            const replies = await ask(op, commands);
            const failed = replies.find((s) => s.failure);
            if (!failed) break;
            if (failed.failure?.kind !== "refused" && failed.failure?.kind !== "closed" && !/LOADING/.test(failed.failure?.message ?? ""))
                this.fail(`re-applying ${r.operational}'s replication failed: ${failed.failure?.message}`);
            if (this.io.now() - started > this.options.timeoutMs)
                this.fail(`${r.operational} did not answer within ${Math.round(this.options.timeoutMs / 1000)} s`);
            await this.io.sleep(100);
        }
        for (;;) {
            const [reply] = await ask(op, [["INFO", "replication"]]);
            if (!reply.failure && parseInfo(String(reply.value)).master_link_status === "up") break;
            if (this.io.now() - started > this.options.timeoutMs)
                this.fail(
                    `${r.operational} replicates from ${commands.at(-1)!.slice(1).join(":")} again, but its link did not come up within ${Math.round(this.options.timeoutMs / 1000)} s`,
                );
            await this.io.sleep(200);
        }
        progress.replicationRestored = true;
        done.push(
            `${r.operational} replicates from ${this.oldVault} again (REPLICAOF ${commands.at(-1)!.slice(1).join(" ")}, masterauth set over the CLI's own connection; link up)`,
        );
    }
}

/** What a command said on stderr, when it was captured (a stand-in runner's); Pulumi's own goes straight to ours. */
function said(r: RunResult): string {
    return r.stderr.trim() ? `: ${r.stderr.trim()}` : "";
}
