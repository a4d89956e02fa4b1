#!/bin/bash
# A standby cluster (README, "Disaster recovery: standby cluster"): the pod the config names the primary is
# instead a standby of another cluster, the source, and streams from it; the other pods cascade from it as
# usual. The config volume says so live (standby-hosts, standby-port, standby-ca.crt, rendered from the
# `standby` arg): the supervisor reads them on every tick, so `standby.enabled: false` (standby-hosts empty)
# promotes without a restart. Sourced by entrypoint.sh after server.sh; sets no shell option.
#
# With the archive feed (RDB_STANDBY_ARCHIVE_FROM, the source's stanza in this cluster's backup repository) the
# source's archive is a second way in: every pod of the standby cluster gets a restore_command that reads the
# source's stanza, so that PostgreSQL replays from the archive whenever streaming fails and streams again when it
# can; and the named pod's first data directory comes from the source's latest backup when the source cannot be
# cloned.

STANDBY_HOSTS_FILE="$RDB_CONFIG_DIR/standby-hosts"
STANDBY_PORT_FILE="$RDB_CONFIG_DIR/standby-port"
STANDBY_CA_FILE="$RDB_CONFIG_DIR/standby-ca.crt"
STANDBY_ARCHIVE=${RDB_STANDBY_ARCHIVE_FROM:-}

# Prints the source's hosts ("a,b") and succeeds while this cluster is a standby. A cluster never rendered
# as a standby has no such file; a promoted one has it empty.
standby_source() {
    local hosts
    # The error redirection first: bash opens the input before it, and would print a missing file.
    hosts=$(tr -d '[:space:]' 2>/dev/null <"$STANDBY_HOSTS_FILE") || return 1
    [ -n "$hosts" ] || return 1
    printf '%s' "$hosts"
}

# The conninfo words that make the source prove its name against its own CA (verify-full); the source's
# CA, not this cluster's, which signs only this cluster's certificate.
source_tls_conninfo() {
    [ -s "$STANDBY_CA_FILE" ] || return 0
    printf ' sslmode=verify-full sslrootcert=%s' "$STANDBY_CA_FILE"
}

# The source's conninfo without the password (the passfile holds the source's replication password). With
# several hosts libpq tries them in order and takes the one that takes writes. No replication slot on the
# source: its primary manages its own pods' slots only and a slot would not follow a failover there; the
# source's wal_keep_size bounds how long this standby may be away before it needs a fresh clone.
source_conninfo() {
    local hosts="$1" port attrs=""
    port=$(tr -d '[:space:]' 2>/dev/null <"$STANDBY_PORT_FILE") || port=""
    [[ "$port" =~ ^[0-9]+$ ]] || port=$PGPORT
    [[ "$hosts" != *,* ]] || attrs=" target_session_attrs=read-write"
    printf 'host=%s port=%s user=%s passfile=%s application_name=%s connect_timeout=5%s%s' \
        "$hosts" "$port" "$RDB_REPLICATION_USER" "$RDB_RUN_DIR/pgpass" "$(slot_name "$POD_NAME")" "$attrs" "$(source_tls_conninfo)"
}

# follow_source HOSTS: stream from the source, no slot (and replay its archive when that fails). Prints
# "changed" when the file changed.
follow_source() {
    write_follow "primary_conninfo = '$(source_conninfo "$1")'$(standby_restore_setting)"
}

# The restore_command line (after a newline) that reads the source's archive, while this cluster is a standby
# with the archive feed; nothing otherwise, so that a promoted cluster's pods fall back to the rendered one (their
# own stanza). follow.conf is included after the rendered configuration, so this one wins while it is there.
standby_restore_setting() {
    [ -n "$STANDBY_ARCHIVE" ] || return 0
    standby_source >/dev/null || return 0
    printf "\nrestore_command = '/bin/bash %s/archive-get.sh %%f \"%%p\"'" "$RDB_SCRIPTS_DIR"
}

# restore_source_standby: the named pod's first data directory from the source's latest backup in the
# repository, left a standby (restore-standby.sh stages, renames and refuses as restore.sh does).
restore_source_standby() {
    event restore_started stanza="$STANDBY_ARCHIVE" role=standby-leader
    if ! supervised bash "$RDB_SCRIPTS_DIR/restore-standby.sh"; then
        event restore_failed stanza="$STANDBY_ARCHIVE" next=retry
        return 1
    fi
    event restore_finished stanza="$STANDBY_ARCHIVE"
}

# clone_source HOSTS: the standby leader's first data directory, a base backup of the source, renamed into
# place only when whole (as clone_from).
clone_source() {
    local tmp="$PGDATA.clone"
    clear_empty_pgdata
    rm -rf "$tmp"
    if ! supervised pg_basebackup -d "$(source_conninfo "$1")" -w -D "$tmp" -X stream -c fast; then
        log "clone of the source failed; retrying"
        return 1
    fi
    touch "$tmp/standby.signal"
    mv "$tmp" "$PGDATA"
    log "clone of the source complete"
}

# The named pod of a standby cluster while the server is down: clone the source if the volume is empty,
# then start as a standby of the source, gated until it streams.
start_standby_leader() {
    local hosts="$1"
    if [ ! -e "$PGDATA/PG_VERSION" ]; then
        set_state none no cloning "standby cluster: cloning the source $hosts"
        if ! clone_source "$hosts"; then
            # The source cannot be cloned (unreachable, or its region gone): the repository may have its backup.
            [ -n "$STANDBY_ARCHIVE" ] || { sleep 2; return 0; }
            set_state none no restoring "standby cluster: the source $hosts cannot be cloned; restoring its latest backup from stanza $STANDBY_ARCHIVE"
            restore_source_standby || { sleep 2; return 0; }
        fi
    elif [ ! -e "$PGDATA/standby.signal" ]; then
        # This data took writes of its own (a promoted cluster): it has left the source's history, and only a
        # new clone (new volumes) can make it a standby again. Nothing is changed.
        set_state none no waiting "ERROR: standby.enabled is true but this pod's data was promoted (it took writes of its own); a standby of $hosts needs empty volumes (README, \"Disaster recovery: standby cluster\")"
        return 0
    fi
    set_state replica no starting "standby cluster: starting as a standby of the source $hosts"
    touch "$PGDATA/standby.signal"
    follow_source "$hosts" >/dev/null
    if [ "${RDB_REPLICA_GATE:-on}" = on ]; then
        write_hba gated
        # shellcheck disable=SC2034 # GATED is gate.sh's, sourced before this file
        GATED=1
    else
        write_hba open
    fi
    start_server "$RDB_LISTEN_ADDRESSES" || return 0
}

# The standby leader's tick (its server runs in recovery): keep streaming from the source, never promote.
standby_leader_tick() {
    local hosts="$1" status="$2"
    if [ "$(follow_source "$hosts")" = changed ]; then
        reload_server || true
        log "standby cluster: now following the source $hosts"
    fi
    if [ "$status" = streaming ]; then
        set_state replica yes running "standby cluster: streaming from the source $hosts"
    elif fed_by_archive; then
        set_state replica yes running "standby cluster: replaying the source's archive (stanza $STANDBY_ARCHIVE, last segment $(cat "$RDB_RUN_DIR/archive-restored" 2>/dev/null || printf 'none')); not streaming from $hosts (wal receiver: $status)"
    else
        set_state replica no running "standby cluster: not streaming from the source $hosts (wal receiver: $status)"
    fi
}
