/**
 * The deployment pipeline users get (.github/workflows/deploy.yml). It cannot run here (no
 * Pulumi CLI, no GitHub): the workflow is parsed and its triggers and steps checked (npm run
 * drift itself: test/unit/drift.test.ts); its steps run against a stand-in
 * `pulumi` on PATH that records its arguments.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BACKUP_HELP, parseBackupArgs } from "../../cli/backup/spec";
import { HELP } from "../../cli/main";

const ROOT = path.resolve(__dirname, "../..");

interface Step {
    name?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
}
interface Job {
    name: string;
    if?: string;
    environment?: string;
    needs?: string | string[];
    "runs-on": string | string[];
    steps: Step[];
}

const workflow = parse(readFileSync(path.join(ROOT, ".github/workflows/deploy.yml"), "utf8")) as {
    on: Record<string, { branches?: string[] } | unknown>;
    env: Record<string, string>;
    defaults: { run: { shell: string } };
    concurrency: { "cancel-in-progress": boolean };
    jobs: Record<string, Job>;
};
const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;

const runs = (job: Job) => job.steps.filter((s) => s.run).map((s) => s.run!.trim());
const indexOfRun = (job: Job, pattern: RegExp) => job.steps.findIndex((s) => s.run !== undefined && pattern.test(s.run));

describe("the deployment workflow", () => {
    it("runs on pull requests and pushes to main", () => {
        expect(workflow.on.pull_request).toEqual({ branches: ["main"] });
        expect(workflow.on.push).toEqual({ branches: ["main"] });
    });

    it("takes the Pulumi credentials from repository secrets, never from the file", () => {
        expect(workflow.env.PULUMI_CONFIG_PASSPHRASE).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
        expect(workflow.env.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
    });

    it("runs every step with bash's pipefail, so a failing `pulumi stack output` fails the check", () => {
        expect(workflow.defaults.run.shell).toBe("bash");
    });

    it("never cancels a deployment half done", () => {
        expect(workflow.concurrency["cancel-in-progress"]).toBe(false);
    });

    it("builds and runs the unit tests after a clean install, on pull requests and pushes", () => {
        const test = workflow.jobs.test;
        expect(runs(test)).toEqual(["npm ci", "npm run build", "npm run test:unit"]);
        expect(test.if).toBe("github.event_name != 'schedule'");
        for (const script of ["build", "test:unit"]) expect(scripts[script]).toBeDefined();
    });

    it("on a pull request, previews the change and checks the deployed fleet for drift against main", () => {
        const preview = workflow.jobs.preview;
        expect(preview.if).toBe(
            "github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository",
        );
        // The PR's code runs on the fleet's host: forks never, others after an approval.
        expect(preview.environment).toBe("fleet-preview");
        expect(runs(preview)).toContain('pulumi preview --refresh --diff --stack "$PULUMI_STACK"');

        const drift = workflow.jobs.drift;
        expect(drift.if).toContain("github.event_name == 'pull_request'");
        expect(drift.steps[0]).toEqual({
            uses: "actions/checkout@v4",
            with: { ref: "${{ github.event.pull_request.base.sha || github.sha }}" },
        });
        expect(runs(drift)).toContain('npm run drift -- --stack "$PULUMI_STACK"');
        expect(scripts.drift).toBe("bash scripts/drift.sh");
    });

    it("on main, deploys with `pulumi up --yes` after the tests, then checks the deployed stack with nexus-redis", () => {
        const deploy = workflow.jobs.deploy;
        expect(deploy.if).toBe("github.event_name == 'push' && github.ref == 'refs/heads/main'");
        expect(deploy.needs).toBe("test");
        const install = indexOfRun(deploy, /^npm ci$/);
        const cli = deploy.steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
        const up = indexOfRun(deploy, /^pulumi up --yes --stack "\$PULUMI_STACK"$/);
        const check = indexOfRun(
            deploy,
            /^pulumi stack output --json --show-secrets --stack "\$PULUMI_STACK" \| \.\/bin\/nexus-redis\.js check --outputs - /,
        );
        expect([install, cli, up, check].every((i) => i >= 0)).toBe(true);
        expect(install).toBeLessThan(up);
        expect(cli).toBeLessThan(up);
        expect(up).toBeLessThan(check);
        expect(deploy.steps[check].if).toBeUndefined();
    });

    it("runs the jobs that need the fleet on the fleet's Docker host, and refuses to start without a state backend", () => {
        for (const name of ["drift", "preview", "deploy", "backup"]) {
            const job = workflow.jobs[name];
            expect(job["runs-on"]).toEqual(["self-hosted", "nexus-redis"]);
            const guard = indexOfRun(job, /test -n "\$PULUMI_BACKEND_URL"/);
            expect(guard).toBeGreaterThanOrEqual(0);
            expect(guard).toBeLessThan(indexOfRun(job, /pulumi (up|preview|stack output)|npm run drift/));
        }
    });

    it("calls nexus-redis only with options it has", () => {
        const calls = Object.values(workflow.jobs).flatMap((job) => runs(job).filter((r) => r.includes("nexus-redis.js check")));
        expect(calls.length).toBeGreaterThanOrEqual(1);
        for (const call of calls) {
            for (const option of call.slice(call.indexOf("nexus-redis.js check")).match(/--[a-z-]+/g) ?? [])
                expect(HELP).toContain(`${option} `);
        }
    });
});

describe("the nightly backup job", () => {
    const job = workflow.jobs.backup;
    const step = (name: string) => {
        const found = job.steps.find((s) => s.name === name);
        if (!found?.run) throw new Error(`the backup job has no step "${name}"`);
        return found.run;
    };

    /**
     * Runs one step's script as GitHub's `shell: bash` does (`bash --noprofile --norc -eo
     * pipefail`) in a checkout of its own, with a stand-in `pulumi` on PATH and a stand-in bin in
     * the checkout (`./bin/nexus-redis.js`), which record their arguments.
     */
    function runStep(name: string, env: Record<string, string>, pulumiExit = 0) {
        const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-backup-job-"));
        const record = path.join(dir, "calls");
        const checkout = path.join(dir, "checkout");
        mkdirSync(path.join(checkout, "bin"), { recursive: true });
        const standIns: [string, string][] = [
            [path.join(dir, "pulumi"), `pulumi $*" >> "${record}"\necho '{}'; exit ${pulumiExit}`],
            [path.join(checkout, "bin/nexus-redis.js"), `./bin/nexus-redis.js $*" >> "${record}"\ncat >/dev/null`],
        ];
        for (const [file, body] of standIns) {
            writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "${body}\n`);
            chmodSync(file, 0o755);
        }
        const script = path.join(dir, "step.sh");
        writeFileSync(script, step(name));
        const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", script], {
            // GitHub runs each step in the checkout.
            cwd: checkout,
            env: {
                PATH: `${dir}:/usr/bin:/bin`,
                GITHUB_WORKSPACE: "/home/runner/work/nexus-redis/nexus-redis",
                PULUMI_STACK: "prod",
                ...env,
            },
            encoding: "utf8",
        });
        let calls: string[] = [];
        try {
            calls = readFileSync(record, "utf8").trimEnd().split("\n");
        } catch {
            // Nothing was called.
        }
        return { status: result.status, stdout: result.stdout, calls };
    }

    it("runs every night on the fleet's host, with the operator's folder and restic settings from repository variables", () => {
        expect(job.if).toBe("github.event_name == 'schedule'");
        expect(workflow.on.schedule).toEqual([{ cron: "17 5 * * *" }]);
        expect(job["runs-on"]).toEqual(["self-hosted", "nexus-redis"]);
        expect((job as unknown as { env: Record<string, string> }).env).toEqual({
            NEXUS_REDIS_BACKUP_DIR: "${{ vars.NEXUS_REDIS_BACKUP_DIR }}",
            NEXUS_REDIS_RESTIC_REPO: "${{ vars.NEXUS_REDIS_RESTIC_REPO }}",
            RESTIC_PASSWORD_FILE: "${{ vars.RESTIC_PASSWORD_FILE }}",
        });
    });

    it.each([
        ["unset (the default ./backups would be inside the checkout)", "", 1],
        ["relative", "backups", 1],
        ["inside the checkout, which every run wipes", "/home/runner/work/nexus-redis/nexus-redis/backups", 1],
        ["the checkout itself", "/home/runner/work/nexus-redis/nexus-redis", 1],
        ["an absolute folder outside the checkout", "/var/backups/nexus-redis", 0],
    ])("refuses to back up into a folder that is %s", (_what, folder, status) => {
        expect(runStep("Backup folder", { NEXUS_REDIS_BACKUP_DIR: folder }).status).toBe(status);
    });

    it("checks the folder before it backs up", () => {
        expect(job.steps.findIndex((s) => s.name === "Backup folder")).toBeLessThan(job.steps.findIndex((s) => s.name === "Back up"));
    });

    it("backs up the stack's vaults into the operator's folder, with options backup has", () => {
        const run = runStep("Back up", { NEXUS_REDIS_BACKUP_DIR: "/var/backups/nexus-redis" });
        expect(run.status).toBe(0);
        // The two sides of the pipe run at once: either may record first.
        expect([...run.calls].sort()).toEqual([
            "./bin/nexus-redis.js backup --outputs - --to /var/backups/nexus-redis",
            "pulumi stack output --json --show-secrets --stack prod",
        ]);
        const args = run.calls
            .find((c) => c.startsWith("./bin/nexus-redis.js"))!
            .split(" ")
            .slice(2);
        expect(parseBackupArgs(args, {})).toMatchObject({ to: "/var/backups/nexus-redis", outputs: "-" });
    });

    it("also stores into restic, with retention, when the operator set a repository", () => {
        const run = runStep("Back up", {
            NEXUS_REDIS_BACKUP_DIR: "/var/backups/nexus-redis",
            NEXUS_REDIS_RESTIC_REPO: "sftp:backup@store:/srv/restic",
            RESTIC_PASSWORD_FILE: "/etc/nexus-redis/restic.pw",
        });
        expect(run.status).toBe(0);
        const call = run.calls.find((c) => c.startsWith("./bin/nexus-redis.js"))!;
        expect(call).toBe(
            "./bin/nexus-redis.js backup --outputs - --to /var/backups/nexus-redis --restic-repo sftp:backup@store:/srv/restic --keep-daily 14 --keep-weekly 8 --keep-monthly 12",
        );
        const args = call.split(" ").slice(2);
        expect(parseBackupArgs(args, { RESTIC_PASSWORD_FILE: "/etc/nexus-redis/restic.pw" })).toMatchObject({
            resticRepo: "sftp:backup@store:/srv/restic",
            retention: { "keep-daily": "14", "keep-weekly": "8", "keep-monthly": "12" },
        });
        for (const option of args.filter((a) => a.startsWith("--"))) expect(BACKUP_HELP).toContain(`${option} `);
    });

    it("fails when the stack's outputs cannot be read (pipefail)", () => {
        expect(runStep("Back up", { NEXUS_REDIS_BACKUP_DIR: "/var/backups/nexus-redis" }, 255).status).not.toBe(0);
    });
});
