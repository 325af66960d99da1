/**
 * The configuration adopt sets reaches the program in the shape it reads: the exact
 * `pulumi config set` commands adopt builds, run against a stand-in of the Pulumi CLI that
 * keeps the stack's values as Pulumi does (harness/pulumiStack.ts), handed to the program
 * under the mock runtime. Its own file: Pulumi keeps its runtime in process globals.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { configSetCommand, upCommand } from "../../cli/core/pulumi";
import { projectDefaults } from "../../cli/core/pulumiProject";
import { configSteps } from "../../cli/adopt/plan";
import { stackView } from "../../cli/adopt/stack";
import { candidates } from "../../cli/adopt/candidates";
import type { Findings, FoundMount } from "../../cli/adopt/findings";
import { judgeEnvironment } from "../../cli/adopt/judge";
import { passwordHash } from "../../components/redisServer";
import { type Plan, planProgram } from "../../plan/plan";
import { FakePulumiStack, type StackConfig } from "../../harness/pulumiStack";

const ROOT = path.resolve(__dirname, "../..");
const NETWORK = "nexus-storage-network";

function findings(name: string, password: string, mount: FoundMount[]): Findings {
    const v = stackView({}, projectDefaults(ROOT));
    const candidate = candidates(v).find((c) => c.name === name)!;
    const container = (role: string, port: number) => ({
        name: `nexus3-${name}-${role}`,
        state: "running",
        managed: false,
        image: "redis:7.2",
        command: ["redis-server", "--requirepass", password],
        bindings: [{ hostIp: "127.0.0.1", hostPort: port }],
        networks: { [NETWORK]: "10.0.4.2" },
        mounts: mount,
    });
    return {
        candidate,
        vault: container("vault", candidate.vaultPort),
        ...(candidate.operationalPort ? { operational: container("operational", candidate.operationalPort) } : {}),
        password: { value: password, source: "its command line" },
        vaultRedis: {
            info: { redis_version: "7.0.15", role: "master", loading: "0" },
            config: {
                dir: "/data",
                dbfilename: "dump.rdb",
                appendonly: "no",
                appenddirname: "appendonlydir",
                appendfilename: "appendonly.aof",
                save: "3600 1",
            },
            users: ["default"],
            keyspace: { 0: { keys: 10, expires: 0 } },
        },
    };
}

let pulumi: FakePulumiStack;
let plan: Plan;

beforeAll(async () => {
    let config: StackConfig | undefined;
    pulumi = new FakePulumiStack({
        initial: { createNetwork: "true", bindAddress: "127.0.0.1" },
        onUp: async (c) => {
            config = c;
        },
    });
    let view = stackView({ createNetwork: "true", bindAddress: "127.0.0.1" }, projectDefaults(ROOT));
    const environments = [
        findings("contact", "contact-pw", [
            { type: "volume", name: "nexus3-contact-vault-data", source: "/x", destination: "/data", declared: true },
        ]),
        findings("user", "user-pw", [{ type: "bind", source: "/srv/nexus/user", destination: "/data", declared: true }]),
    ];
    for (const f of environments) {
        const { steps, next } = configSteps(view, judgeEnvironment(f, { view, imageVersion: "7.2.4", requested: new Set() }));
        for (const step of steps) {
            const { command, input } = configSetCommand(step, undefined);
            expect((await pulumi.runner(command, { capture: true, input })).exitCode).toBe(0);
        }
        view = next;
    }
    expect((await pulumi.runner(upCommand(undefined), { capture: false })).exitCode).toBe(0);
    plan = await planProgram({ values: config!.values, secrets: config!.secrets, showSecrets: true });
});

describe("the configuration adopt sets, as the program reads it", () => {
    it("holds environments as a list, built item by item with --path, and the passwords as a secret", () => {
        expect(pulumi.config.get("environments")).toEqual(["contact", "user"]);
        expect(pulumi.secret.has("passwords")).toBe(true);
        expect(pulumi.programConfig()).toEqual({
            values: {
                createNetwork: "false",
                bindAddress: "127.0.0.1",
                vaultData: '{"contact":"nexus3-contact-vault-data","user":"/srv/nexus/user"}',
                environments: '["contact","user"]',
            },
            secrets: { passwords: '{"contact":{"vault":"contact-pw"},"user":{"vault":"user-pw"}}' },
        });
    });

    it("deploys the adopted environments and nothing else, on the existing network", () => {
        expect(Object.keys(plan.outputs.environments as object)).toEqual(["contact", "user"]);
        expect(plan.resources.some((r) => r.type === "docker:index/network:Network")).toBe(false);
        const containers = plan.resources.filter((r) => r.type === "docker:index/container:Container");
        expect(containers.map((r) => r.inputs.name)).toEqual(["nexus3-contact-vault", "nexus3-contact-operational", "nexus3-user-vault"]);
        for (const c of containers) expect(c.inputs.networksAdvanced).toEqual([{ name: NETWORK }]);
    });

    it("puts each vault on its data in place, creates no volume for it, and refuses to start it on an empty folder", () => {
        const vault = (name: string) => plan.resources.find((r) => r.name === `${name}-vault`)!;
        expect(vault("contact").inputs.volumes).toEqual([{ volumeName: "nexus3-contact-vault-data", containerPath: "/data" }]);
        expect(vault("user").inputs.volumes).toEqual([{ hostPath: "/srv/nexus/user", containerPath: "/data" }]);
        expect(vault("contact").inputs.envs).toEqual(["NEXUS_REDIS_REQUIRE_DATA=nexus3-contact-vault-data"]);
        const volumes = plan.resources.filter((r) => r.type === "docker:index/volume:Volume").map((r) => r.name);
        expect(volumes).toEqual(["contact-operational-data"]);
    });

    it("gives each vault the password it had", () => {
        for (const [name, password] of [
            ["contact", "contact-pw"],
            ["user", "user-pw"],
        ]) {
            const uploads = plan.resources.find((r) => r.name === `${name}-vault`)!.inputs.uploads as { file: string; content: string }[];
            expect(uploads.find((u) => u.file.endsWith("vault.conf"))!.content).toContain(`user default on #${passwordHash(password)} `);
            expect((plan.outputs.environments as Record<string, { vault: { password: string } }>)[name].vault.password).toBe(password);
        }
    });

    it("would be refused by Pulumi as a plain string: environments is declared an array", async () => {
        const plain = new FakePulumiStack({ onUp: async () => undefined });
        await plain.runner(["pulumi", "config", "set", "environments", '["contact"]'], { capture: true });
        const up = await plain.runner(upCommand(undefined), { capture: false });
        expect(up.exitCode).not.toBe(0);
        expect(up.stderr).toContain("Stack 'dev' with configuration key 'environments' must be of type 'array'");
    });
});
