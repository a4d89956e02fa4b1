#!/bin/bash
# The database container's process in the manual failover mode: a supervisor that runs the server as its
# child and, once a second, compares what the config volume wants (primary-ordinal, pod-count, the Secret)
# with what the server is, and takes one step towards it: initialise, clone, start, promote, step down,
# rewind, gate clients, keep slots and passwords. It writes what it sees into $RDB_RUN_DIR/state for the
# probes, which only read. Every wait returns to the loop, so a changed config is seen on the next tick.
#
# The rules that keep data whole:
# - a pod takes writes only if the config names it AND no other pod takes writes, is shutting down or
#   cannot be asked (a failed question is never read as "not writable");
# - the chosen replica promotes only once every other pod that answers is a standby holding no more WAL than
#   it has (it first streams what it lacks from the most advanced one), so a switchover never forks history;
# - a primary that the config no longer names marks itself a standby, then shuts down completely;
# - a replica that is not streaming refuses application connections (all paths, not only the Services).
set -euo pipefail
# shellcheck source=../common/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"
# shellcheck source=../common/gate.sh
. "$RDB_SCRIPTS_DIR/gate.sh"
# shellcheck source=../common/state.sh
. "$RDB_SCRIPTS_DIR/state.sh"
# shellcheck source=config.sh
. "$RDB_SCRIPTS_DIR/config.sh"
# shellcheck source=peers.sh
. "$RDB_SCRIPTS_DIR/peers.sh"
# shellcheck source=server.sh
. "$RDB_SCRIPTS_DIR/server.sh"
# shellcheck source=standby.sh
. "$RDB_SCRIPTS_DIR/standby.sh"

set_stop_deadlines
TICK_SECONDS=${RDB_TICK_SECONDS:-1}
# A replica that has not streamed for this long refuses application connections (RDB_REPLICA_GATE=on).
GATE_AFTER_SECONDS=${RDB_GATE_AFTER_SECONDS:-2}
REPLICA_GATE=${RDB_REPLICA_GATE:-on}
# A replica that has not streamed for this long while the primary takes writes checks whether its history
# forked off the primary's (pg_rewind decides), at most once per REWIND_RETRY_SECONDS.
REWIND_AFTER_SECONDS=${RDB_REWIND_AFTER_SECONDS:-20}
REWIND_RETRY_SECONDS=300

S_ROLE=none S_READY=no S_PHASE=starting S_REASON="starting"
# set_state ROLE READY PHASE REASON: what the probes and the role-labeler see.
set_state() {
    if [ "$4" != "$S_REASON" ] && [ "$3" != running ]; then log "$4"; fi
    S_ROLE=$1 S_READY=$2 S_PHASE=$3 S_REASON=$4
    beat
    if [ "$1" != none ] && [ "$(cat "$RDB_RUN_DIR/role" 2>/dev/null)" != "$1" ]; then
        printf '%s\n' "$1" >"$RDB_RUN_DIR/role.tmp" && mv -f "$RDB_RUN_DIR/role.tmp" "$RDB_RUN_DIR/role"
    fi
}
beat() {
    write_state "$S_ROLE" "$S_READY" "$S_PHASE" "$S_REASON"
}

on_stop() {
    log "stop requested"
    [ -z "$CHILD" ] || kill "$CHILD" 2>/dev/null || true
    [ -z "$STANZA_PID" ] || kill "$STANZA_PID" 2>/dev/null || true
    stop_server
    exit 0
}
trap on_stop TERM INT

# Passfiles and the passwords the primary applies follow the Secret, but only a usable one: an empty or
# missing key keeps the last good copy (accept_secret), and the passfiles are always that copy's. SECRET_STATE
# is what was last said of the Secret, so that a refusal is said once.
SECRET_STATE=""
refresh_passfiles() {
    local problem
    if problem=$(accept_secret); then
        SECRET_STATE=good
    elif [ "$SECRET_STATE" != "bad:$problem" ]; then
        SECRET_STATE="bad:$problem"
        secret_refused "$problem"
    fi
    write_pgpass && write_superpass
}

# Any pod other than this one that takes writes, or may: set in BLOCKER as "db-N is STATE" (a global, not
# printed: the busy timers must outlive the call). A pod that answers
# "starting up" or "shutting down" counts for BUSY_GRACE_SECONDS only: a standby that needs this pod's WAL to
# become consistent says "starting up" until this pod runs, and must not hold it off for ever.
BUSY_GRACE_SECONDS=60
declare -A BUSY_SINCE=()
writable_peer() {
    local count="$1" me i s now
    me=$(ordinal)
    now=$(date +%s)
    for ((i = 0; i < count; i++)); do
        [ "$i" = "$me" ] && continue
        s=$(peer_state "$i")
        if [ "$s" != busy ]; then
            unset 'BUSY_SINCE[$i]'
        else
            BUSY_SINCE[$i]=${BUSY_SINCE[$i]:-$now}
            [ $((now - BUSY_SINCE[$i])) -lt "$BUSY_GRACE_SECONDS" ] || continue
        fi
        case "$s" in
        primary | busy | unknown) BLOCKER="$RDB_CLUSTER-$i is $s" && return 0 ;;
        esac
    done
    return 1
}

# The server is down: bring it up in the role the config gives this pod, one step per tick.
start_for_role() {
    local desired="$1" count="$2" me
    me=$(ordinal)
    check_major
    if [ "$desired" = "$me" ]; then
        if writable_peer "$count"; then
            set_state none no waiting "named the primary, but $BLOCKER: waiting before taking writes"
            return 0
        fi
        # A standby cluster: the named pod is a standby of the source instead (standby.sh).
        local source
        if source=$(standby_source); then
            start_standby_leader "$source"
            return 0
        fi
        if [ ! -e "$PGDATA/PG_VERSION" ] && [ -n "${RDB_RESTORE_FROM:-}" ]; then
            set_state none no restoring "restoring a new primary from stanza $RDB_RESTORE_FROM"
            event role_chosen role=primary action=restore stanza="$RDB_RESTORE_FROM"
            restore_primary || die "the restore from stanza $RDB_RESTORE_FROM failed (see its ERROR line); retrying after the restart"
        elif [ ! -e "$PGDATA/PG_VERSION" ]; then
            set_state none no initialising "initialising a new primary"
            event role_chosen role=primary action=initdb
            init_primary || die "initdb failed"
        fi
        if [ -e "$PGDATA/standby.signal" ]; then
            set_state replica no starting "named the primary: starting as a standby, promoting once it is safe"
            event role_chosen role=primary action=start-standby-then-promote
            start_standby "" || return 0
        else
            set_state none no starting "starting as the primary"
            event role_chosen role=primary action=start
            start_primary "$count" || return 0
        fi
        return 0
    fi
    local primary
    primary=$(pod_host "$desired")
    if [ ! -e "$PGDATA/PG_VERSION" ]; then
        # In a standby cluster the named pod never takes writes: a replica clones it once it runs as a standby.
        if ! peer_is_primary "$desired" && ! { standby_source >/dev/null && peer_is_standby "$desired"; }; then
            set_state none no waiting "waiting for the primary $primary to take writes before cloning it"
            return 0
        fi
        set_state none no cloning "cloning $primary through slot $(slot_name "$POD_NAME")"
        clone_from "$primary" || { sleep 2; return 0; }
    elif [ ! -e "$PGDATA/standby.signal" ]; then
        # A former primary that did not step down cleanly (killed): it may hold WAL the new primary never got.
        if ! peer_is_primary "$desired"; then
            set_state none no waiting "former primary: waiting for the new primary $primary to take writes"
            return 0
        fi
        set_state none no rewinding "former primary: rewinding onto $primary"
        rewind_onto "$primary" || { sleep 2; return 0; }
    fi
    set_state replica no starting "starting as a replica of $primary"
    event role_chosen role=replica action=start source="$primary"
    start_standby "$primary" || return 0
}

# The server takes writes.
primary_tick() {
    local desired="$1" count="$2" me sum
    me=$(ordinal)
    if [ "$desired" != "$me" ]; then
        # Marked a standby first: if anything stops this pod half-way, it never comes back writable.
        set_state primary no demoting "the config names $RDB_CLUSTER-$desired as the primary: stepping down"
        touch "$PGDATA/standby.signal"
        stop_server
        event stepped_down primary="$(pod_host "$desired")"
        return 0
    fi
    [ -z "$GATED" ] || gate off "this pod is the primary"
    if sum=$(secret_checksum) &&
        [ "$(cat "$RDB_RUN_DIR/applied-secret" 2>/dev/null || true)" != "$sum" ]; then
        if roles_sql | roles_psql; then
            printf '%s\n' "$sum" >"$RDB_RUN_DIR/applied-secret"
            log "applied the passwords of the current Secret"
        else
            log "could not apply the passwords of the current Secret; retrying"
        fi
    fi
    # Slots for pods a scale-up added; those of removed pods go.
    slot_sql "$count" | local_psql >/dev/null || log "could not create the replicas' slots; retrying"
    drop_slots_from "$count" || log "could not drop the slots of removed pods; retrying"
    if standby_source >/dev/null; then
        # Said, not acted on: stepping down would not make this data a standby of the source again.
        local why="ERROR: standby.enabled is true, but this cluster was promoted and takes writes; a standby needs new volumes (README, \"Disaster recovery: standby cluster\")"
        [ "$S_REASON" = "$why" ] || log "$why"
        set_state primary yes running "$why"
        return 0
    fi
    set_state primary yes running "primary"
}

NOT_STREAMING_SINCE=""
LAST_REWIND_CHECK=0

# The server is a standby.
standby_tick() {
    local desired="$1" count="$2" me status now
    me=$(ordinal)
    now=$(date +%s)
    if ! status=$(local_psql -c "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')" 2>/dev/null); then
        set_state replica no running "the server does not answer yet"
        return 0
    fi
    if [ "$status" = streaming ]; then
        NOT_STREAMING_SINCE=""
        [ -z "$GATED" ] || gate off "streaming again"
    elif [ "$desired" = "$me" ] && fed_by_archive; then
        # A standby cluster's named pod that replays the source's archive is as fresh as that archive (README).
        NOT_STREAMING_SINCE=""
        [ -z "$GATED" ] || gate off "replaying the source's archive"
    else
        NOT_STREAMING_SINCE=${NOT_STREAMING_SINCE:-$now}
        if [ "$REPLICA_GATE" = on ] && [ -z "$GATED" ] && [ $((now - NOT_STREAMING_SINCE)) -ge "$GATE_AFTER_SECONDS" ]; then
            gate on "not streaming for $((now - NOT_STREAMING_SINCE)) s (wal receiver: $status)"
        fi
    fi
    if [ "$desired" = "$me" ]; then
        slot_sql "$count" | local_psql >/dev/null || true
        # A standby cluster's named pod streams from the source and never promotes while it is one; once
        # standby-hosts is empty (standby.enabled false) it promotes as any named replica does.
        local source
        if source=$(standby_source); then
            standby_leader_tick "$source" "$status"
            return 0
        fi
        promote_when_safe "$count"
        return 0
    fi
    if [ "$(follow "$(pod_host "$desired")")" = changed ]; then
        reload_server || true
        log "now following $(pod_host "$desired")"
    fi
    drop_slots_from 0 || true
    if [ "$status" = streaming ]; then
        set_state replica yes running "streaming from $(pod_host "$desired")"
        return 0
    fi
    set_state replica no running "not streaming from $(pod_host "$desired") (wal receiver: $status)"
    if [ $((now - NOT_STREAMING_SINCE)) -ge "$REWIND_AFTER_SECONDS" ] &&
        [ $((now - LAST_REWIND_CHECK)) -ge "$REWIND_RETRY_SECONDS" ] && peer_is_primary "$desired"; then
        # Most often this replica held WAL the new primary never got (it was ahead of it when the old
        # primary died): pg_rewind finds out, and says so when nothing needs rewinding.
        LAST_REWIND_CHECK=$now
        set_state replica no rewinding "not streaming for $((now - NOT_STREAMING_SINCE)) s: checking whether this replica's history forked"
        stop_server
        rewind_onto "$(pod_host "$desired")" || true
        NOT_STREAMING_SINCE=""
    fi
}

# The chosen replica promotes only when that cannot fork history: see the rules at the top.
promote_when_safe() {
    local count="$1" me i s mine lsn ahead="" ahead_lsn=""
    me=$(ordinal)
    mine=$(local_psql -c "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())") || return 0
    for ((i = 0; i < count; i++)); do
        [ "$i" = "$me" ] && continue
        s=$(peer_state "$i")
        case "$s" in
        gone) ;;
        'standby '*)
            lsn=${s#standby }
            if ! lsn_ge "$mine" "$lsn" && { [ -z "$ahead" ] || ! lsn_ge "$ahead_lsn" "$lsn"; }; then
                ahead=$i ahead_lsn=$lsn
            fi
            ;;
        *)
            set_state replica "$S_READY" promoting "named the primary, but $RDB_CLUSTER-$i is $s: waiting before promoting"
            return 0
            ;;
        esac
    done
    if [ -n "$ahead" ]; then
        if [ "$(follow "$(pod_host "$ahead")")" = changed ]; then reload_server || true; fi
        set_state replica "$S_READY" promoting "named the primary: first streaming what $RDB_CLUSTER-$ahead has ($ahead_lsn, here $mine)"
        return 0
    fi
    set_state replica no promoting "promoting to primary at $mine"
    event promotion_started lsn="$mine"
    if ! local_psql -c 'SELECT pg_promote(true, 60)' >/dev/null; then
        log "promotion did not finish; retrying"
        return 0
    fi
    event promoted timeline="$(local_psql -c "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int" 2>/dev/null || true)"
    # Clients are let in at once: a standby that stopped streaming when the old primary went is gated.
    [ -z "$GATED" ] || gate off "this pod is now the primary"
    follow "" >/dev/null
    reload_server || true
    set_state primary yes running "primary"
    ensure_stanza_in_background
    # pg_rewind on the other pods reads the timeline from this server's control file, which a checkpoint
    # updates.
    local_psql -c CHECKPOINT >/dev/null || true
}

tick() {
    local desired count
    if ! read_config; then
        set_state "$S_ROLE" no waiting "the config's pod-count or primary-ordinal is not valid and there is no last good value"
        return 0
    fi
    desired=$DESIRED count=$COUNT
    refresh_passfiles || true
    checksum_watch || true
    if ! server_running; then
        if [ -n "$SERVER_PID" ]; then
            local rc=0
            wait "$SERVER_PID" || rc=$?
            die "the server exited unexpectedly (status $rc)"
        fi
        start_for_role "$desired" "$count"
        return 0
    fi
    local in_recovery
    if ! in_recovery=$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null); then
        set_state "$S_ROLE" no running "the server does not answer"
        return 0
    fi
    if [ "$in_recovery" = f ]; then
        primary_tick "$desired" "$count"
    else
        standby_tick "$desired" "$count"
    fi
    tls_tick
}

# A renewed certificate is taken by a reload, without a restart: new connections (clients and replicas) get
# it, established ones keep their session. A reload that fails is tried again on the next tick; PostgreSQL
# keeps serving the certificate it has if the new files do not load.
TLS_APPLIED=$(tls_checksum || true)
tls_tick() {
    local current
    current=$(tls_checksum) || return 0
    [ "$current" != "$TLS_APPLIED" ] || return 0
    if ! reload_server; then
        log "the TLS certificate changed, but the reload failed; retrying"
        return 0
    fi
    TLS_APPLIED=$current
    log "the TLS certificate changed: the server reloaded it"
}

export PGPASSFILE="$RDB_RUN_DIR/pgpass"
export PGCONNECT_TIMEOUT=5
# A container restart keeps the pod's memory volume, and with it the last good copy of the passwords.
if ! refresh_passfiles; then
    secret_checksum >/dev/null || die "the Secret is not usable and there are no earlier passwords to keep"
    die "cannot write the passfiles in $RDB_RUN_DIR"
fi
write_server_config
[ -f "$SERVER_HBA" ] || write_hba gated
set_state none no starting "supervisor started"
while :; do
    # A failure inside a tick is reported and the next tick starts afresh (bash does not apply errexit to
    # a function whose status is tested); every step that matters checks its own status.
    tick || log "tick failed (status $?); retrying"
    sleep "$TICK_SECONDS" &
    wait $! || true
done
