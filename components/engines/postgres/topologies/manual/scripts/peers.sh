#!/bin/bash
# What the other pods are, asked over the network as the replication user (whose password every pod has).
# Sourced; sets no shell option.

# peer_state ORDINAL: one of
#   gone                   nothing answers (stopped, killed, or its node unreachable)
#   busy                   the server answers that it is starting or shutting down
#   unknown                it answers but the question failed: treat as "may still take writes"
#   primary                it takes writes
#   standby LSN            in recovery, holding WAL up to LSN (the larger of received and replayed)
peer_state() {
    local host rc=0 out
    host=$(pod_host "$1")
    pg_isready -q -h "$host" -p "$PGPORT" -t 3 || rc=$?
    case "$rc" in
    0) ;;
    1) printf 'busy' && return 0 ;;
    2) printf 'gone' && return 0 ;;
    *) printf 'unknown' && return 0 ;;
    esac
    # Only a definite answer counts: "the database system is shutting down" is a failed query here, and a
    # shutting-down primary may still send WAL that a promoted pod would not have.
    if ! out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 \
        "host=$host port=$PGPORT user=$RDB_REPLICATION_USER dbname=postgres passfile=$RDB_RUN_DIR/pgpass connect_timeout=3$(tls_conninfo)" \
        -c "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby ' || greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) ELSE 'primary' END" \
        2>/dev/null); then
        printf 'unknown'
        return 0
    fi
    case "$out" in
    primary | 'standby '*/*) printf '%s' "$out" ;;
    *) printf 'unknown' ;;
    esac
}
