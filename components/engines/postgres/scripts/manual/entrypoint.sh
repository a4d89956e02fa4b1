#!/bin/bash
# The database container's entrypoint. The pod whose ordinal is in the config's primary-ordinal is the
# primary; every other
# pod clones it and streams from it. Ends by exec'ing the server, so that the kubelet's signals reach the
# postmaster itself.
set -eu
. "$RDB_SCRIPTS_DIR/lib.sh"

mapfile -t FLAGS < <(server_flags)
trap on_stop TERM INT

server_major() {
    # "postgres (PostgreSQL) 17.6 (Debian ...)": the third word, up to its first dot.
    postgres --version | awk '{ split($3, v, "."); print v[1] }'
}

# Data directories of another major version cannot be opened. Without the user's opt-in: say so and stop,
# touching nothing. With it (allowMajorVersionChange, the documented dump-and-restore upgrade): rename the
# old directory aside on the same volume, never delete it, and start fresh.
check_major() {
    local data server aside
    [ -e "$PGDATA/PG_VERSION" ] || return 0
    data=$(cat "$PGDATA/PG_VERSION")
    server=$(server_major)
    [ "$data" != "$server" ] || return 0
    if [ "$RDB_ALLOW_MAJOR_CHANGE" != true ]; then
        die "the data directory is PostgreSQL $data and this image runs PostgreSQL $server; a major upgrade" \
            "needs a dump and allowMajorVersionChange, or a new cluster (README, Day-2 operations). Nothing was changed."
    fi
    aside="$PGDATA.pg$data.$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$PGDATA" "$aside"
    log "allowMajorVersionChange: the PostgreSQL $data data directory is kept as $aside; starting fresh on $server"
}

# A directory without PG_VERSION is either empty (fine to use) or something we did not make (refuse).
clear_empty_pgdata() {
    if [ -d "$PGDATA" ] && [ ! -e "$PGDATA/PG_VERSION" ]; then
        rmdir "$PGDATA" 2>/dev/null ||
            die "$PGDATA holds files but no PG_VERSION; refusing to initialise over them"
    fi
}

init_primary() {
    # initdb writes into a sibling directory that is renamed into place only when complete: a pod killed
    # half-way leaves no data directory that a later start could mistake for a valid one.
    local tmp="$PGDATA.init"
    rm -rf "$tmp"
    clear_empty_pgdata
    log "initialising a new primary"
    initdb -D "$tmp" -U "$RDB_SUPERUSER" --pwfile="$RDB_SECRET_DIR/superuser-password" \
        --auth-local=peer --auth-host=scram-sha-256 --data-checksums -E UTF8 --no-locale >&2
    mv "$tmp" "$PGDATA"
}

start_primary() {
    check_major
    [ -e "$PGDATA/PG_VERSION" ] || init_primary
    if [ -e "$PGDATA/standby.signal" ]; then
        # Chosen as the new primary while still a standby: start as a standby (never writable) and let the
        # readiness probe promote it once no other pod accepts writes.
        log "chosen as the primary; starting as a standby until the probe promotes it"
        exec postgres "${FLAGS[@]}" -c "listen_addresses=$RDB_LISTEN_ADDRESSES"
    fi
    # First without any listener the probes or clients know of (no TCP, a socket in the pod's scratch
    # directory): the passwords come from the Secret before any remote client can try an old one (a kept
    # volume with a new Secret must just work), and no probe runs against this short-lived server.
    log "applying roles, passwords and replication slots"
    LOCAL_SOCKET_DIR="$RDB_RUN_DIR/maintenance"
    mkdir -p "$LOCAL_SOCKET_DIR"
    pg_ctl -D "$PGDATA" -w -t 600 \
        -o "${FLAGS[*]} -c listen_addresses='' -c unix_socket_directories=$LOCAL_SOCKET_DIR" start >&2
    if ! apply_roles_and_slots; then
        pg_ctl -D "$PGDATA" -w -m fast stop >&2 || true
        die "could not apply the roles and passwords of the Secret"
    fi
    pg_ctl -D "$PGDATA" -w -t 600 -m fast stop >&2
    unset LOCAL_SOCKET_DIR
    secret_checksum >"$RDB_RUN_DIR/applied-secret"
    log "starting as the primary"
    exec postgres "${FLAGS[@]}" -c "listen_addresses=$RDB_LISTEN_ADDRESSES"
}

clone_primary() {
    local slot="$1" tmp="$PGDATA.clone"
    clear_empty_pgdata
    # Parallel pod management starts replicas with the primary: wait for it, however long it takes.
    until pg_isready -q -h "$(primary_host)" -p "$PGPORT" -t 5; do
        log "waiting for the primary at $(primary_host)"
        interruptible sleep 2
    done
    until {
        rm -rf "$tmp"
        log "cloning the primary through slot $slot"
        # The slot appears once the primary has seen the new pod count (its readiness probe).
        interruptible pg_basebackup -h "$(primary_host)" -p "$PGPORT" -U "$RDB_REPLICATION_USER" -w \
            -D "$tmp" -X stream -S "$slot" -c fast >&2
    }; do
        log "clone failed; retrying"
        interruptible sleep 5
    done
    # Same as initdb: the directory only becomes PGDATA once the copy is whole.
    touch "$tmp/standby.signal"
    mv "$tmp" "$PGDATA"
    log "clone complete"
}

# The old primary after a switchover or failover: wait for the new primary, then pg_rewind onto its
# timeline (checksums and wal_log_hints make that possible); when rewinding cannot work, set the data
# aside on the volume (kept, never deleted) and clone afresh. Never starts writable.
rejoin_former_primary() {
    local slot="$1" host aside
    write_superpass
    host=$(primary_host)
    until [ "$(accepts_writes "$host")" = t ]; do
        log "former primary: waiting for the new primary at $host"
        interruptible sleep 2
    done
    if pg_rewind --target-pgdata="$PGDATA" \
        --source-server="host=$host port=$PGPORT user=$RDB_SUPERUSER dbname=postgres passfile=$RDB_RUN_DIR/superpass" >&2; then
        log "former primary rewound onto $host"
        return 0
    fi
    aside="$PGDATA.diverged.$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$PGDATA" "$aside"
    log "pg_rewind failed: data kept as $aside; cloning the new primary"
    clone_primary "$slot"
}

start_replica() {
    local slot
    slot=$(slot_name "$POD_NAME")
    check_major
    if [ ! -e "$PGDATA/PG_VERSION" ]; then
        clone_primary "$slot"
        # A primary still on the old major yields a clone this server cannot open; it is only our own fresh
        # copy, so it goes, and the pod waits (restarting) until the primary runs this major too.
        local cloned
        cloned=$(cat "$PGDATA/PG_VERSION")
        if [ "$cloned" != "$(server_major)" ]; then
            rm -rf "$PGDATA"
            die "the primary runs PostgreSQL $cloned; upgrade it first (README, Day-2 operations)"
        fi
    fi
    # A former primary (no standby.signal) may hold WAL the new primary never got: rewind it first.
    [ -e "$PGDATA/standby.signal" ] || rejoin_former_primary "$slot"
    touch "$PGDATA/standby.signal"
    log "starting as a replica of $(primary_host)"
    exec postgres "${FLAGS[@]}" -c "listen_addresses=$RDB_LISTEN_ADDRESSES" \
        -c "primary_conninfo=host=$(primary_host) port=$PGPORT user=$RDB_REPLICATION_USER passfile=$RDB_RUN_DIR/pgpass application_name=$slot" \
        -c "primary_slot_name=$slot"
}

export PGPASSFILE="$RDB_RUN_DIR/pgpass"
write_pgpass
if is_primary_ordinal; then
    start_primary
else
    start_replica
fi
