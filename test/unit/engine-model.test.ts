/**
 * The model of the engine and the Docker provider (plan/engineModel.ts) and the engine's step
 * generator (plan/engine.ts), on plain data: what Read stores, what a change does, and which
 * dependents a delete-first replacement takes with it.
 */
import { describe, expect, it } from "vitest";
import { goDuration } from "../../components/swarmSpec";
import { type StateResource, StepGenerator, applyIgnoreChanges, dependentReplacements, diffResource, planSteps } from "../../plan/engine";
import { ENGINE_MODEL, UNKNOWN, UnmodelledInputError, formatGoDuration, parseGoDuration, readBack } from "../../plan/engineModel";

const CONTAINER = "docker:index/container:Container";
const SERVICE = "docker:index/service:Service";
const VOLUME = "docker:index/volume:Volume";
const NETWORK = "docker:index/network:Network";
const SECRET = "docker:index/secret:Secret";
const PASSWORD = "random:index/randomPassword:RandomPassword";

describe.each([
    [0, "0s"],
    [2e9, "2s"],
    [60e9, "1m"],
    [90e9, "1m30s"],
    [3600e9, "1h"],
    [3660e9, "1h1m"],
    [3601e9, "1h0m1s"],
    [1.5e9, "1.5s"],
    [250e6, "250ms"],
    [1500, "1.5µs"],
    [7, "7ns"],
])("a duration of %d ns", (ns, text) => {
    it(`is stored as "${text}", as Go's Duration.String() with shortDur's trims writes it, and the program writes it so`, () => {
        expect(formatGoDuration(ns)).toBe(text);
        expect(parseGoDuration(text)).toBe(ns);
        if (ns % 1e9 === 0) expect(goDuration(ns / 1e9)).toBe(text);
    });
});

describe.each([
    ["60s", "1m"],
    ["120s", "2m"],
    ["1m0s", "1m"],
    ["2s", "2s"],
    ["0", "0s"],
    ["1h0m0s", "1h"],
])("a service sent a stop grace period of %s", (sent, stored) => {
    it(`reads it back as ${stored}`, () => {
        const state = readBack(SERVICE, { taskSpec: { containerSpec: { stopGracePeriod: sent } } });
        expect((state.taskSpec as any).containerSpec.stopGracePeriod).toBe(stored);
    });
});

describe("what Read stores", () => {
    it("keeps a container's uploads, env, labels and volumes as sent: none is read back", () => {
        const inputs = {
            uploads: [{ file: "/f", content: "x", permissions: "0400", owner: "999", group: "999" }],
            envs: ["A=1"],
            labels: [{ label: "l", value: "v" }],
            volumes: [{ volumeName: "v", containerPath: "/data" }],
        };
        expect(readBack(CONTAINER, inputs)).toMatchObject(inputs);
    });

    it.each([
        ["a memory limit alone gets twice the memory as swap limit", { memory: 256 }, {}, 512],
        ["a swap limit sent is stored as sent", { memory: 256, memorySwap: 256 }, {}, 256],
        ["an engine without swap accounting stores -1", { memory: 256, memorySwap: 256 }, { swapLimit: false }, -1],
        ["no memory limit stores no swap limit", {}, {}, undefined],
    ])("container memory: %s", (_what, inputs, facts, swap) => {
        expect(readBack(CONTAINER, inputs, facts).memorySwap).toBe(swap);
    });

    it("stores a service's networks by ID only, a name resolved to the network's ID", () => {
        const facts = { networkIds: { net: "n1d" } };
        expect(
            (readBack(SERVICE, { taskSpec: { networksAdvanceds: [{ name: "net" }] } }, facts).taskSpec as any).networksAdvanceds,
        ).toEqual([{ id: "n1d" }]);
        expect((readBack(SERVICE, { taskSpec: { networksAdvanceds: [{ id: "n1d" }] } }, facts).taskSpec as any).networksAdvanceds).toEqual([
            { id: "n1d" },
        ]);
    });

    it("stores a restart policy's missing window and attempts as the zeros the provider sent", () => {
        const state = readBack(SERVICE, { taskSpec: { restartPolicy: { condition: "any", delay: "2s" } } });
        expect((state.taskSpec as any).restartPolicy).toEqual({ condition: "any", delay: "2s", maxAttempts: 0, window: "0s" });
    });

    it("pins a service's registry tag to its digest and adds the image's platforms; a pinned image or a local one is stored as given", () => {
        const digest = `sha256:${"1".repeat(64)}`;
        const pinned = `redis:7.2@${digest}`;
        const platforms = [{ architecture: "amd64", os: "linux" }];
        const registry = { "redis:7.2": { digest, platforms }, [pinned]: { digest, platforms } };
        const service = (image: string) => readBack(SERVICE, { taskSpec: { containerSpec: { image } } }, { registry }).taskSpec as any;
        expect(service("redis:7.2").containerSpec.image).toBe(pinned);
        expect(service("redis:7.2").placement.platforms).toEqual(platforms);
        expect(service(pinned).containerSpec.image).toBe(pinned);
        expect(service("local/redis:7").containerSpec.image).toBe("local/redis:7");
        expect(service("local/redis:7").placement).toBeUndefined();
    });

    it("keeps a secret's data, which the engine never returns", () => {
        expect(readBack(SECRET, { name: "s", data: "ZGF0YQ==", labels: [] })).toEqual({ name: "s", data: "ZGF0YQ==", labels: [] });
    });
});

describe("inputs the model does not know", () => {
    it.each([
        [CONTAINER, { healthcheck: { test: ["CMD", "true"] } }, "healthcheck"],
        [CONTAINER, { uploads: [{ file: "/f", source: "/host/file" }] }, "uploads[0].source"],
        [SERVICE, { taskSpec: { containerSpec: { env: { A: "1" } } } }, "taskSpec.containerSpec.env"],
        [SERVICE, { taskSpec: { networksAdvanceds: [{ id: "n", driverOpts: ["a=b"] }] } }, "taskSpec.networksAdvanceds[0].driverOpts"],
        ["docker:index/plugin:Plugin", {}, "(the resource type)"],
    ])("are refused: %s %j", (type, inputs, path) => {
        expect(() => readBack(type, inputs)).toThrow(UnmodelledInputError);
        expect(() => readBack(type, inputs)).toThrow(path);
        if (ENGINE_MODEL[type]) expect(() => diffResource(type, {}, inputs)).toThrow(UnmodelledInputError);
    });
});

/** A container as the program declares one, and the state after Read. */
const container = {
    name: "p-kb-operational",
    image: `sha256:${"2".repeat(64)}`,
    command: ["redis-server", "/etc/nexus-redis/operational.conf"],
    uploads: [{ file: "/etc/nexus-redis/operational.conf", content: "c", permissions: "0400", owner: "999", group: "999" }],
    ports: [{ internal: 6379, external: 6626, ip: "127.0.0.1", protocol: "tcp" }],
    networksAdvanced: [{ name: "net" }],
    volumes: [{ volumeName: "p-kb-operational-data", containerPath: "/data" }],
    restart: "unless-stopped",
    stopTimeout: 60,
    destroyGraceSeconds: 60,
    labels: [{ label: "nexus-redis.role", value: "operational" }],
    memory: 512,
    memorySwap: 512,
};

describe.each<[string, Record<string, unknown>, string[], string[]]>([
    ["nothing", {}, [], []],
    ["the uploaded config's content", { uploads: [{ ...container.uploads[0], content: "new" }] }, ["uploads"], ["uploads"]],
    ["the image", { image: `sha256:${"3".repeat(64)}` }, ["image"], ["image"]],
    ["a label", { labels: [...container.labels, { label: "nexus-redis.memory-limited", value: "true" }] }, ["labels"], ["labels"]],
    ["the memory and swap limits together", { memory: 1024, memorySwap: 1024 }, ["memory", "memorySwap"], []],
    ["the restart policy", { restart: "always" }, ["restart"], []],
    ["the network's name, not known yet", { networksAdvanced: UNKNOWN }, ["networksAdvanced"], ["networksAdvanced"]],
    ["the published port", { ports: [{ ...container.ports[0], external: 7626 }] }, ["ports[0].external"], ["ports[0].external"]],
])("a container whose %s changed", (_what, change, changed, replacing) => {
    it(`changes ${JSON.stringify(changed)}, replacing for ${JSON.stringify(replacing)}`, () => {
        const changes = diffResource(CONTAINER, readBack(CONTAINER, container), { ...container, ...change });
        expect(changes.map((c) => c.path)).toEqual(changed);
        expect(changes.filter((c) => c.replace).map((c) => c.path)).toEqual(replacing);
    });
});

const service = {
    name: "p-kb-vault",
    labels: [{ label: "nexus-redis.role", value: "vault" }],
    mode: { replicated: { replicas: 1 } },
    taskSpec: {
        containerSpec: {
            image: `sha256:${"2".repeat(64)}`,
            args: ["sh", "/etc/nexus-redis/start-vault.sh", "/run/secrets/vault.conf"],
            secrets: [
                { secretId: "s-id", secretName: "s", fileName: "/run/secrets/vault.conf", fileUid: "999", fileGid: "999", fileMode: 0o400 },
            ],
            mounts: [
                { type: "volume", source: "p-kb-vault-data", target: "/data", volumeOptions: { labels: [{ label: "l", value: "v" }] } },
            ],
            stopGracePeriod: "1m",
            labels: [{ label: "nexus-redis.role", value: "vault" }],
        },
        networksAdvanceds: [{ id: "net-id" }],
        placement: { constraints: ["node.id==n1"] },
        restartPolicy: { condition: "any", delay: "2s", window: "0s" },
        resources: { limits: { memoryBytes: 0 } },
    },
    updateConfig: { order: "stop-first", parallelism: 1 },
    rollbackConfig: { order: "stop-first", parallelism: 1 },
    endpointSpec: { mode: "dnsrr", ports: [] },
};
const withTask = (task: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
    ...service,
    taskSpec: { ...service.taskSpec, ...task, containerSpec: { ...service.taskSpec.containerSpec, ...spec } },
});

describe.each<[string, Record<string, unknown>, string[], boolean]>([
    ["nothing", service, [], false],
    ["the image", withTask({}, { image: `redis:7.2@sha256:${"4".repeat(64)}` }), ["taskSpec.containerSpec.image"], false],
    [
        "a secret (a new one, by a new ID)",
        withTask({}, { secrets: [{ ...service.taskSpec.containerSpec.secrets[0], secretId: UNKNOWN }] }),
        ["taskSpec.containerSpec.secrets"],
        false,
    ],
    ["its network (by ID)", withTask({ networksAdvanceds: [{ id: "other-id" }] }), ["taskSpec.networksAdvanceds"], true],
    ["its network, given by name", withTask({ networksAdvanceds: [{ name: "net" }] }), ["taskSpec.networksAdvanceds"], true],
    ["the stop grace period spelled 60s", withTask({}, { stopGracePeriod: "60s" }), ["taskSpec.containerSpec.stopGracePeriod"], false],
    [
        "the restart window left out",
        withTask({ restartPolicy: { condition: "any", delay: "2s" } }),
        ["taskSpec.restartPolicy.window"],
        false,
    ],
    [
        "the memory limit",
        withTask({ resources: { limits: { memoryBytes: 512 * 1024 * 1024 } } }),
        ["taskSpec.resources.limits.memoryBytes"],
        false,
    ],
    ["its whole task, not known yet", { ...service, taskSpec: UNKNOWN }, ["taskSpec"], false],
    ["its name", { ...service, name: "q-kb-vault" }, ["name"], true],
])("a service whose %s changed", (_what, inputs, changed, replaces) => {
    it(`changes ${JSON.stringify(changed)} and ${replaces ? "is replaced" : "is updated in place"}`, () => {
        const changes = diffResource(SERVICE, readBack(SERVICE, service), inputs);
        expect(changes.map((c) => c.path)).toEqual(changed);
        expect(changes.some((c) => c.replace)).toBe(replaces);
    });
});

describe("the engine's options", () => {
    it("keeps the old input under ignoreChanges (absent when it was), and drops the provider's diff there", () => {
        expect(applyIgnoreChanges({ name: "new", labels: [] }, { name: "old" }, ["name"])).toEqual({ name: "old", labels: [] });
        expect(applyIgnoreChanges({ a: { b: 1, c: 2 } }, { a: { c: 3 } }, ["a.b"])).toEqual({ a: { c: 2 } });
        const stored = readBack(
            SERVICE,
            withTask({ placement: { constraints: ["node.id==n1"], platforms: [{ architecture: "amd64", os: "linux" }] } }),
        );
        expect(diffResource(SERVICE, stored, service).map((c) => c.path)).toEqual(["taskSpec.placement.platforms"]);
        expect(diffResource(SERVICE, stored, service, { ignoreChanges: ["taskSpec.placement.platforms"] })).toEqual([]);
    });

    it("replaces for a change under replaceOnChanges, and only there", () => {
        const changes = diffResource(
            CONTAINER,
            readBack(CONTAINER, container),
            { ...container, restart: "always" },
            { replaceOnChanges: ["restart"] },
        );
        expect(changes).toEqual([{ path: "restart", replace: true }]);
    });
});

/** A state entry: inputs as sent, outputs as Read stores them. */
function entry(name: string, type: string, inputs: Record<string, unknown>, more: Partial<StateResource> = {}): StateResource {
    return {
        urn: `urn:${name}`,
        type,
        name,
        custom: true,
        inputs,
        outputs: readBack(type, inputs),
        propertyDependencies: {},
        dependencies: [],
        options: {},
        ...more,
    };
}

const network = entry("net", NETWORK, { name: "net", driver: "bridge", labels: [] }, { options: { deleteBeforeReplace: true } });
const vault = entry(
    "vault",
    CONTAINER,
    { ...container, name: "p-kb-vault" },
    {
        dependencies: ["urn:net"],
        propertyDependencies: { networksAdvanced: ["urn:net"] },
    },
);
/** A container after the vault, its `property` (if any) from the vault's outputs. */
const afterVault = (name: string, property?: string) =>
    entry(
        name,
        CONTAINER,
        { ...container, name },
        {
            dependencies: ["urn:vault"],
            propertyDependencies: property ? { [property]: ["urn:vault"] } : {},
        },
    );
const byName = afterVault("reads-vault-name", "uploads");
const byDependsOn = afterVault("after-vault");
const byRestart = afterVault("restart-from-vault", "restart");
const secondHand = entry(
    "second-hand",
    SECRET,
    { name: "s", data: "ZA==", labels: [] },
    {
        dependencies: ["urn:reads-vault-name"],
        propertyDependencies: { name: ["urn:reads-vault-name"] },
    },
);
const state = { resources: [network, vault, byName, byDependsOn, byRestart, secondHand] };

describe("a delete-first replacement's dependents", () => {
    it("are those with a ForceNew input from a replaced resource's outputs, transitively; never a bare dependsOn, nor an input updated in place", () => {
        expect(dependentReplacements(state, "urn:vault").map((d) => d.urn)).toEqual(["urn:reads-vault-name", "urn:second-hand"]);
        expect(dependentReplacements(state, "urn:net").map((d) => d.urn)).toEqual(["urn:vault", "urn:reads-vault-name", "urn:second-hand"]);
    });

    it("are deleted before the root and replaced when the program registers them again", () => {
        const generator = new StepGenerator(state);
        const goal = (r: StateResource, inputs = r.inputs) => ({ ...r, inputs });
        generator.register(goal(network));
        const replaced = generator.register(goal(vault, { ...vault.inputs, uploads: [{ ...container.uploads[0], content: "new" }] }));
        expect(replaced).toMatchObject({ op: "replace", deleteFirst: true, deletesFirst: ["urn:second-hand", "urn:reads-vault-name"] });
        expect(generator.register(goal(byName))).toMatchObject({ op: "replace", dependentOf: "urn:vault" });
        expect(generator.register(goal(byDependsOn)).op).toBe("same");
        expect(generator.register(goal(byRestart)).op).toBe("same");
        expect(generator.register(goal(secondHand))).toMatchObject({ op: "replace", dependentOf: "urn:vault" });
    });
});

describe("the steps of a run", () => {
    const password = entry("pw", PASSWORD, { length: 32, special: false });
    const volume = entry(
        "data",
        VOLUME,
        { name: "p-kb-vault-data", labels: [] },
        { options: { retainOnDelete: true, ignoreChanges: ["name"] } },
    );
    const goals = (resources: StateResource[]) => resources.map((r) => ({ ...r }));

    it.each<[string, StateResource[], string[]]>([
        ["the same program plans nothing", [password, volume], ["same pw", "same data"]],
        ["a new resource is created", [password, volume, entry("new", PASSWORD, { length: 8 })], ["same pw", "same data", "create new"]],
        ["one the program dropped is deleted, a retained one kept", [], ["delete data (retained)", "delete pw"]],
        [
            "a renamed volume under ignoreChanges keeps its name",
            [password, { ...volume, inputs: { ...volume.inputs, name: "q-kb-vault-data" } }],
            ["same pw", "same data"],
        ],
        [
            "a new password length replaces it, created before the old one goes",
            [{ ...password, inputs: { length: 40, special: false } }, volume],
            ["replace pw", "same data"],
        ],
    ])("%s", (_what, program, expected) => {
        const steps = planSteps({ resources: [password, volume] }, goals(program));
        const shown = steps.map((s) => `${s.op} ${s.name}${s.op === "delete" && s.retain ? " (retained)" : ""}`);
        expect(shown).toEqual(expected);
        for (const s of steps) if (s.op === "replace") expect(s.deleteFirst).toBe(false);
    });
});
