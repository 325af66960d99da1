#!/usr/bin/env bash
# The project's test command (`npm test`, which .ci/run calls): installs and starts what
# the tests need on a fresh Debian machine, then runs the type check, the unit tests
# (Pulumi mock runtime), the live tests (the program's container specs on Docker) and the
# Swarm tests (its Swarm services on a three-node Swarm of namespaced engines, test/swarm/).
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "test: $*" >&2; }

# Node.js 24 first on PATH for everything below (installed into .node/ when the machine's
# node is another version), so the tests prove the supported runtime.
source scripts/use-node-24.sh

# npm packages, exactly as locked. `npm ci` wipes node_modules first, so it runs only when
# the lock changed since the last install here (its hash is kept inside node_modules).
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.nexus-redis-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >&2
  echo "$lock_hash" > node_modules/.nexus-redis-lock
fi

# Unit tests alone need neither Docker nor the image: a run is unit-only when it names the
# unit project (`--project unit` or `--project=unit`) and no other, whatever else is passed
# to vitest (`npm test -- --project=unit -t adopts --reporter dot`).
unit_only() {
  local unit=0 other=0 value_next=0 arg
  for arg in "$@"; do
    if [ "$value_next" = 1 ]; then
      value_next=0
      if [ "$arg" = unit ]; then unit=1; else other=1; fi
      continue
    fi
    case "$arg" in
      --project) value_next=1 ;;
      --project=unit) unit=1 ;;
      --project=*) other=1 ;;
    esac
  done
  [ "$unit" = 1 ] && [ "$other" = 0 ]
}
# Prometheus's promtool, for the alert rules' tests and `promtool check metrics` (unit tests),
# and Prometheus and node_exporter for the live test of --prometheus: Debian's packages, none
# of them left running. Tests that need them fail instead of skipping when this says they are here.
bash scripts/ensure-prometheus.sh
export NEXUS_REDIS_REQUIRE_PROMETHEUS=1

if unit_only "$@"; then
  say "type check, format and lint"
  npx tsc --noEmit -p .
  npx biome check .
  npm run --silent lint:docs
  exec npx vitest run "$@"
fi

# A Docker engine (Debian's docker.io, started in the background if none answers) and the
# Redis test image, built locally from Debian's redis-server since no registry is reachable.
# Both scripts change nothing on a machine that already has them.
bash scripts/ensure-docker.sh
bash scripts/build-test-image.sh
# restic (Debian's package), for the backup tests' local restic repository.
bash scripts/ensure-restic.sh
# tcpdump (Debian's package), for the Swarm TLS test's capture between the nodes.
bash scripts/ensure-tcpdump.sh
# The tools that make the full-disk tests' small ext4 volumes (check's and backup's; Debian's
# required packages).
bash scripts/ensure-disk-tools.sh
# (build-test-image.sh also installs redis-cli, which the live tests use for the protocol's own
# check, `redis-cli -p PORT INFO replication`, from the host.)

say "type check, format and lint"
npx tsc --noEmit -p .
npx biome check .
npm run --silent lint:docs
say "unit, live and Swarm tests"
npx vitest run "$@"
