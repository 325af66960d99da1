/**
 * What `nexus-redis adopt` would do to the stack and what it says, on plain data: the exact
 * `pulumi config set` commands, one environment at a time (a secret on stdin, never on a command
 * line), the other Pulumi commands it runs (config get, preview, up), and the report it prints,
 * as a table and as JSON, never with a password. cli-adopt-shape.test.ts runs those commands
 * against a stand-in of the Pulumi CLI and hands the result to the program.
 */
import { describe, expect, it } from "vitest";
import { configGetCommand, configSetCommand, previewCommand, printable, upCommand } from "../../cli/core/pulumi";
import { configSteps } from "../../cli/adopt/plan";
import { type EnvironmentPlan, judgeEnvironment } from "../../cli/adopt/judge";
import { type AdoptReport, renderJson, renderTable } from "../../cli/adopt/report";
import { PASSWORD, contact, context, view, withRedis } from "./cliAdoptSamples";

describe("the stack's configuration, one environment at a time", () => {
    const first = judgeEnvironment(contact(), context());

    it("takes the network, the password as a secret, the data in place and one environments item, in that order", () => {
        const { steps, next } = configSteps(view(), first);
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            { command: ["pulumi", "config", "set", "createNetwork", "false"] },
            // The secret on stdin: never on a command line that ps shows.
            { command: ["pulumi", "config", "set", "--secret", "passwords"], input: `{"contact":{"vault":"${PASSWORD}"}}` },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data"}'] },
            { command: ["pulumi", "config", "set", "--path", "environments[0]", "contact"] },
        ]);
        expect(next).toMatchObject({
            createNetwork: false,
            environments: ["contact"],
            vaultData: { contact: "nexus3-contact-vault-data" },
        });
    });

    it("sets the network when the vaults are on another one, and passes --stack", () => {
        const other = { ...first, vault: { ...first.vault!, network: "nexus-net-2" } };
        const { steps } = configSteps(view(), other);
        expect(configSetCommand(steps[0], "prod")).toEqual({
            command: ["pulumi", "config", "set", "--stack", "prod", "network", "nexus-net-2"],
        });
        expect(configGetCommand("passwords", "prod")).toEqual(["pulumi", "config", "get", "--stack", "prod", "passwords"]);
        expect(previewCommand("prod")).toEqual(["pulumi", "preview", "--diff", "--stack", "prod"]);
        expect(upCommand("prod")).toEqual(["pulumi", "up", "--yes", "--skip-preview", "--stack", "prod"]);
        expect(upCommand(undefined)).toEqual(["pulumi", "up", "--yes", "--skip-preview"]);
    });

    it("merges the second environment into what the first left, and appends its item", () => {
        const { next } = configSteps(view(), first);
        const kb: EnvironmentPlan = { ...first, name: "kb", item: "kb", vaultData: "/srv/kb", password: "kb-pw" };
        const { steps } = configSteps(next, kb);
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            {
                command: ["pulumi", "config", "set", "--secret", "passwords"],
                input: `{"contact":{"vault":"${PASSWORD}"},"kb":{"vault":"kb-pw"}}`,
            },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data","kb":"/srv/kb"}'] },
            { command: ["pulumi", "config", "set", "--path", "environments[1]", "kb"] },
        ]);
    });

    it("keeps what the stack already holds: its passwords of other environments, and an item already listed", () => {
        const v = view({ environments: '["user","contact"]', passwords: '{"user":{"vault":"u","backup":"b"}}', createNetwork: "false" });
        const { steps } = configSteps(v, judgeEnvironment(contact({}, v), context(v)));
        expect(steps.map((s) => configSetCommand(s, undefined))).toEqual([
            {
                command: ["pulumi", "config", "set", "--secret", "passwords"],
                input: `{"user":{"vault":"u","backup":"b"},"contact":{"vault":"${PASSWORD}"}}`,
            },
            { command: ["pulumi", "config", "set", "vaultData", '{"contact":"nexus3-contact-vault-data"}'] },
        ]);
    });

    it("prints a command to paste, and never the secret it gives on stdin", () => {
        const { steps } = configSteps(view(), first);
        expect(printable(configSetCommand(steps[1], "dev"))).toBe(
            "pulumi config set --stack dev --secret passwords  # the value on stdin (secret)",
        );
        expect(printable(configSetCommand(steps[3], undefined))).toBe("pulumi config set --path 'environments[0]' contact");
    });

    it("refuses a configuration the program itself would refuse (a port another environment uses)", () => {
        const v = view({ environments: '["kb=6630/6640"]' });
        expect(() => configSteps(v, first)).toThrow(
            /would give the stack a configuration the program refuses:[\s\S]*host port 6630 is used by both kb vault and contact vault/,
        );
    });
});

describe("the report", () => {
    const plan = judgeEnvironment(contact(), context());
    const report: AdoptReport = {
        dryRun: true,
        plans: [plan],
        commands: ["pulumi config set --secret passwords '[secret]'"],
        outcomes: {},
    };

    it("shows what was found and what would run, and never a password", () => {
        const table = renderTable(report);
        expect(table).toContain(
            "contact  standard  adopt   nexus3-contact-vault 127.0.0.1:6630  volume nexus3-contact-vault-data  100000  7.2.4",
        );
        expect(table).toContain("would run, in this order");
        expect(table).toContain("1 environment: 1 to adopt: nothing was changed (--dry-run)");
        expect(table).not.toContain(PASSWORD);
        const json = renderJson(report);
        expect(JSON.parse(json)).toMatchObject({
            dryRun: true,
            changed: false,
            environments: [{ name: "contact", status: "adopt", vault: { data: { kind: "volume", name: "nexus3-contact-vault-data" } } }],
        });
        expect(json).not.toContain(PASSWORD);
    });

    it("counts every database's keys in the KEYS column, and lists them by database when more than one holds keys", () => {
        const keyspace = { 0: { keys: 17_004, expires: 0 }, 3: { keys: 17_000, expires: 0 }, 9: { keys: 16_998, expires: 0 } };
        const many = judgeEnvironment(contact({ vaultRedis: { ...contact().vaultRedis, keyspace } }), context());
        const table = renderTable({ ...report, plans: [many] });
        expect(table).toMatch(
            /contact +standard +adopt +nexus3-contact-vault 127\.0\.0\.1:6630 +volume nexus3-contact-vault-data +51002 +7\.2\.4/,
        );
        expect(table).toContain("  · keys by database: db0 17004, db3 17000, db9 16998");
        expect(JSON.parse(renderJson({ ...report, plans: [many] })).environments[0].vault).toMatchObject({
            keys: 51_002,
            keysByDatabase: { db0: 17_004, db3: 17_000, db9: 16_998 },
        });
        expect(renderTable(report)).not.toContain("keys by database");
    });

    it("says an environment was rolled back, with what adopt did, one item a line", () => {
        const table = renderTable({
            ...report,
            dryRun: false,
            outcomes: {
                contact: { status: "rolled back", message: "contact: the new vault stopped\nadopt put everything back by itself: ..." },
            },
        });
        expect(table).toMatch(/contact +standard +ROLLED BACK/);
        expect(table).toContain("  - contact: the new vault stopped\n    adopt put everything back by itself: ...");
        expect(table).toContain("1 environment: 1 rolled back");
    });

    it("says that a refusal changed nothing", () => {
        const refused = judgeEnvironment(withRedis(contact(), { loading: "1" }), context());
        expect(renderTable({ ...report, plans: [refused], commands: [] })).toContain("1 environment: 1 refused: nothing was changed");
    });
});
