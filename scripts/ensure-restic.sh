#!/usr/bin/env bash
# restic, for the live tests of `nexus-redis backup --restic-repo` and `restore --from restic:`
# (a local repository in a temp folder): Debian's package, installed with apt when missing.
# Changes nothing on a machine that has it. Progress goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v restic >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-restic: restic is missing and this is not root: install Debian's restic package first" >&2
    exit 1
fi
echo "ensure-restic: installing restic with apt" >&2
bash "$HERE/apt-install.sh" restic
command -v restic >/dev/null || { echo "ensure-restic: apt-get install restic left no restic on PATH" >&2; exit 1; }
