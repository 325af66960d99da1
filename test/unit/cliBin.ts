/**
 * The `nexus-redis` bin run as users run it, for the bin's tests: a process started through its
 * shebang with a probe that records every module it loaded (project files, packages, Node's
 * own), and a stack output whose servers are a closed port. Importing this registers, in the
 * importing test file, a first untested run of the bin and the closed port's discovery
 * (beforeAll), and the removal of its temporary folder (afterAll). Not a test file itself.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { beforeAll } from "vitest";
import { contact, user } from "./cli-samples";
import { tempFolder } from "./tempFolder";

export const ROOT = path.resolve(__dirname, "../..");
export const BIN = path.join(ROOT, "bin/nexus-redis.js");

export const temp = tempFolder("nexus-redis-bin-");

/** Writes every module the process loaded (project files, packages, Node's own modules) to `file` when it exits. */
const PROBE = path.join(temp, "probe.cjs");
fs.writeFileSync(
    PROBE,
    `const Module = require("node:module");
const vm = require("node:vm");
const builtins = new Set();
const load = Module._load;
Module._load = function (request, ...rest) {
    if (Module.isBuiltin(request)) builtins.add(request.replace(/^node:/, ""));
    return load.call(this, request, ...rest);
};
// The bin compiles the build itself (with its code cache), not through require().
const compiled = [];
vm.Script = class extends vm.Script {
    constructor(code, options) {
        super(code, options);
        compiled.push(options.filename);
    }
};
process.on("exit", () =>
    require("node:fs").writeFileSync(
        process.env.NEXUS_REDIS_PROBE,
        JSON.stringify({ files: [...Object.keys(require.cache), ...compiled], builtins: [...builtins] }),
    ),
);
`,
);

export interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
    /** Files loaded, relative to the project (dist/build-.../ shortened to dist/). */
    loaded: string[];
    /** Packages loaded from node_modules. */
    packages: string[];
    /** Node's own modules the CLI required (those Node loads for itself are not listed). */
    builtins: string[];
}

/** Runs the bin (or `opts.bin`, a copy's) with `args`, and says what it printed, exited with and loaded. */
export function bin(args: string[], opts: { input?: string; bin?: string; path?: string; dockerHost?: string } = {}): Run {
    const probeFile = path.join(temp, `loaded-${Math.random().toString(36).slice(2)}.json`);
    const result: SpawnSyncReturns<string> = spawnSync(opts.bin ?? BIN, args, {
        cwd: ROOT,
        input: opts.input ?? "",
        encoding: "utf8",
        env: {
            ...process.env,
            NODE_OPTIONS: `--require ${PROBE}`,
            NEXUS_REDIS_PROBE: probeFile,
            // No engine answers there: what the check says of a server that does not answer
            // never depends on this machine's Docker engine (cli-bin-run's engine test gives it one).
            DOCKER_HOST: opts.dockerHost ?? `unix://${path.join(temp, "no-engine.sock")}`,
            // The bin's shebang finds node on PATH: the one running the tests comes first.
            ...(opts.path ? { PATH: `${path.dirname(process.execPath)}:${opts.path}` } : {}),
        },
        timeout: 60_000,
    });
    const probed = fs.existsSync(probeFile)
        ? (JSON.parse(fs.readFileSync(probeFile, "utf8")) as { files: string[]; builtins: string[] })
        : { files: [], builtins: [] };
    const files = probed.files;
    const root = path.dirname(path.dirname(opts.bin ?? BIN));
    const loaded = files
        .filter((f) => f.startsWith(root) && !f.includes("/node_modules/") && f !== PROBE)
        .map((f) => path.relative(root, f).replace(/^dist\/build-[^/]+\//, "dist/"))
        .sort();
    const packages = [
        ...new Set(files.map((f) => /\/node_modules\/((@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p) => p !== undefined)),
    ].sort();
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, loaded, packages, builtins: probed.builtins.sort() };
}

/** A port nothing listens on, found before the tests. */
export let closedPort = 0;
beforeAll(async () => {
    // A run first, untested: after an edit it rebuilds (cli-bin-build tests that, on a copy), so
    // the tests see what every later run does.
    spawnSync(BIN, ["--help"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
});

/** A stack output whose every server is a closed port: the check fails fast, in words. */
export function stoppedOutputs(): string {
    const file = path.join(temp, "outputs.json");
    fs.writeFileSync(
        file,
        JSON.stringify({
            environments: {
                contact: {
                    ...contact,
                    vault: { ...contact.vault, port: closedPort },
                    operational: { ...contact.operational, port: closedPort },
                },
                user: { ...user, vault: { ...user.vault, port: closedPort } },
            },
        }),
    );
    return file;
}
