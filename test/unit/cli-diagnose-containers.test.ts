/**
 * The CLI's pure diagnosis of a server that does not answer, with what the container engine says
 * about its container: each state explained in words with its repair (missing, stopped, killed
 * for memory, restarting, paused, cut off its network …), or the port's own words kept.
 */
import { describe, expect, it } from "vitest";
import { diagnose } from "../../cli/health/diagnose";
import { containerExplanation } from "../../cli/health/unanswered";
import type { ContainerFacts } from "../../cli/core/io";
import { healthySecure, user } from "./cli-samples";
import { broken, codes, context, messages } from "./cliDiagnosis";

describe("what the engine says about a container whose server does not answer", () => {
    const refused = {
        kind: "refused" as const,
        command: "INFO replication",
        message: "refused the connection (nothing listens: container stopped?)",
    };
    const silent = { kind: "silent" as const, command: "AUTH", message: "accepted the connection but did not answer AUTH within 3000 ms" };
    const running = { exists: true, status: "running", exitCode: 0, oomKilled: false, networks: ["nexus-storage-network"] };

    describe.each<[string, ContainerFacts, typeof refused | typeof silent, RegExp | undefined]>([
        [
            "does not exist",
            { exists: false, networks: [] },
            refused,
            /^container C does not exist \(removed by hand\? `pulumi up` creates it again\)$/,
        ],
        [
            "is stopped",
            { ...running, status: "exited", exitCode: 137, networks: [] },
            refused,
            /^container C is stopped \(exit code 137; `docker logs C` says why\): `docker start C`$/,
        ],
        [
            "was killed for lack of memory",
            { ...running, status: "exited", exitCode: 137, oomKilled: true },
            refused,
            /exit code 137, killed by the kernel for lack of memory/,
        ],
        ["was never started", { ...running, status: "created" }, refused, /^container C was created and never started/],
        [
            "keeps restarting",
            { ...running, status: "restarting", exitCode: 1 },
            refused,
            /^container C is restarting: it keeps exiting as it starts \(last exit code 1/,
        ],
        ["is paused", { ...running, status: "paused" }, silent, /^container C is paused: `docker unpause C`$/],
        [
            "runs, cut off its network",
            { ...running, networks: [] },
            refused,
            /^container C runs, but is attached to no network \(docker network disconnect\?\), so its published port is closed and it cannot reach the other server: `docker network connect nexus-storage-network C`$/,
        ],
        ["runs, on its network, nothing listening yet", running, refused, /^container C runs, but nothing listens in it yet/],
        ["runs, on its network, silent (busy)", running, silent, undefined],
    ])("a container that %s", (_what, facts, failure, expected) => {
        it(expected ? "is explained in words, with the repair" : "adds nothing to what the port said", () => {
            const explanation = containerExplanation("C", facts, failure, "nexus-storage-network");
            if (expected) expect(explanation).toMatch(expected);
            else expect(explanation).toBeUndefined();
        });
    });

    it("replaces the port's guess in the operational's problem, naming the vault's network for the repair", () => {
        const o = broken((o) => {
            o.operational = { failure: refused };
            o.containers = { vault: running, operational: { ...running, networks: [] } };
        });
        expect(codes(o)).toEqual(["operational-unreachable"]);
        expect(messages(o)).toBe(
            "operational 127.0.0.1:6631 refused the connection: container nexus3-contact-operational runs, but is attached to no network (docker network disconnect?), so its published port is closed and it cannot reach the other server: `docker network connect nexus-storage-network nexus3-contact-operational`",
        );
    });

    it("explains a secure vault that is stopped", () => {
        const o = healthySecure();
        o.vault = { failure: { ...refused, command: "AUTH" } };
        o.containers = { vault: { ...running, status: "exited", exitCode: 0 } };
        expect(diagnose(user, o, context).problems.map((p) => p.message)).toEqual([
            "vault 127.0.0.1:6610 refused the connection: container nexus3-user-vault is stopped (exit code 0; `docker logs nexus3-user-vault` says why): `docker start nexus3-user-vault`",
        ]);
    });

    it("keeps the port's words when the engine could not be asked", () => {
        const o = broken((o) => (o.operational = { failure: refused }));
        expect(messages(o)).toBe("operational 127.0.0.1:6631 refused the connection (nothing listens: container stopped?)");
    });
});
