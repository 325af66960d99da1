#!/usr/bin/env bash
# apt-get install without starting the packages' services: the postinst of docker.io /
# redis-server would otherwise start a host dockerd or a host redis on 6379
# (policy-rc.d exit 101 = "do not start"; Docker-style base images already ship one,
# so it is only added, then removed, when missing). Output goes to stderr.
set -euo pipefail
policy=/usr/sbin/policy-rc.d
added=0
rc=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && added=1
fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } >&2 || rc=$?
[ "$added" -eq 0 ] || rm -f "$policy"
exit "$rc"
