#!/usr/bin/env bash
# `npm run drift [-- --stack NAME ...]`: does the deployed fleet still match the program?
#
# Refreshes the stack's state from Docker (in memory only: preview never writes state),
# then previews. `--expect-no-changes` makes Pulumi exit non-zero when anything would
# change: a container removed or re-created by hand, a different image, a changed
# command... `--diff` prints what. Extra arguments go to `pulumi preview` (--stack, -c...).
#
# It sees what Docker reports. Runtime changes inside Redis (CONFIG SET, REPLICAOF by
# hand) are invisible to Docker and to Pulumi: `nexus-redis check` finds those.
#
# Exit codes: 0 no drift; non-zero (Pulumi's) drift found or the preview failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pulumi >/dev/null 2>&1; then
  echo "drift: the Pulumi CLI (pulumi) is not on PATH; install it where the stack is deployed" >&2
  exit 2
fi
exec pulumi preview --refresh --expect-no-changes --diff "$@"
