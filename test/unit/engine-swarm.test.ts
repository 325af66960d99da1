/**
 * What users do to a Swarm stack, planned as the real engine and provider would plan it
 * (plan/engineRun.ts), with a registry that answers for the image (so the provider's
 * QueryRegistry adds the image's platforms on create) and Docker resolving the network's name.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL_ENVIRONMENTS } from "../../components/protocol";
import type { EngineFacts } from "../../plan/engineModel";
import type { EngineRequest, EngineResult } from "../../plan/engineProcess";
import { changes, rotated, runAll, stepOf } from "./engineRuns";

const ALL = PROTOCOL_ENVIRONMENTS.map((e) => e.name);
const STANDARD = PROTOCOL_ENVIRONMENTS.filter((e) => e.kind === "standard").map((e) => e.name);
const services = ALL.flatMap((e) => (STANDARD.includes(e) ? [`${e}-vault`, `${e}-operational`] : [`${e}-vault`]));
const each = (op: string, names: string[]) => names.map((n) => `${op} ${n}`);

const DIGEST = `sha256:${"a".repeat(64)}`;
const IMAGE = `redis:7.2@${DIGEST}`;
const NEXT_IMAGE = `redis:7.4@sha256:${"b".repeat(64)}`;
const facts: EngineFacts = {
    registry: {
        [IMAGE]: { digest: DIGEST, platforms: [{ architecture: "amd64", os: "linux" }] },
        [NEXT_IMAGE]: { digest: `sha256:${"b".repeat(64)}`, platforms: [{ architecture: "amd64", os: "linux" }] },
    },
    networkIds: { "nexus-storage-network": "storage-network-id" },
};
const config = { platform: "swarm", image: IMAGE, swarmNodes: '{"vault":"abcdefghijklmnopqrstuvwxy"}' };

let base: EngineResult;
let runs: Record<string, EngineResult>;
let after: Record<string, EngineResult>;

beforeAll(async () => {
    ({ base } = await runAll({ base: { mode: "apply", values: config, facts } }));
    const from = (more: Partial<EngineRequest>): EngineRequest => ({
        mode: "preview",
        prior: base.state,
        facts,
        ...more,
        values: { ...config, ...more.values },
    });
    runs = await runAll({
        second: from({}),
        rotation: from({ secrets: rotated({ contact: "vault", links: "backup", track: "replication", web: "operationalAdmin" }) }),
        image: from({ values: { image: NEXT_IMAGE } }),
        limited: from({ mode: "apply", values: { memoryLimitMb: "512" } }),
        dropEnvironment: from({ values: { environments: JSON.stringify(ALL.filter((e) => e !== "kb")) } }),
        prefix: from({ values: { containerPrefix: "nexus4" } }),
    });
    const fromLimited = (memoryLimitMb: string): EngineRequest => ({
        mode: "preview",
        prior: runs.limited.state,
        facts,
        values: { ...config, memoryLimitMb },
    });
    after = await runAll({ again: fromLimited("512"), raise: fromLimited("1024"), remove: fromLimited("0") });
}, 600_000);

describe("a swarm stack under the engine", () => {
    it("plans nothing on a second up with no change, though the registry answered for the image", () => {
        expect(changes(base)).toHaveLength(base.steps.length);
        expect(changes(runs.second)).toEqual([]);
        const vault = base.state.resources.find((r) => r.name === "contact-vault")!;
        expect((vault.outputs.taskSpec as any).placement.platforms).toEqual([{ architecture: "amd64", os: "linux" }]);
    });
});

describe.each([
    ["vault", "contact", ["delete contact-vault-password", "replace contact-vault-config", "update contact-vault"]],
    ["backup", "links", ["delete links-backup-password", "replace links-vault-config", "update links-vault"]],
    [
        "replication",
        "track",
        [
            "delete track-replication-password",
            "replace track-operational-config",
            "replace track-vault-config",
            "update track-operational",
            "update track-vault",
        ],
    ],
    ["operationalAdmin", "web", ["delete web-operational-admin-password", "replace web-operational-config", "update web-operational"]],
])("rotating the %s password (of %s)", (_role, env, expected) => {
    it(`makes a new secret, created before the old one goes, and updates the services that use it in place: ${expected.join(", ")}`, () => {
        expect(changes(runs.rotation).filter((c) => c.split(" ")[1].startsWith(`${env}-`))).toEqual(expected);
        for (const step of runs.rotation.steps) if (step.op === "replace") expect(step.deleteFirst).toBe(false);
    });
});

it("rotating those four passwords together touches nothing of any other environment", () => {
    expect(changes(runs.rotation).filter((c) => !/ (contact|links|track|web)-/.test(c))).toEqual([]);
});

describe("changing the image", () => {
    it("updates every service in place (Swarm rolls each task, stop-first)", () => {
        expect(changes(runs.image)).toEqual(each("update", services).sort());
    });
});

describe("memoryLimitMb", () => {
    const vaultConfigs = ALL.map((e) => `replace ${e}-vault-config`);
    it.each([
        ["added (the steps of the up that added it)", () => runs.limited],
        ["raised", () => after.raise],
        ["removed", () => after.remove],
    ])("%s: a new config for each vault (its maxmemory), every service updated in place", (_what, run) => {
        expect(changes(run())).toEqual([...vaultConfigs, ...each("update", services)].sort());
    });

    it("applied, plans nothing on the next up", () => {
        expect(changes(after.again)).toEqual([]);
    });
});

describe("environments", () => {
    it("removing one deletes its resources alone", () => {
        // With TLS (on by default on swarm), each role's key, request and certificate, its key's
        // secret and its certificate's config go too; the stack's CA stays.
        const tls = (role: string) => [`${role}-tls-cert`, `${role}-tls-cert`, `${role}-tls-csr`, `${role}-tls-key`, `${role}-tls-key`];
        const names = ["", "-backup-password", "-operational", "-operational-admin-password", "-operational-config", "-operational-script"]
            .concat(tls("-operational"), ["-replication-password", "-vault", "-vault-config", "-vault-password", "-vault-script"])
            .concat(tls("-vault"), ["-vault-volume"]);
        expect(changes(runs.dropEnvironment).sort()).toEqual(names.map((n) => `delete kb${n}`));
    });
});

describe("a new containerPrefix", () => {
    it("renames the services and their secrets, and mounts each vault's volume of the old name", () => {
        for (const e of ALL) expect(stepOf(runs.prefix, `${e}-vault-volume`).op).toBe("same");
        for (const name of services) expect(stepOf(runs.prefix, name)).toMatchObject({ op: "replace", deleteFirst: true });
        const vault = runs.prefix.plan.resources.find((r) => r.name === "contact-vault")!;
        expect(vault.inputs.name).toBe("nexus4-contact-vault");
        expect((vault.inputs.taskSpec as any).containerSpec.mounts[0].source).toBe("nexus3-contact-vault-data");
    });
});
