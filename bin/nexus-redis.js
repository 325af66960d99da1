#!/usr/bin/env node
// The `nexus-redis` bin: runs the JavaScript build of cli/ (scripts/build-cli.js, which
// npm ci and npm install run as `prepare`) with Node's compile cache, so a run pays node's
// own start-up and the modules its command needs, and no TypeScript compiler.
//
// A build older than its sources (after a git pull or an edit) is rebuilt first. If that
// fails, the sources themselves run through tsx (slower, but never stale code), and stderr
// says why.

require("node:module").enableCompileCache?.();
const { build, current, ROOT } = require("../scripts/build-cli.js");

function cli() {
    let found = current();
    if (found.folder) return require(`${found.folder}/cli/nexus-redis.js`);
    try {
        build();
        found = current();
        if (found.folder) return require(`${found.folder}/cli/nexus-redis.js`);
        throw new Error(found.stale);
    } catch (e) {
        process.stderr.write(
            `nexus-redis: ${found.stale}, and it could not be built (${e instanceof Error ? e.message.split("\n")[0] : String(e)}): ` +
                "running the TypeScript sources instead (slower); `npm run build:cli` says more\n",
        );
        require("tsx/cjs");
        return require(`${ROOT}/cli/nexus-redis.ts`);
    }
}

cli().runAsProcess();
