#!/usr/bin/env node
// Builds the operator CLI to JavaScript: `npm run build:cli`, and npm's `prepare` (which
// `npm ci` and `npm install` run), so `./bin/nexus-redis.js` works right after either.
//
// One file, dist/<build>/cli/main.js: every TypeScript file the CLI can reach from
// cli/main.ts, its commands included, bundled by esbuild (which tsx, a dependency,
// brings) in well under a second; `tsc --noEmit` (npm run build, the tests) checks the types.
// - Packages are not bundled: each is require()d from node_modules where its importer runs,
//   except those in BUNDLED (ES modules: require()ing one would start Node's ESM loader).
// - A command's module is the body of a function the dispatcher calls when the command runs
//   (esbuild's lazy init for import()), so a check runs none of recover's code and loads
//   none of its packages (yaml). One file instead of twenty: measured, about 15 ms less
//   CPU per check than one file per module (module resolution, one code cache entry).
// - `__dirname` in a source means its source folder (components/start-redis.sh is read
//   that way), not the bundle's.
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
const ENTRY = "cli/main.ts";
/** The bundle, in a build's folder. */
const BUILT_ENTRY = ENTRY.replace(/\.ts$/, ".js");
/** Builds replaced longer ago than this are removed by the next build (a CLI run is far shorter). */
const KEEP_OLD_MS = 3_600_000;

/**
 * Packages bundled into the CLI instead of required from node_modules: @noble/hashes is an
 * ES module, and require()ing one starts Node's ESM loader (what the bundle avoids). Their
 * package.json is stamped like a source, so updating one makes the build stale.
 */
const BUNDLED = ["@noble/hashes"];

/** Size and modification time of a project file: what decides whether a build is current. */
function stamp(file) {
    const stat = fs.statSync(path.join(ROOT, file));
    return `${stat.size}:${stat.mtimeMs}`;
}

/** Builds the CLI into a new folder of dist/ and makes it current; resolves with the sources it compiled. */
function build() {
    const esbuild = require("esbuild");
    const name = `build-${Date.now()}-${process.pid}`;
    const outfile = path.join(DIST, name, BUILT_ENTRY);
    const depth = path.relative(path.dirname(outfile), ROOT);
    // Each source's stamp is taken before it is read: one edited meanwhile leaves the build stale, never current.
    const stamps = {};
    const sourceDirname = {
        name: "source-dirname",
        setup(b) {
            b.onLoad({ filter: /\.ts$/ }, (args) => {
                const file = path.relative(ROOT, args.path);
                if (file.startsWith("node_modules/")) return undefined;
                stamps[file] = stamp(file);
                const text = fs.readFileSync(args.path, "utf8");
                if (!/\b__dirname\b/.test(text)) return { contents: text, loader: "ts" };
                const dir = JSON.stringify(path.relative(ROOT, path.dirname(args.path)));
                return { contents: `const __dirname = require("node:path").join(__nexusRedisRoot, ${dir});\n${text}`, loader: "ts" };
            });
        },
    };
    // Resolved here, these are bundled; every other package stays external (packages: "external").
    const bundled = {
        name: "bundled-packages",
        setup(b) {
            const names = BUNDLED.map((n) => n.replace(/[/]/g, "\\/")).join("|");
            b.onResolve({ filter: new RegExp(`^(${names})(/|$)`) }, (args) => {
                const name = BUNDLED.find((n) => args.path === n || args.path.startsWith(`${n}/`));
                const resolved = require.resolve(args.path, { paths: [args.resolveDir] });
                const folder = `node_modules/${name}`;
                const manifest = path.relative(
                    ROOT,
                    path.join(resolved.slice(0, resolved.lastIndexOf(folder) + folder.length), "package.json"),
                );
                stamps[manifest] = stamp(manifest);
                return { path: resolved };
            });
        },
    };
    fs.mkdirSync(DIST, { recursive: true });
    // esbuild runs plugins only in its asynchronous API.
    return esbuild
        .build({
            entryPoints: [ENTRY],
            outfile,
            bundle: true,
            packages: "external",
            platform: "node",
            format: "cjs",
            target: "node22",
            // import() becomes a call in a promise: a real import() would start Node's ESM loader.
            supported: { "dynamic-import": false },
            banner: { js: `const __nexusRedisRoot = require("node:path").join(__dirname, ${JSON.stringify(depth)});` },
            plugins: [bundled, sourceDirname],
            logLevel: "error",
            absWorkingDir: ROOT,
        })
        .then(() => finish(name, stamps));
}

/** Makes build `name` current and removes builds replaced more than KEEP_OLD_MS ago. */
function finish(name, stamps) {
    const sources = Object.keys(stamps).sort();
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

/**
 * Runs build `folder`'s CLI and returns its exports, compiled with a V8 code cache of its own.
 *
 * Node's compile cache (module.enableCompileCache) keeps only what V8 compiles when a file
 * loads, not the functions compiled while it runs; esbuild's functions are all compiled
 * lazily, so every run compiled check's code again (about 8 ms of a check's 110 here). This
 * cache is taken when a run ends, so it holds the functions that run compiled: one per
 * command (the first word of `argv`) and Node version, written by the first run of that
 * command that succeeds (exit 0, not --help: a run that stops early compiles little), and used
 * as it is by every later one. It is written again only when V8 rejects it (other V8 flags),
 * through a file of its own renamed into place, and only in a folder this user may write: the
 * build's own, so it is as trusted as the code beside it and goes with it.
 */
function load(folder, argv) {
    const vm = require("node:vm");
    const file = path.join(folder, BUILT_ENTRY);
    const word = /^[a-z]{1,20}$/.test(argv[0] ?? "") ? argv[0] : "other";
    const cacheFile = `${file}.${word}.node-${process.version}.v8cache`;
    let cachedData;
    try {
        cachedData = fs.readFileSync(cacheFile);
    } catch {}
    const script = new vm.Script(commonJsWrapper(fs.readFileSync(file, "utf8")), { filename: file, cachedData });
    const module = { exports: {} };
    script.runInThisContext()(module.exports, require("node:module").createRequire(file), module, file, path.dirname(file));
    const help = argv[0] === "help" || argv.includes("--help") || argv.includes("-h");
    if ((cachedData === undefined || script.cachedDataRejected) && !help && writable(path.dirname(file))) {
        process.once("exit", (code) => {
            if (code !== 0) return;
            const next = `${cacheFile}.${process.pid}-${Math.random().toString(36).slice(2)}`;
            try {
                fs.writeFileSync(next, script.createCachedData(), { flag: "wx" });
                fs.renameSync(next, cacheFile);
            } catch {
                // A full disk, say: the next run compiles, as without the cache.
                try {
                    fs.rmSync(next, { force: true });
                } catch {}
            }
        });
    }
    return module.exports;
}

/** `source` inside Node's CommonJS function, opened on its first line so that line numbers stay the file's. */
function commonJsWrapper(source) {
    return `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;
}

function writable(folder) {
    try {
        fs.accessSync(folder, fs.constants.W_OK);
        return true;
    } catch {
        return false;
    }
}

module.exports = { build, commonJsWrapper, current, load, ROOT };

if (require.main === module) {
    const started = Date.now();
    build().then(
        (sources) => process.stderr.write(`build-cli: ${sources.length} sources bundled into dist/ in ${Date.now() - started} ms\n`),
        (e) => {
            process.stderr.write(`build-cli: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exitCode = 1;
        },
    );
}
