/**
 * How `nexus-redis adopt` puts a takeover back, on plain data: the undo of the stack's
 * configuration (a secret's former value on stdin), pulumi destroy or up, the old containers'
 * names, the data folder readied by the old vault's own Redis, the old operational's
 * replication, and what is left to do by hand; and, for an adopt that was killed before it
 * finished, the refusal that lists the whole way back (unfinishedPlan). The live suites fail
 * real takeovers (test/live/adopt-rollback.test.ts) and kill adopt midway
 * (test/live/adopt-killed.test.ts).
 */
import { describe, expect, it } from "vitest";
import { asideName, configSteps } from "../../cli/adopt/plan";
import type { Findings } from "../../cli/adopt/findings";
import { judgeEnvironment } from "../../cli/adopt/judge";
import { type Journal, readyingArgs, replicationCommands, rollbackText, undoCommands, undoPlan } from "../../cli/adopt/rollback";
import { unfinishedPlan } from "../../cli/adopt/unfinished";
import { PASSWORD, contact, context, operationalContainer, vaultContainer, view } from "./cliAdoptSamples";

describe("a takeover that fails is put back: the stack's configuration, its containers, the old containers and their replication", () => {
    const v = view();
    const steps = configSteps(v, judgeEnvironment(contact(), context())).steps;
    const journal: Journal = {
        environment: "contact",
        steps,
        stepsDone: steps.length,
        environmentsBefore: [],
        item: "contact",
        aofEnabled: true,
        savePointsSet: false,
        replication: {
            operational: "nexus3-contact-operational",
            masterHost: "10.0.4.2",
            masterPort: 6379,
            masterauth: PASSWORD,
            vaultIp: "10.0.4.2",
            network: "nexus-storage-network",
        },
        stopped: ["nexus3-contact-vault", "nexus3-contact-operational"],
        renamed: [
            ["nexus3-contact-vault", "nexus3-contact-vault.adopted-20261126T101500Z"],
            ["nexus3-contact-operational", "nexus3-contact-operational.adopted-20261126T101500Z"],
        ],
        applyStarted: true,
        newVaultAnswered: false,
    };

    it("undoes each step, last first, a secret's former value on stdin; the first environment's containers go with pulumi destroy, since an empty environments means the whole table", () => {
        const undo = undoPlan(journal, "dev");
        expect(undo.invocations).toEqual([
            // The stack set no environments: the key goes as a whole, as it was.
            { command: ["pulumi", "config", "rm", "--stack", "dev", "environments"] },
            { command: ["pulumi", "config", "rm", "--stack", "dev", "vaultData"] },
            { command: ["pulumi", "config", "rm", "--stack", "dev", "passwords"] },
            { command: ["pulumi", "config", "set", "--stack", "dev", "createNetwork", "true"] },
        ]);
        expect(undo.apply).toBe("destroy");
        expect(undo.command).toEqual(["pulumi", "destroy", "--yes", "--skip-preview", "--stack", "dev"]);
    });

    it("gives a secret back its former value on stdin, and applies with pulumi up when the stack keeps other environments", () => {
        const w = view({ environments: '["user"]', vaultData: '{"user":"/srv/user"}', passwords: '{"user":{"vault":"u"}}' });
        const later = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const undo = undoPlan({ ...journal, steps: later, stepsDone: later.length, environmentsBefore: ["user"] }, undefined);
        expect(undo.invocations).toContainEqual({
            command: ["pulumi", "config", "set", "--secret", "passwords"],
            input: '{"user":{"vault":"u"}}',
        });
        expect(undo.invocations).toContainEqual({ command: ["pulumi", "config", "set", "vaultData", '{"user":"/srv/user"}'] });
        // An item appended to a list the stack sets: that item alone goes.
        expect(undo.invocations[0]).toEqual({ command: ["pulumi", "config", "rm", "--path", "environments[1]"] });
        expect(undo.apply).toBe("up");
        expect(undo.command).toEqual(["pulumi", "up", "--yes", "--skip-preview"]);
    });

    it("removes an environments item the stack had before adopt, or pulumi up would create the environment anew on an empty volume", () => {
        const w = view({ environments: '["kb","contact"]' });
        const own = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const undo = undoPlan({ ...journal, steps: own, stepsDone: own.length, environmentsBefore: ["kb", "contact"] }, undefined);
        expect(undo.removesItem).toBe(true);
        expect(undo.invocations.at(-1)).toEqual({ command: ["pulumi", "config", "rm", "--path", "environments[1]"] });
        expect(undo.apply).toBe("up");
    });

    it("touches no container through the stack when pulumi up never ran", () => {
        expect(undoPlan({ ...journal, applyStarted: false, stopped: [], renamed: [] }, undefined)).toMatchObject({ apply: "none" });
    });

    it("prints the undo with no password on any command line: a secret is rebuilt from the stack's own and piped into pulumi config set", () => {
        const w = view({ environments: '["user","contact"]', passwords: '{"user":{"vault":"u"},"contact":{"backup":"b"}}' });
        const later = configSteps(w, judgeEnvironment(contact({}, w), context(w))).steps;
        const text = undoCommands({ ...journal, steps: later, stepsDone: later.length, environmentsBefore: ["user", "contact"] }, "dev");
        expect(text).toContain(
            "pulumi config get --stack dev passwords | jq -c '.contact |= del(.vault)' | pulumi config set --stack dev --secret passwords",
        );
        const u = view({ environments: '["user"]', passwords: '{"user":{"vault":"u"}}' });
        const first = configSteps(u, judgeEnvironment(contact({}, u), context(u))).steps;
        expect(undoCommands({ ...journal, steps: first, stepsDone: first.length, environmentsBefore: ["user"] }, undefined)).toContain(
            "pulumi config get passwords | jq -c 'del(.contact)' | pulumi config set --secret passwords",
        );
        for (const line of [...text, ...undoCommands(journal, undefined)]) {
            expect(line).not.toContain(PASSWORD);
            expect(line).not.toContain('"$(');
        }
    });

    it("re-applies the old operational's replication over RESP, to the vault's address after its restart when it had followed the vault by address", () => {
        expect(replicationCommands(journal.replication!, "10.0.4.9")).toEqual([
            ["CONFIG", "SET", "masterauth", PASSWORD],
            ["REPLICAOF", "10.0.4.9", "6379"],
        ]);
        // Another master than the vault's address (a name, another host): kept as it was.
        const elsewhere = { ...journal.replication!, masterHost: "vault.example", masteruser: "replicator", masterauth: undefined };
        expect(replicationCommands(elsewhere, "10.0.4.9")).toEqual([
            ["CONFIG", "SET", "masteruser", "replicator"],
            ["REPLICAOF", "vault.example", "6379"],
        ]);
    });

    it("says what is left to do by hand when putting it back stops halfway, with no password on a command line", () => {
        const text = rollbackText(journal, undefined, {
            configUndone: true,
            stackApplied: true,
            dataReady: true,
            renamedBack: ["nexus3-contact-vault"],
            started: [],
            replicationRestored: false,
        });
        expect(text).toBe(
            [
                "contact's data was never removed or renamed: no volume or folder was.",
                "put the old containers back and start them, the vault first:",
                "  docker rename nexus3-contact-operational.adopted-20261126T101500Z nexus3-contact-operational",
                "  docker start nexus3-contact-vault nexus3-contact-operational",
                "give nexus3-contact-operational its replication back (the protocol set it at runtime, and its restart lost it); the vault's password is typed, never on a command line:",
                "  read -rs VAULT_PASSWORD",
                `  printf 'CONFIG SET masterauth %s\\n' "$VAULT_PASSWORD" | docker exec -i nexus3-contact-operational redis-cli`,
                `  docker exec nexus3-contact-operational redis-cli REPLICAOF "$(docker inspect -f '{{(index .NetworkSettings.Networks "nexus-storage-network").IPAddress}}' nexus3-contact-vault)" 6379`,
            ].join("\n"),
        );
        const all = rollbackText({ ...journal, newVaultAnswered: true }, "dev");
        expect(all).toContain(
            "undo the stack's configuration:\n  pulumi config rm --stack dev environments\n  pulumi config rm --stack dev vaultData",
        );
        expect(all).toContain(
            "remove what pulumi up created for contact (its vault's data is not a stack resource and stays):\n  pulumi destroy --yes --skip-preview --stack dev",
        );
        expect(all).toContain("and the new vault took writes into it");
        expect(all).toContain(
            `  docker run -d --name nexus3-contact-vault.readying --network none --volumes-from nexus3-contact-vault.adopted-20261126T101500Z "$(docker inspect -f '{{.Image}}' nexus3-contact-vault.adopted-20261126T101500Z)" redis-server --appendonly yes --save '' --dir /data --databases 16`,
        );
        expect(all).not.toContain(PASSWORD);
    });

    it("before the stop: only the configuration to undo", () => {
        const text = rollbackText(
            { ...journal, stopped: [], renamed: [], stepsDone: 2, applyStarted: false, replication: undefined },
            undefined,
        );
        expect(text).toContain("undo the stack's configuration:\n  pulumi config rm passwords\n  pulumi config set createNetwork true");
        expect(text).not.toContain("docker");
        expect(text).toContain("the old vault now has appendonly yes (CONFIG SET, until it restarts): harmless");
    });

    it("readies the data folder with the old vault's own Redis: its files and databases, the AOF loaded, no save point, a one-time password", () => {
        const files = {
            dir: "/var/lib/redis",
            dbfilename: "dump.rdb",
            appenddirname: "appendonlydir",
            appendfilename: "appendonly.aof",
            databases: "32",
        };
        const args = readyingArgs(files, "one-time");
        const option = (name: string) => args[args.indexOf(name) + 1];
        expect(args[0]).toBe("redis-server");
        expect(
            Object.fromEntries(
                [
                    "--dir",
                    "--dbfilename",
                    "--appenddirname",
                    "--appendfilename",
                    "--databases",
                    "--appendonly",
                    "--save",
                    "--requirepass",
                ].map((o) => [o, option(o)]),
            ),
        ).toEqual({
            "--dir": "/var/lib/redis",
            "--dbfilename": "dump.rdb",
            "--appenddirname": "appendonlydir",
            "--appendfilename": "appendonly.aof",
            "--databases": "32",
            "--appendonly": "yes",
            "--save": "",
            "--requirepass": "one-time",
        });
        // Redis 6 has no appenddirname: none is given.
        expect(readyingArgs({ ...files, appenddirname: undefined }, "x")).not.toContain("--appenddirname");
    });

    it("names the old container after the time it was set aside", () => {
        expect(asideName("nexus3-contact-vault", new Date("2026-11-26T10:15:00.123Z"))).toBe(
            "nexus3-contact-vault.adopted-20261126T101500Z",
        );
    });
});

describe("an environment an adopt that did not finish left aside (unfinishedPlan)", () => {
    const aside = "nexus3-contact-vault.adopted-20261126T101500Z";
    const opAside = "nexus3-contact-operational.adopted-20261126T101500Z";
    const leftOver = (over: Partial<Findings> = {}): Findings => {
        const { vault: _vault, operational: _operational, ...rest } = contact();
        return {
            ...rest,
            leftovers: {
                aside: [
                    {
                        from: "nexus3-contact-vault",
                        container: vaultContainer({
                            name: aside,
                            state: "exited",
                            command: ["redis-server", "--requirepass", PASSWORD, "--dir", "/srv", "--databases", "8"],
                        }),
                    },
                    { from: "nexus3-contact-operational", container: operationalContainer({ name: opAside, state: "exited" }) },
                ],
                readying: [],
            },
            ...over,
        };
    };

    it("is refused, naming the old containers, with the whole way back in order: the folder readied with their dir and databases, names back, start, replication", () => {
        const plan = unfinishedPlan(leftOver(), view(), "prod")!;
        expect(plan.status).toBe("refused");
        const text = plan.reasons.join("\n");
        expect(text).toContain(`${aside} and ${opAside} are contact's old containers, set aside by an adopt that did not finish`);
        expect(text).toContain("pulumi config get --stack prod environments lists contact");
        const commands = text
            .split("\n")
            .filter((l) => l.startsWith("  "))
            .map((l) => l.trim());
        expect(commands).toEqual([
            `docker run -d --name nexus3-contact-vault.readying --network none --volumes-from ${aside} "$(docker inspect -f '{{.Image}}' ${aside})" redis-server --appendonly yes --save '' --dir /srv --databases 8`,
            "until docker exec nexus3-contact-vault.readying redis-cli INFO persistence | grep -q '^loading:0'; do sleep 0.2; done",
            "docker exec nexus3-contact-vault.readying redis-cli INFO keyspace",
            "docker exec nexus3-contact-vault.readying redis-cli SAVE",
            "docker stop -t 60 nexus3-contact-vault.readying && docker rm nexus3-contact-vault.readying",
            `docker rename ${aside} nexus3-contact-vault`,
            `docker rename ${opAside} nexus3-contact-operational`,
            "docker start nexus3-contact-vault nexus3-contact-operational",
            "read -rs VAULT_PASSWORD",
            `printf 'CONFIG SET masterauth %s\\n' "$VAULT_PASSWORD" | docker exec -i nexus3-contact-operational redis-cli`,
            `docker exec nexus3-contact-operational redis-cli REPLICAOF "$(docker inspect -f '{{(index .NetworkSettings.Networks "nexus-storage-network").IPAddress}}' nexus3-contact-vault)" 6379`,
        ]);
        expect(text).not.toContain(PASSWORD);
    });

    it("stops the stack's new vault first when one runs under the old name, and says whether the readying server was removed", () => {
        const plan = unfinishedPlan(
            leftOver({
                vault: vaultContainer({ managed: true }),
                leftovers: {
                    ...leftOver().leftovers!,
                    readying: [{ name: "nexus3-contact-vault.readying-20261126T101530Z", removed: false }],
                },
            }),
            view(),
            undefined,
        )!;
        const text = plan.reasons.join("\n");
        expect(text).toContain(
            "nexus3-contact-vault.readying-20261126T101530Z, that run's readying server on the old vault's volumes, is removed when adopt runs without --dry-run",
        );
        expect(text.split("\n").filter((l) => l.startsWith("  "))[0]).toBe("  docker stop -t 300 nexus3-contact-vault");
    });

    it("starts an operational the kill left stopped under its own name (between the two renames) and gives it its replication back", () => {
        const f = leftOver({ operational: operationalContainer({ state: "exited" }) });
        f.leftovers!.aside.pop();
        const text = unfinishedPlan(f, view(), undefined)!.reasons.join("\n");
        expect(text).toContain("docker start nexus3-contact-vault nexus3-contact-operational");
        expect(text).toContain("docker exec nexus3-contact-operational redis-cli REPLICAOF");
    });

    it("leaves an environment nothing was set aside of to the usual judgement", () => {
        expect(unfinishedPlan(contact(), view(), undefined)).toBeUndefined();
        expect(
            unfinishedPlan({ ...contact(), leftovers: { aside: [], readying: [{ name: "x", removed: true }] } }, view(), undefined),
        ).toBeUndefined();
    });
});
