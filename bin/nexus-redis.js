#!/usr/bin/env node
// The `nexus-redis` bin: the CLI is TypeScript, run through tsx's CommonJS hook (tsx is a
// runtime dependency), so there is no build step between editing it and running it.

require("tsx/cjs");
require("../cli/nexus-redis.ts").runAsProcess();
