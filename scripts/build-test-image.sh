#!/usr/bin/env bash
# Build the local Redis image the live tests run: nexus-redis/redis-test:7
# (override with NEXUS_REDIS_TEST_IMAGE).
#
# No image registry is reachable (no `docker pull`), so the image is made from
# Debian's packages, and it behaves the way the official `redis` image does,
# because that is the image users run (Pulumi.yaml's default is redis:7.2):
#
#   - ENTRYPOINT docker-entrypoint.sh, CMD ["redis-server"], WORKDIR /data,
#     VOLUME /data, binaries in /usr/local/bin;
#   - the entrypoint puts `redis-server` in front of a command that starts with
#     `-` or whose first argument ends in `.conf`;
#   - started as root with `redis-server`, it gives what is under the working
#     directory (/data) to the `redis` user (uid and gid 999) and runs itself
#     again as that user with gosu, so Redis never runs as root;
#   - it sets umask 0077 when the umask is the default 0022: files Redis writes
#     are 0600, and a file root puts in the container 0600 is unreadable to Redis.
#
# Contents: busybox-static (sh, find, chown, id...; the vault start script
# needs a shell), gosu (static), redis-server with redis-check-rdb and
# redis-check-aof (the same binary: it picks its mode from argv[0]), redis-cli,
# every shared library `ldd` lists for them, and /etc/passwd and /etc/group with
# the redis user. The entrypoint is written here (below), after the official
# image's documented behaviour.
#
# Idempotent: the image is labelled with the sha256 of the redis-server binary
# and the recipe number; when an image with the same labels exists the build is
# skipped. Quiet on success; progress goes to stderr.
set -euo pipefail

IMAGE=${NEXUS_REDIS_TEST_IMAGE:-nexus-redis/redis-test:7}
# Bump when the image layout below changes, so existing images get rebuilt.
RECIPE=2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REDIS_UID=999

say() { echo "build-test-image: $*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

bash "$HERE/ensure-docker.sh"

need=()
[ -x /usr/bin/redis-check-rdb ] && [ -x /usr/bin/redis-cli ] || need+=(redis-server redis-tools)
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/sbin/gosu ] || need+=(gosu)
if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages ${need[*]} and not root: install them first"
    say "installing ${need[*]} with apt"
    bash "$HERE/apt-install.sh" "${need[@]}" || die "apt-get install ${need[*]} failed"
fi
# busybox-static and gosu must be static: the image has no libraries for them.
for bin in /bin/busybox /usr/sbin/gosu; do
    ldd "$bin" >/dev/null 2>&1 && die "$bin is dynamically linked; the image needs the static build (busybox-static, gosu)"
done

REDIS_BIN=$(readlink -f /usr/bin/redis-server)
BIN_SHA=$(sha256sum "$REDIS_BIN" | cut -d' ' -f1)
current=$(docker image inspect -f '{{index .Config.Labels "nexus-redis.redis-sha256"}} {{index .Config.Labels "nexus-redis.recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$BIN_SHA $RECIPE" ]; then
    exit 0
fi

start=$(date +%s.%N)
say "building $IMAGE from $(/usr/bin/redis-server --version | cut -d' ' -f1-3)"
ctx=$(mktemp -d /tmp/nexus-redis-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/root
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/usr/bin" "$root/sbin" "$root/usr/sbin" "$root/tmp" "$root/etc" "$ctx/data"
chmod 1777 "$root/tmp"

# The server binary once, under its own name; the check tools are the same binary
# under other names, as in the official image.
cp -L "$REDIS_BIN" "$root/usr/local/bin/redis-server"
ln -s redis-server "$root/usr/local/bin/redis-check-rdb"
ln -s redis-server "$root/usr/local/bin/redis-check-aof"
cp -L /usr/bin/redis-cli "$root/usr/local/bin/redis-cli"
cp -L /usr/sbin/gosu "$root/usr/local/bin/gosu"

# busybox and a link for each of its applets, where busybox itself would install
# them (bin/sh, usr/bin/find...), never over a file already placed.
cp -L /bin/busybox "$root/bin/busybox"
/bin/busybox --list-full | while read -r applet; do
    [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
[ -L "$root/bin/sh" ] || die "busybox has no sh applet"

# Every library ldd lists, at the same path, plus the loader (the line without
# "=>"; its path is baked into the ELF interpreter field). cp -L because Debian
# paths are symlinks (e.g. /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...).
libs=$(for bin in "$REDIS_BIN" /usr/bin/redis-cli; do ldd "$bin"; done |
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 != "=>" { print $1 }' | sort -u)
[ -n "$libs" ] || die "ldd listed no libraries"
for lib in $libs; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

cat >"$root/etc/passwd" <<EOF
root:x:0:0:root:/root:/bin/sh
redis:x:$REDIS_UID:$REDIS_UID::/home/redis:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<EOF
root:x:0:
redis:x:$REDIS_UID:
EOF
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"

# The entrypoint, doing what the official image's does (see the header).
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e

# An option or a config file as the first argument means "redis-server with these".
case "$1" in
-* | *.conf) set -- redis-server "$@" ;;
esac

# As root, hand the working directory's files to redis and run again as redis.
if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec gosu redis "$0" "$@"
fi

# Files Redis writes readable by redis alone, unless the caller chose a umask.
if [ "$(umask)" = 0022 ]; then
    umask 0077
fi

exec "$@"
EOF
chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"

cat >"$ctx/Dockerfile" <<EOF
FROM scratch
COPY root/ /
COPY --chown=$REDIS_UID:$REDIS_UID data/ /data/
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME /data
WORKDIR /data
LABEL nexus-redis.redis-sha256="$BIN_SHA" nexus-redis.recipe="$RECIPE"
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
EOF

# Legacy builder: the Docker 28 CLI needs the buildx plugin for BuildKit, which
# Debian's docker.io 20.10 does not ship; the classic builder is enough for a
# scratch image with two COPYs.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" 2>&1); then
    echo "$out" >&2
    die "docker build failed"
fi

# Smoke check: the binaries load, and Redis runs as redis, not root.
docker run --rm --entrypoint redis-server "$IMAGE" --version >/dev/null ||
    die "built $IMAGE but 'redis-server --version' fails inside it"
uid=$(docker run --rm "$IMAGE" sh -c 'docker-entrypoint.sh redis-server --port 0 --unixsocket /tmp/smoke.sock >/dev/null & sleep 0.5; stat -c %u /proc/$!' 2>/dev/null || true)
[ "$uid" = "$REDIS_UID" ] || die "built $IMAGE but redis-server does not run as uid $REDIS_UID (got '${uid}')"
say "built $IMAGE in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s"
