#!/bin/bash
# Fences this pod's PostgreSQL when it stops answering while it is the primary: patroni.sh runs this for the
# life of the container. Patroni renews its leader lock from a loop that talks to PostgreSQL; a server that
# hangs (a stalled disk, CPU starvation, a stopped process) stalls that loop too, the lock expires after
# ttl and a replica is promoted, while the hung server would carry on as a primary the moment it resumes.
# Patroni's own answer is a hardware watchdog that resets the node, which a pod cannot have. Instead, once
# the server has answered nothing for RDB_FENCE_AFTER_SECONDS since it last answered as the primary, this
# kills it (SIGKILL also ends a stopped process, and a process stuck in the kernel dies before it runs
# again), before the lock can have expired. Patroni then finds no server and starts it again as a replica:
# if it still holds the lock it promotes it back, otherwise the returning server follows the new primary.
set -euo pipefail
# shellcheck source=../../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

# The bound: the lock expires no earlier than ttl after its last renewal, which came at most one loop_wait
# before the server's last answer; the kill must land before a replica could take over. The component
# renders half of ttl - loop_wait (components/engines/postgres/topologies/patroni/resolve.ts, which also counts ASK_TIMEOUT + INTERVAL
# and refuses timings that leave the fence no room), so the bound follows any timing; 10 is that for
# Patroni's defaults (30 and 10), for a container started without it.
AFTER=${RDB_FENCE_AFTER_SECONDS:-10}
ASK_TIMEOUT=2
INTERVAL=1

if ! [[ "$AFTER" =~ ^[1-9][0-9]{0,3}$ ]]; then
    die "invalid RDB_FENCE_AFTER_SECONDS: '$AFTER' (allowed: whole seconds from 1 to 9999, half of the leader lock's ttl - loop_wait as the component renders it)"
fi

uptime_seconds() {
    local up _
    read -r up _ </proc/uptime
    printf '%s' "${up%.*}"
}

# "t" or "f" from a server that answers, "hung" when nothing came back within ASK_TIMEOUT, "down" when the
# connection failed at once: a server that is starting, stopping or gone takes no writes either.
ask() {
    local out rc=0
    out=$(timeout "$ASK_TIMEOUT" psql -X -A -t -h "$RDB_SOCKET_DIR" -p "$PGPORT" -U "$RDB_SUPERUSER" -d postgres \
        -c 'SELECT pg_is_in_recovery()' 2>/dev/null) || rc=$?
    if [ "$rc" -eq 0 ]; then
        printf '%s' "$out"
    elif [ "$rc" -eq 124 ]; then
        printf hung
    else
        printf down
    fi
}

# The postmaster named in the data directory, if that process is a running postgres.
postmaster_pid() {
    local pid comm
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = postgres ] || return 1
    printf '%s' "$pid"
}

# The postmaster and every process it started, killed together: a backend left behind would keep the
# shared memory attached and stop Patroni from starting the server again.
fence() {
    local pm stat fields dir
    local -a pids
    pm=$(postmaster_pid) || return 0
    pids=("$pm")
    for dir in /proc/[0-9]*; do
        { read -r stat <"$dir/stat"; } 2>/dev/null || continue
        # The fields after "(comm)": state, then the parent's pid.
        read -r -a fields <<<"${stat##*) }"
        [ "${fields[1]:-}" != "$pm" ] || pids+=("${dir#/proc/}")
    done
    log "FENCE: PostgreSQL (postmaster $pm) has not answered for ${AFTER}s since it last answered as the primary; killing its ${#pids[@]} processes so that it cannot take writes once another member holds the leader lock"
    kill -KILL "${pids[@]}" 2>/dev/null || true
}

last_primary=""
while :; do
    answer=$(ask)
    now=$(uptime_seconds)
    case "$answer" in
    f) last_primary=$now ;;
    t) last_primary="" ;;
    hung)
        if [ -n "$last_primary" ] && [ $((now - last_primary)) -ge "$AFTER" ]; then
            fence
            last_primary=""
        fi
        ;;
    *) ;;
    esac
    sleep "$INTERVAL"
done
