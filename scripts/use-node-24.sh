# Sourced, not run, by scripts/test.sh and .ci/run: everything after it (npm ci, tsc, vitest,
# the benchmarks) runs on Node.js 24, the LTS line the project is tested on, installed into
# .node/ when the machine's node is another version (scripts/use-node.sh says how).
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/use-node.sh" 24 .node
