/**
 * `nexus-redis rotate ENV ROLE (--from-file FILE | --generate FILE)`: changes one password of
 * an environment with no authentication error for a client that switches at the right
 * moment, no lost write, and one restart of the vault at most.
 *
 * A password's new value lives where the program reads it, the stack's secret `passwords`
 * config; the containers get it through their config files at the next `pulumi up`, which
 * replaces them (every upload change does). Between the two, Redis ACL users may hold two
 * passwords: `rotate` adds the new one to the running server (`ACL SETUSER user >new`), so
 * old and new are both accepted; clients switch; `pulumi up` then restarts the server with
 * the new one alone.
 *
 *   1. `nexus-redis rotate contact vault --generate new.pw` (both passwords now work)
 *   2. switch every client to the new password (the MCP servers, the Locker)
 *   3. `pulumi up` (the vault restarts once, on the new password alone)
 *
 * The overlap lives in the running server only: should it restart before step 3, run
 * step 1 again (with --from-file) before clients need the new password.
 */
import { randomInt } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { PASSWORD_ROLES, type PasswordRole, isValidPassword } from "../../components/redisServer";
import { CliError } from "../core/errors";
import { PULUMI_NOT_ON_PATH, getPasswordsCommand, runPulumi, setPasswordsCommand } from "../core/pulumi";
import type { EnvironmentOutput, EnvironmentsOutput } from "../fleet/environment";
import type { CommandRunner } from "../core/runner";
import { Deadline, ProbeError, RedisSession, type SessionTarget } from "../redis/session";

/** An error that ends `rotate` with exit code 2 (usage or configuration) or 1 (the fleet). */
export class RotateError extends CliError {
    constructor(message: string, exitCode: 1 | 2) {
        super(message, exitCode, "nexus-redis rotate");
        this.name = "RotateError";
    }
}

/** Where a role's password is checked, and who may change it there. */
export interface RotationTarget {
    role: PasswordRole;
    /** The server whose ACL user holds the password. */
    server: "vault" | "operational";
    /** That ACL user. */
    user: string;
    /** The password the stack has now. */
    current: string;
    /** Who runs ACL SETUSER on that server. */
    admin: { user?: string; password: string };
    /** Which containers `pulumi up` replaces to finish the rotation. */
    replaces: ("vault" | "operational")[];
    /** Who presents this password, for the instructions. */
    clients: string;
}

/** Where `role` of `env` is checked. Pure. */
export function rotationTarget(name: string, env: EnvironmentOutput, role: string): RotationTarget {
    if (!(PASSWORD_ROLES as readonly string[]).includes(role)) {
        throw new RotateError(`unknown password role "${role}"; the roles are ${PASSWORD_ROLES.join(", ")}`, 2);
    }
    const vaultAdmin = { password: env.vault.password };
    switch (role as PasswordRole) {
        case "vault":
            return {
                role: "vault",
                server: "vault",
                user: "default",
                current: env.vault.password,
                admin: vaultAdmin,
                replaces: ["vault"],
                clients: "every client that writes (the MCP servers) and the Locker",
            };
        case "backup":
            return {
                role: "backup",
                server: "vault",
                user: env.backup.user,
                current: env.backup.password,
                admin: vaultAdmin,
                replaces: ["vault"],
                clients: "nexus-redis backup, which reads it from the stack's outputs after `pulumi up`",
            };
        case "replication":
        case "operationalAdmin":
            if (env.kind !== "standard") {
                throw new RotateError(`"${name}" is a secure environment: it has only a vault and a backup password`, 2);
            }
            return role === "replication"
                ? {
                      role: "replication",
                      server: "vault",
                      user: env.replication.user,
                      current: env.replication.password,
                      admin: vaultAdmin,
                      replaces: ["vault", "operational"],
                      clients: "the operational (its masterauth), which `pulumi up` re-creates with the new password",
                  }
                : {
                      role: "operationalAdmin",
                      server: "operational",
                      user: env.operational.adminUser,
                      current: env.operational.adminPassword,
                      admin: { user: env.operational.adminUser, password: env.operational.adminPassword },
                      replaces: ["operational"],
                      clients: "nexus-redis check --fix, which reads it from the stack's outputs after `pulumi up`",
                  };
    }
}

/** The `passwords` config with `password` as `env`'s `role`, keeping everything else. Pure; never echoes a value. */
export function withPassword(existing: string, env: string, role: PasswordRole, password: string): string {
    let parsed: unknown = {};
    if (existing.trim() !== "") {
        try {
            parsed = JSON.parse(existing);
        } catch {
            throw new RotateError("the stack's passwords config is not valid JSON; fix it with `pulumi config set --secret passwords`", 2);
        }
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new RotateError('the stack\'s passwords config is not a JSON object {"ENV": {...}}', 2);
    }
    const all = parsed as Record<string, Record<string, string>>;
    return JSON.stringify({ ...all, [env]: { ...all[env], [role]: password } });
}

/**
 * Why rotating `env`'s `role` to `password` would break a rotation already open, or undefined.
 * Pure; never echoes a value. `existing` is the stack's passwords config, `current` the
 * password the stack's outputs hold (the one the last `pulumi up` delivered). A config value
 * that is neither is an open rotation: a rotate whose `pulumi up` has not run yet, whose new
 * password clients may already use (step 2). Writing another password over it would make the
 * next `pulumi up` lock those clients out, so only the same password may be rotated to again
 * (the documented way to re-open an overlap after a restart or a killed run).
 */
export function openRotation(existing: string, env: string, role: PasswordRole, current: string, password: string): string | undefined {
    let parsed: unknown;
    try {
        parsed = JSON.parse(existing);
    } catch {
        return undefined; // withPassword refuses it, with its own message.
    }
    const pending = (parsed as Record<string, Record<string, unknown>> | null)?.[env]?.[role];
    if (typeof pending !== "string" || pending === current || pending === password) return undefined;
    return (
        `a rotation of ${env}'s ${role} password is open: the stack's passwords config holds a new one that no \`pulumi up\` has delivered yet, and clients may already use it. ` +
        `Finish it with \`pulumi up\`, or re-open its overlap by rotating to that same password with --from-file (\`pulumi config get passwords\` shows it); nothing was changed`
    );
}

const LETTERS_AND_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** 32 letters and digits, as the program generates them (about 190 bits). */
export function generatePassword(): string {
    let password = "";
    for (let i = 0; i < 32; i++) password += LETTERS_AND_DIGITS[randomInt(LETTERS_AND_DIGITS.length)];
    return password;
}

export interface RotateOptions {
    environment: string;
    role: string;
    /** Read the new password from this file. */
    fromFile?: string;
    /** Generate the new password and write it to this new file (0600). */
    generate?: string;
    stack?: string;
    dryRun: boolean;
    timeoutMs: number;
}

export interface RotateIo {
    run: CommandRunner;
    projectDir: string;
    log(message: string): void;
}

export interface RotateResult {
    target: RotationTarget;
    /** What was done (or, with --dry-run, would be), in words. */
    steps: string[];
    /** What the operator does next. */
    next: string[];
}

/**
 * The password a --from-file FILE holds, or what is wrong with it, in words that never quote
 * it. Pure. A file written by an editor or `echo` ends with a newline (LF or CRLF) that is not
 * part of the password; nothing else is taken away, since a password must be exactly what
 * the operator gives the clients.
 */
export function passwordFromText(text: string): string | { problem: string } {
    const password = text.replace(/\r?\n$/, "");
    if (isValidPassword(password)) return password;
    if (password.trim() === "") return { problem: "it is empty or blank" };
    if (/[\r\n]/.test(password)) return { problem: "it has more than one line" };
    if (password !== password.trim()) return { problem: "it starts or ends with a space, tab or other blank, which would be part of it" };
    return { problem: "it has a space or a control character" };
}

/** The new password: from a file the operator made, or generated into a new one. */
function newPassword(options: RotateOptions): string {
    if ((options.fromFile === undefined) === (options.generate === undefined)) {
        throw new RotateError("give the new password with --from-file FILE, or --generate FILE to have one made", 2);
    }
    if (options.fromFile !== undefined) {
        let text: string;
        try {
            text = readFileSync(options.fromFile, "utf8");
        } catch (e) {
            throw new RotateError(
                `cannot read --from-file ${options.fromFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
                2,
            );
        }
        const read = passwordFromText(text);
        if (typeof read !== "string") throw new RotateError(`${options.fromFile} must hold one password: ${read.problem}`, 2);
        return read;
    }
    return generatePassword();
}

/** Runs a rotation's first step: the overlap on the server, and the new value in the stack's config. */
export async function rotate(options: RotateOptions, environments: EnvironmentsOutput, io: RotateIo): Promise<RotateResult> {
    const env = environments[options.environment];
    if (!env)
        throw new RotateError(`unknown environment "${options.environment}"; the stack's are ${Object.keys(environments).join(", ")}`, 2);
    const target = rotationTarget(options.environment, env, options.role);
    const password = newPassword(options);
    if (password === target.current) throw new RotateError(`the new ${target.role} password is the one the stack has now`, 2);
    const endpoint = target.server === "vault" ? env.vault : env.kind === "standard" ? env.operational : env.vault;
    const where = `${options.environment}'s ${target.server} ${endpoint.host}:${endpoint.port}`;
    const { steps, next } = describeRotation(options, target, where);
    if (options.dryRun) return { target, steps, next };

    // 1. The stack's current passwords config, read first: without the Pulumi CLI (or the
    // stack's passphrase) nothing else may move, not even a --generate file, which would then
    // stand in the way of the next run.
    const current = await currentPasswords(options, io);
    const open = openRotation(current, options.environment, target.role, target.current, password);
    if (open) throw new RotateError(open, 2);
    if (options.generate !== undefined) keepGenerated(options.generate, password, io);
    // 2. The overlap: if the server cannot take it, the stack does not change either.
    await openOverlap(endpoint, target, password, where, options.timeoutMs);
    io.log(`rotate: ${where} accepts the old and the new ${target.role} password`);

    // 3. The stack's config: the value the next \`pulumi up\` delivers.
    const value = withPassword(current, options.environment, target.role, password);
    const set = await runPulumi(io.run, io.projectDir, setPasswordsCommand(options.stack), true, value, notInstalled);
    if (set.exitCode !== 0) {
        throw new RotateError(
            `\`${setPasswordsCommand(options.stack).join(" ")}\` failed (exit ${set.exitCode}): ${set.stderr.trim()}; the overlap is open, the stack is unchanged`,
            1,
        );
    }
    return { target, steps, next };
}

/** What the rotation does (or, with --dry-run, would do), and what the operator does next, in words. */
function describeRotation(options: RotateOptions, target: RotationTarget, where: string): { steps: string[]; next: string[] } {
    const steps = [
        `ACL SETUSER ${target.user} >(new password) on ${where}: the old and the new password both work`,
        `pulumi config set --secret passwords: ${options.environment}.${target.role} is the new password`,
    ];
    const next = [
        `switch ${target.clients} to the new password`,
        `run \`pulumi up${options.stack ? ` --stack ${options.stack}` : ""}\`: it replaces ${options.environment}'s ${target.replaces.join(" and ")} container${target.replaces.length === 1 ? "" : "s"} (one restart), after which only the new password works`,
        `if the ${target.server} restarts before then, the old password alone works again: run this command once more with --from-file`,
    ];
    return { steps, next };
}

/** A generated password written to --generate FILE before anything changes on a server or in the stack: the operator must have it. */
function keepGenerated(file: string, password: string, io: RotateIo): void {
    try {
        // wx: never overwrite a file (it could hold the only copy of another password).
        writeFileSync(file, `${password}\n`, { mode: 0o600, flag: "wx" });
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EEXIST")
            throw new RotateError(
                `cannot create --generate ${file}: EEXIST, it exists and is never overwritten (it may hold a password an earlier run generated: rotate to it with --from-file ${file}, or give another file)`,
                2,
            );
        throw new RotateError(`cannot create --generate ${file}: ${code ?? (e as Error).message}`, 2);
    }
    io.log(`rotate: the new password is in ${file} (mode 0600): keep it where the old one is kept`);
}

/** The stack's passwords config as it is ("" when it has none). */
async function currentPasswords(options: RotateOptions, io: RotateIo): Promise<string> {
    const existing = await runPulumi(io.run, io.projectDir, getPasswordsCommand(options.stack), true, undefined, notInstalled);
    if (existing.exitCode === 0) return existing.stdout.trim();
    if (!/not found/i.test(existing.stderr)) {
        throw new RotateError(
            `\`${getPasswordsCommand(options.stack).join(" ")}\` failed (exit ${existing.exitCode}): ${existing.stderr.trim()}; nothing was changed`,
            1,
        );
    }
    return "";
}

/** The new password added beside the old one on the server, and proven to log in on a second connection. */
async function openOverlap(
    endpoint: SessionTarget,
    target: RotationTarget,
    password: string,
    where: string,
    timeoutMs: number,
): Promise<void> {
    const deadline = new Deadline(timeoutMs);
    try {
        const session = new RedisSession(endpoint, deadline);
        const admin =
            target.admin.user === undefined ? ["AUTH", target.admin.password] : ["AUTH", target.admin.user, target.admin.password];
        await session.call(admin[0], ...admin.slice(1));
        await session.call("ACL", "SETUSER", target.user, `>${password}`);
        // A second connection proves the new password logs in.
        await new RedisSession(endpoint, deadline).call("AUTH", target.user, password);
    } catch (e) {
        const message = e instanceof ProbeError ? e.failure.message : String(e);
        throw new RotateError(`${where} ${message}: nothing was changed in the stack`, 1);
    } finally {
        deadline.finish();
    }
}

function notInstalled(): RotateError {
    return new RotateError(`${PULUMI_NOT_ON_PATH}: rotate keeps the new password in the stack's config`, 2);
}
