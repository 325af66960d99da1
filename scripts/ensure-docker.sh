#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock.
#
# - If an engine already answers, use it and change nothing.
# - Otherwise (root only): install Debian's docker.io with apt when dockerd is
#   missing, start dockerd in the background with setsid and wait (bounded)
#   until it answers.
#
# Idempotent and quiet on success; progress goes to stderr.
#
# CLI/engine versions: a fresh CI machine may have a newer Docker CLI on PATH
# (e.g. the 28.x client in /usr/local/bin, API 1.50) talking to Debian's 20.10
# engine (API 1.41). The CLI negotiates the API version with the engine
# (GET /_ping returns API-Version), so no DOCKER_API_VERSION is needed; this
# script checks that `docker version` works end to end and fails loudly if it
# does not, naming the fallback (/usr/bin/docker from docker.io, or
# DOCKER_API_VERSION=<engine api>) instead of guessing silently.
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=${NEXUS_REDIS_DOCKERD_LOG:-/var/log/nexus-redis-dockerd.log}
WAIT_SECONDS=${NEXUS_REDIS_DOCKERD_WAIT:-30}

say() { echo "ensure-docker: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Ask the socket directly: does not depend on which CLI is on PATH.
engine_answers() {
  [ -S "$SOCK" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    [ "$(curl -s --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null || true)" = "OK" ]
  else
    timeout 5 docker info >/dev/null 2>&1
  fi
}

# The CLI on PATH must be able to talk to the engine (API negotiation).
check_cli() {
  command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH (install docker.io or a docker client)"
  local err
  if ! err=$(timeout 10 docker version 2>&1 >/dev/null); then
    die "engine answers on $SOCK but 'docker version' fails: $err
  If this is an API version mismatch, use /usr/bin/docker (from docker.io) or set DOCKER_API_VERSION to the engine's ApiVersion."
  fi
}

if engine_answers; then
  check_cli
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ -S "$SOCK" ] && { [ ! -r "$SOCK" ] || [ ! -w "$SOCK" ]; }; then
  die "$SOCK exists but user $(id -un) may not use it: run as root or join the socket's group ($(stat -c %G "$SOCK"))"
fi
[ "$(id -u)" -eq 0 ] || die "no Docker engine answers on $SOCK and this is not root, so dockerd cannot be installed or started. Start Docker (or run as root) and retry."


if ! command -v dockerd >/dev/null 2>&1 && [ ! -x /usr/sbin/dockerd ]; then
  say "dockerd missing: installing docker.io with apt"
  bash "$(dirname "$0")/apt-install.sh" docker.io || die "apt-get install docker.io failed"
fi
DOCKERD=$(command -v dockerd || echo /usr/sbin/dockerd)

# A live (not zombie) dockerd process, found through /proc so that procps
# (pgrep) is not needed. A dockerd killed a moment ago can linger as a zombie.
live_dockerd() {
  local d
  for d in /proc/[0-9]*; do
    [ "$(cat "$d/comm" 2>/dev/null)" = dockerd ] || continue
    grep -q '^State:[[:space:]]*[^Z]' "$d/status" 2>/dev/null && return 0
  done
  return 1
}

started=0
start_dockerd() {
  # No live dockerd: a pid file or socket left by a killed one would make the
  # new one refuse to start ("pid file found, ensure docker is not running").
  rm -f /var/run/docker.pid "$SOCK"
  mkdir -p "$(dirname "$LOG")"
  say "starting dockerd (log: $LOG)"
  # setsid: detach from this shell's session so the daemon outlives the script
  # and is not hit by the caller's Ctrl-C / process-group kill.
  setsid "$DOCKERD" >>"$LOG" 2>&1 < /dev/null &
  started=1
}

if live_dockerd; then
  say "a dockerd process exists but does not answer yet; waiting for it"
else
  start_dockerd
fi

start_ms=$(( $(date +%s%N) / 1000000 ))
until engine_answers; do
  # The dockerd we were waiting for may have died (or was dying): start ours.
  if [ "$started" -eq 0 ] && ! live_dockerd; then start_dockerd; fi
  if [ $(( $(date +%s%N) / 1000000 - start_ms )) -ge $(( WAIT_SECONDS * 1000 )) ]; then
    say "last lines of $LOG:"
    tail -n 20 "$LOG" >&2 2>/dev/null || true
    die "dockerd did not answer on $SOCK within ${WAIT_SECONDS}s"
  fi
  sleep 0.2
done
say "dockerd answers after $(( $(date +%s%N) / 1000000 - start_ms )) ms"
check_cli
