#!/bin/bash
# The supervisor's hands on its own server: configuration files in pod memory, start, stop, promotion,
# client gating, slots, and the long operations that make a data directory (initdb, clone, rewind).
# Sourced by entrypoint.sh after lib.sh, gate.sh, state.sh, config.sh and peers.sh; sets no shell option.

SERVER_PID=""
CHILD=""
# The server reads its settings through a file in pod memory that includes the rendered configuration and
# then the per-pod settings (whom to stream from), which the supervisor rewrites and reloads: a switchover
# needs no restart of a replica.
SERVER_CONF="$RDB_RUN_DIR/postgresql.conf"
FOLLOW_CONF="$RDB_RUN_DIR/follow.conf"

server_flags() {
    printf '%s\n' -D "$PGDATA" \
        -c "config_file=$SERVER_CONF" \
        -c "hba_file=$SERVER_HBA" \
        -c "unix_socket_directories=$RDB_SOCKET_DIR" \
        -c "port=$PGPORT"
}

write_server_config() {
    printf "include '%s'\ninclude_if_exists '%s'\n" "$RDB_CONFIG_DIR/postgresql.conf" "$FOLLOW_CONF" >"$SERVER_CONF"
    [ -f "$FOLLOW_CONF" ] || : >"$FOLLOW_CONF"
}

# follow HOST [SLOT]: stream from HOST ("" for nobody) through SLOT, by default this pod's; "" for none. Prints
# "changed" when the file changed, so that a running server reloads.
follow() {
    local slot new=""
    slot=${2-$(slot_name "$POD_NAME")}
    if [ -n "$1" ]; then
        new="primary_conninfo = 'host=$1 port=$PGPORT user=$RDB_REPLICATION_USER passfile=$RDB_RUN_DIR/pgpass application_name=$slot connect_timeout=5$(tls_conninfo)'
primary_slot_name = '$slot'$(standby_restore_setting)"
    fi
    write_follow "$new"
}

# write_follow SETTINGS: the per-pod settings file, replaced whole; prints "changed" when it changed.
write_follow() {
    [ "$(cat "$FOLLOW_CONF" 2>/dev/null)" != "$1" ] || return 0
    printf '%s\n' "$1" >"$FOLLOW_CONF.tmp" && mv -f "$FOLLOW_CONF.tmp" "$FOLLOW_CONF"
    printf 'changed'
}

server_running() {
    [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null
}

# supervised COMMAND...: runs a long command in the background, beating the heartbeat while it runs, so that
# liveness sees a working supervisor and a stop request can interrupt it. Returns the command's status.
supervised() {
    "$@" &
    CHILD=$!
    while kill -0 "$CHILD" 2>/dev/null; do
        beat
        sleep 1 &
        wait $! || true
    done
    local rc=0
    wait "$CHILD" || rc=$?
    CHILD=""
    return "$rc"
}

# start_server LISTEN: the server as the supervisor's child, then wait until it answers on the socket.
start_server() {
    # shellcheck disable=SC2046 # server_flags prints one word a line, none with spaces.
    postgres $(server_flags) -c "listen_addresses=$1" &
    SERVER_PID=$!
    until pg_isready -q -h "$RDB_SOCKET_DIR" -p "$PGPORT" -t 1; do
        if ! server_running; then
            local rc=0
            wait "$SERVER_PID" || rc=$?
            SERVER_PID=""
            log "the server exited during start-up (status $rc)"
            return 1
        fi
        beat
        sleep 0.5
    done
}

# Fast shutdown, waiting until the server is completely gone: a shutting-down primary still sends its last
# WAL, and nothing may promote before that is over.
# A fast shutdown has no bound of its own: it waits for every connected standby to confirm the last WAL (until
# wal_sender_timeout when one hangs) and for the archiver to push every segment still waiting. Past
# STOP_IMMEDIATE_AFTER (lib.sh, set_stop_deadlines) the server is stopped in immediate mode: a crash, which loses
# no committed transaction (its WAL is flushed; segments not archived yet are pushed after the next start) and
# leaves nothing that takes writes.
stop_server() {
    server_running || return 0
    if ! pg_ctl -D "$PGDATA" -m fast -w -t "$STOP_IMMEDIATE_AFTER" stop >&2; then
        log "the server has not stopped within $STOP_IMMEDIATE_AFTER s of a fast shutdown (a standby that hangs, or WAL still to archive): stopping it in immediate mode"
        pg_ctl -D "$PGDATA" -m immediate -w -t 10 stop >&2 || kill -QUIT "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# Data directories of another major version cannot be opened (decide.sh). Without the user's opt-in: say so
# and stop, touching nothing.
refuse_major() {
    die "the data directory is PostgreSQL $1 and this image runs PostgreSQL $2; a major upgrade" \
        "needs a dump and allowMajorVersionChange, or a new cluster (README, Day-2 operations). Nothing was changed."
}

# With it (allowMajorVersionChange, the documented dump-and-restore upgrade): rename the old directory aside on
# the same volume, never delete it, and start fresh.
set_major_aside() {
    local data="$1" server="$2" aside
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

# initdb writes into a sibling directory that is renamed into place only when complete: a pod killed
# half-way leaves no data directory that a later start could mistake for a valid one.
init_primary() {
    local tmp="$PGDATA.init"
    rm -rf "$tmp"
    clear_empty_pgdata
    initdb -D "$tmp" -U "$RDB_SUPERUSER" --pwfile="$(secret_file superuser-password)" \
        --auth-local=peer --auth-host=scram-sha-256 --data-checksums -E UTF8 --no-locale >&2 || return 1
    mv "$tmp" "$PGDATA"
}

# Backups (docs/pod-contract.md, "Backups"); both are no-ops unless the render turns them on, and the
# backup/ scripts are shipped only then.
# restore_primary: the first data directory of a new cluster from another cluster's pgBackRest stanza
# (RDB_RESTORE_FROM), instead of initdb. restore.sh itself stages and renames, and refuses, touching
# nothing, a non-empty $PGDATA or a target no backup reaches; the heartbeat beats meanwhile, as in a clone.
restore_primary() {
    supervised bash "$RDB_SCRIPTS_DIR/restore.sh"
}

# With RDB_BACKUP=on the primary makes sure its stanza exists and archiving into it works, in the
# background: a repository that is down must never hold the server back. backup-stanza.sh retries every
# minute and ends once it worked or the server is no longer the primary.
STANZA_PID=""
ensure_stanza_in_background() {
    [ "${RDB_BACKUP:-off}" = on ] || return 0
    if [ -n "$STANZA_PID" ] && kill -0 "$STANZA_PID" 2>/dev/null; then
        return 0
    fi
    bash "$RDB_SCRIPTS_DIR/backup-stanza.sh" --retry &
    STANZA_PID=$!
}

# SQL that creates the missing slot of every other ordinal, reserving WAL from then on, so that a replica
# that is still cloning or briefly away finds everything it needs.
slot_sql() {
    local count="$1" me i slot
    me=$(ordinal)
    for ((i = 0; i < count; i++)); do
        [ "$i" = "$me" ] && continue
        slot=$(slot_name "$RDB_CLUSTER-$i")
        printf "SELECT pg_create_physical_replication_slot('%s', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s');\n" "$slot" "$slot"
    done
}

# drop_slots_from ORDINAL: drops this cluster's inactive slots of ordinals from ORDINAL up (pods that a
# scale-down removed) and this pod's own, so that they stop holding WAL back. 0 drops every inactive one,
# as a replica does: it serves no slot unless a pod streams from it right now.
drop_slots_from() {
    local prefix dropped slot
    prefix=$(slot_name "$RDB_CLUSTER-")
    dropped=$(local_psql -v prefix="$prefix" -v from="$1" -v own="$(slot_name "$POD_NAME")" <<'SQL'
SELECT slot_name, pg_drop_replication_slot(slot_name)
  FROM pg_replication_slots
 WHERE NOT active
   AND slot_type = 'physical'
   AND left(slot_name, length(:'prefix')) = :'prefix'
   AND substr(slot_name, length(:'prefix') + 1) ~ '^[0-9]+$'
   AND (substr(slot_name, length(:'prefix') + 1)::int >= :from OR slot_name = :'own');
SQL
    ) || return 1
    for slot in $dropped; do
        event slot_dropped slot="${slot%|}"
    done
}

# The primary's start: first on a private socket and no TCP, so that the passwords come from the Secret
# before any remote client can try an old one (a kept volume with a new Secret must just work).
start_primary() {
    local count="$1"
    LOCAL_SOCKET_DIR="$RDB_RUN_DIR/maintenance"
    mkdir -p "$LOCAL_SOCKET_DIR"
    log "applying roles, passwords and replication slots"
    # shellcheck disable=SC2046
    if ! pg_ctl -D "$PGDATA" -w -t 600 -o "$(server_flags | tail -n +3 | tr '\n' ' ') -c listen_addresses='' -c unix_socket_directories=$LOCAL_SOCKET_DIR" start >&2; then
        unset LOCAL_SOCKET_DIR
        return 1
    fi
    local ok=0
    { roles_sql; slot_sql "$count"; } | roles_psql || ok=$?
    pg_ctl -D "$PGDATA" -w -t 600 -m fast stop >&2 || true
    unset LOCAL_SOCKET_DIR
    [ "$ok" = 0 ] || { log "could not apply the roles and passwords of the Secret"; return 1; }
    secret_checksum >"$RDB_RUN_DIR/applied-secret"
    follow "" >/dev/null
    write_hba open
    GATED=""
    start_server "$RDB_LISTEN_ADDRESSES" || return 1
    ensure_stanza_in_background
}

# A standby starts gated: until it streams, its data may be old.
start_standby() {
    local host="$1"
    touch "$PGDATA/standby.signal"
    follow "$host" >/dev/null
    # shellcheck disable=SC2034 # GATED is gate.sh's, sourced before this file
    if [ "${RDB_REPLICA_GATE:-on}" = on ]; then
        write_hba gated
        GATED=1
    else
        write_hba open
        GATED=""
    fi
    start_server "$RDB_LISTEN_ADDRESSES"
}

# clone_from HOST [primary|replica]: pg_basebackup of HOST into a sibling directory, renamed into place only
# when whole. The copy's WAL streams through this pod's slot from the primary, or through a temporary slot from a
# replica (clone-peer.sh, which checked this pod's slot on the primary first).
clone_from() {
    local host="$1" from="${2:-primary}" tmp="$PGDATA.clone" slot
    slot=$(slot_name "$POD_NAME")
    clear_empty_pgdata
    rm -rf "$tmp"
    event clone_started source="$host" from="$from" slot="$slot"
    local extra=()
    # An operator's bound on what the clone reads per second (cloneMaxRate), so that the source keeps more of
    # its throughput meanwhile; the clone takes longer for it.
    [ -z "${RDB_CLONE_MAX_RATE:-}" ] || extra=(--max-rate="$RDB_CLONE_MAX_RATE")
    [ "$from" = replica ] || extra+=(-S "$slot")
    if ! supervised pg_basebackup -d "host=$host port=$PGPORT user=$RDB_REPLICATION_USER$(tls_conninfo)" -w \
        -D "$tmp" -X stream -c fast "${extra[@]}"; then
        rm -rf "$tmp"
        event clone_failed source="$host" from="$from" next="$([ "$from" = replica ] && echo primary || echo retry)"
        return 1
    fi
    touch "$tmp/standby.signal"
    mv "$tmp" "$PGDATA"
    event clone_finished source="$host" from="$from"
    # A primary still on the old major yields a clone this server cannot open; it is only our own fresh
    # copy, so it goes, and the pod waits (restarting) until the primary runs this major too.
    local cloned
    cloned=$(cat "$PGDATA/PG_VERSION")
    if [ "$cloned" != "$(server_major)" ]; then
        rm -rf "$PGDATA"
        die "the primary runs PostgreSQL $cloned; upgrade it first (README, Day-2 operations)"
    fi
}

# rewind_onto HOST: makes a stopped data directory a standby of HOST's timeline. pg_rewind decides from the
# source's control file, which shows a new timeline only after a checkpoint: without one it answers "no
# rewind required" and the server then refuses to follow ("forked off ... before current recovery point").
# The rendered configuration is handed over, so that a crash recovery it runs uses the same settings as the
# server. When rewinding cannot work, the data is set aside on the volume (kept, never deleted) and cloned.
rewind_onto() {
    local host="$1" source aside
    source=$(rewind_conninfo "$host")
    if ! psql -X -q -c CHECKPOINT "$source" >/dev/null; then
        log "could not ask $host for a checkpoint; retrying"
        return 1
    fi
    event rewind_started source="$host"
    if supervised pg_rewind --target-pgdata="$PGDATA" --source-server="$source" --config-file="$SERVER_CONF" >&2; then
        touch "$PGDATA/standby.signal"
        event rewind_finished source="$host"
        return 0
    fi
    aside="$PGDATA.diverged.$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$PGDATA" "$aside"
    event rewind_failed source="$host" kept="$aside" next=clone
    return 1
}
