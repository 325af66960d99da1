/**
 * Every stack file under examples/ is planned, as a user would before `pulumi up`
 * (`npm run synth -- --stack-file FILE`, one process each: Pulumi's runtime state is per
 * process), and shows what its README says it does, so an example cannot rot.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

interface Resource {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

function synth(...args: string[]) {
    return spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), "plan/synth.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 64 * 1024 * 1024,
    });
}

function plan(stackFile: string): { code: number | null; stderr: string; stack: string; resources: Resource[] } {
    const run = synth("--stack-file", stackFile);
    const doc = run.status === 0 ? JSON.parse(run.stdout) : { stack: "", resources: [] };
    return { code: run.status, stderr: run.stderr, stack: doc.stack, resources: doc.resources };
}

const ofType = (resources: Resource[], type: string) => resources.filter((r) => r.type === `docker:index/${type}`);
const CONTAINER = "container:Container";
const SERVICE = "service:Service";
const NETWORK = "network:Network";
const VOLUME = "volume:Volume";

/** What each example's README promises, checked on its plan. */
const FACTS: Record<string, (resources: Resource[]) => void> = {
    "single-host": (resources) => {
        // The README's quickstart: `pulumi up` previews 103 resources, this plan's and the stack itself.
        expect(resources).toHaveLength(102);
        const containers = ofType(resources, CONTAINER);
        expect(containers).toHaveLength(22);
        for (const c of containers) {
            expect(c.inputs.ports.length, c.name).toBeGreaterThan(0);
            for (const port of c.inputs.ports) expect(port.ip, c.name).toBe("127.0.0.1");
        }
        expect(ofType(resources, NETWORK).map((n) => n.inputs.name)).toEqual(["nexus-storage-network"]);
        expect(ofType(resources, SERVICE)).toEqual([]);
    },
    swarm: (resources) => {
        expect(ofType(resources, CONTAINER)).toEqual([]);
        const services = ofType(resources, SERVICE);
        expect(services).toHaveLength(22);
        for (const s of services) {
            const constraints = s.inputs.taskSpec.placement.constraints;
            // Each vault on the node that holds its data, each operational on another.
            expect(constraints, s.name).toEqual([
                s.name.endsWith("-vault") ? "node.id==replacewithyourdockernode" : "node.id!=replacewithyourdockernode",
            ]);
            expect(s.inputs.endpointSpec.ports, s.name).toEqual([]);
        }
    },
    "adopted-fleet": (resources) => {
        expect(ofType(resources, NETWORK)).toEqual([]);
        const containers = ofType(resources, CONTAINER);
        expect(containers.map((c) => c.name).sort()).toEqual([
            "contact-operational",
            "contact-vault",
            "kb-operational",
            "kb-vault",
            "user-vault",
        ]);
        const mounts = Object.fromEntries(containers.map((c) => [c.name, c.inputs.volumes]));
        // The vaults' data where it was: a volume by its own name, a host folder bind-mounted.
        expect(mounts["contact-vault"]).toEqual([{ containerPath: "/data", volumeName: "contact-redis-data" }]);
        expect(mounts["kb-vault"]).toEqual([{ containerPath: "/data", hostPath: "/srv/redis/kb" }]);
        expect(mounts["user-vault"]).toEqual([{ containerPath: "/data", volumeName: "user-redis-data" }]);
        // No volume of the stack's for an adopted vault: only the operationals' are created.
        expect(
            ofType(resources, VOLUME)
                .map((v) => v.name)
                .sort(),
        ).toEqual(["contact-operational-data", "kb-operational-data"]);
        expect(containers.find((c) => c.name === "contact-vault")?.inputs.ports.map((p: { external: number }) => p.external)).toEqual([
            6632,
        ]);
        for (const c of containers) expect(c.inputs.networksAdvanced, c.name).toEqual([{ name: "nexus-storage-network" }]);
    },
};

const examples = readdirSync(path.join(ROOT, "examples"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => {
        const files = readdirSync(path.join(ROOT, "examples", e.name)).filter((f) => /^Pulumi\..+\.yaml$/.test(f));
        return { folder: e.name, files };
    });

describe("the examples", () => {
    it("are the three the README and examples/README.md name, each with one stack file, a README and the facts its test checks", () => {
        expect(examples.map((e) => e.folder).sort()).toEqual(Object.keys(FACTS).sort());
        for (const { folder, files } of examples) {
            expect(files, folder).toHaveLength(1);
            expect(existsSync(path.join(ROOT, "examples", folder, "README.md")), folder).toBe(true);
        }
    });

    describe.each(examples)("examples/$folder", ({ folder, files }) => {
        it(`plans without a word on stderr, and does what its README says`, () => {
            const file = path.join("examples", folder, files[0]);
            const run = plan(file);
            expect(run.stderr).toBe("");
            expect(run.code).toBe(0);
            expect(run.stack).toBe(/^Pulumi\.(.+)\.yaml$/.exec(files[0])?.[1]);
            FACTS[folder](run.resources);
        });
    });
});

describe("npm run synth -- --stack-file", () => {
    it.each([
        ["a file that is not there", "examples/nowhere/Pulumi.nowhere.yaml", "no stack file examples/nowhere/Pulumi.nowhere.yaml"],
        ["a file not named Pulumi.NAME.yaml", "package.json", '--stack-file expects a file named Pulumi.NAME.yaml, got "package.json"'],
    ])("refuses %s with exit 2, naming it", (_, file, message) => {
        const run = synth("--stack-file", file);
        expect(run.status).toBe(2);
        expect(run.stderr).toContain(message);
        expect(run.stdout).toBe("");
    });
});
