/**
 * The operator CLI on a Swarm deployment, without a Swarm: the outputs it reads, the pure
 * diagnosis of where each role's task runs (or why none does), how the relay's words become
 * failures, and the commands it refuses. test/swarm/ runs it against a real three-node Swarm.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { diagnose, diagnosisContext } from "../../cli/health/diagnose";
import { withPlacement } from "../../cli/health/placement";
import type { Diagnosis } from "../../cli/health/problems";
import type { NodeFacts, SwarmObservation, EnvironmentsOutput, StandardEnvironmentOutput } from "../../cli/fleet/environment";
import { parseOutputs } from "../../cli/fleet/outputs";
import { swarmOperationalUrn } from "../../cli/recover/recover";
import { recoverCommand } from "../../cli/core/pulumi";
import { engineAddress } from "../../cli/docker/engine";
import { RELAY_SCRIPT, relayFailure } from "../../cli/fleet/swarm";
import { healthyStandard } from "./cli-samples";
import { cli } from "./cliRun";

const VAULT_NODE = "v0v0v0v0v0v0v0v0v0v0v0v0v";
const OTHER_NODE = "o0o0o0o0o0o0o0o0o0o0o0o0o";
const ready = (id: string, hostname: string): NodeFacts => ({ id, hostname, state: "ready" });

const contact: StandardEnvironmentOutput = {
    kind: "standard",
    platform: "swarm",
    swarm: { network: "nexus-storage-network", image: "redis:7.2", vaultNode: VAULT_NODE },
    vault: { container: "nexus3-contact-vault", host: "nexus3-contact-vault", port: 6379, publishedPort: 6630, password: "vault-pw" },
    replication: { user: "replicator", password: "replication-pw" },
    operational: {
        container: "nexus3-contact-operational",
        host: "nexus3-contact-operational",
        port: 6379,
        adminUser: "admin",
        adminPassword: "admin-pw",
    },
    backup: { user: "backup", password: "backup-pw" },
};

/** Where a healthy contact runs: its vault on its node, its operational on another. */
function placed(change: Partial<SwarmObservation> = {}): SwarmObservation {
    return {
        vault: { exists: true, node: ready(VAULT_NODE, "node-a") },
        operational: { exists: true, node: ready(OTHER_NODE, "node-b") },
        vaultNode: ready(VAULT_NODE, "node-a"),
        otherReadyNodes: 2,
        ...change,
    };
}

const unreachable = { kind: "unreachable" as const, command: "AUTH", message: "runs no task (the service is not running on any node)" };
const codes = (d: Diagnosis) => d.problems.map((p) => p.code);

describe("the stack output of a Swarm deployment", () => {
    it("is read with its platform, overlay, image, vault node and published ports", () => {
        const parsed = parseOutputs(JSON.stringify({ environments: { contact } }), "test");
        expect(parsed.contact).toEqual(contact);
    });

    it("names each bad key", () => {
        const bad = { ...contact, platform: "kubernetes", swarm: undefined };
        expect(() => parseOutputs(JSON.stringify({ environments: { contact: bad } }), "test")).toThrow(
            /environments\.contact\.platform must be "swarm" or absent \(docker\), got "kubernetes"/,
        );
        const noSwarm = { ...contact, swarm: { network: "n", image: "i" } };
        expect(() => parseOutputs(JSON.stringify({ environments: { contact: noSwarm } }), "test")).toThrow(
            /environments\.contact\.swarm\.vaultNode must be a non-empty string/,
        );
        const badPort = { ...contact, vault: { ...contact.vault, publishedPort: 0 } };
        expect(() => parseOutputs(JSON.stringify({ environments: { contact: badPort } }), "test")).toThrow(
            /environments\.contact\.vault\.publishedPort must be a port number/,
        );
    });
});

describe("the diagnosis on Swarm (pure: the manager's view with the servers' answers)", () => {
    const context = diagnosisContext({ contact });
    const healthy = healthyStandard(contact);

    it("changes nothing for a healthy environment whose tasks run where they must", () => {
        expect(diagnose(contact, { ...healthy, swarm: placed() }, context).problems).toEqual([]);
    });

    it("names a vault whose node is down, and says it is never started elsewhere, instead of a timeout", () => {
        const observation = {
            ...healthy,
            vault: { failure: unreachable },
            swarm: placed({
                vault: {
                    exists: true,
                    waiting: { state: "pending", message: "no suitable node (scheduling constraints not satisfied on 2 nodes)" },
                },
                vaultNode: { id: VAULT_NODE, hostname: "node-a", state: "down" },
            }),
        };
        const diagnosis = diagnose(contact, observation, context);
        expect(codes(diagnosis)).not.toContain("vault-unreachable");
        expect(diagnosis.problems[0]).toEqual({
            code: "vault-not-running",
            message: `the vault's service nexus3-contact-vault runs no task: its node node-a (${VAULT_NODE}) is down; the vault is never started on another node (its data is in a volume on node-a): bring node-a back`,
        });
    });

    it("names the task's error when the vault's node is up and its container fails", () => {
        const observation = {
            ...healthy,
            vault: { failure: unreachable },
            swarm: placed({ vault: { exists: true, waiting: { state: "failed", message: "task: non-zero exit (1)" } } }),
        };
        expect(diagnose(contact, observation, context).problems[0]).toEqual({
            code: "vault-not-running",
            message: `the vault's service nexus3-contact-vault runs no task: its task on node-a (${VAULT_NODE}) is failed: task: non-zero exit (1)`,
        });
    });

    it("says so when the vault's service is gone, or its node is not in the Swarm", () => {
        const gone = diagnose(
            contact,
            { ...healthy, vault: { failure: unreachable }, swarm: placed({ vault: { exists: false } }) },
            context,
        );
        expect(gone.problems[0].message).toMatch(/does not exist on the Swarm/);
        const { vaultNode: _gone, ...noNode } = placed({
            vault: { exists: true, waiting: { state: "pending", message: "no suitable node" } },
        });
        const away = diagnose(contact, { ...healthy, vault: { failure: unreachable }, swarm: noNode }, context);
        expect(away.problems[0].message).toMatch(new RegExp(`pinned to node ${VAULT_NODE}, which is not in the Swarm`));
    });

    it("explains an operational with nowhere to run: only its vault's node is up", () => {
        const observation = {
            ...healthy,
            operational: { failure: unreachable },
            swarm: placed({
                operational: { exists: true, waiting: { state: "pending", message: "no suitable node" } },
                otherReadyNodes: 0,
            }),
        };
        const diagnosis = diagnose(contact, observation, context);
        expect(codes(diagnosis)).toEqual(["operational-not-running"]);
        expect(diagnosis.problems[0].message).toBe(
            `the operational's service nexus3-contact-operational runs no task: it runs on any node but its vault's (node-a (${VAULT_NODE})), and no other node is up: reads wait until one is`,
        );
    });

    it("reports a vault away from its data and an operational on its vault's node (constraints changed by hand)", () => {
        const vaultAway = diagnose(
            contact,
            { ...healthy, swarm: placed({ vault: { exists: true, node: ready(OTHER_NODE, "node-b") } }) },
            context,
        );
        expect(codes(vaultAway)).toEqual(["vault-misplaced"]);
        expect(vaultAway.problems[0].message).toMatch(/runs on node node-b .* not on node-a .* the node that holds its data/);
        const together = diagnose(
            contact,
            { ...healthy, swarm: placed({ operational: { exists: true, node: ready(VAULT_NODE, "node-a") } }) },
            context,
        );
        expect(codes(together)).toEqual(["operational-misplaced"]);
    });

    it("keeps the servers' own findings when the manager's view explains nothing", () => {
        const base = diagnose(contact, { ...healthy, vault: { failure: unreachable } }, context);
        expect(withPlacement(contact, placed(), base).problems).toEqual(base.problems);
    });
});

describe("the relay's failures, as the sessions report them", () => {
    it.each([
        ["nc: can't connect to remote host (10.0.1.5): Connection refused", "refused"],
        ["bash: connect: Connection refused\nbash: /dev/tcp/10.0.1.5/6379: Connection refused", "refused"],
        ["nc: bad address 'nexus3-kb-vault'", "unreachable"],
        ["nc: can't connect to remote host (10.0.1.5): No route to host", "unreachable"],
        ["nc: timed out", "unreachable"],
        ["sh: nc: weird", "error"],
    ])("%s is %s", (stderr, kind) => {
        expect(relayFailure(stderr, "nexus3-kb-vault")?.kind).toBe(kind);
    });

    it("is no failure when the relay said nothing", () => {
        expect(relayFailure("", "x")).toBeUndefined();
    });
});

describe("the manager the CLI talks to", () => {
    it("is DOCKER_HOST's, as for the docker CLI, else the local socket", () => {
        expect(engineAddress(undefined)).toEqual({ socketPath: "/var/run/docker.sock" });
        expect(engineAddress("unix:///run/n1.sock")).toEqual({ socketPath: "/run/n1.sock" });
        expect(engineAddress("tcp://10.0.0.1:2375")).toEqual({ host: "10.0.0.1", port: 2375, protocol: "http" });
        expect(() => engineAddress("ssh://me@host")).toThrow(/neither unix/);
    });
});

describe("recover on Swarm", () => {
    it("replaces the operational's service, and nothing else", () => {
        const urn = swarmOperationalUrn("nexus-redis", "prod", "contact");
        expect(urn).toBe(
            "urn:pulumi:prod::nexus-redis::nexus-redis:redis:StandardEnvironment$docker:index/service:Service::contact-operational",
        );
        expect(recoverCommand([urn], "prod")).toEqual(["pulumi", "up", "--yes", "--stack", "prod", "--target", urn, "--replace", urn]);
    });
});

function outputsFile(environments: EnvironmentsOutput): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "nexus-redis-swarm-")), "outputs.json");
    writeFileSync(file, JSON.stringify({ environments }));
    return file;
}

describe("the CLI on a Swarm deployment's outputs", () => {
    const file = outputsFile({ contact });

    it("needs a manager to talk to, and says so (exit 2)", async () => {
        const run = await cli(["check", "--outputs", file], { env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(
            /runs on Docker Swarm and no Docker engine answers at \/nonexistent\/docker\.sock.*run nexus-redis on a Swarm manager/,
        );
    });

    it("prints recover's Pulumi command for the service with --dry-run, without a manager", async () => {
        const run = await cli(["recover", "contact", "--stack", "dev", "--dry-run", "--outputs", file], {
            env: { DOCKER_HOST: "unix:///nonexistent" },
        });
        const urn = swarmOperationalUrn("nexus-redis", "dev", "contact");
        expect(run.stderr).toBe("");
        expect(run.stdout).toBe(`pulumi up --yes --stack dev --target '${urn}' --replace '${urn}'\n`);
        expect(run.code).toBe(0);
    });

    it("refuses the Docker-only commands, rotate and restore (exit 2)", async () => {
        const run = await cli(["rotate", "contact", "vault", "--generate", "/tmp/x.pw", "--outputs", file]);
        expect(run.code).toBe(2);
        expect(run.stderr).toMatch(/rotate works on platform docker only; on a Swarm deployment use check, check --fix and recover/);
        // backup works on Swarm (test/swarm/tls.test.ts); restore stops the vault's container, which is Swarm's task there.
        const refused = await cli(["restore", "contact", "--from", "/tmp/x.rdb", "--outputs", file]);
        expect(refused.code).toBe(2);
        expect(refused.stderr).toMatch(/restore: works on platform docker only: .* use check, check --fix, recover and backup there/);
    });
});

describe("the relay script in the probe", () => {
    /** Runs RELAY_SCRIPT as the probe does, with only `tools` on PATH, sending `input` to host:port. */
    function relay(tools: Record<string, string>, port: number, input: string): Promise<{ code: number; stdout: string; stderr: string }> {
        const bin = mkdtempSync(path.join(tmpdir(), "nexus-redis-relay-"));
        for (const [name, target] of Object.entries({ sh: "/bin/sh", cat: "/usr/bin/cat", sleep: "/usr/bin/sleep", ...tools }))
            symlinkSync(target, path.join(bin, name));
        return new Promise((resolve) => {
            const child = spawn("/bin/sh", ["-c", RELAY_SCRIPT, "nexus-redis-relay", "127.0.0.1", String(port)], { env: { PATH: bin } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (b) => (stdout += b));
            child.stderr.on("data", (b) => (stderr += b));
            child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
            // A relay that could not connect exits before it reads: its stdin is gone.
            child.stdin.on("error", () => undefined);
            child.stdin.end(input);
        });
    }

    /** A server that answers +PONG to each line, then closes once its client has finished sending. */
    async function pongServer(): Promise<net.Server> {
        const server = net.createServer((socket) => {
            socket.on("data", (chunk) => socket.write("+PONG\r\n".repeat(String(chunk).split("\n").length - 1)));
            socket.on("end", () => socket.end());
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return server;
    }

    it.each([
        ["busybox nc (the alpine and test images)", { nc: "/usr/bin/busybox" }],
        ["bash's /dev/tcp (the Debian-based official image, which has no nc)", { bash: "/usr/bin/bash" }],
    ])("carries the bytes both ways with %s", async (_what, tools) => {
        const server = await pongServer();
        try {
            const run = await relay(tools, (server.address() as net.AddressInfo).port, "PING\n");
            expect(run.stdout).toBe("+PONG\r\n");
        } finally {
            server.close();
        }
    });

    it.each([
        ["busybox nc", { nc: "/usr/bin/busybox" }],
        ["bash", { bash: "/usr/bin/bash" }],
    ])("says, through %s, that nothing listens, in words relayFailure reads as refused", async (_what, tools) => {
        const server = await pongServer();
        const port = (server.address() as net.AddressInfo).port;
        await new Promise((resolve) => server.close(resolve));
        const run = await relay(tools, port, "PING\n");
        expect(run.code).not.toBe(0);
        expect(relayFailure(run.stderr, "x")?.kind).toBe("refused");
    });
});
