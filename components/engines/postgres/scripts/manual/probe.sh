#!/bin/bash
# The container's probes: probe.sh startup|readiness|liveness. The readiness probe also keeps the pod's
# view of the world current (role file, passfile, passwords and slots on the primary), because it is the
# one thing the kubelet runs in the container every few seconds for the pod's whole life.
set -eu
. "$RDB_SCRIPTS_DIR/lib.sh"

# Whether the server answers on the socket at all (0: accepting, 1: starting or stopping, 2: no answer).
server_state() {
    local rc=0
    pg_isready -q -h "$RDB_SOCKET_DIR" -p "$PGPORT" -t 4 || rc=$?
    printf '%s' "$rc"
}

write_role() {
    printf '%s\n' "$1" >"$RDB_RUN_DIR/role.$$"
    mv -f "$RDB_RUN_DIR/role.$$" "$RDB_RUN_DIR/role"
}

readiness() {
    [ "$(server_state)" = 0 ] || exit 1
    local in_recovery
    in_recovery=$(local_psql -c 'SELECT pg_is_in_recovery()')
    write_pgpass
    if [ "$in_recovery" = f ] && ! is_primary_ordinal; then
        # The config chose another primary: stop taking writes now. The restart rejoins as a replica.
        log "another pod is now the primary: stopping to rejoin as a replica"
        pg_ctl -D "$PGDATA" -m fast -W stop >/dev/null
        exit 1
    fi
    if [ "$in_recovery" = t ] && is_primary_ordinal; then
        promote_when_alone
        exit 1
    fi
    if [ "$in_recovery" = f ]; then
        write_role primary
        # A rotated Secret reaches the roles without a restart; the checksum keeps this to one ALTER per change.
        local sum
        sum=$(secret_checksum)
        if [ "$(cat "$RDB_RUN_DIR/applied-secret" 2>/dev/null || true)" != "$sum" ]; then
            apply_roles_and_slots
            printf '%s\n' "$sum" >"$RDB_RUN_DIR/applied-secret"
            log "applied the passwords of the current Secret"
        else
            # Slots for pods a scale-up added; the cheap check runs every time.
            slot_sql | local_psql >/dev/null
        fi
        drop_removed_slots
        exit 0
    fi
    write_role replica
    # A switchover changed the primary: restart to follow the new one (the setting is fixed at start).
    case "$(local_psql -c 'SHOW primary_conninfo')" in
    *"host=$(primary_host) "*) ;;
    *)
        log "the primary is now $(primary_host): restarting to follow it"
        pg_ctl -D "$PGDATA" -m fast -W stop >/dev/null
        exit 1
        ;;
    esac
    # A replica serves reads only while it streams: otherwise its data may be arbitrarily old.
    [ "$(local_psql -c "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'")" = 1 ]
}

# The chosen primary promotes itself only when every other pod is a standby or gone: an old primary must
# have stopped completely (a server that is shutting down still sends its last WAL, the shutdown
# checkpoint included, and promoting before that forks history) or be unreachable (a failover). So two
# pods never take writes at once, and a planned switchover loses nothing.
promote_when_alone() {
    local count i host state
    count=$(pod_count)
    for ((i = 0; i < count; i++)); do
        [ "$i" = "$(ordinal)" ] && continue
        host=$(pod_host "$i")
        state=0
        pg_isready -q -h "$host" -p "$PGPORT" -t 3 || state=$?
        case "$state" in
        0)
            if [ "$(accepts_writes "$host")" = t ]; then
                log "chosen as the primary, but $host still accepts writes: waiting"
                return 0
            fi
            ;;
        1)
            log "chosen as the primary, but $host is still starting or stopping: waiting"
            return 0
            ;;
        esac
    done
    log "promoting to primary"
    local_psql -c 'SELECT pg_promote(true, 60)' >/dev/null
}

case "${1:-}" in
startup)
    [ "$(server_state)" = 0 ]
    ;;
readiness)
    readiness
    ;;
liveness)
    # Alive while the server answers, even "starting up" during a long recovery or catch-up; a replica
    # whose primary is away is alive too. Only a server that does not answer at all is restarted.
    state=$(server_state)
    [ "$state" = 0 ] || [ "$state" = 1 ]
    ;;
*)
    die "usage: probe.sh startup|readiness|liveness"
    ;;
esac
