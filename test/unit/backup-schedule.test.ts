/**
 * The backup page's scheduling of backups (docs/backup.md) (cron lines, a systemd service and timer) must work as
 * pasted: the backup command is parsed by backup's own argument parser, the pruning `find`
 * runs on a folder of backups, and the units pass `systemd-analyze verify`. Cron and systemd
 * themselves cannot fire here.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BACKUP_HELP, parseBackupArgs } from "../../cli/backup/spec";
import { systemdAnalyzeAvailable, unitsOf, verifyUnits } from "./systemdUnits";

const ROOT = path.resolve(__dirname, "../..");
const PAGE = readFileSync(path.join(ROOT, "docs/backup.md"), "utf8");
const made: string[] = [];
afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** The one fenced block of `language` on the backup page (the README's Backups section was moved there). */
function block(language: string): string {
    const section = PAGE;
    const fence = "```";
    const blocks = [...section.matchAll(new RegExp(`${fence}${language}\\n([\\s\\S]*?)\\n${fence}`, "g"))].map((m) => m[1]);
    expect(blocks).toHaveLength(1);
    return blocks[0];
}

/** The arguments after the bin's `backup` in a command line (no quoting in them). */
function backupArgs(command: string): string[] {
    const start = command.indexOf("bin/nexus-redis.js backup ");
    expect(start).toBeGreaterThanOrEqual(0);
    const rest = command.slice(start + "bin/nexus-redis.js backup ".length).split(" >>")[0];
    return rest.trim().split(/\s+/);
}

function expectValidBackup(args: string[], env: Record<string, string>) {
    const options = parseBackupArgs(args, env);
    if (options === "help") throw new Error("help");
    // Scheduled backups name a folder of their own, never the default inside a checkout.
    expect(path.isAbsolute(options.to)).toBe(true);
    expect(options.resticRepo).toBeDefined();
    for (const option of args.filter((a) => a.startsWith("--"))) expect(BACKUP_HELP).toContain(`${option} `);
}

/** A backups folder with old and new snapshots, manifests, a leftover partial file and a file of someone else's. */
function backupsFolder(): { root: string; old: string[]; kept: string[] } {
    const root = mkdtempSync(path.join(tmpdir(), "nexus-redis-prune-"));
    made.push(root);
    const old: string[] = [];
    const kept: string[] = [];
    const file = (relative: string, ageDays: number, list: string[]) => {
        const full = path.join(root, relative);
        mkdirSync(path.dirname(full), { recursive: true });
        writeFileSync(full, "x");
        const when = Date.now() / 1000 - ageDays * 86_400;
        utimesSync(full, when, when);
        list.push(relative);
    };
    file("contact/20260101T030000.000Z.rdb", 10, old);
    file("contact/20260101T030000.000Z.json", 10, old);
    file("contact/.20260101T040000.000Z.rdb.partial", 10, old);
    file("contact/20260126T030000.000Z.rdb", 1, kept);
    file("contact/20260126T030000.000Z.json", 1, kept);
    file("locker/20260126T030000.000Z.rdb", 0, kept);
    file("README.txt", 10, kept); // not in an environment's folder
    file("contact/notes.txt", 10, kept); // not a backup's file
    return { root, old, kept };
}

function remaining(root: string): string[] {
    return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => path.relative(root, path.join(d.parentPath, d.name)))
        .sort();
}

describe("the backup page's cron lines", () => {
    const lines = block("cron")
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const variables = Object.fromEntries(
        lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const jobs = lines.filter((l) => !/^[A-Z_]+=/.test(l)).map((l) => l.split(" "));

    it("are /etc/cron.d lines: five time fields, the user, the command", () => {
        expect(jobs).toHaveLength(2);
        const ranges = [59, 23, 31, 12, 7];
        for (const job of jobs) {
            job.slice(0, 5).forEach((field, i) => {
                expect(field === "*" || (/^\d+$/.test(field) && Number(field) <= ranges[i])).toBe(true);
            });
            expect(job[5]).toBe("root"); // the Docker socket
        }
        // cron would cut a command at an unescaped %.
        for (const line of lines) expect(line).not.toContain("%");
    });

    it("give cron what the backup needs: the Pulumi CLI on PATH, the stack's passphrase, restic's password", () => {
        expect(variables.PATH.split(":")).toEqual(expect.arrayContaining(["/root/.pulumi/bin", "/usr/local/bin", "/usr/bin"]));
        expect(variables.PULUMI_CONFIG_PASSPHRASE_FILE).toMatch(/^\//);
        expect(variables.RESTIC_PASSWORD_FILE).toMatch(/^\//);
    });

    it("back up every hour, from the project's folder, with options backup has, into a folder of their own", () => {
        const command = jobs[0].slice(6).join(" ");
        expect(jobs[0].slice(0, 5)).toEqual(["17", "*", "*", "*", "*"]);
        // The bin itself, as the page shows it: no npx, whose start-up would come on top.
        expect(command).toMatch(/^cd \/opt\/nexus-redis && \.\/bin\/nexus-redis\.js backup /);
        expectValidBackup(backupArgs(command), variables);
    });

    it("prune local snapshots, manifests and leftovers older than three days, and nothing else", () => {
        const { root, kept } = backupsFolder();
        const command = jobs[1].slice(6).join(" ").replace("/var/backups/nexus-redis", root);
        const run = spawnSync("/bin/sh", ["-c", command], { encoding: "utf8" });
        expect(run.status).toBe(0);
        expect(remaining(root)).toEqual([...kept].sort());
    });
});

describe("the backup page's systemd units", () => {
    const text = block("ini");
    const units = unitsOf(text);
    const analyze = systemdAnalyzeAvailable;

    it("are a service and its timer", () => {
        expect(Object.keys(units).sort()).toEqual(["nexus-redis-backup.service", "nexus-redis-backup.timer"]);
    });

    it.skipIf(!analyze)("pass systemd-analyze verify without a word", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-units-"));
        made.push(dir);
        expect(verifyUnits(units, dir)).toEqual({ output: "", status: 0 });
        expect(spawnSync("systemd-analyze", ["calendar", /^OnCalendar=(.*)$/m.exec(units["nexus-redis-backup.timer"])![1]]).status).toBe(0);
    });

    const setting = (name: string) =>
        [...units["nexus-redis-backup.service"].matchAll(new RegExp(`^${name}=(.*)$`, "gm"))].map((m) => m[1]);

    it("run the project's bin by its full path, with the PATH (for its shebang's node) and secrets files given, as backup takes its options", () => {
        const environment = Object.fromEntries(
            setting("Environment").map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
        );
        expect(environment.PATH.split(":")).toContain("/root/.pulumi/bin");
        const [exec] = setting("ExecStart");
        expect(exec).toMatch(/^\/opt\/nexus-redis\/bin\/nexus-redis\.js backup /);
        expect(setting("WorkingDirectory")).toEqual(["/opt/nexus-redis"]);
        expectValidBackup(backupArgs(exec), environment);
        expect(setting("Type")).toEqual(["oneshot"]);
    });

    it("prune as the cron line does, with find's arguments as systemd passes them (no shell)", () => {
        const { root, kept } = backupsFolder();
        const [post] = setting("ExecStartPost");
        const [program, ...args] = post.split(" ").map((a) => (a === "/var/backups/nexus-redis" ? root : a));
        const run = spawnSync(program, args, { encoding: "utf8" });
        expect(run.stderr).toBe("");
        expect(run.status).toBe(0);
        expect(remaining(root)).toEqual([...kept].sort());
    });
});
