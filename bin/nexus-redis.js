#!/usr/bin/env node
// The `nexus-redis` bin: runs the JavaScript build of cli/ (scripts/build-cli.js, which
// npm ci and npm install run as `prepare`) with a code cache per command (build-cli.js's
// `load`), so a run pays node's own start-up and the code its command needs, and no
// TypeScript compiler.
//
// A build older than its sources (after a git pull or an edit) is rebuilt first. If that
// fails, the sources themselves run through tsx (slower, but never stale code), and stderr
// says why.
// Node's compile cache, for build-cli.js and the packages a command requires (adopt's Docker client).
require("node:module").enableCompileCache?.();
const { build, current, load, ROOT } = require("../scripts/build-cli.js");

const found = current();
if (found.folder) load(found.folder, process.argv.slice(2)).runAsProcess();
else rebuildAndRun(found.stale);

async function rebuildAndRun(stale) {
    let cli;
    try {
        await build();
        const built = current();
        if (!built.folder) throw new Error(built.stale);
        cli = load(built.folder, process.argv.slice(2));
    } catch (e) {
        process.stderr.write(
            `nexus-redis: ${stale}, and it could not be built (${e instanceof Error ? e.message.split("\n")[0] : String(e)}): ` +
                "running the TypeScript sources instead (slower); `npm run build:cli` says more\n",
        );
        require("tsx/cjs");
        cli = require(`${ROOT}/cli/main.ts`);
    }
    cli.runAsProcess();
}
