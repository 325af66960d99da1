#!/usr/bin/env bash
# restic, for the live tests of `nexus-redis backup --restic-repo` and `restore --from restic:`
# (a local repository in a temp folder): Debian's package, installed with apt when missing
# (ensure-command.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$BASH" "$HERE/ensure-command.sh" ensure-restic restic restic
