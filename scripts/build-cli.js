#!/usr/bin/env node
// Builds the operator CLI to JavaScript: `npm run build:cli`, and npm's `prepare` (which
// `npm ci` and `npm install` run), so `npx nexus-redis` works right after either.
//
// Every TypeScript file the CLI can reach from cli/nexus-redis.ts (its commands' dynamic
// imports included) is compiled on its own, keeping its path: dist/<build>/cli/...,
// dist/<build>/components/protocol.js. Packages stay in node_modules, and each file stays
// a module of its own, so a command loads only what it imports. esbuild (which tsx, a
// dependency, brings) strips the types in well under a second; `tsc --noEmit` (npm run
// build, the tests) is what checks them.
//
// Each build gets a folder of its own, and dist/current.json names the current one with
// the size and modification time of every source it was built from. The bin reads that
// file on every start (plus a stat per source, well under a millisecond) and rebuilds when a
// source differs, so after a `git pull` or an edit it never runs JavaScript older than its
// sources. Two bins rebuilding at once each write their own folder and the last rename of
// current.json wins; a process already running keeps loading the folder it started from.

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const CURRENT = path.join(DIST, "current.json");
const ENTRY = "cli/nexus-redis.ts";
/** Builds replaced longer ago than this are removed by the next build (a CLI run is far shorter). */
const KEEP_OLD_MS = 3_600_000;

/** Size and modification time of a project file: what decides whether a build is current. */
function stamp(file) {
    const stat = fs.statSync(path.join(ROOT, file));
    return `${stat.size}:${stat.mtimeMs}`;
}

/** Builds the CLI into a new folder of dist/ and makes it current; returns the sources it compiled. */
function build() {
    const esbuild = require("esbuild");
    const common = {
        platform: "node",
        format: "cjs",
        target: "node22",
        // import() becomes require() in a promise: the command modules are CommonJS, and a
        // real import() would start Node's ESM loader, which costs more than the module.
        supported: { "dynamic-import": false },
        logLevel: "error",
        absWorkingDir: ROOT,
    };
    // Stamps first: a source edited while this runs makes the build stale, never current.
    const graph = esbuild.buildSync({ ...common, entryPoints: [ENTRY], bundle: true, packages: "external", write: false, metafile: true });
    const sources = Object.keys(graph.metafile.inputs)
        .filter((file) => file.endsWith(".ts") && !file.startsWith("node_modules/"))
        .sort();
    const stamps = Object.fromEntries(sources.map((file) => [file, stamp(file)]));
    fs.mkdirSync(DIST, { recursive: true });
    const name = `build-${Date.now()}-${process.pid}`;
    esbuild.buildSync({ ...common, entryPoints: sources, outbase: ROOT, outdir: path.join(DIST, name), bundle: false });
    let previous;
    try {
        previous = JSON.parse(fs.readFileSync(CURRENT, "utf8")).build;
    } catch {}
    const next = `${CURRENT}.${process.pid}`;
    fs.writeFileSync(next, `${JSON.stringify({ build: name, sources: stamps }, null, 2)}\n`);
    fs.renameSync(next, CURRENT);
    // The replaced build's folder is dated now: a run that started from it has an hour to finish.
    if (previous && fs.existsSync(path.join(DIST, previous))) fs.utimesSync(path.join(DIST, previous), new Date(), new Date());
    for (const entry of fs.readdirSync(DIST)) {
        if (!entry.startsWith("build-") || entry === name) continue;
        const folder = path.join(DIST, entry);
        if (Date.now() - fs.statSync(folder).mtimeMs > KEEP_OLD_MS) fs.rmSync(folder, { recursive: true, force: true });
    }
    return sources;
}

/** The current build: its folder, or why there is none current (not built, or a source changed). */
function current() {
    let record;
    try {
        record = JSON.parse(fs.readFileSync(CURRENT, "utf8"));
    } catch {
        return { stale: "the CLI is not built" };
    }
    for (const [file, recorded] of Object.entries(record.sources)) {
        let now;
        try {
            now = stamp(file);
        } catch {
            return { stale: `${file} is gone` };
        }
        if (now !== recorded) return { stale: `${file} changed since the CLI was built` };
    }
    return { folder: path.join(DIST, record.build) };
}

module.exports = { build, current, ROOT };

if (require.main === module) {
    const started = Date.now();
    const sources = build();
    process.stderr.write(`build-cli: ${sources.length} files compiled into dist/ in ${Date.now() - started} ms\n`);
}
