/**
 * How `check` asks the Docker engine about a container whose server does not answer
 * (cli/docker/engine.ts): one `GET /containers/{name}/json`, here answered by a stand-in engine on a
 * unix socket of its own, as DOCKER_HOST names one.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineContainers, containerFacts } from "../../cli/docker/engine";

/** What `docker inspect` of a running container cut off its only network returns (the fields check reads, and some it does not). */
const DETACHED = {
    Id: "0123",
    Name: "/nexus3-contact-operational",
    State: { Status: "running", Running: true, Paused: false, Restarting: false, OOMKilled: false, ExitCode: 0 },
    NetworkSettings: { Networks: {}, Ports: {} },
};

describe("the facts of an inspect body", () => {
    it.each<[string, unknown, object]>([
        ["a running container cut off its network", DETACHED, { exists: true, status: "running", exitCode: 0, networks: [] }],
        [
            "a stopped one, killed for lack of memory",
            { State: { Status: "exited", ExitCode: 137, OOMKilled: true }, NetworkSettings: { Networks: { b: {}, a: {} } } },
            { exists: true, status: "exited", exitCode: 137, oomKilled: true, networks: ["a", "b"] },
        ],
        ["a body without the fields", {}, { exists: true, status: "unknown", exitCode: undefined, oomKilled: false, networks: [] }],
    ])("reads %s", (_what, body, facts) => {
        expect(containerFacts(body)).toMatchObject(facts);
    });
});

describe("an engine on DOCKER_HOST", () => {
    const folder = fs.mkdtempSync(path.join(tmpdir(), "nexus-redis-engine-"));
    const socket = path.join(folder, "docker.sock");
    const asked: string[] = [];
    const server = http.createServer((request, response) => {
        asked.push(request.url ?? "");
        if (request.url === "/containers/nexus3-contact-operational/json") {
            response.writeHead(200, { "content-type": "application/json" });
            response.end(JSON.stringify(DETACHED));
        } else if (request.url === "/containers/broken/json") {
            response.writeHead(500);
            response.end('{"message":"engine trouble"}');
        } else if (request.url === "/containers/slow/json") {
            // Never answers.
        } else {
            response.writeHead(404);
            response.end('{"message":"No such container"}');
        }
    });

    beforeAll(() => new Promise<void>((resolve) => server.listen(socket, resolve)));
    afterAll(async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        fs.rmSync(folder, { recursive: true, force: true });
    });

    const engine = new EngineContainers(`unix://${socket}`);

    it("is asked for the container by name, and says what it is doing", async () => {
        expect(await engine.inspect("nexus3-contact-operational", 2000)).toEqual({
            exists: true,
            status: "running",
            exitCode: 0,
            oomKilled: false,
            networks: [],
        });
        expect(asked).toContain("/containers/nexus3-contact-operational/json");
    });

    it("says a container it does not know does not exist", async () => {
        expect(await engine.inspect("nexus3-gone-vault", 2000)).toEqual({ exists: false, networks: [] });
    });

    it("rejects with the engine's words when it answers with an error, and when it does not answer in time", async () => {
        await expect(engine.inspect("broken", 2000)).rejects.toThrow(/the Docker engine answered 500: \{"message":"engine trouble"\}/);
        await expect(engine.inspect("slow", 300)).rejects.toThrow(/did not answer within 300 ms/);
    });

    it("rejects when no engine listens there, and on a DOCKER_HOST it cannot use", async () => {
        await expect(new EngineContainers(`unix://${folder}/none.sock`).inspect("x", 1000)).rejects.toThrow(/ENOENT/);
        await expect(new EngineContainers("ssh://me@host").inspect("x", 1000)).rejects.toThrow(/neither unix/);
    });
});
