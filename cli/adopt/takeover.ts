/**
 * `nexus-redis adopt`, the takeover of one environment and, when it fails, the way back (its base
 * class, adopt/putBack.ts). The I/O shell around adopt/plan.ts (the steps), adopt/gate.ts (is the
 * new vault serving?) and adopt/rollback.ts (what putting things back takes):
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
import { containerName } from "../../components/redisServer";
import { START_BOUND_MS, STABLE_MS, containerFailure, gateVerdict } from "./gate";
import { type ConfigStep, asideName } from "./plan";
import { configSetCommand, previewCommand, printable, upCommand } from "../core/pulumi";
import type { StackView } from "./stack";
import { DEFAULT_SAVE_POINTS, type EnvironmentPlan } from "./judge";
import type { AdoptReport } from "./report";
import type { Journal, RecordedReplication } from "./rollback";
import { describeKeyspace, parseKeyspace } from "./settings";
import { diagnose, diagnosisContext } from "../health/diagnose";
import { type Docker, inspectOrUndefined, isNotFound } from "../docker/client";
import { observeEnvironment } from "../health/observe";
import { loadOutputs } from "../fleet/outputs";
import type { EnvironmentsOutput } from "../fleet/environment";
import { aofSettled, configPairs, parseInfo } from "../redis/replies";
import type { RunResult } from "../core/runner";
import type { Settled } from "../redis/session";
import {
    PROBE_TIMEOUT_MS,
    STOP_SECONDS,
    StepFailure,
    type TakeoverIo,
    type TakeoverOptions,
    type TakeoverOutcome,
    WriteProbe,
    ask,
    endpointOf,
    infoOf,
    lastLog,
    observeNewVault,
    said,
    stateOf,
} from "./probes";
import { PutBack } from "./putBack";

export class Takeover extends PutBack {
    readonly journal: Journal;
    /** When the old vault accepted its last write (performance.now()), once it is stopped. */
    protected writesStopped: number | undefined;
    protected readonly name: string;
    protected readonly oldVault: string;
    protected readonly password: string;

    constructor(
        protected readonly plan: EnvironmentPlan,
        steps: ConfigStep[],
        /** The stack's configuration just before this environment's steps (earlier environments' included). */
        protected readonly view: StackView,
        protected readonly options: TakeoverOptions,
        protected readonly io: TakeoverIo,
        protected readonly docker: Docker,
        protected readonly report: AdoptReport,
    ) {
        super();
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

    protected fail(message: string): never {
        throw new StepFailure(`${this.name}: ${message}`);
    }

    protected async pulumi(command: string[], capture: boolean, input?: string): Promise<RunResult> {
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
}
