#!/bin/bash
# A new replica's copy from another replica (cloneFromReplicas): one that streams from the primary and is caught
# up, so that the copy reads none of the primary's files and costs its core and disk at most one checkpoint
# (decide_clone_checkpoint).
# With no such replica, or a copy of it that fails, the caller clones the primary (server.sh clone_from).
# Sourced by entrypoint.sh after lib.sh, peers.sh, server.sh and decide.sh; sets no shell option; runs nothing
# when sourced.

# How far behind the primary a replica may be and still be copied. The copy starts at the replica's last
# restartpoint, which is only as recent as the last checkpoint it replayed; one that lags may not have replayed the
# primary's latest checkpoint (or the one asked for before its copy), and its copy would replay long.
CLONE_PEER_MAX_LAG_BYTES=$((16 * 1024 * 1024))

# decide_clone_peer from_replicas=on|off set_aside=yes|no primary_lsn=X/Y [peer=N:STATE ...]: the ordinal of the
# replica to copy, or "primary". STATE is peers.sh's peer_state; a peer qualifies as "standby LSN" with LSN at most
# CLONE_PEER_MAX_LAG_BYTES behind primary_lsn. Of those, the one holding the most WAL (the lowest ordinal of
# equals). A pod whose volume holds a data directory set aside (damaged, or diverged when a rewind could not
# work) is being remade because something went wrong: it copies the primary, the one copy that is the truth, and
# not a replica that may carry the same damage unseen. A pure function of what was observed (no file, no
# command), tested as a table (tests/unit/clone-peer.test.ts).
decide_clone_peer() {
    local from=off aside=yes primary="" arg best="" best_bytes=-1 n state lsn bytes floor
    local -a peers=()
    for arg; do
        case "$arg" in
        from_replicas=*) from=${arg#*=} ;;
        set_aside=*) aside=${arg#*=} ;;
        primary_lsn=*) primary=${arg#*=} ;;
        peer=*) peers+=("${arg#peer=}") ;;
        esac
    done
    if [ "$from" != on ] || [ "$aside" != no ] || [[ ! "$primary" =~ ^[0-9A-Fa-f]+/[0-9A-Fa-f]+$ ]]; then
        echo primary
        return 0
    fi
    floor=$(($(lsn_bytes "$primary") - CLONE_PEER_MAX_LAG_BYTES))
    for arg in "${peers[@]}"; do
        n=${arg%%:*} state=${arg#*:}
        [[ "$n" =~ ^[0-9]+$ && "$state" =~ ^standby\ ([0-9A-Fa-f]+/[0-9A-Fa-f]+)$ ]] || continue
        lsn=${BASH_REMATCH[1]}
        bytes=$(lsn_bytes "$lsn")
        [ "$bytes" -ge "$floor" ] || continue
        if [ "$bytes" -gt "$best_bytes" ] || { [ "$bytes" -eq "$best_bytes" ] && [ "$n" -lt "$best" ]; }; then
            best=$n best_bytes=$bytes
        fi
    done
    echo "${best:-primary}"
}

# How much WAL the copy of a replica may have to replay before the primary is asked for a checkpoint. The copy starts
# at the replica's last restartpoint, the last checkpoint it replayed, which may be up to checkpoint_timeout old
# (5 minutes by default) and hold that much WAL; a checkpoint asked of the primary makes the copy replay seconds,
# but costs the primary its dirty pages' writes and, after it, a full-page image for every page first touched
# (docs/benchmarks.md, "A replica joining under load": the primary kept 0.85-0.90 with it, 0.99-1.02 without).
# Copying and replaying WAL added about 5.5 ms per MiB to a join there, so this much adds about a third of a
# second, and spares the primary a checkpoint whenever its writes are light.
CLONE_CHECKPOINT_WAL_BYTES=$((64 * 1024 * 1024))

# decide_clone_checkpoint primary_lsn=X/Y restartpoint=X/Y: "checkpoint" when the replica's last restartpoint (its
# redo LSN) is more than CLONE_CHECKPOINT_WAL_BYTES behind the primary's WAL position, or is not known; else
# "none". A pure function of what was observed, tested as a table (tests/unit/clone-peer.test.ts).
decide_clone_checkpoint() {
    local primary="" redo="" arg
    for arg; do
        case "$arg" in
        primary_lsn=*) primary=${arg#*=} ;;
        restartpoint=*) redo=${arg#*=} ;;
        esac
    done
    if [[ "$primary" =~ ^[0-9A-Fa-f]+/[0-9A-Fa-f]+$ && "$redo" =~ ^[0-9A-Fa-f]+/[0-9A-Fa-f]+$ ]] &&
        [ $(($(lsn_bytes "$primary") - $(lsn_bytes "$redo"))) -le "$CLONE_CHECKPOINT_WAL_BYTES" ]; then
        echo none
    else
        echo checkpoint
    fi
}

# restartpoint_now HOST: asks the standby HOST for a restartpoint and prints its redo LSN, where a copy of HOST
# starts (pg_basebackup -c fast asks for the same restartpoint, which is then already made); prints nothing when
# HOST cannot be asked. A restartpoint can only be at the last checkpoint record HOST replayed, and its control
# file shows only the last restartpoint made, which may be older still. As the rewind role, which may CHECKPOINT
# and read the control file (lib.sh roles_sql).
restartpoint_now() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 \
        "$(rewind_conninfo "$1")" -c CHECKPOINT -c "SELECT redo_lsn FROM pg_control_checkpoint()" 2>/dev/null || true
}

# set_aside_data: "yes" when the volume holds a data directory set aside after damage (docs/operations.md's
# re-clone, $PGDATA.damaged.*) or divergence (server.sh rewind_onto, $PGDATA.diverged.*), else "no".
set_aside_data() {
    local d
    for d in "$PGDATA".damaged.* "$PGDATA".diverged.*; do
        [ -e "$d" ] && printf 'yes' && return 0
    done
    printf 'no'
}

# primary_clone_state HOST SLOT: "LSN SLOTS" from the primary HOST: its WAL position and whether it has the slot
# SLOT (1 or 0). Asked as the replication user, as peers.sh asks; fails when the primary cannot be asked.
primary_clone_state() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 \
        "host=$1 port=$PGPORT user=$RDB_REPLICATION_USER dbname=postgres passfile=$RDB_RUN_DIR/pgpass connect_timeout=5$(tls_conninfo)" \
        -c "SELECT pg_current_wal_lsn() || ' ' || (SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$2')" 2>/dev/null
}

# clone_peer PRIMARY_ORDINAL COUNT: copies a caught-up replica of the COUNT pods into $PGDATA. Returns 0 when it
# did; 1 when none could be copied (off, none caught up, the copy failed), and the caller clones the primary; 2
# when the primary has no slot for this pod yet, and the caller waits (a clone of the primary needs it too).
clone_peer() {
    local primary_ordinal="$1" count="$2" primary slot state lsn n me peer redo checkpoint
    local -a peers=()
    [ "${RDB_CLONE_FROM_REPLICAS:-off}" = on ] || return 1
    primary=$(pod_host "$primary_ordinal")
    slot=$(slot_name "$POD_NAME")
    me=$(ordinal)
    # The copy's own WAL comes through a temporary slot on the replica; from its end on, this pod's slot on the
    # primary must already hold the WAL, or a checkpoint there could recycle what this replica has yet to stream.
    state=$(primary_clone_state "$primary" "$slot") || return 1
    [ "${state#* }" = 1 ] || return 2
    lsn=${state% *}
    for ((n = 0; n < count; n++)); do
        if [ "$n" = "$me" ] || [ "$n" = "$primary_ordinal" ]; then continue; fi
        peers+=("peer=$n:$(peer_state "$n")")
    done
    peer=$(decide_clone_peer from_replicas=on set_aside="$(set_aside_data)" primary_lsn="$lsn" "${peers[@]}")
    [ "$peer" != primary ] || return 1
    # A checkpoint on the primary first when the replica's restartpoint is old (decide_clone_checkpoint), so that
    # its restartpoint (pg_basebackup -c fast there) is at it and the copy replays seconds of WAL. A streaming
    # replica replays the checkpoint's record before pg_basebackup has connected; if it has not, the copy is as
    # correct and only replays more. As the rewind role, which may CHECKPOINT (lib.sh roles_sql).
    redo=$(restartpoint_now "$(pod_host "$peer")")
    checkpoint=$(decide_clone_checkpoint primary_lsn="$lsn" restartpoint="$redo")
    event clone_checkpoint source="$(pod_host "$peer")" restartpoint="${redo:-unknown}" primary_lsn="$lsn" decided="$checkpoint"
    if [ "$checkpoint" = checkpoint ] && ! psql -X -q -c CHECKPOINT "$(rewind_conninfo "$primary")" >/dev/null 2>&1; then
        log "could not ask the primary $primary for a checkpoint; the copy of a replica replays from its last restartpoint"
    fi
    clone_from "$(pod_host "$peer")" replica
}
