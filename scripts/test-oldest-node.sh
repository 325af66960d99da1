#!/usr/bin/env bash
# `npm run test:oldest-node`, which .ci/run runs after `npm test`: the unit tests on the oldest
# Node.js that package.json's `engines` allows (">=22.13.0": exactly 22.13.0), installed from
# the npm registry into .node-<version>/ (scripts/use-node.sh), so that `engines` is a tested
# promise. Among them the language host's test, which also shows that `pulumi up` loads the
# program there without a warning. The live and Swarm tests run once, on Node 24 (`npm test`).
# Extra arguments go to vitest. Needs the packages `npm test` (or `npm ci`) installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Read with sed, not node: the node on PATH may be any version, or a stand-in in the tests.
oldest=$(sed -n '/^ *"engines": *{/,/}/ s/^ *"node": *">=\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)",\{0,1\}$/\1/p' package.json)
if [ -z "$oldest" ]; then
  echo "test-oldest-node: package.json's engines.node is not of the form \">=X.Y.Z\", from which this script reads the oldest Node to test on" >&2
  exit 2
fi
if [ ! -d node_modules ]; then
  echo "test-oldest-node: no node_modules: run npm ci (or npm test) first" >&2
  exit 2
fi
source scripts/use-node.sh "$oldest" ".node-$oldest"
exec npx vitest run --project unit "$@"
