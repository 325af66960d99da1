#!/usr/bin/env bash
# tcpdump, for the Swarm TLS test's capture of the traffic between the nodes (test/swarm/tls.test.ts):
# Debian's package, installed with apt when missing (ensure-command.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$BASH" "$HERE/ensure-command.sh" ensure-tcpdump tcpdump tcpdump
