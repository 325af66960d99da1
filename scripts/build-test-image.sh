#!/usr/bin/env bash
# Build the local Redis image the live tests run: nexus-redis/redis-test:7
# (override with NEXUS_REDIS_TEST_IMAGE).
#
# No image registry is reachable (no `docker pull`), so the image is made from
# Debian's redis-server package: the two binaries plus every shared library
# `ldd` lists (and the dynamic loader), on top of `FROM scratch`.
# With no ENTRYPOINT, `command: ["redis-server", ...]` behaves as on the
# official redis image.
#
# Idempotent: the image is labelled with the sha256 of the redis-server binary
# and of this recipe; when an image with the same labels exists the build is
# skipped. Quiet on success; progress goes to stderr.
set -euo pipefail

IMAGE=${NEXUS_REDIS_TEST_IMAGE:-nexus-redis/redis-test:7}
# Bump when the image layout below changes, so existing images get rebuilt.
RECIPE=1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "build-test-image: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }


bash "$HERE/ensure-docker.sh"

if [ ! -x /usr/bin/redis-server ] || [ ! -x /usr/bin/redis-cli ]; then
  [ "$(id -u)" -eq 0 ] || die "/usr/bin/redis-server or redis-cli missing and not root: install Debian's redis-server package"
  say "installing redis-server with apt"
  # redis-tools (redis-cli) comes in as a dependency of redis-server.
  bash "$(dirname "$0")/apt-install.sh" redis-server redis-tools || die "apt-get install redis-server failed"
fi

BIN_SHA=$(sha256sum "$(readlink -f /usr/bin/redis-server)" | cut -d' ' -f1)
current=$(docker image inspect -f '{{index .Config.Labels "nexus-redis.redis-sha256"}} {{index .Config.Labels "nexus-redis.recipe"}}' "$IMAGE" 2>/dev/null || true)
if [ "$current" = "$BIN_SHA $RECIPE" ]; then
  exit 0
fi

start=$(date +%s.%N)
say "building $IMAGE from $(/usr/bin/redis-server --version | cut -d' ' -f1-3)"
ctx=$(mktemp -d /tmp/nexus-redis-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/root
mkdir -p "$root/usr/bin" "$root/data" "$root/tmp" "$root/etc"
# /tmp sticky and world-writable as usual; /data is where redis --dir points
# (a named volume mounted there is seeded from the image, so it exists).
chmod 1777 "$root/tmp"
chmod 0755 "$root/data"

# redis-server is a symlink to redis-check-rdb (the binary picks its mode from
# argv[0]): -L copies the file itself under the name redis-server.
cp -L /usr/bin/redis-server /usr/bin/redis-cli "$root/usr/bin/"

# Every library ldd lists, at the same path, plus the loader (the line without
# "=>"; its path is baked into the ELF interpreter field). cp -L because Debian
# paths are symlinks (e.g. /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...).
libs=$(for bin in /usr/bin/redis-server /usr/bin/redis-cli; do ldd "$bin"; done \
  | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 != "=>" { print $1 }' | sort -u)
[ -n "$libs" ] || die "ldd listed no libraries"
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done

# Minimal identity files: some libc paths (getpwuid, e.g. for ~ expansion in
# redis-cli) look for them; harmless otherwise. hosts/resolv.conf are bind
# mounted by Docker at run time.
echo 'root:x:0:0:root:/root:/bin/false' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

cat > "$ctx/Dockerfile" <<EOF
FROM scratch
COPY root/ /
ENV PATH=/usr/bin
WORKDIR /data
LABEL nexus-redis.redis-sha256="$BIN_SHA" nexus-redis.recipe="$RECIPE"
CMD ["redis-server"]
EOF

# Legacy builder: the Docker 28 CLI needs the buildx plugin for BuildKit, which
# Debian's docker.io 20.10 does not ship; the classic builder is enough for a
# scratch image with one COPY.
if ! out=$(DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$ctx" 2>&1); then
  echo "$out" >&2
  die "docker build failed"
fi

# Smoke check: the binaries and their libraries load inside the image.
docker run --rm "$IMAGE" redis-server --version >/dev/null \
  || die "built $IMAGE but 'redis-server --version' fails inside it"
say "built $IMAGE in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s"
