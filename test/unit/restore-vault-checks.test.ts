/**
 * What restore proves about the vault before it changes anything: not paused, started through
 * the program's start script, the same server behind host:port as inside the container, on
 * AOF; a vault still converting its data waited for, within --timeout; and when it stops waiting
 * for an operational that is not running.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { CONVERT_FOLDER, DATA_DIR, STOP_GRACE_SECONDS, vaultCommand } from "../../components/redisServer";
import {
    CONVERSION_HANDOVER_MS,
    appendonlyRefusal,
    identityRefusal,
    judgeStart,
    stopBudgetRefusal,
    AFTER_STOP_MS,
    START_POLL_MS,
    START_WAIT_RESERVE_MS,
    operationalNotRunning,
    pausedRefusal,
    startPhase,
    startPhaseScript,
    startScriptRefusal,
    startsThroughStartScript,
    stoppedIdentityRefusal,
} from "../../cli/restore/vaultChecks";

describe("whether a vault starts through the program's start script", () => {
    // As `docker inspect` shows the program's vault on each image the tests build
    // (scripts/build-test-image.sh): the command is the program's, the entrypoint the image's.
    describe.each<[string, string[] | null]>([
        ["the official layout (7, 7-notmp, 7-noflock)", ["docker-entrypoint.sh"]],
        ["an image without an entrypoint (7-noentrypoint, 7-nouser)", null],
        ["an image with an empty entrypoint", []],
    ])("%s", (_image, entrypoint) => {
        it("recognises the program's vault command", () => {
            expect(startsThroughStartScript(entrypoint, vaultCommand())).toBe(true);
        });
        it("refuses a plain redis-server with AOF on, which would start empty beside the snapshot", () => {
            expect(startsThroughStartScript(entrypoint, ["redis-server", "--appendonly", "yes", "--requirepass", "x"])).toBe(false);
        });
    });

    it("refuses the start script run for the operational role", () => {
        expect(
            startsThroughStartScript(
                ["docker-entrypoint.sh"],
                ["sh", "/etc/nexus-redis/start-redis.sh", "operational", "/etc/nexus-redis/operational.conf"],
            ),
        ).toBe(false);
    });

    it("says what the command is, why it matters, and to adopt the vault first", () => {
        const message = startScriptRefusal("kb-vault", ["docker-entrypoint.sh"], ["redis-server", "--appendonly", "yes"]);
        expect(message).toMatch(/^refused, nothing was changed: kb-vault does not start through the program's start script/);
        expect(message).toContain('its command is "docker-entrypoint.sh redis-server --appendonly yes"');
        expect(message).toContain("come back EMPTY");
        expect(message).toContain("adopt this one first (docs/adopt.md)");
    });
});

describe("whether host:port and the container are the same server", () => {
    it("goes ahead when both give the same run_id", () => {
        expect(identityRefusal("kb-vault", "127.0.0.1:6390", { runId: "abc" }, { runId: "abc" })).toBeUndefined();
    });

    it("refuses different run_ids, naming the container, the endpoint and both", () => {
        const message = identityRefusal("web-vault", "127.0.0.1:6390", { runId: "aaa111" }, { runId: "bbb222" });
        expect(message).toMatch(
            /^refused, nothing was changed: the vault's host:port 127\.0\.0\.1:6390 and its container web-vault are not the same Redis server/,
        );
        expect(message).toContain("127.0.0.1:6390: run_id aaa111; inside web-vault: run_id bbb222");
        expect(message).toContain("correct the outputs (vault.container and vault.port)");
    });

    it("refuses when either side does not answer to the vault's password", () => {
        const wrongPassword = identityRefusal("web-vault", "127.0.0.1:6390", { runId: "aaa" }, { error: "AUTH failed: WRONGPASS" });
        expect(wrongPassword).toContain("127.0.0.1:6390 and its container web-vault could not be proven to be the same Redis server");
        expect(wrongPassword).toContain("inside web-vault: no answer with the vault's password (AUTH failed: WRONGPASS)");
        expect(identityRefusal("web-vault", "127.0.0.1:6390", { error: "ECONNREFUSED" }, { runId: "aaa" })).toContain(
            "127.0.0.1:6390: no answer with the vault's password (ECONNREFUSED)",
        );
    });

    it("takes a stopped container for the vault only when it publishes the vault's port", () => {
        expect(stoppedIdentityRefusal("kb-vault", 6390, { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: "6390" }] })).toBeUndefined();
        expect(stoppedIdentityRefusal("web-vault", 6390, { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: "6380" }] })).toMatch(
            /web-vault is stopped and does not publish the vault's port 6390 \(it publishes 6380\)/,
        );
        expect(stoppedIdentityRefusal("web-vault", 6390, {})).toContain("(it publishes none)");
    });
});

describe("the vault's persistence", () => {
    it("goes ahead on AOF", () => {
        expect(appendonlyRefusal("kb-vault", "yes")).toBeUndefined();
    });
    it("refuses a vault without AOF: what it would keep aside is its last save, not what it holds", () => {
        expect(appendonlyRefusal("kb-vault", "no")).toMatch(/^refused, nothing was changed: kb-vault runs with appendonly no/);
    });
});

describe("a paused vault", () => {
    it("is refused up front, saying how to unpause it", () => {
        expect(pausedRefusal("kb-vault")).toBe(
            "refused, nothing was changed: the vault container is paused: docker unpause kb-vault, then run restore again",
        );
    });
});

describe("when restore stops waiting for the operational", () => {
    it.each<[string, Parameters<typeof operationalNotRunning>[0], string | undefined]>([
        ["running", { Status: "running", Running: true }, undefined],
        ["restarting (it may come up)", { Status: "restarting", Running: false, Restarting: true }, undefined],
        ["exited", { Status: "exited", Running: false }, "exited"],
        ["dead", { Status: "dead", Running: false }, "dead"],
        ["created, never started", { Status: "created", Running: false }, "created"],
        ["paused (Docker says running too)", { Status: "paused", Running: true, Paused: true }, "paused"],
    ])("%s", (_what, state, expected) => {
        expect(operationalNotRunning(state)).toBe(expected);
    });
});

describe("a vault that is still starting", () => {
    it("reads the start script's conversion folder, then Redis's loading flag", () => {
        expect(startPhase({ exitCode: 0, stdout: "phase:converting\n" })).toBe("converting");
        expect(startPhase({ exitCode: 0, stdout: "# Persistence\r\nloading:1\r\naof_enabled:1\r\n" })).toBe("loading");
        expect(startPhase({ exitCode: 0, stdout: "# Persistence\r\nloading:0\r\naof_enabled:1\r\n" })).toBe("answering");
        expect(startPhase({ exitCode: 1, stdout: "Could not connect to Redis at 127.0.0.1:6379: Connection refused" })).toBe("unknown");
        expect(startPhase({ exitCode: 0, stdout: "AUTH failed: WRONGPASS invalid username-password pair" })).toBe("unknown");
    });

    it("looks for a process whose socket is in the folder start-redis.sh converts in, never matching its own arguments", () => {
        const script = readFileSync(path.resolve(__dirname, "../../components/start-redis.sh"), "utf8");
        expect(script).toMatch(new RegExp(`^work=${CONVERT_FOLDER.replace(/\./g, "\\.")}$`, "m"));
        expect(script).toContain("sock=$work/redis.sock");
        expect(startPhaseScript()).toContain(`*"${DATA_DIR}/${CONVERT_FOLDER}"/*) echo phase:converting`);
        expect(startPhaseScript()).not.toContain(`${DATA_DIR}/${CONVERT_FOLDER}/`);
    });

    it("waits for a converting or loading vault while --timeout leaves time, saying so and that nothing is changed", () => {
        expect(judgeStart("kb-vault", "converting", 0, 600_000)).toEqual({
            action: "wait",
            note: "kb-vault is converting its data into an append-only file (its start script loads dump.rdb with no client port open, then starts Redis on the AOF): waiting for it (within --timeout); nothing is changed before then",
        });
        expect(judgeStart("kb-vault", "loading", 3_000, 600_000)).toMatchObject({ action: "wait" });
    });

    it("checks at once a vault that answers, or does not answer for another reason (the checks say why)", () => {
        expect(judgeStart("kb-vault", "answering", 0, 60_000)).toEqual({ action: "check" });
        expect(judgeStart("kb-vault", "unknown", 0, 60_000)).toEqual({ action: "check" });
    });

    it("waits out the moment between the conversion's end and Redis opening its port, then leaves it to the checks", () => {
        expect(judgeStart("kb-vault", "unknown", 8_000, 600_000, 500)).toMatchObject({ action: "wait" });
        expect(judgeStart("kb-vault", "unknown", 20_000, 600_000, CONVERSION_HANDOVER_MS + 1)).toEqual({ action: "check" });
    });

    it("stops waiting while --timeout still leaves the restore its own time (the stop, the swap, the start), not when it runs out", () => {
        expect(judgeStart("kb-vault", "converting", 0, START_WAIT_RESERVE_MS + START_POLL_MS + 1)).toMatchObject({ action: "wait" });
        expect(judgeStart("kb-vault", "converting", 0, START_WAIT_RESERVE_MS + START_POLL_MS)).toMatchObject({ action: "refuse" });
        expect(judgeStart("kb-vault", "loading", 0, 60_000)).toMatchObject({ action: "refuse" });
        expect(judgeStart("kb-vault", "unknown", 0, 60_000, 500)).toEqual({ action: "check" });
    });

    it("refuses, nothing changed, once --timeout runs low, saying what the log shows when it is done", () => {
        const verdict = judgeStart("kb-vault", "converting", 479_600, 120_400);
        expect(verdict).toEqual({
            action: "refuse",
            message:
                "refused, nothing was changed: kb-vault was still converting its data into an append-only file (its start script loads dump.rdb with no client port open, then starts Redis on the AOF) after restore had waited 479.6 s, and --timeout leaves too little for the restore itself (it keeps 120.0 s for the stop, the swap and the start). " +
                'Run restore again once `docker logs kb-vault` shows "nexus-redis vault: converted: ... starting", then "Ready to accept connections", or with a longer --timeout',
        });
    });
});

describe("the time left before the vault is stopped", () => {
    it("is enough when it covers the vault's stop timeout and the swap and start after it", () => {
        expect(stopBudgetRefusal(STOP_GRACE_SECONDS * 1000 + AFTER_STOP_MS)).toBeUndefined();
        expect(stopBudgetRefusal(600_000)).toBeUndefined();
    });

    it("short of that, refuses with nothing changed (writes resume), saying to give a longer --timeout", () => {
        expect(stopBudgetRefusal(STOP_GRACE_SECONDS * 1000 + AFTER_STOP_MS - 1)).toBe(
            "refused, nothing was changed: --timeout leaves 89.9 s, less than the 90.0 s that stopping the vault (up to 60 s), swapping its files and starting it again may take; run restore again with a longer --timeout",
        );
        expect(stopBudgetRefusal(400)).toMatch(/^refused, nothing was changed: --timeout leaves 0\.4 s, less than the 90\.0 s/);
    });
});
