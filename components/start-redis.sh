#!/bin/sh
# How a nexus-redis container starts: sh start-redis.sh ROLE CONF (ROLE: vault or operational)
#
# The container runs this as root: the official image's entrypoint passes a command that is
# not redis-server straight through, and an image may have no entrypoint at all. So this
# script, not the image, decides who Redis runs as, for both roles:
#
#   - Redis never runs as root. As root, the script gives the data folder to the image's
#     redis user (as the official entrypoint would), sets umask 0077, and runs Redis as that
#     user itself, with gosu, su-exec or util-linux's setpriv, whichever the image has. An
#     image with no redis user, or with none of those tools, is refused here, in the log.
#   - Redis can read its config whatever owner the provider gave it: a config left to root
#     is made 0400 first, then given to redis, so it is never readable by anyone else.
#
# The vault, besides:
#
#   - Never two Redis processes on one data folder. Before anything reads or writes there,
#     the script takes an exclusive flock(2) on the data folder itself (no lock file: nothing
#     to own, delete or mistake for data), on a descriptor that every exec below hands on, so
#     the converting Redis and then Redis itself hold it for their whole life (measured: Redis
#     7 keeps inherited descriptors, its forked children too). A second vault on the same
#     folder (a task started while the old one still stops, a container re-created by hand)
#     waits, saying so, and starts when the first has exited: the kernel drops the lock
#     however it ended, kill -9 included. An image without flock is refused.
#   - It looks at what the data folder holds before Redis does, because Redis 7 started with
#     `appendonly yes` on a folder that holds only dump.rdb starts EMPTY, and its next save
#     overwrites dump.rdb with the empty dataset (redis/redis#12484). Whatever put the data
#     there (an adoption, a restored backup, a folder copied by hand, a volume re-attached),
#     the vault either comes up with it, with AOF on, or refuses to start and says why.
#
#   valid AOF (Redis 7 manifest, or Redis 6's single appendonly.aof)  -> start on it
#   dump.rdb and no valid AOF   -> convert, with no client port: load the RDB with AOF
#                                  off, turn AOF on, wait for the rewrite to finish,
#                                  shut down (the AOF is fsynced), then start on the AOF
#   nothing                     -> start empty, unless NEXUS_REDIS_REQUIRE_DATA is set
#
# Clients can write only once Redis runs on the final AOF, so a crash at any point of the
# conversion loses nothing: dump.rdb is never written by it, and an append-only folder
# without its manifest (a conversion cut short) is moved aside, never deleted, and the
# conversion starts again from dump.rdb.
#
# It never prints the config file: that holds the password hashes (and the operational's
# masterauth).
set -eu

role=${1:-}
conf=${2:-}
say() { printf 'nexus-redis %s: %s\n' "$role" "$*"; }
refuse() {
    say "REFUSING TO START: $*"
    exit 1
}
case $role in
vault | operational) ;;
*)
    role=start
    refuse "usage: start-redis.sh vault|operational CONF"
    ;;
esac
[ -f "$conf" ] || refuse "no config file at '$conf'"

# The few settings this script needs, read from the config file the plan wrote
# (one `name value` line each, unquoted), so they are declared in one place.
setting() { sed -n "s/^$1 \\(.*\\)\$/\\1/p" "$conf" | tail -n 1; }
data=$(setting dir)
[ -n "$data" ] && [ -d "$data" ] || refuse "$conf names no data folder (dir), or it does not exist: '$data'"

# Who Redis runs as: `as_redis` is the command that runs a program as the redis user, empty
# when this script does not run as root (an orchestrator that starts containers as a user).
as_redis=
if [ "$(id -u)" = 0 ]; then
    redis_uid=$(id -u redis 2>/dev/null) ||
        refuse "this image has no redis user, so Redis would run as root: use an image that has one (the official redis image's is uid 999)"
    redis_gid=$(id -g redis)
    if command -v gosu >/dev/null 2>&1; then
        as_redis="gosu redis"
    elif command -v su-exec >/dev/null 2>&1; then
        as_redis="su-exec redis"
    else
        # util-linux's setpriv, by its path: busybox's applet of that name cannot change the
        # user, and a busybox shell runs its own applet before anything on PATH.
        for dir in $(echo "$PATH" | tr : ' '); do
            if [ -x "$dir/setpriv" ] && "$dir/setpriv" --help 2>&1 | grep -q -- --reuid; then
                as_redis="$dir/setpriv --reuid=$redis_uid --regid=$redis_gid --init-groups"
                break
            fi
        done
    fi
    if [ -z "$as_redis" ]; then
        refuse "this image has no gosu, su-exec or util-linux setpriv to run Redis as the redis user, so Redis would run as root: use an image that has one (the official redis image has gosu)"
    fi
    say "Redis runs as the redis user (uid $redis_uid, through ${as_redis%% *})"
else
    say "Redis runs as uid $(id -u), the container's user"
fi

if [ "$role" = vault ]; then
    command -v flock >/dev/null 2>&1 ||
        refuse "this image has no flock (util-linux's, or busybox's applet), so nothing would stop a second Redis from opening $data while this one runs: use an image that has it (the official redis images do)"
    # Opened read-only: a directory can be locked, and Redis never sees the descriptor as
    # anything but an open folder. Descriptor 9: far from Redis's own, which start at 3.
    exec 9<"$data"
    if ! flock -n 9; then
        say "another Redis has $data (a second container or task of this vault on the same volume, or one still stopping): waiting until it exits; nothing in $data is read or written before then"
        # PID 1 ignores signals it has no handler for: a stop must end the wait at once.
        trap 'say "stopped while waiting for $data; nothing in it was read or written"; exit 143' TERM INT
        since=$(date +%s)
        next=30
        until flock -n 9; do
            # In the background, so that a trapped signal interrupts `wait` at once.
            sleep 1 &
            wait $! || true
            waited=$(($(date +%s) - since))
            if [ "$waited" -ge "$next" ]; then
                say "still waiting for the other Redis to leave $data (${waited}s)"
                next=$((next + 30))
            fi
        done
        trap - TERM INT
        say "the other Redis has left $data: starting"
    fi
fi

if [ -n "$as_redis" ]; then
    # Redis must be able to read its config: the plan uploads it owned by the image's redis
    # user, 0400; should a provider have left it to root, hand it over here. Mode first, so
    # that the file (the operational's holds masterauth) is never readable by another user.
    if [ -n "$(find "$conf" ! -user "$redis_uid")" ]; then
        say "$conf is not owned by the redis user: giving it to redis, readable by it alone"
        chmod 0400 "$conf"
        chown "$redis_uid:$redis_gid" "$conf"
    fi
    # What the official image's entrypoint does before it drops root: the data folder's
    # files to redis (docker-library/redis docker-entrypoint.sh: `find . \! -user redis
    # -exec chown redis`). For the vault, under the lock: no other Redis writes there now.
    find "$data" ! -user "$redis_uid" -exec chown "$redis_uid" '{}' +
fi
# Files Redis writes readable by redis alone (the official entrypoint sets the same).
umask 0077

# Always with exec, so that the process is Redis itself: its pid is the one waited for, the
# one signals reach, and it inherits the lock.
start_redis() {
    # shellcheck disable=SC2086 # as_redis is a command and its arguments, split on purpose.
    exec $as_redis redis-server "$@"
}

# The operational's data is a copy of its vault's, rebuilt whenever it is lost: nothing to
# lock or convert.
[ "$role" = vault ] || start_redis "$conf"

aofdir=$(setting appenddirname)
aoffile=$(setting appendfilename)
rdb=$(setting dbfilename)
[ -n "$aofdir" ] && [ -n "$aoffile" ] && [ -n "$rdb" ] ||
    refuse "$conf does not name dir, appenddirname, appendfilename and dbfilename"
cd "$data"

# The conversion's private folder (its socket): here, not in /tmp, which an image may lack.
# Under the lock it is this vault's alone; one a killed conversion left is removed first.
work=.nexus-redis-convert
rm -rf "$work"

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
    chmod 0700 "$aside"
fi

if [ -f "$manifest" ]; then
    base=$(sed -n 's/^file \([^ ]*\) seq [0-9]* type b$/\1/p' "$manifest" | tail -n 1)
    [ -n "$base" ] && [ -f "$aofdir/$base" ] && check_version "$aofdir/$base"
    say "starting on the append-only file in $data/$aofdir"
elif [ -f "$aoffile" ]; then
    check_version "$aoffile"
    say "starting on $data/$aoffile, a single-file append-only file (Redis 6 and older): Redis moves it into $aofdir"
elif [ -f "$rdb" ]; then
    check_version "$rdb"
    from=$(written_by "$rdb")
    say "$data/$rdb (written by Redis ${from:-?}) and no append-only file: converting with no client port before starting"
    mkdir -m 0700 "$work"
    [ -z "$as_redis" ] || chown "$redis_uid:$redis_gid" "$work"
    sock=$work/redis.sock
    (start_redis --port 0 --unixsocket "$data/$sock" --unixsocketperm 700 --dir "$data" --dbfilename "$rdb" \
        --appenddirname "$aofdir" --appendfilename "$aoffile" --appendonly no --save "") &
    pid=$!
    # A stop during the conversion stops the converting server too; dump.rdb is untouched.
    trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; rm -rf "$work"; exit 143' TERM INT
    cli() { redis-cli -s "$sock" "$@" 2>/dev/null | tr -d '\r'; }
    until [ "$(cli ping)" = PONG ]; do
        kill -0 "$pid" 2>/dev/null || refuse "Redis could not load $data/$rdb (its reason is logged above); nothing was changed"
        sleep 0.1
    done
    # Every database's keys (INFO keyspace), not DBSIZE's database 0 alone.
    keys=$(cli info keyspace | sed -n 's/^db[0-9]*:keys=\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
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
    rm -rf "$work"
    [ -f "$manifest" ] || refuse "the conversion ended without $aofdir/$aoffile.manifest; $rdb is untouched"
    say "converted: $keys keys are in the append-only file; starting"
elif [ -n "${NEXUS_REDIS_REQUIRE_DATA:-}" ]; then
    refuse "$data holds no data, but this vault was declared on existing data ($NEXUS_REDIS_REQUIRE_DATA): is the right volume or folder mounted?"
else
    say "$data holds no data: starting empty"
fi

start_redis "$conf"
