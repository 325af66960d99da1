/**
 * `nexus-redis adopt`, the way back: when a takeover step fails (adopt/takeover.ts), everything
 * is put back by adopt itself: the new vault stopped, the stack's configuration and containers
 * undone, the data folder readied for the old vault by its own Redis, the old containers under
 * their names, started, and the old operational replicating again.
 *
 * The base class of Takeover: the way back reads the journal and state the takeover writes, so
 * its methods stay methods of the same object, moved here unchanged; the members it reads are
 * declared below and set by Takeover.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { LABEL_ENVIRONMENT } from "../../components/containerSpec";
import { containerName } from "../../components/redisServer";
import { asideName } from "./plan";
import { type Invocation, printable } from "../core/pulumi";
import type { StackView } from "./stack";
import { compareVersions } from "./findings";
import type { EnvironmentPlan } from "./judge";
import type { AdoptReport } from "./report";
import { type Journal, NO_PROGRESS, type RollbackProgress, readyingArgs, replicationCommands, rollbackText, undoPlan } from "./rollback";
import { type Keyspace, describeKeyspace, keyspaceShortfall, parseKeyspace } from "./settings";
import { type Docker, inspectOrUndefined, isNotFound } from "../docker/client";
import { parseInfo } from "../redis/replies";
import type { RunResult } from "../core/runner";
import {
    STOP_SECONDS,
    type Target,
    type TakeoverIo,
    type TakeoverOptions,
    type TakeoverOutcome,
    ask,
    endpointOf,
    infoOf,
    lastLog,
    said,
} from "./probes";

/** Label of the short-lived server a rollback readies the data folder with; removed right after. */
export const READYING_LABEL = "nexus-redis.adopt-rollback";

export abstract class PutBack {
    abstract readonly journal: Journal;
    protected abstract writesStopped: number | undefined;
    protected abstract readonly name: string;
    protected abstract readonly oldVault: string;
    protected abstract readonly password: string;
    protected abstract readonly plan: EnvironmentPlan;
    protected abstract readonly view: StackView;
    protected abstract readonly options: TakeoverOptions;
    protected abstract readonly io: TakeoverIo;
    protected abstract readonly docker: Docker;
    protected abstract readonly report: AdoptReport;
    protected abstract fail(message: string): never;
    protected abstract pulumi(command: string[], capture: boolean, input?: string): Promise<RunResult>;

    /** Puts everything back after `reason`; says what happened, or what is left to do by hand. */
    protected async rollBack(reason: string): Promise<TakeoverOutcome> {
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
