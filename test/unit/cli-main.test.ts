/**
 * The CLI as a user calls it, in-process: `main(argv, io)` with its own stdout, stderr, stdin
 * and command runner. The network parts use loopback ports that refuse or never answer, so
 * no Docker is needed; the live suite covers a real fleet.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELP } from "../../cli/main";
import { cli } from "./cliRun";
import type { EnvironmentsOutput } from "../../cli/fleet/environment";
import { isSynced, operationalUrns } from "../../cli/recover/recover";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import type { EnvironmentObservation } from "../../cli/health/observe";
import { parseInfo } from "../../cli/redis/replies";
import type { CommandRunner } from "../../cli/core/runner";
import { contact, fleetOutputs, healthyStandard, replicaInfoText, user } from "./cli-samples";

function outputsFile(environments: EnvironmentsOutput): string {
    const dir = mkdtempSync(path.join(tmpdir(), "nexus-redis-cli-"));
    const file = path.join(dir, "outputs.json");
    writeFileSync(file, JSON.stringify({ environments }));
    return file;
}

const samples = outputsFile(fleetOutputs);

describe("help", () => {
    it("prints one help text with usage, options, examples and exit codes, and exits 0", async () => {
        for (const argv of [["--help"], ["check", "--help"], ["recover", "-h"], ["help"]]) {
            const run = await cli(argv);
            expect(run).toMatchObject({ code: 0, stdout: `${HELP}\n`, stderr: "" });
        }
        for (const section of ["Usage:", "Options:", "Examples:", "Exit codes:"]) expect(HELP).toContain(section);
    });
});

describe.each<[string, string[], RegExp]>([
    ["no command", [], /a command is required: check, recover, adopt, rotate, backup, restore/],
    ["an unknown command", ["status"], /unknown command "status"; the commands are check, recover, adopt, rotate, backup, restore/],
    ["backup after an option", ["--json", "backup"], /backup must come first: nexus-redis backup \[options\]/],
    ["an unknown option", ["check", "--verbose"], /Unknown option '--verbose'/],
    ["an option of the other command", ["recover", "contact", "--fix"], /--fix is not an option of recover/],
    ["--json on recover", ["recover", "contact", "--json"], /--json is not an option of recover/],
    ["--force without --fix", ["check", "--force"], /--force only applies to --fix/],
    ["--sync-timeout without --fix", ["check", "--sync-timeout", "90000"], /--sync-timeout only applies to --fix/],
    ["--sync-timeout on recover", ["recover", "contact", "--sync-timeout", "90000"], /--sync-timeout is not an option of recover/],
    [
        "a sync timeout that is not a number",
        ["check", "--fix", "--sync-timeout", "1m"],
        /--sync-timeout must be a whole number of milliseconds above 0, got "1m"/,
    ],
    ["a timeout that is not a number", ["check", "--timeout", "3s"], /--timeout must be a whole number of milliseconds above 0, got "3s"/],
    ["a zero timeout", ["check", "--timeout", "0"], /--timeout must be a whole number of milliseconds above 0, got "0"/],
    ["a wait that is not a number", ["check", "--wait", "soon"], /--wait must be a whole number of milliseconds above 0, got "soon"/],
    ["an argument to check", ["check", "contact"], /check takes no arguments, got "contact" \(use --env NAME/],
    ["recover without an environment", ["recover"], /recover takes exactly one environment, got none/],
    ["recover with two environments", ["recover", "a", "b"], /recover takes exactly one environment, got "a b"/],
])("%s", (_what, argv, message) => {
    it("is a usage error: exit 2, a message on stderr, nothing on stdout", async () => {
        const run = await cli(argv);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(message);
        expect(run.stdout).toBe("");
    });
});

describe("configuration errors", () => {
    it("exits 2 naming an unknown --env and the stack's environments", async () => {
        const run = await cli(["check", "--outputs", samples, "--env", "contact", "--env", "nope"]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/unknown environment "nope" in --env; the stack's are contact, kb, user/);
    });

    it("exits 2 telling the user to pass --show-secrets for outputs with hidden passwords", async () => {
        const hidden = JSON.stringify({ environments: { user: { ...user, vault: { ...user.vault, password: "[secret]" } } } });
        const run = await cli(["check", "--outputs", "-"], { stdin: hidden });
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/environments\.user\.vault\.password is "\[secret\]"/);
        expect(run.stderr).toMatch(/pass --show-secrets/);
    });

    it("exits 2 when no --outputs is given and the Pulumi CLI is missing", async () => {
        const run = await cli(["check"]);
        expect(run.code).toBe(2);
        expect(run.commands.map(([c]) => c)).toEqual([["pulumi", "stack", "output", "--json", "--show-secrets"]]);
        expect(run.stderr).toMatch(/the Pulumi CLI \(pulumi\) is not on PATH/);
    });
});

describe("an internal error", () => {
    it("exits 3, not 1: a crash is no finding about the fleet, and says so on stderr", async () => {
        const run = await cli(["check", "--outputs", "-"], { stdin: new Error("boom: a bug") });
        expect(run.code).toBe(3);
        expect(run.stdout).toBe("");
        expect(run.stderr).toMatch(/^nexus-redis: internal error: Error: boom: a bug/);
    });

    it("is documented in the help's exit codes", () => {
        expect(HELP).toMatch(/^ {2}3 {2}internal error/m);
    });
});

describe("checking servers that refuse or never answer", () => {
    let silent: net.Server;
    let silentPort = 0;
    let closedPort = 0;
    const sockets: net.Socket[] = [];

    beforeAll(async () => {
        // Accepts connections and never says a word: a hung host.
        silent = net.createServer((socket) => sockets.push(socket));
        await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
        silentPort = (silent.address() as net.AddressInfo).port;
        // A port nothing listens on: taken, then released.
        const probe = net.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        closedPort = (probe.address() as net.AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
    });

    afterAll(async () => {
        for (const s of sockets) s.destroy();
        await new Promise((resolve) => silent.close(resolve));
    });

    const environments = (): EnvironmentsOutput => ({
        hung: { ...user, vault: { ...user.vault, port: silentPort } },
        stopped: {
            ...contact,
            vault: { ...contact.vault, port: closedPort },
            operational: { ...contact.operational, port: closedPort },
        },
    });

    it("reports each in words, exits 1 and prints exactly one JSON document", async () => {
        const run = await cli(["check", "--outputs", "-", "--json", "--timeout", "300"], {
            stdin: JSON.stringify({ environments: environments() }),
        });
        expect(run.code).toBe(1);
        expect(run.stderr).toBe("");
        const document = JSON.parse(run.stdout);
        expect(document.summary).toEqual({ ok: 0, fixed: 0, problem: 2 });
        const [hung, stopped] = document.environments;
        expect(hung.problems).toEqual([
            {
                code: "vault-unreachable",
                message: `vault 127.0.0.1:${silentPort} accepted the connection but did not answer AUTH within 300 ms`,
            },
        ]);
        expect(stopped.problems.map((p: { code: string }) => p.code)).toEqual(["vault-unreachable", "operational-unreachable"]);
        expect(stopped.problems[0].message).toBe(
            `vault 127.0.0.1:${closedPort} refused the connection (nothing listens: container stopped?)`,
        );
    });

    it("with --fix, repairs nothing and says why", async () => {
        const run = await cli(["check", "--outputs", "-", "--fix", "--timeout", "300", "--env", "stopped"], {
            stdin: JSON.stringify({ environments: environments() }),
        });
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(/^stopped\s+standard\s+PROBLEM\s+-\s+vault 127\.0\.0\.1:\d+ refused the connection/m);
        expect(run.stdout).toContain("the operational is not answering: nothing could be repaired (`nexus-redis recover` replaces it)");
        expect(run.stderr).toBe("checking 1 environment (repairing what is safe)...\n");
    });
});

describe("recover", () => {
    const pulumi =
        (stackName = "dev"): CommandRunner =>
        async (command) => {
            if (command.join(" ") === "pulumi stack --show-name") return { exitCode: 0, stdout: `${stackName}\n`, stderr: "" };
            throw new Error(`unexpected command ${command.join(" ")}`);
        };

    it("--dry-run prints the exact Pulumi command for the given stack, and runs nothing", async () => {
        const run = await cli(["recover", "contact", "--stack", "prod", "--dry-run", "--outputs", samples], { runner: pulumi() });
        const urns = operationalUrns("nexus-redis", "prod", "contact");
        expect(run.code).toBe(0);
        expect(run.commands).toEqual([]);
        expect(run.stdout).toBe(
            `pulumi up --yes --stack prod --target '${urns.container}' --target '${urns.volume}' --replace '${urns.container}' --replace '${urns.volume}'\n`,
        );
        expect(urns.container).toBe(
            "urn:pulumi:prod::nexus-redis::nexus-redis:redis:StandardEnvironment$docker:index/container:Container::contact-operational",
        );
        expect(urns.volume).toBe(
            "urn:pulumi:prod::nexus-redis::nexus-redis:redis:StandardEnvironment$docker:index/volume:Volume::contact-operational-data",
        );
    });

    it("builds the URNs for the selected stack when no --stack is given, without passing --stack to Pulumi", async () => {
        const run = await cli(["recover", "kb", "--dry-run", "--outputs", samples], { runner: pulumi("staging") });
        expect(run.code).toBe(0);
        expect(run.commands.map(([c]) => c)).toEqual([["pulumi", "stack", "--show-name"]]);
        expect(run.stdout).toMatch(/^pulumi up --yes --target 'urn:pulumi:staging::nexus-redis::/);
        expect(run.stdout).not.toContain("--stack");
    });

    it("uses PULUMI_STACK, as Pulumi does, and the stack's short name in URNs", async () => {
        const run = await cli(["recover", "kb", "--dry-run", "--outputs", samples], { env: { PULUMI_STACK: "acme/nexus-redis/blue" } });
        expect(run.code).toBe(0);
        expect(run.commands).toEqual([]);
        expect(run.stdout).toContain("'urn:pulumi:blue::nexus-redis::");
    });

    it("refuses a secure environment: exit 2, and no Pulumi command", async () => {
        const run = await cli(["recover", "user", "--stack", "dev", "--outputs", samples], { runner: pulumi() });
        expect(run.code).toBe(2);
        expect(run.commands).toEqual([]);
        expect(run.stderr).toMatch(/"user" is a secure environment: it has no operational to recover, and recover never replaces a vault/);
    });

    it("refuses an environment the stack does not have: exit 2", async () => {
        const run = await cli(["recover", "billing", "--stack", "dev", "--outputs", samples], { runner: pulumi() });
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/unknown environment "billing"; the stack's are contact, kb, user/);
    });

    it("exits 2 when it needs the Pulumi CLI and it is missing", async () => {
        const run = await cli(["recover", "contact", "--dry-run", "--outputs", samples]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/the Pulumi CLI \(pulumi\) is not on PATH/);
    });

    it("does not run Pulumi when the vault does not answer: the new operational would restore from it", async () => {
        const probe = net.createServer();
        await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
        const port = (probe.address() as net.AddressInfo).port;
        await new Promise((resolve) => probe.close(resolve));
        const file = outputsFile({
            contact: { ...contact, vault: { ...contact.vault, port }, operational: { ...contact.operational, port } },
        });
        const run = await cli(["recover", "contact", "--stack", "dev", "--outputs", file], { runner: pulumi() });
        expect(run.code).toBe(1);
        expect(run.commands).toEqual([]);
        expect(run.stderr).toMatch(
            new RegExp(
                `contact's vault 127\\.0\\.0\\.1:${port} refused the connection .*: the new operational would restore from it; repair the vault first`,
            ),
        );
    });

    describe("when the new operational counts as synced", () => {
        const context = diagnosisContext(fleetOutputs);
        const synced = (change: (o: EnvironmentObservation) => void) => {
            const o = healthyStandard();
            change(o);
            return isSynced(diagnose(contact, o, context));
        };

        it("is synced once it replicates from its vault with the link up", () => {
            expect(synced(() => undefined)).toBe(true);
        });

        it("is not synced while it loads its first sync or its link is down", () => {
            expect(
                synced(
                    (o) => (o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down", master_sync_in_progress: "1" }))),
                ),
            ).toBe(false);
            expect(synced((o) => (o.operational!.info = parseInfo(replicaInfoText({ master_link_status: "down" }))))).toBe(false);
            expect(synced((o) => (o.operational = { failure: { kind: "refused", command: "INFO replication", message: "refused" } }))).toBe(
                false,
            );
        });

        it("does not wait for a drifted vault setting, which a recovery of the operational cannot change", () => {
            expect(synced((o) => (o.vault.config!["repl-backlog-ttl"] = "60"))).toBe(true);
        });
    });
});
