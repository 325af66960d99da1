#!/usr/bin/env bash
# tcpdump, for the Swarm TLS test's capture of the traffic between the nodes (test/swarm/tls.test.ts):
# Debian's package, installed with apt when missing. Changes nothing on a machine that has it.
# Progress goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tcpdump >/dev/null && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-tcpdump: tcpdump is missing and this is not root: install Debian's tcpdump package first" >&2
    exit 1
fi
echo "ensure-tcpdump: installing tcpdump with apt" >&2
# $BASH: the bash running this, wherever it is (PATH may not have it).
"$BASH" "$HERE/apt-install.sh" tcpdump
command -v tcpdump >/dev/null || { echo "ensure-tcpdump: apt-get install tcpdump left no tcpdump on PATH" >&2; exit 1; }
