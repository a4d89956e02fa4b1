#!/bin/bash
# The database container's process in the manual failover mode: a supervisor that runs the server as its
# child and, once a second, compares what the config volume wants (primary-ordinal, pod-count, the Secret)
# with what the server is, and takes one step towards it: initialise, clone, start, promote, step down,
# rewind, gate clients, keep slots and passwords. It writes what it sees into $RDB_RUN_DIR/state for the
# probes, which only read. Every wait returns to the loop, so a changed config is seen on the next tick.
# What to do is decide.sh's, a pure function of what the tick observed, tested as a table; this file observes
# what it asks for and acts.
#
# The rules that keep data whole:
# - a pod takes writes only if the config names it AND no other pod takes writes, is shutting down or
#   cannot be asked (a failed question is never read as "not writable");
# - the chosen replica promotes only once every other pod that answers is a standby holding no more WAL than
#   it has (it first streams what it lacks from the most advanced one), so a switchover never forks history;
# - a primary that the config no longer names marks itself a standby, then shuts down completely;
# - a replica that is not streaming refuses application connections (all paths, not only the Services).
set -euo pipefail
# shellcheck source=../../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"
# shellcheck source=../../../scripts/gate.sh
. "$RDB_SCRIPTS_DIR/gate.sh"
# shellcheck source=../../../scripts/state.sh
. "$RDB_SCRIPTS_DIR/state.sh"
# shellcheck source=config.sh
. "$RDB_SCRIPTS_DIR/config.sh"
# shellcheck source=peers.sh
. "$RDB_SCRIPTS_DIR/peers.sh"
# shellcheck source=server.sh
. "$RDB_SCRIPTS_DIR/server.sh"
# shellcheck source=standby.sh
. "$RDB_SCRIPTS_DIR/standby.sh"
# shellcheck source=../../../scripts/decide-gate.sh
. "$RDB_SCRIPTS_DIR/decide-gate.sh"
# shellcheck source=decide.sh
. "$RDB_SCRIPTS_DIR/decide.sh"
# shellcheck source=clone-peer.sh
. "$RDB_SCRIPTS_DIR/clone-peer.sh"
if [ -n "${RDB_BACKUP_USER:-}" ]; then
    # shellcheck source=../../../backup/scripts/backup-requests.sh
    . "$RDB_SCRIPTS_DIR/backup-requests.sh"
fi
if [ "${RDB_BACKUP:-off}" = on ]; then
    # shellcheck source=../../../backup/scripts/replica-source.sh
    . "$RDB_SCRIPTS_DIR/replica-source.sh"
fi

set_stop_deadlines
TICK_SECONDS=${RDB_TICK_SECONDS:-1}

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
# missing key keeps the last good copy (lib.sh take_secret), and the passfiles are always that copy's.
refresh_passfiles() {
    take_secret || true
    write_pgpass && write_rewindpass
}

# The facts of this tick (decide.sh lists them), observed when the rules ask for them.
declare -A F=()
NOW=0
NOT_STREAMING_SINCE=""
LAST_REWIND_CHECK=0
# When each pod that answers "busy" to the named pod's "may you take writes?" first said so: its grace
# (decide.sh) runs from then, across ticks.
declare -A BUSY_SINCE=()

# observe KEY: sets F[KEY]. In this shell, never a subshell: the busy timers must outlive the call.
observe() {
    local key="$1" i s
    case "$key" in
    recovery) F[recovery]=$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null) || F[recovery]=noanswer ;;
    wal)
        s=$(local_psql -c "SELECT $WAL_RECEIVER_SQL" 2>/dev/null) || s=noanswer
        wal_fact "$s"
        F[wal]=$WAL
        ;;
    mine) F[mine]=$(local_psql -c "SELECT greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())") || F[mine]=noanswer ;;
    archive) if fed_by_archive; then F[archive]=yes; else F[archive]=no; fi ;;
    server_major) F[server_major]=$(server_major) ;;
    major) F[major]=$(cat "$PGDATA/PG_VERSION" 2>/dev/null) || F[major]=none ;;
    data) if [ -e "$PGDATA/PG_VERSION" ]; then F[data]=yes; else F[data]=no; fi ;;
    signal) if [ -e "$PGDATA/standby.signal" ]; then F[signal]=yes; else F[signal]=no; fi ;;
    peer.*) F[$key]=$(peer_state "${key#peer.}") ;;
    claim.*)
        i=${key#claim.}
        s=$(peer_state "$i")
        if [ "$s" = busy ]; then
            BUSY_SINCE[$i]=${BUSY_SINCE[$i]:-$NOW}
            s="busy $((NOW - BUSY_SINCE[$i]))"
        else
            unset 'BUSY_SINCE[$i]'
        fi
        F[$key]=$s
        ;;
    *) die "decide.sh asked for $key, which the supervisor does not observe" ;;
    esac
}

# decide RULE: runs decide.sh's RULE on the facts, observing what it asks for, until it names an action: sets
# ACTION (its words).
ACTION=()
decide() {
    local out key facts
    while :; do
        facts=()
        for key in "${!F[@]}"; do facts+=("$key=${F[$key]}"); done
        out=$("$1" "${facts[@]}") || true
        case "$out" in
        'ask '*) observe "${out#ask }" ;;
        '') log "$1 named no action" && return 1 ;;
        *) read -r -a ACTION <<<"$out" && return 0 ;;
        esac
    done
}

# The gate, as decide_gate says: it runs before the tick's step, as clients must not wait for it.
gate_step() {
    case "${ACTION[0]}" in
    # The supervisor starts its server itself, with the rules it chose (GATE_WHILE_DOWN is off here), and a server
    # that does not answer is the tick's to report.
    none | down | hung) ;;
    fresh) NOT_STREAMING_SINCE="" ;;
    open)
        case "${ACTION[1]}" in
        primary) gate off "this pod is the primary" ;;
        streaming) NOT_STREAMING_SINCE="" && gate off "streaming again" ;;
        archive) NOT_STREAMING_SINCE="" && gate off "replaying the source's archive" ;;
        esac
        ;;
    stale) NOT_STREAMING_SINCE=${NOT_STREAMING_SINCE:-$NOW} ;;
    close)
        NOT_STREAMING_SINCE=${NOT_STREAMING_SINCE:-$NOW}
        gate on "not streaming for ${F[quiet]} s (wal receiver: ${F[wal]})"
        ;;
    esac
}

# The tick's step, as decide_tick says; a step that makes a data directory forgets what it changed, and the
# rules are asked again. Returns 2 when the step leaves the server as it was (a TLS change can be taken).
step() {
    local desired=${F[desired]} count=${F[count]} primary
    primary=$(pod_host "$desired")
    case "${ACTION[0]}" in
    crashed)
        local rc=0
        wait "$SERVER_PID" || rc=$?
        die "the server exited unexpectedly (status $rc)"
        ;;
    unresponsive) set_state "$S_ROLE" no running "the server does not answer" ;;
    # The server is down: bring it up in the role the config gives this pod, one step per tick.
    refuse-major) refuse_major "${F[major]}" "${F[server_major]}" ;;
    set-aside-major)
        set_major_aside "${F[major]}" "${F[server_major]}"
        F[major]=none && unset 'F[data]' 'F[signal]' && return 1
        ;;
    hold-writes) set_state none no waiting "named the primary, but $RDB_CLUSTER-${ACTION[1]} is ${ACTION[2]}: waiting before taking writes" ;;
    start-standby-leader) start_standby_leader "${F[source]}" ;;
    restore)
        set_state none no restoring "restoring a new primary from stanza $RDB_RESTORE_FROM"
        event role_chosen role=primary action=restore stanza="$RDB_RESTORE_FROM"
        restore_primary || die "the restore from stanza $RDB_RESTORE_FROM failed (see its ERROR line); retrying after the restart"
        unset 'F[data]' 'F[signal]' && return 1
        ;;
    initdb)
        set_state none no initialising "initialising a new primary"
        event role_chosen role=primary action=initdb
        init_primary || die "initdb failed"
        unset 'F[data]' 'F[signal]' && return 1
        ;;
    start-standby-then-promote)
        set_state replica no starting "named the primary: starting as a standby, promoting once it is safe"
        event role_chosen role=primary action=start-standby-then-promote
        start_standby "" || true
        ;;
    start-primary)
        set_state none no starting "starting as the primary"
        event role_chosen role=primary action=start
        start_primary "$count" || true
        ;;
    wait-clone) set_state none no waiting "waiting for the primary $primary to take writes before cloning it" ;;
    clone)
        if [ "${RDB_BACKUP:-off}" = on ] && [ "$(replica_source)" = repository ]; then
            set_state none no cloning "restoring this cluster's latest backup from the repository (stanza $PGBACKREST_STANZA), then streaming from $primary"
            if restore_replica; then
                unset 'F[data]' 'F[signal]' && return 1
            fi
        fi
        set_state none no cloning "copying a replica that streams from $primary, or else $primary"
        local rc=0
        clone_peer "$desired" "$count" || rc=$?
        case "$rc" in
        0) unset 'F[data]' 'F[signal]' && return 1 ;;
        2) set_state none no waiting "waiting for the primary $primary to make slot $(slot_name "$POD_NAME")" && sleep 1 && return 0 ;;
        esac
        set_state none no cloning "cloning $primary through slot $(slot_name "$POD_NAME")"
        clone_from "$primary" || { sleep 2; return 0; }
        unset 'F[data]' 'F[signal]' && return 1
        ;;
    wait-rewind) set_state none no waiting "former primary: waiting for the new primary $primary to take writes" ;;
    rewind)
        set_state none no rewinding "former primary: rewinding onto $primary"
        rewind_onto "$primary" || { sleep 2; return 0; }
        unset 'F[data]' 'F[signal]' && return 1
        ;;
    start-replica)
        set_state replica no starting "starting as a replica of $primary"
        event role_chosen role=replica action=start source="$primary"
        start_standby "$primary" || true
        ;;
    # The server takes writes.
    step-down)
        # Marked a standby first: if anything stops this pod half-way, it never comes back writable.
        set_state primary no demoting "the config names $RDB_CLUSTER-$desired as the primary: stepping down"
        touch "$PGDATA/standby.signal"
        stop_server
        event stepped_down primary="$primary"
        return 2
        ;;
    primary | primary-standby-enabled)
        keep_primary "$count"
        [ -z "${RDB_BACKUP_USER:-}" ] || backup_requests_tick || log "could not take the backup requests; retrying"
        if [ "${ACTION[0]}" = primary-standby-enabled ]; then
            local why="ERROR: standby.enabled is true, but this cluster was promoted and takes writes; a standby needs new volumes (README, \"Disaster recovery: standby cluster\")"
            [ "$S_REASON" = "$why" ] || log "$why"
            set_state primary yes running "$why"
        else
            set_state primary yes running "primary"
        fi
        return 2
        ;;
    # The server is a standby.
    standby-unresponsive)
        set_state replica no running "the server does not answer yet"
        return 2
        ;;
    lead-standby | wait-lsn | hold-promote | catch-up | promote)
        slot_sql "$count" | local_psql >/dev/null || true
        case "${ACTION[0]}" in
        # A standby cluster's named pod streams from the source and never promotes while it is one.
        lead-standby) standby_leader_tick "${F[source]}" "${F[wal]}" ;;
        wait-lsn) ;;
        hold-promote) set_state replica "$S_READY" promoting "named the primary, but $RDB_CLUSTER-${ACTION[1]} is ${ACTION[2]}: waiting before promoting" ;;
        catch-up)
            # Without a slot: the other pod is a standby, which keeps none for this one (a replica drops its
            # inactive slots); with this pod's slot named, its walsender refused every try, and this pod never
            # promoted. The WAL wanted is the other's newest, which it keeps until its next restartpoint.
            if [ "$(follow "$(pod_host "${ACTION[1]}")" "")" = changed ]; then reload_server || true; fi
            set_state replica "$S_READY" promoting "named the primary: first streaming what $RDB_CLUSTER-${ACTION[1]} has (${ACTION[2]}, here ${F[mine]})"
            ;;
        promote) promote ;;
        esac
        return 2
        ;;
    follow-streaming | follow-lagging | follow-rewind)
        if [ "$(follow "$primary")" = changed ]; then
            reload_server || true
            log "now following $primary"
        fi
        drop_slots_from 0 || true
        if [ "${ACTION[0]}" = follow-streaming ]; then
            set_state replica yes running "streaming from $primary"
            return 2
        fi
        set_state replica no running "not streaming from $primary (wal receiver: ${F[wal]})"
        [ "${ACTION[0]}" = follow-rewind ] || return 2
        LAST_REWIND_CHECK=$NOW
        set_state replica no rewinding "not streaming for ${F[quiet]} s: checking whether this replica's history forked"
        stop_server
        rewind_onto "$primary" || true
        NOT_STREAMING_SINCE=""
        return 2
        ;;
    *) log "decide.sh named an unknown action: ${ACTION[*]}" ;;
    esac
    return 0
}

# The named primary's upkeep: the current Secret's passwords, the replicas' slots.
keep_primary() {
    local count="$1" sum
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
}

# The named standby promotes: decide.sh found that it cannot fork history (see the rules at the top).
promote() {
    local mine=${F[mine]}
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
    local rc
    if ! read_config; then
        set_state "$S_ROLE" no waiting "the config's pod-count or primary-ordinal is not valid and there is no last good value"
        return 0
    fi
    refresh_passfiles || true
    checksum_watch || true
    NOW=$(date +%s)
    F=([me]=$(ordinal) [desired]=$DESIRED [named]=$([ "$(ordinal)" = "$DESIRED" ] && echo yes || echo no) [count]=$COUNT [source]=$(standby_source || true)
        [restore]=$([ -z "${RDB_RESTORE_FROM:-}" ] && echo no || echo yes) [allow_major]=${RDB_ALLOW_MAJOR_CHANGE:-false}
        [gated]=$([ -z "$GATED" ] && echo no || echo yes)
        [quiet]=$((NOW - ${NOT_STREAMING_SINCE:-$NOW})) [since_rewind]=$((NOW - LAST_REWIND_CHECK)))
    if server_running; then
        F[server]=running
    elif [ -n "$SERVER_PID" ]; then
        F[server]=exited
    else
        F[server]=down
    fi
    decide decide_gate || return 1
    gate_step
    while :; do
        decide decide_tick || return 1
        rc=0
        step || rc=$?
        [ "$rc" = 1 ] || break
    done
    [ "$rc" != 2 ] || tls_tick
}

# A renewed certificate: the server reloads it (lib.sh tls_follow).
tls_remember
tls_tick() {
    tls_follow "the server reloaded it" reload_server
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
HURRIED=no
while :; do
    started=${EPOCHREALTIME//[!0-9]/}
    # A failure inside a tick is reported and the next tick starts afresh (bash does not apply errexit to
    # a function whose status is tested); every step that matters checks its own status.
    tick || log "tick failed (status $?); retrying"
    case "$(decide_pace elapsed_ms=$(((${EPOCHREALTIME//[!0-9]/} - started) / 1000)) hurried=$HURRIED)" in
    now) HURRIED=yes ;;
    sleep)
        HURRIED=no
        sleep "$TICK_SECONDS" &
        wait $! || true
        ;;
    esac
done
