#!/bin/sh
# How a nexus-redis vault starts: sh start-vault.sh CONF
#
# The container runs this as root (the official image's entrypoint passes a command
# that is not redis-server straight through). It looks at what the data folder holds
# before Redis does, because Redis 7 started with `appendonly yes` on a folder that
# holds only dump.rdb starts EMPTY, and its next save overwrites dump.rdb with the
# empty dataset (redis/redis#12484). Whatever put the data there (an adoption, a
# restored backup, a folder copied by hand, a volume re-attached), the vault either
# comes up with it, with AOF on, or refuses to start and says why here, in its log.
#
#   valid AOF (Redis 7 manifest, or Redis 6's single appendonly.aof)  -> start on it
#   dump.rdb and no valid AOF   -> convert, with no client port: load the RDB with AOF
#                                  off, turn AOF on, wait for the rewrite to finish,
#                                  shut down (the AOF is fsynced), then start on the AOF
#   nothing                     -> start empty, unless NEXUS_REDIS_REQUIRE_DATA is set
#
# Clients can write only once Redis runs on the final AOF, so a crash at any point of
# the conversion loses nothing: dump.rdb is never written by it, and an append-only
# folder without its manifest (a conversion cut short) is moved aside, never deleted,
# and the conversion starts again from dump.rdb.
#
# Redis itself runs as the image's redis user: it is started through the image's
# docker-entrypoint.sh, which hands the data folder to redis and drops root.
# It never prints the config file: that holds the password hashes.
set -eu

conf=$1
say() { printf 'nexus-redis vault: %s\n' "$*"; }
refuse() {
    say "REFUSING TO START: $*"
    exit 1
}

# The few settings this script needs, read from the config file the plan wrote
# (one `name value` line each, unquoted), so they are declared in one place.
setting() { sed -n "s/^$1 \\(.*\\)\$/\\1/p" "$conf" | tail -n 1; }
data=$(setting dir)
aofdir=$(setting appenddirname)
aoffile=$(setting appendfilename)
rdb=$(setting dbfilename)
[ -n "$data" ] && [ -n "$aofdir" ] && [ -n "$aoffile" ] && [ -n "$rdb" ] ||
    refuse "$conf does not name dir, appenddirname, appendfilename and dbfilename"
cd "$data"

# Redis (the redis user) must be able to read its config. The plan uploads it owned by the
# image's redis user; should a provider have left it to root, hand it over here, as root.
if [ "$(id -u)" = 0 ] && id redis >/dev/null 2>&1 && [ -n "$(find "$conf" ! -user redis)" ]; then
    say "$conf is not owned by the redis user: giving it to redis, readable by it alone"
    chown redis "$conf"
    chmod 0400 "$conf"
fi

# Redis is run through the image's entrypoint (as redis, umask 0077), or directly
# when the image has none. Always with exec, so that the process is Redis itself:
# its pid is the one waited for, and the one signals reach.
entry=$(command -v docker-entrypoint.sh || true)
exec_redis() {
    if [ -n "$entry" ]; then exec "$entry" redis-server "$@"; else exec redis-server "$@"; fi
}

# The Redis version that wrote an RDB file (or an AOF with an RDB preamble): the
# `redis-ver` field near its start. Empty when the file has none.
written_by() {
    head -c 256 "$1" | tr -c ' -~' ' ' | sed -n 's/^REDIS[0-9]\{4\}.*redis-ver *\([0-9][0-9.]*\).*/\1/p'
}
this_version=$(redis-server --version | sed -n 's/.* v=\([0-9][0-9.]*\).*/\1/p')

# True when dotted version $1 is older than $2.
older() {
    a=$1
    b=$2
    while [ -n "$a$b" ]; do
        x=${a%%.*}
        y=${b%%.*}
        [ "${x:-0}" -lt "${y:-0}" ] && return 0
        [ "${x:-0}" -gt "${y:-0}" ] && return 1
        case $a in *.*) a=${a#*.} ;; *) a= ;; esac
        case $b in *.*) b=${b#*.} ;; *) b= ;; esac
    done
    return 1
}

# An RDB from a newer Redis may not load on an older one: refuse before trying.
check_version() {
    from=$(written_by "$1")
    if [ -n "$from" ] && [ -n "$this_version" ] && older "$this_version" "$from"; then
        refuse "$1 was written by Redis $from, and this image runs Redis $this_version: set the stack's image to Redis $from or newer (nothing was changed)"
    fi
}

manifest=$aofdir/$aoffile.manifest
if [ -d "$aofdir" ] && [ ! -f "$manifest" ]; then
    aside=$aofdir.incomplete-$(date -u +%Y%m%dT%H%M%SZ)
    say "$data/$aofdir has no manifest (a conversion or rewrite cut short): moving it aside to $aside, not deleting it"
    mv "$aofdir" "$aside"
fi

if [ -f "$manifest" ]; then
    base=$(sed -n 's/^file \([^ ]*\) seq [0-9]* type b$/\1/p' "$manifest" | tail -n 1)
    [ -n "$base" ] && [ -f "$aofdir/$base" ] && check_version "$aofdir/$base"
    if [ -f "$rdb" ] && [ "$rdb" -nt "$manifest" ]; then
        say "$rdb is newer than the append-only file; Redis loads the append-only file (to start from $rdb instead, move $aofdir aside first)"
    fi
    say "starting on the append-only file in $data/$aofdir"
elif [ -f "$aoffile" ]; then
    check_version "$aoffile"
    say "starting on $data/$aoffile, a single-file append-only file (Redis 6 and older): Redis moves it into $aofdir"
elif [ -f "$rdb" ]; then
    check_version "$rdb"
    from=$(written_by "$rdb")
    say "$data/$rdb (written by Redis ${from:-?}) and no append-only file: converting with no client port before starting"
    sock=/tmp/nexus-redis-convert.sock
    rm -f "$sock"
    (exec_redis --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$data" --dbfilename "$rdb" \
        --appenddirname "$aofdir" --appendfilename "$aoffile" --appendonly no --save "") &
    pid=$!
    # A stop during the conversion stops the converting server too; dump.rdb is untouched.
    trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 143' TERM INT
    cli() { redis-cli -s "$sock" "$@" 2>/dev/null | tr -d '\r'; }
    until [ "$(cli ping)" = PONG ]; do
        kill -0 "$pid" 2>/dev/null || refuse "Redis could not load $data/$rdb (its reason is logged above); nothing was changed"
        sleep 0.1
    done
    keys=$(cli dbsize)
    say "loaded $keys keys from $rdb; turning the append-only file on"
    [ "$(cli config set appendonly yes)" = OK ] || refuse "CONFIG SET appendonly yes failed during the conversion"
    until [ -f "$manifest" ] && [ "$(cli info persistence | grep -cE '^(aof_enabled:1|aof_rewrite_in_progress:0|aof_rewrite_scheduled:0|aof_last_bgrewrite_status:ok)$')" = 4 ]; do
        kill -0 "$pid" 2>/dev/null || refuse "Redis stopped while writing the append-only file; $rdb is untouched and the conversion starts again at the next start"
        cli info persistence | grep -q '^aof_last_bgrewrite_status:err$' && refuse "Redis could not write the append-only file (aof_last_bgrewrite_status:err; disk full?); $rdb is untouched"
        sleep 0.1
    done
    cli shutdown >/dev/null || true
    wait "$pid" || true
    trap - TERM INT
    [ -f "$manifest" ] || refuse "the conversion ended without $aofdir/$aoffile.manifest; $rdb is untouched"
    say "converted: $keys keys are in the append-only file; starting"
elif [ -n "${NEXUS_REDIS_REQUIRE_DATA:-}" ]; then
    refuse "$data holds no data, but this vault was declared on existing data ($NEXUS_REDIS_REQUIRE_DATA): is the right volume or folder mounted?"
else
    say "$data holds no data: starting empty"
fi

exec_redis "$conf"
