/**
 * `nexus-redis rotate`: which server and user each password lives on, what `pulumi up` then
 * replaces, the exact Pulumi commands (the new value on stdin, never on a command line), and
 * every refusal before anything changes. The rotation under load is a live test.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { RotateError, generatePassword, openRotation, passwordFromText, rotationTarget, withPassword } from "../../cli/rotate/rotate";
import { getPasswordsCommand, setPasswordsCommand } from "../../cli/core/pulumi";
import { type CommandRunner, spawnRunner } from "../../cli/core/runner";
import { cli } from "./cliRun";
import { contact, fleetOutputs, user } from "./cli-samples";

const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-rotate-"));

describe("where each password is rotated", () => {
    it.each([
        ["vault", "vault", "default", contact.vault.password, ["vault"]],
        ["backup", "vault", "backup", contact.backup.password, ["vault"]],
        ["replication", "vault", "replicator", contact.replication.password, ["vault", "operational"]],
        ["operationalAdmin", "operational", "admin", contact.operational.adminPassword, ["operational"]],
    ] as const)("%s: on the %s's user %s, and pulumi up replaces %j", (role, server, aclUser, current, replaces) => {
        const target = rotationTarget("contact", contact, role);
        expect(target).toMatchObject({ role, server, user: aclUser, current, replaces });
        // Changed by whoever may: the vault's default user, or the operational's admin.
        expect(target.admin).toEqual(
            server === "vault" ? { password: contact.vault.password } : { user: "admin", password: contact.operational.adminPassword },
        );
    });

    it("refuses the roles a secure environment does not have, and unknown roles", () => {
        expect(() => rotationTarget("user", user, "replication")).toThrow(/"user" is a secure environment/);
        expect(() => rotationTarget("user", user, "operationalAdmin")).toThrow(RotateError);
        expect(() => rotationTarget("contact", contact, "root")).toThrow(/unknown password role "root"; the roles are vault, replication/);
        expect(rotationTarget("user", user, "backup").replaces).toEqual(["vault"]);
    });
});

describe("the stack's passwords config", () => {
    it("gets the new value for one role and keeps every other", () => {
        const existing = JSON.stringify({ contact: { vault: "old", backup: "kept" }, kb: { vault: "kb-pw" } });
        expect(JSON.parse(withPassword(existing, "contact", "vault", "new"))).toEqual({
            contact: { vault: "new", backup: "kept" },
            kb: { vault: "kb-pw" },
        });
        expect(JSON.parse(withPassword("", "user", "backup", "b"))).toEqual({ user: { backup: "b" } });
    });

    it("refuses a passwords config that is not a JSON object, without echoing it", () => {
        expect(() => withPassword("hunter2", "contact", "vault", "x")).toThrow(/not valid JSON/);
        expect(() => withPassword("hunter2", "contact", "vault", "x")).not.toThrow(/hunter2/);
        expect(() => withPassword("[1]", "contact", "vault", "x")).toThrow(/not a JSON object/);
    });

    it("is read and written by the Pulumi CLI, the new value on stdin", () => {
        expect(getPasswordsCommand("dev")).toEqual(["pulumi", "config", "get", "passwords", "--stack", "dev"]);
        expect(setPasswordsCommand(undefined)).toEqual(["pulumi", "config", "set", "--secret", "passwords"]);
    });

    it("tells an open rotation (a new value no pulumi up delivered) from a finished one, without echoing it", () => {
        const config = (vault: string) => JSON.stringify({ contact: { vault, backup: "b" } });
        // Open: the config's value is not the outputs' (clients may use it): only it may be rotated to again.
        const open = openRotation(config("pending"), "contact", "vault", "outputs-pw", "another");
        expect(open).toMatch(/^a rotation of contact's vault password is open: .*re-open its overlap by rotating to that same password/);
        expect(open).not.toMatch(/pending|another|outputs-pw/);
        expect(openRotation(config("pending"), "contact", "vault", "outputs-pw", "pending")).toBeUndefined();
        // Finished (pulumi up delivered it), or never set: any new password.
        expect(openRotation(config("outputs-pw"), "contact", "vault", "outputs-pw", "another")).toBeUndefined();
        expect(openRotation(config("pending"), "contact", "replication", "outputs-pw", "another")).toBeUndefined();
        expect(openRotation(config("pending"), "kb", "vault", "outputs-pw", "another")).toBeUndefined();
        expect(openRotation("", "contact", "vault", "outputs-pw", "another")).toBeUndefined();
    });

    it("reads a --from-file password as written, its one final newline (LF or CRLF) aside, and says what is wrong without quoting it", () => {
        expect(passwordFromText("Pw>#%~<x\n")).toBe("Pw>#%~<x");
        expect(passwordFromText("Pw\r\n")).toBe("Pw");
        expect(passwordFromText("Pw")).toBe("Pw");
        expect(passwordFromText("")).toEqual({ problem: "it is empty or blank" });
        expect(passwordFromText("\n")).toEqual({ problem: "it is empty or blank" });
        expect(passwordFromText("Pw\nsecond\n")).toEqual({ problem: "it has more than one line" });
        expect(passwordFromText("Pw\n\n")).toEqual({ problem: "it has more than one line" });
        const blank = { problem: "it starts or ends with a space, tab or other blank, which would be part of it" };
        expect(passwordFromText("Pw  \n")).toEqual(blank);
        expect(passwordFromText("\uFEFFPw\n")).toEqual(blank);
        expect(passwordFromText("two words\n")).toEqual({ problem: "it has a space or a control character" });
        expect(passwordFromText("Pw\u0007x")).toEqual({ problem: "it has a space or a control character" });
    });

    it("generates 32 letters and digits, different each time", () => {
        const a = generatePassword();
        expect(a).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(generatePassword()).not.toBe(a);
    });
});

describe("the command runner", () => {
    it("gives a secret value on the child's stdin, not its command line", async () => {
        const result = await spawnRunner(["sh", "-c", 'cat; echo " argv:$#"'], { capture: true, input: "the-value" });
        expect(result).toEqual({ exitCode: 0, stdout: "the-value argv:0\n", stderr: "" });
    });
});

/** `nexus-redis rotate ARGV` on the sample fleet, whose ports nothing listens on. */
async function rotateCli(argv: string[], runner?: CommandRunner) {
    const outputs = path.join(dir, "outputs.json");
    writeFileSync(outputs, JSON.stringify({ environments: fleetOutputs }));
    return cli(["rotate", ...argv, "--outputs", outputs, "--timeout", "500"], { runner });
}

describe("nexus-redis rotate", () => {
    it.each([
        ["no password source", ["contact", "vault"], /--from-file FILE, or --generate FILE/],
        ["two password sources", ["contact", "vault", "--from-file", "a", "--generate", "b"], /--from-file FILE, or --generate FILE/],
        ["a role missing", ["contact", "--generate", "x"], /rotate takes an environment and a password role/],
        ["an unknown environment", ["contct", "vault", "--generate", "x"], /unknown environment "contct"/],
        ["a secure environment's replication", ["user", "replication", "--generate", "x"], /secure environment/],
        ["an unreadable file", ["contact", "vault", "--from-file", "/nonexistent/pw"], /cannot read --from-file \/nonexistent\/pw: ENOENT/],
    ])("exits 2 on %s, changing nothing", async (_what, argv, message) => {
        const run = await rotateCli(argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.commands).toEqual([]);
    });

    it("refuses a new password equal to the current one, or one with spaces", async () => {
        const same = path.join(dir, "same.pw");
        writeFileSync(same, `${contact.vault.password}\n`);
        expect((await rotateCli(["contact", "vault", "--from-file", same])).stderr).toMatch(/is the one the stack has now/);
        const spaced = path.join(dir, "spaced.pw");
        writeFileSync(spaced, "two words\n");
        const run = await rotateCli(["contact", "vault", "--from-file", spaced]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/must hold one password: it has a space or a control character/);
        expect(run.stderr).not.toContain("two words");
    });

    it("touches nothing without the Pulumi CLI, not even the --generate file: it reads the stack's config first", async () => {
        const file = path.join(dir, "new-1.pw");
        const run = await rotateCli(["contact", "vault", "--generate", file]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/the Pulumi CLI \(pulumi\) is not on PATH/);
        expect(run.commands.map(([c]) => c)).toEqual([getPasswordsCommand(undefined)]);
        // A file left here would refuse the same command once the CLI is installed.
        expect(existsSync(file)).toBe(false);
    });

    it("writes a generated password to a new file only readable by its owner, and never over an existing one", async () => {
        const file = path.join(dir, "new-2.pw");
        // The server (sample ports, nothing listening) refuses: the file is kept, the stack untouched.
        const pulumi: CommandRunner = async () => ({ exitCode: 0, stdout: "{}", stderr: "" });
        const run = await rotateCli(["contact", "vault", "--generate", file, "--stack", "dev"], pulumi);
        expect(run.code).toBe(1);
        expect(run.stderr).toMatch(/contact's vault 127\.0\.0\.1:6630 refused the connection .*: nothing was changed in the stack/);
        expect(run.commands.map(([c]) => c)).toEqual([getPasswordsCommand("dev")]);
        expect(readFileSync(file, "utf8")).toMatch(/^[A-Za-z0-9]{32}\n$/);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const again = await rotateCli(["contact", "vault", "--generate", file], pulumi);
        expect(again.code).toBe(2);
        expect(again.stderr).toMatch(
            /cannot create --generate .*: EEXIST, it exists and is never overwritten .*rotate to it with --from-file /,
        );
    });

    it("refuses to write over an open rotation's password, before any file, server or config changes", async () => {
        // A first rotate set a new vault password; its pulumi up has not run (the outputs still hold the old one).
        const pending = JSON.stringify({ contact: { vault: "Pending-vault-pw" } });
        const pulumi: CommandRunner = async () => ({ exitCode: 0, stdout: pending, stderr: "" });
        const file = path.join(dir, "new-3.pw");
        const run = await rotateCli(["contact", "vault", "--generate", file, "--stack", "dev"], pulumi);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/a rotation of contact's vault password is open: .*nothing was changed/);
        expect(run.stderr).not.toContain("Pending-vault-pw");
        expect(run.commands.map(([c]) => c)).toEqual([getPasswordsCommand("dev")]);
        expect(existsSync(file)).toBe(false);
        // Rotating to that same password again goes on, to the server (nothing listens on the sample's port).
        const same = path.join(dir, "pending.pw");
        writeFileSync(same, "Pending-vault-pw\n");
        const again = await rotateCli(["contact", "vault", "--from-file", same, "--stack", "dev"], pulumi);
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(/contact's vault 127\.0\.0\.1:6630 refused the connection/);
    });

    it("prints the steps and changes nothing with --dry-run", async () => {
        const file = path.join(dir, "never.pw");
        const run = await rotateCli(["contact", "replication", "--generate", file, "--dry-run", "--stack", "dev"]);
        expect(run.code).toBe(0);
        expect(run.commands).toEqual([]);
        expect(existsSync(file)).toBe(false);
        expect(run.stdout).toContain("ACL SETUSER replicator >(new password) on contact's vault 127.0.0.1:6630");
        expect(run.stdout).toContain("run `pulumi up --stack dev`: it replaces contact's vault and operational containers (one restart)");
    });
});
