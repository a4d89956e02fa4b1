#!/bin/bash
# The Patroni mode's replica gate and state file, sourced by patroni.sh (after lib.sh, gate.sh, state.sh and
# decide-gate.sh), which calls gate_tick once a second for the life of the container; sets no shell option. What to
# do is decide_gate's (decide-gate.sh, the same rule as the manual mode's); this file observes and acts.
# Patroni's own /readiness passes a replica whose server runs, whether it streams or not, and Patroni never
# touches the access rules: a replica that has lost its primary would serve old data on every path (its pod
# name, the multi-host read strings, the read-only Service) for as long as a failover takes. As in the
# script-driven mode, a replica that has not streamed for RDB_GATE_AFTER_SECONDS refuses application
# connections (the engine's gate.sh) and is not ready; it is let in again once it streams, and the primary is
# always open. The state file (the engine's state.sh) is what the readiness probe (probe.sh) reads.

# Patroni (re)starts its server on its own: a server that is down gets the gated rules first (decide-gate.sh).
# shellcheck disable=SC2034 # read by decide_gate (decide-gate.sh), which patroni.sh sources beside this file
GATE_WHILE_DOWN=on
# A server that takes longer than this to say what it is counts as not answering: the tick must not hang.
ASK_SECONDS=3
NOT_STREAMING_SINCE=""
# Set when the access rules were switched while the server was down, so that the server that Patroni starts
# next is reloaded once it answers: it may have read the file just before the switch.
RULES_UNCONFIRMED=""

# The postmaster named in the data directory, if it runs (a server that is slow to answer still runs).
postmaster_pid() {
    local pid
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] || return 1
    printf '%s' "$pid"
}

postmaster_alive() {
    postmaster_pid >/dev/null
}

# Before Patroni first starts: gated rules, and a state that is not ready.
start_gated() {
    write_hba gated || return 1
    GATED=1
    write_state none no starting "Patroni starting"
}

# The gated rules, in place before the server next starts: Patroni (re)starts it as a replica after a
# demotion, a rewind or a clone, and such a replica must not let the application in before it streams. A
# server that runs but refuses connections (starting up, shutting down) reads the file on its next reload.
close_while_down() {
    [ -z "$GATED" ] || return 0
    write_hba gated || return 1
    GATED=1
    RULES_UNCONFIRMED=1
    log "refusing application connections: the server is down or starting"
}

# serve ROLE WHY: the primary, or a replica that streams, takes clients and is ready.
serve() {
    NOT_STREAMING_SINCE=""
    if [ -n "$GATED" ] && ! gate off "$2"; then
        write_state "$1" no running "$2, but its access rules could not be opened"
        return 1
    fi
    write_state "$1" yes running "$2"
}

# The facts decide_gate asks for beyond the first look (the archive feed), observed when it asks.
gate_decide() {
    local out
    while :; do
        out=$(decide_gate "$@") || true
        case "$out" in
        'ask archive') set -- "$@" "archive=$(fed_by_archive && echo yes || echo no)" ;;
        'ask '*) log "decide_gate asked for ${out#ask }, which patroni-gate.sh does not observe" && return 1 ;;
        *) printf '%s\n' "$out" && return 0 ;;
        esac
    done
}

# One look at the local server, one decision of the engine's gate rule (decide-gate.sh, the manual mode's too),
# one state for the probe. Returns non-zero when a step failed; the caller logs it and the next tick tries again.
gate_tick() {
    local answer in_recovery="" status="" receiver now rc=0 server=running action
    now=$(date +%s)
    answer=$(PGCONNECT_TIMEOUT=2 timeout "$ASK_SECONDS" psql -X -q -A -t -F ' ' -h "$RDB_SOCKET_DIR" -p "$PGPORT" \
        -U "$RDB_SUPERUSER" -d postgres \
        -c "SELECT pg_is_in_recovery(), $WAL_RECEIVER_SQL" 2>/dev/null) || rc=$?
    if [ "$rc" -ne 0 ]; then
        wal_fact noanswer
        # Slow or hung, not down, when its postmaster still runs: patroni-fence.sh deals with a primary that hangs.
        if [ "$rc" -eq 124 ] && postmaster_alive; then server=hung; else server=down; fi
    else
        read -r in_recovery receiver <<<"$answer"
        wal_fact "$receiver"
        status=$WAL
        if [ -n "$RULES_UNCONFIRMED" ]; then
            reload_server || return 1
            RULES_UNCONFIRMED=""
        fi
    fi
    action=$(gate_decide server="$server" recovery="$in_recovery" wal="$status" named=yes \
        gated="$([ -z "$GATED" ] && echo no || echo yes)" quiet="$((now - ${NOT_STREAMING_SINCE:-$now}))") || return 1
    case "$action" in
    none) ;;
    hung)
        # The rules stay as they are (a loaded primary must not be gated), and the probe says not ready.
        NOT_STREAMING_SINCE=""
        write_state none no running "the server does not answer within $ASK_SECONDS s"
        ;;
    down)
        NOT_STREAMING_SINCE=""
        write_state none no running "the server is down, starting or stopping"
        close_while_down
        ;;
    "open primary" | "fresh primary") serve primary "this pod is the primary" ;;
    "open streaming" | "fresh streaming") serve replica "streaming" ;;
    "open archive" | "fresh archive")
        # The standby leader of a standby cluster with the archive feed, replaying the source's archive.
        serve replica "standby leader: replaying the source's archive (stanza $RDB_STANDBY_ARCHIVE_FROM, last segment $(cat "$RDB_RUN_DIR/archive-restored" 2>/dev/null || printf 'none'))"
        ;;
    stale | close)
        NOT_STREAMING_SINCE=${NOT_STREAMING_SINCE:-$now}
        write_state replica no running "not streaming for $((now - NOT_STREAMING_SINCE)) s (wal receiver: $status)"
        [ "$action" = stale ] || gate on "not streaming for $((now - NOT_STREAMING_SINCE)) s (wal receiver: $status)" || return 1
        ;;
    *) log "decide_gate named an unknown action: $action" && return 1 ;;
    esac
}
