/**
 * What users do to a Docker stack, planned as the real engine and provider would plan it
 * (plan/engineRun.ts): the dev stack applied once, then each change previewed (and some
 * applied) from the state that left. The sets here are the README's promises.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import { refreshState } from "../../plan/engine";
import { containerNameConflicts, operations } from "../../plan/engineApply";
import type { EngineResult } from "../../plan/engineProcess";
import { changes, rotated, runAll, stepOf } from "./engineRuns";

const ALL = PROTOCOL_ENVIRONMENTS.map((e) => e.name);
const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").map((e) => e.name);
const containers = ALL.flatMap((e) => (STANDARD.includes(e) ? [`${e}-vault`, `${e}-operational`] : [`${e}-vault`]));
const each = (op: string, names: string[]) => names.map((n) => `${op} ${n}`);
/** One password of each kind, each in an environment of its own. */
const ROTATIONS = { contact: "vault", links: "backup", track: "replication", web: "operationalAdmin" };

let base: EngineResult;
let runs: Record<string, EngineResult>;
let limited: EngineResult;
let afterLimit: Record<string, EngineResult>;
let afterApply: Record<string, EngineResult>;

beforeAll(async () => {
    ({ base } = await runAll({ base: { mode: "apply" } }));
    const from = (more: object) => ({ mode: "preview" as const, prior: base.state, ...more });
    runs = await runAll({
        second: from({}),
        secondApply: { ...from({}), mode: "apply" as const },
        rotation: from({ secrets: rotated(ROTATIONS) }),
        image: from({ values: { image: "redis:7.4" } }),
        environments: from({ values: { environments: JSON.stringify([...ALL.filter((e) => e !== "kb"), "extra=7000/7001"]) } }),
        prefix: from({ values: { containerPrefix: "nexus4" } }),
        platform: from({
            values: { platform: "swarm", image: `redis:7.2@sha256:${"a".repeat(64)}`, swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy"}' },
        }),
    });
    ({ limited } = await runAll({ limited: { mode: "apply", prior: base.state, values: { memoryLimitMb: "512" } } }));
    const fromLimit = (memoryLimitMb: string, mode: "preview" | "apply" = "preview") => ({
        mode,
        prior: limited.state,
        values: { memoryLimitMb },
    });
    afterLimit = await runAll({
        again: fromLimit("512"),
        raise: fromLimit("1024"),
        lower: fromLimit("256"),
        remove: fromLimit("0"),
        raised: fromLimit("1024", "apply"),
        removed: fromLimit("0", "apply"),
    });
    afterApply = await runAll({
        raised: { mode: "preview", prior: afterLimit.raised.state, values: { memoryLimitMb: "1024" } },
        removed: { mode: "preview", prior: afterLimit.removed.state, values: { memoryLimitMb: "0" } },
    });
}, 600_000);

describe("a docker stack under the engine", () => {
    it("creates everything on the first up", () => {
        expect(changes(base)).toHaveLength(102);
        expect(base.steps.every((s) => s.op === "create")).toBe(true);
    });

    it("plans nothing on a second up with no change, and an up changes nothing", () => {
        expect(changes(runs.second)).toEqual([]);
        expect(changes(runs.secondApply)).toEqual([]);
        expect(runs.secondApply.state).toEqual(base.state);
    });
});

describe.each([
    ["vault", "contact", ["delete contact-vault-password", "replace contact-vault"]],
    ["backup", "links", ["delete links-backup-password", "replace links-vault"]],
    ["replication", "track", ["delete track-replication-password", "replace track-operational", "replace track-vault"]],
    ["operationalAdmin", "web", ["delete web-operational-admin-password", "replace web-operational"]],
])("rotating the %s password (of %s)", (_role, env, expected) => {
    it(`replaces exactly ${expected.filter((e) => e.startsWith("replace")).join(", ")}, each on its own changes`, () => {
        expect(changes(runs.rotation).filter((c) => c.split(" ")[1].startsWith(`${env}-`))).toEqual(expected);
        for (const name of [`${env}-vault`, `${env}-operational`]) {
            const step = stepOf(runs.rotation, name);
            if (step.op === "replace") expect(step.dependentOf, `${name} replaced for another's sake`).toBeUndefined();
        }
    });
});

it("rotating those four passwords together touches nothing of any other environment", () => {
    expect(changes(runs.rotation).filter((c) => !/ (contact|links|track|web)-/.test(c))).toEqual([]);
});

describe("changing the image", () => {
    it("pulls the new image and replaces every container (the image ID is ForceNew), each delete-first", () => {
        expect(changes(runs.image)).toEqual(["replace redis-image", ...each("replace", containers)].sort());
        for (const name of containers) expect(stepOf(runs.image, name)).toMatchObject({ deleteFirst: true, deletesFirst: [] });
    });
});

describe("memoryLimitMb", () => {
    it("added: replaces the vaults (their maxmemory) and the operationals (the label that says a limit is set)", () => {
        expect(changes(limited)).toEqual(each("replace", containers).sort());
        expect(stepOf(limited, "contact-operational")).toMatchObject({ changes: [{ path: "labels", replace: true }] });
    });

    it("added and applied, plans nothing on the next up", () => {
        expect(changes(afterLimit.again)).toEqual([]);
    });

    it.each([
        ["raised", "raise"],
        ["lowered", "lower"],
    ])("%s: replaces the vaults, updates each operational's memory and swap limit together in place", (_what, run) => {
        const vaults = ALL.map((e) => `replace ${e}-vault`);
        const operationals = STANDARD.map((e) => `update ${e}-operational`);
        expect(changes(afterLimit[run])).toEqual([...vaults, ...operationals].sort());
        expect(stepOf(afterLimit[run], "contact-operational")).toMatchObject({
            changes: [
                { path: "memory", replace: false },
                { path: "memorySwap", replace: false },
            ],
        });
    });

    it("removed: replaces every container, since Docker cannot take a limit away in place", () => {
        expect(changes(afterLimit.remove)).toEqual(each("replace", containers).sort());
    });

    it.each(["raised", "removed"])("%s and applied, plans nothing on the next up", (run) => {
        expect(changes(afterApply[run])).toEqual([]);
    });
});

describe("environments", () => {
    it("removing one deletes its resources alone, and keeps its vault's volume; adding one creates its resources alone", () => {
        const removed = changes(runs.environments).filter((c) => c.startsWith("delete"));
        const added = changes(runs.environments).filter((c) => !c.startsWith("delete"));
        expect(removed).toEqual(
            [
                "kb",
                "kb-vault-password",
                "kb-replication-password",
                "kb-operational-admin-password",
                "kb-backup-password",
                "kb-vault-data",
                "kb-vault",
                "kb-operational-data",
                "kb-operational",
            ]
                .map((n) => `delete ${n}`)
                .sort(),
        );
        expect(stepOf(runs.environments, "kb-vault-data")).toMatchObject({ op: "delete", retain: true });
        expect(added).toHaveLength(9);
        expect(added.every((c) => c.startsWith("create extra"))).toBe(true);
    });
});

describe("a new containerPrefix", () => {
    it("renames every container and the operationals' volumes, and keeps each vault on its volume of the old name", () => {
        const vaultVolumes = ALL.map((e) => `${e}-vault-data`);
        expect(changes(runs.prefix)).toEqual(
            [
                ...each("replace", containers),
                ...each(
                    "replace",
                    STANDARD.map((e) => `${e}-operational-data`),
                ),
            ].sort(),
        );
        for (const name of vaultVolumes) expect(stepOf(runs.prefix, name).op).toBe("same");
        const vault = runs.prefix.plan.resources.find((r) => r.name === "contact-vault")!;
        expect(vault.inputs.name).toBe("nexus4-contact-vault");
        expect(vault.inputs.volumes).toEqual([{ volumeName: "nexus3-contact-vault-data", containerPath: "/data" }]);
    });
});

describe("switching platform to swarm on a stack that holds data", () => {
    it("is no migration: the network goes first with every container, the Docker volumes are kept, and Swarm vaults start on their nodes' volumes", () => {
        const network = stepOf(runs.platform, "storage-network");
        expect(network).toMatchObject({ op: "replace", deleteFirst: true });
        // Every container takes its network's name from the network's outputs: it goes first.
        const deletedFirst = network.op === "replace" ? network.deletesFirst.map((urn) => urn.split("::").pop()) : [];
        expect(deletedFirst.sort()).toEqual([...containers].sort());
        for (const e of ALL) expect(stepOf(runs.platform, `${e}-vault-data`)).toMatchObject({ op: "delete", retain: true });
        for (const e of ALL) {
            expect(stepOf(runs.platform, `${e}-vault`, "docker:index/container:Container").op).toBe("delete");
            expect(stepOf(runs.platform, `${e}-vault`, "docker:index/service:Service").op).toBe("create");
        }
    });
});

describe("a vault container re-created by hand beside the stack (drift)", () => {
    it("leaves the state on refresh (Read finds no container of its ID), so the preview creates it, and Docker refuses that create: the name is taken", async () => {
        // The engine holds every container of the stack, the vault's being another container of the same name.
        const names = base.state.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => String(r.inputs.name));
        const refreshed = refreshState(base.state, (r) => r.name !== "contact-vault");
        expect(refreshed.resources).toHaveLength(base.state.resources.length - 1);
        const { preview, applied } = await runAll({
            preview: { mode: "preview", prior: refreshed },
            applied: { mode: "apply", prior: refreshed },
        });
        expect(changes(preview)).toEqual(["create contact-vault"]);
        const ops = operations(applied.steps, refreshed, applied.state);
        expect(containerNameConflicts(ops, names)).toEqual(["nexus3-contact-vault"]);
        // The README's way back: the hand-made container removed (its data is on the kept volume), then up.
        expect(
            containerNameConflicts(
                ops,
                names.filter((n) => n !== "nexus3-contact-vault"),
            ),
        ).toEqual([]);
        expect(stepOf(applied, "contact-vault-data").op).toBe("same");
    });
});
