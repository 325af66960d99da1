#!/usr/bin/env bash
# Prometheus, its promtool and node_exporter, for the tests of `--prometheus` and of the alert
# rules (docs/alerts/): Debian's `prometheus` and `prometheus-node-exporter` packages, installed
# with apt when missing (without their recommends: node_exporter's would add dbus and a set of
# collector scripts with timers). Changes nothing on a machine that has them. Progress goes to
# stderr.
#
# Both packages enable and start a service on install (Prometheus on :9090, node_exporter on
# :9100). The tests start their own processes on loopback ports of their own choosing, so none
# is left running: apt-install.sh keeps the services from starting (policy-rc.d); on a host
# run by systemd the two services this script installed are then disabled and stopped, so they
# do not start at the next boot either; without systemd, a server the install started anyway
# (a daemon, its parent gone) is stopped by its pid. A Prometheus someone runs here is left alone.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BINARIES=(prometheus promtool prometheus-node-exporter)
SYSTEMD=${NEXUS_REDIS_SYSTEMD_DIR:-/run/systemd/system}

missing() {
  local b
  for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null || return 0; done
  return 1
}
missing || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-prometheus: prometheus, promtool or prometheus-node-exporter is missing and this is not root: install Debian's prometheus and prometheus-node-exporter packages first" >&2
  exit 1
fi

# Daemons (their parent is init) named prometheus or prometheus-node-exporter (the kernel keeps
# 15 characters of a name), found through /proc: no procps needed.
daemons() {
  local d comm
  for d in /proc/[0-9]*; do
    { read -r comm < "$d/comm"; } 2>/dev/null || continue
    case "$comm" in
      prometheus | prometheus-node) ;;
      *) continue ;;
    esac
    [ "$(awk '/^PPid:/ { print $2 }' "$d/status" 2>/dev/null)" = 1 ] && echo "${d#/proc/}"
  done
  return 0
}
before=$(daemons | sort)

echo "ensure-prometheus: installing prometheus and prometheus-node-exporter with apt" >&2
bash "$HERE/apt-install.sh" --no-install-recommends prometheus prometheus-node-exporter

if [ -d "$SYSTEMD" ]; then
  echo "ensure-prometheus: disabling the services the packages enabled (the tests start their own)" >&2
  systemctl disable --now prometheus.service prometheus-node-exporter.service >&2 || true
else
  for pid in $(comm -13 <(echo "$before") <(daemons | sort)); do
    echo "ensure-prometheus: the install started process $pid ($(cat "/proc/$pid/comm" 2>/dev/null)): stopping it" >&2
    kill "$pid" 2>/dev/null || true
  done
fi
if missing; then
  echo "ensure-prometheus: apt-get install left no ${BINARIES[*]} on PATH" >&2
  exit 1
fi
