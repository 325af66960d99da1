#!/usr/bin/env bash
# Build the local Redis images the live tests run: nexus-redis/redis-test:7 (override with
# NEXUS_REDIS_TEST_IMAGE) and its variants, tagged after it (below).
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
#     are 0600, and a file root puts in the container 0600 is unreadable to Redis;
#   - util-linux's flock and setpriv, as the official Debian-based image has them
#     (util-linux is essential there); Debian's busybox has no flock applet.
#
# Contents: busybox-static (sh, find, chown, id...; the start script needs a
# shell), gosu (static), util-linux's flock and setpriv, redis-server with
# redis-check-rdb and redis-check-aof (the same binary: it picks its mode from
# argv[0]), redis-cli, every shared library `ldd` lists for them, and /etc/passwd
# and /etc/group with the redis user. The entrypoint is written here (below),
# after the official image's documented behaviour.
#
# The variants, each the image above with one thing taken away, for the tests of
# images that differ from the official one (TAG is the image's own tag):
#
#   TAG-noentrypoint  no entrypoint at all and no gosu: only util-linux's setpriv
#                     can drop root (an image whose entrypoint has another name
#                     gives a start script no more than this one does)
#   TAG-notmp         no /tmp
#   TAG-nouser        no redis user and no entrypoint
#   TAG-noflock       no flock
#
# Idempotent: the image is labelled with the sha256 of the redis-server binary
# and the recipe number, each variant with the ID of the image it was made from
# and its own recipe; an image whose labels match is not built again. Quiet on
# success; progress goes to stderr.
set -euo pipefail

IMAGE=${NEXUS_REDIS_TEST_IMAGE:-nexus-redis/redis-test:7}
# Bump when the image layout below changes, so existing images get rebuilt.
RECIPE=3
# Bump when a variant's recipe (variant_dockerfile) changes.
VARIANT_RECIPE=1
VARIANTS=(noentrypoint notmp nouser noflock)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REDIS_UID=999

# What the build takes from this machine, each with the Debian package that has it: what is
# missing is installed (redis-server's binary is /usr/bin/redis-check-rdb of redis-tools, to
# which the redis-server package adds the /usr/bin/redis-server link).
REDIS_SERVER=/usr/bin/redis-server
REDIS_CLI=/usr/bin/redis-cli
BUSYBOX=/bin/busybox
GOSU=/usr/sbin/gosu
FLOCK=/usr/bin/flock
SETPRIV=/usr/bin/setpriv
HOST_TOOLS=(
    "$REDIS_SERVER redis-server"
    "$REDIS_CLI redis-tools"
    "$BUSYBOX busybox-static"
    "$GOSU gosu"
    "$FLOCK util-linux"
    "$SETPRIV util-linux"
)

say() { echo "build-test-image: $*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

# The Debian packages that provide the host tools missing under ROOT (default /; the unit
# test gives a stand-in tree), one a line, each once, in HOST_TOOLS's order.
missing_packages() {
    local root=${1:-} entry path package seen=" "
    for entry in "${HOST_TOOLS[@]}"; do
        path=${entry% *}
        package=${entry#* }
        [ -x "$root$path" ] && continue
        case $seen in *" $package "*) continue ;; esac
        seen="$seen$package "
        echo "$package"
    done
}

# The Dockerfile of variant $1, made FROM image $2 (busybox's sh runs the RUN lines).
variant_dockerfile() {
    echo "FROM $2"
    case $1 in
    noentrypoint)
        echo "RUN rm /usr/local/bin/docker-entrypoint.sh /usr/local/bin/gosu"
        echo "ENTRYPOINT []"
        echo 'CMD ["redis-server"]'
        ;;
    notmp) echo "RUN rm -rf /tmp" ;;
    nouser)
        echo "RUN rm /usr/local/bin/docker-entrypoint.sh && sed -i '/^redis:/d' /etc/passwd /etc/group"
        echo "ENTRYPOINT []"
        echo 'CMD ["redis-server"]'
        ;;
    noflock) echo "RUN rm $FLOCK" ;;
    *) die "no variant $1" ;;
    esac
}

# Legacy builder: the Docker 28 CLI needs the buildx plugin for BuildKit, which Debian's
# docker.io 20.10 does not ship; the classic builder is enough for these images.
build() {
    local out
    if ! out=$(DOCKER_BUILDKIT=0 docker build -q "$@" 2>&1); then
        echo "$out" >&2
        die "docker build $* failed"
    fi
}

seconds_since() { awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

build_image() {
    local start root libs lib uid
    start=$(date +%s.%N)
    say "building $IMAGE from $("$REDIS_SERVER" --version | cut -d' ' -f1-3)"
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
    cp -L "$REDIS_CLI" "$root/usr/local/bin/redis-cli"
    cp -L "$GOSU" "$root/usr/local/bin/gosu"
    # util-linux's, where Debian (and so the official Debian-based image) has them.
    cp -L "$FLOCK" "$root$FLOCK"
    cp -L "$SETPRIV" "$root$SETPRIV"

    # busybox and a link for each of its applets, where busybox itself would install
    # them (bin/sh, usr/bin/find...), never over a file already placed.
    cp -L "$BUSYBOX" "$root/bin/busybox"
    "$BUSYBOX" --list-full | while read -r applet; do
        [ -e "$root/$applet" ] || [ -L "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
    done
    [ -L "$root/bin/sh" ] || die "busybox has no sh applet"

    # Every library ldd lists, at the same path, plus the loader (the line without
    # "=>"; its path is baked into the ELF interpreter field). cp -L because Debian
    # paths are symlinks (e.g. /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...).
    libs=$(for bin in "$REDIS_BIN" "$REDIS_CLI" "$FLOCK" "$SETPRIV"; do ldd "$bin"; done |
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
    build -t "$IMAGE" "$ctx"

    # Smoke check: the binaries load, and Redis runs as redis, not root.
    for tool in redis-server flock setpriv; do
        docker run --rm --entrypoint "$tool" "$IMAGE" --version >/dev/null ||
            die "built $IMAGE but '$tool --version' fails inside it"
    done
    uid=$(docker run --rm "$IMAGE" sh -c 'docker-entrypoint.sh redis-server --port 0 --unixsocket /tmp/smoke.sock >/dev/null & sleep 0.5; stat -c %u /proc/$!' 2>/dev/null || true)
    [ "$uid" = "$REDIS_UID" ] || die "built $IMAGE but redis-server does not run as uid $REDIS_UID (got '${uid}')"
    say "built $IMAGE in $(seconds_since "$start")s"
}

build_variants() {
    local base variant tag current start
    base=$(docker image inspect -f '{{.Id}}' "$IMAGE")
    for variant in "${VARIANTS[@]}"; do
        tag=$IMAGE-$variant
        current=$(docker image inspect -f '{{index .Config.Labels "nexus-redis.variant-of"}} {{index .Config.Labels "nexus-redis.variant-recipe"}}' "$tag" 2>/dev/null || true)
        [ "$current" = "$base $VARIANT_RECIPE" ] && continue
        start=$(date +%s.%N)
        {
            variant_dockerfile "$variant" "$base"
            echo "LABEL nexus-redis.variant-of=\"$base\" nexus-redis.variant-recipe=\"$VARIANT_RECIPE\""
        } | build -t "$tag" -
        say "built $tag in $(seconds_since "$start")s"
    done
}

main() {
    local need current
    bash "$HERE/ensure-docker.sh"

    need=$(missing_packages | tr '\n' ' ')
    need=${need% }
    if [ -n "$need" ]; then
        [ "$(id -u)" -eq 0 ] || die "missing Debian packages $need and not root: install them first"
        say "installing $need with apt"
        # shellcheck disable=SC2086 # one argument per package
        bash "$HERE/apt-install.sh" $need || die "apt-get install $need failed"
    fi
    # busybox-static and gosu must be static: the image has no libraries for them.
    for bin in "$BUSYBOX" "$GOSU"; do
        ldd "$bin" >/dev/null 2>&1 && die "$bin is dynamically linked; the image needs the static build (busybox-static, gosu)"
    done

    REDIS_BIN=$(readlink -f "$REDIS_SERVER")
    BIN_SHA=$(sha256sum "$REDIS_BIN" | cut -d' ' -f1)
    current=$(docker image inspect -f '{{index .Config.Labels "nexus-redis.redis-sha256"}} {{index .Config.Labels "nexus-redis.recipe"}}' "$IMAGE" 2>/dev/null || true)
    [ "$current" = "$BIN_SHA $RECIPE" ] || build_image
    build_variants
}

# Sourced (the unit test of missing_packages), it only defines the above.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
