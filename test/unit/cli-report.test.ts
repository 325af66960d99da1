import { describe, expect, it } from "vitest";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import type { EnvironmentObservation } from "../../cli/health/observe";
import type { EnvironmentOutput } from "../../cli/fleet/environment";
import { parseInfo } from "../../cli/redis/replies";
import { buildReport } from "../../cli/health/checkFleet";
import { type FleetReport, exitCode, renderJson, renderTable, statusOf } from "../../cli/health/report";
import { formatBytes } from "../../cli/core/format";
import { SAMPLE_SECRETS, contact, fleetOutputs, healthySecure, healthyStandard, kb, promotedInfoText, user } from "./cli-samples";

const context = diagnosisContext(fleetOutputs);

/** A report as checkFleet builds it, from observations. */
function reportOf(entries: [string, EnvironmentOutput, EnvironmentObservation, string[]?][], durationMs = 7): FleetReport {
    return buildReport(
        entries.map(([name, env, observation, changes = []]) => ({
            name,
            env,
            diagnosis: diagnose(env, observation, context),
            observation,
            extra: [],
            changes,
            durationMs,
        })),
    );
}

const wrongMasterauth = (): EnvironmentObservation => {
    const o = healthyStandard(kb);
    o.operational!.config!.masterauth = "typo";
    return o;
};
const promoted = (): EnvironmentObservation => {
    const o = healthyStandard();
    o.operational!.info = parseInfo(promotedInfoText());
    return o;
};

describe("exit codes", () => {
    it.each<[string, number, FleetReport]>([
        [
            "every environment healthy",
            0,
            reportOf([
                ["contact", contact, healthyStandard()],
                ["user", user, healthySecure()],
            ]),
        ],
        [
            "an environment repaired by --fix",
            0,
            reportOf([["contact", contact, healthyStandard(), ["REPLICAOF nexus3-contact-vault 6379 (was NO ONE)"]]]),
        ],
        [
            "one environment with a problem among healthy ones",
            1,
            reportOf([
                ["contact", contact, healthyStandard()],
                ["kb", kb, wrongMasterauth()],
            ]),
        ],
    ])("with %s, the exit code is %i", (_what, code, result) => {
        expect(exitCode(result)).toBe(code);
    });

    it("counts what --fix could not do as a problem, after the diagnosis's own", () => {
        const notFixed = { code: "not-fixed" as const, message: "the operational is not answering" };
        const report = buildReport([
            {
                name: "contact",
                env: contact,
                diagnosis: diagnose(contact, healthyStandard(), context),
                observation: healthyStandard(),
                extra: [notFixed],
                changes: [],
                durationMs: 3,
            },
        ]);
        expect(report.environments[0]).toMatchObject({ status: "problem", problems: [notFixed] });
        expect(report.measurements.contact).toMatchObject({ durationMs: 3 });
        expect(exitCode(report)).toBe(1);
    });

    it("an environment is ok, fixed or a problem, by what remains", () => {
        expect(statusOf([], [])).toBe("ok");
        expect(statusOf([], ["x"])).toBe("fixed");
        expect(statusOf([{ code: "link-down", message: "m" }], ["x"])).toBe("problem");
    });
});

describe("the JSON document", () => {
    const report = reportOf([
        ["contact", contact, promoted()],
        ["kb", kb, wrongMasterauth()],
        ["user", user, healthySecure()],
    ]);
    const document = JSON.parse(renderJson(report));

    it("is one JSON document with the state first and the measurements apart", () => {
        expect(Object.keys(document)).toEqual(["healthy", "summary", "environments", "measurements"]);
        expect(document.healthy).toBe(false);
        expect(document.summary).toEqual({ ok: 1, fixed: 0, problem: 2 });
        expect(Object.keys(document.environments[0])).toEqual([
            "name",
            "kind",
            "status",
            "vault",
            "operational",
            "replication",
            "problems",
            "changes",
        ]);
        expect(document.measurements.user).toEqual({ lagBytes: null, lagSeconds: null, durationMs: 7 });
    });

    it("keeps each problem's code and words, and the setting concerned", () => {
        expect(document.environments[1].problems).toEqual([
            {
                code: "masterauth-drift",
                setting: "masterauth",
                message: "masterauth differs from the stack's replication password (CONFIG SET by hand?): the vault refuses the replica",
            },
        ]);
    });

    it("reads the same for the same fleet state, whatever the lag and durations measured", () => {
        const again = reportOf(
            [
                ["contact", contact, promoted()],
                ["kb", kb, wrongMasterauth()],
                ["user", user, healthySecure()],
            ],
            250,
        );
        again.measurements.kb = { lagBytes: 14, lagSeconds: 0, durationMs: 3 };
        const strip = (text: string) => {
            const { measurements: _m, ...state } = JSON.parse(text);
            return JSON.stringify(state);
        };
        expect(strip(renderJson(again))).toBe(strip(renderJson(report)));
        expect(renderJson(again)).not.toBe(renderJson(report));
    });

    it("never holds a password", () => {
        const text = renderJson(report);
        for (const secret of SAMPLE_SECRETS) expect(text).not.toContain(secret);
    });
});

describe("the table", () => {
    const report = reportOf([
        ["contact", contact, promoted()],
        ["kb", kb, wrongMasterauth(), []],
        ["user", user, healthySecure()],
    ]);
    const table = renderTable(report);
    const lines = table.split("\n");

    it("has one row per environment with its status and first problem in words", () => {
        expect(lines[0]).toMatch(/^ENV\s+KIND\s+STATUS\s+LAG\s+PROBLEM$/);
        expect(lines[1]).toMatch(
            /^contact\s+standard\s+PROBLEM\s+-\s+the operational is not a replica \(role:master; REPLICAOF NO ONE\?\)/,
        );
        expect(lines[2]).toMatch(/^kb\s+standard\s+PROBLEM\s+42 B, 1 s\s+masterauth differs/);
        expect(lines[3]).toMatch(/^user\s+secure\s+ok\s+-\s+-$/);
    });

    it("aligns its columns", () => {
        const statusColumn = lines[0].indexOf("STATUS");
        for (const line of lines.slice(1, 4)) expect(line.slice(statusColumn)).toMatch(/^(PROBLEM|ok)/);
    });

    it("ends with a one-line summary", () => {
        expect(table.trimEnd().split("\n").pop()).toBe("3 environments: 1 ok, 2 with problems");
    });

    it("lists every problem and change of an environment that has more than one", () => {
        const fixed = reportOf([
            [
                "contact",
                contact,
                healthyStandard(),
                ["CONFIG SET masterauth to the stack's replication password", "REPLICAOF nexus3-contact-vault 6379 (was NO ONE)"],
            ],
        ]);
        const text = renderTable(fixed);
        expect(text).toMatch(/^contact\s+standard\s+FIXED\s+42 B, 1 s\s+repaired: 2 changes$/m);
        expect(text).toContain(
            "contact:\n  + CONFIG SET masterauth to the stack's replication password\n  + REPLICAOF nexus3-contact-vault 6379 (was NO ONE)\n",
        );
        expect(text.trimEnd().split("\n").pop()).toBe("1 environment: 0 ok, 1 fixed");
    });

    it("never holds a password", () => {
        for (const secret of SAMPLE_SECRETS) expect(table).not.toContain(secret);
    });

    it("shows lag in readable units", () => {
        expect([formatBytes(0), formatBytes(2048), formatBytes(3 * 1024 * 1024)]).toEqual(["0 B", "2.0 KiB", "3.0 MiB"]);
    });
});
