/**
 * `npm run synth` end to end, as a reviewer runs it: one process per plan, as Pulumi's
 * runtime state is per process.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

function synth(...args: string[]) {
    const result = spawnSync(process.execPath, [path.join(ROOT, "node_modules/tsx/dist/cli.mjs"), "plan/synth.ts", ...args], {
        cwd: ROOT,
        encoding: "utf8",
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const containers = (doc: any) => doc.resources.filter((r: any) => r.type === "docker:index/container:Container");

describe("npm run synth", () => {
    it("prints one JSON document with the project, stack, resources and outputs", () => {
        const { code, stdout, stderr } = synth();
        expect(stderr).toBe("");
        expect(code).toBe(0);
        const doc = JSON.parse(stdout);
        expect(Object.keys(doc)).toEqual(["project", "stack", "resources", "outputs"]);
        expect(doc).toMatchObject({ project: "nexus-redis", stack: "dev" });
        expect(containers(doc)).toHaveLength(22);
        for (const r of doc.resources) expect(Object.keys(r)).toEqual(["urn", "type", "name", "parent", "dependsOn", "inputs"]);
        // Every container's files hold passwords or their hashes: each shown as "[secret]".
        for (const c of containers(doc)) {
            const text = JSON.stringify(c.inputs.uploads);
            expect(text, c.name).toMatch(/user default on #\[secret\] |masterauth \[secret\]/);
            expect(text, c.name).not.toMatch(/#[0-9a-f]{64}|masterauth [A-Za-z0-9]{32}/);
        }
    });

    it("prints the whole document through a pipe to a slow reader, not the first 64 KiB", () => {
        const result = spawnSync("bash", ["-c", `"${process.execPath}" node_modules/tsx/dist/cli.mjs plan/synth.ts | (sleep 1; cat)`], {
            cwd: ROOT,
            encoding: "utf8",
            maxBuffer: 16 * 1024 * 1024,
        });
        expect(result.stdout.length).toBeGreaterThan(64 * 1024);
        expect(JSON.parse(result.stdout).resources.length).toBeGreaterThan(0);
    });

    it("applies -c overrides over the stack file, and adopts passwords given with --secret", () => {
        const { code, stdout, stderr } = synth(
            "-c",
            "portOffset=1000",
            "-c",
            "nexus-redis:containerPrefix=staging",
            "-c",
            "bindAddress=0.0.0.0",
            "-c",
            'environments=["contact","locker"]',
            "--secret",
            'passwords={"contact":{"vault":"AdoptedVaultPassword1"}}',
            "--show-secrets",
        );
        expect(stderr).toBe("");
        expect(code).toBe(0);
        const doc = JSON.parse(stdout);
        expect(containers(doc).map((c: any) => [c.inputs.name, c.inputs.ports[0].external, c.inputs.ports[0].ip])).toEqual([
            ["staging-contact-vault", 7630, "0.0.0.0"],
            ["staging-contact-operational", 7631, "0.0.0.0"],
            ["staging-locker-vault", 7720, "0.0.0.0"],
        ]);
        const vaultConfig = containers(doc)[0].inputs.uploads.find((u: any) => u.file === "/etc/nexus-redis/vault.conf").content;
        const hash = createHash("sha256").update("AdoptedVaultPassword1").digest("hex");
        expect(vaultConfig).toContain(`user default on #${hash} `);
        // The adopted password replaces the generated one: no RandomPassword for it.
        expect(doc.resources.map((r: any) => r.name)).not.toContain("contact-vault-password");
        expect(doc.outputs.environments.contact.vault).toEqual({
            container: "staging-contact-vault",
            host: "127.0.0.1",
            port: 7630,
            password: "AdoptedVaultPassword1",
        });
    });

    it("uses an adopted vault's data in place: no volume created, the vault refusing an empty folder", () => {
        const { code, stdout, stderr } = synth("-c", 'vaultData={"contact":"nexus3-contact-vault-data","user":"/srv/redis/user"}');
        expect(stderr).toBe("");
        expect(code).toBe(0);
        const doc = JSON.parse(stdout);
        const names = doc.resources.map((r: any) => r.name);
        expect(names).not.toContain("contact-vault-data");
        expect(names).not.toContain("user-vault-data");
        expect(names).toContain("contact-operational-data");
        const byName = (name: string) => containers(doc).find((c: any) => c.name === name).inputs;
        expect(byName("contact-vault").volumes).toEqual([{ volumeName: "nexus3-contact-vault-data", containerPath: "/data" }]);
        expect(byName("contact-vault").envs).toEqual(["NEXUS_REDIS_REQUIRE_DATA=nexus3-contact-vault-data"]);
        expect(byName("user-vault").volumes).toEqual([{ hostPath: "/srv/redis/user", containerPath: "/data" }]);
        expect(byName("user-vault").envs).toEqual(["NEXUS_REDIS_REQUIRE_DATA=/srv/redis/user"]);
        expect(byName("kb-vault").envs).toBeUndefined();
    });

    it("limits every container's memory, gives the vault's Redis 75% as maxmemory, and the operational none", () => {
        const { code, stdout } = synth("-c", "memoryLimitMb=512", "-c", 'environments=["contact"]', "--show-secrets");
        expect(code).toBe(0);
        const [vault, operational] = containers(JSON.parse(stdout));
        const config = (c: any) => c.inputs.uploads.find((u: any) => u.file.endsWith(".conf")).content as string;
        expect([vault.inputs.memory, operational.inputs.memory]).toEqual([512, 512]);
        expect(config(vault)).toContain(`\nmaxmemory ${384 * 1024 * 1024}\nmaxmemory-policy noeviction\n`);
        // A replica ignores maxmemory by default (replica-ignore-maxmemory yes): it holds what its vault holds.
        expect(config(operational)).not.toContain("maxmemory");
    });

    it("hides adopted passwords too unless --show-secrets is given", () => {
        const { code, stdout } = synth("--secret", 'passwords={"user":{"vault":"AdoptedUserPassword1"}}');
        expect(code).toBe(0);
        expect(stdout).not.toContain("AdoptedUserPassword1");
        expect(JSON.parse(stdout).outputs.environments.user.vault.password).toBe("[secret]");
    });

    it("refuses passwords given as plain config, exiting 2 without printing them", () => {
        const { code, stdout, stderr } = synth("-c", 'passwords={"contact":{"vault":"PlainAdoptedPw123"}}');
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toContain("nexus-redis:passwords: holds passwords but is not a secret");
        expect(stderr).not.toContain("PlainAdoptedPw123");
    });

    it("joins an existing network instead of creating one when createNetwork is false", () => {
        const { code, stdout } = synth("-c", "createNetwork=false", "-c", "network=shared-net");
        expect(code).toBe(0);
        const doc = JSON.parse(stdout);
        expect(doc.resources.some((r: any) => r.type === "docker:index/network:Network")).toBe(false);
        for (const c of containers(doc)) expect(c.inputs.networksAdvanced).toEqual([{ name: "shared-net" }]);
    });

    it("exits 2 on invalid configuration, naming every offending key on stderr and printing nothing on stdout", () => {
        const { code, stdout, stderr } = synth("-c", 'environments=["contct","user=6610/6611"]', "-c", "bindAddress=everywhere");
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toContain('nexus-redis:environments[0]: unknown environment "contct"');
        expect(stderr).toContain("nexus-redis:environments[1]");
        expect(stderr).toContain("nexus-redis:bindAddress");
    });

    it("exits 2 on a config key Pulumi.yaml does not declare, as pulumi up would", () => {
        const { code, stdout, stderr } = synth("-c", "portOfset=1000");
        expect(code).toBe(2);
        expect(stdout).toBe("");
        expect(stderr).toContain("nexus-redis:portOfset (-c) is not declared in Pulumi.yaml");
    });

    it("exits 2 on a usage error", () => {
        const { code, stderr } = synth("--stak", "dev");
        expect(code).toBe(2);
        expect(stderr).toMatch(/Unknown option '--stak'/);
        expect(stderr).toContain("Usage:");
    });
});
