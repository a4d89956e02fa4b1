#!/bin/bash
# Helpers shared by entrypoint.sh and probe.sh. Everything they need comes from the pod contract's
# environment (docs/pod-contract.md); nothing here knows a path or a host name of its own.
set -eu

log() {
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${POD_NAME:-?}" "$*" >&2
}

die() {
    log "FATAL: $*"
    exit 1
}

# Runs a command in the background and waits for it: bash defers a trap until the foreground command
# ends, so a stop signal during a long wait or clone would otherwise go unanswered until SIGKILL.
interruptible() {
    "$@" &
    CHILD=$!
    wait "$CHILD"
}

# Stops at once when the kubelet asks (SIGINT, the image's STOPSIGNAL, or SIGTERM), taking any running
# child with it. Replaced by the server's own handling once the entrypoint execs it.
on_stop() {
    log "stop requested"
    [ -z "${CHILD:-}" ] || kill "$CHILD" 2>/dev/null || true
    exit 143
}

# The ordinal is the suffix of the StatefulSet pod's name.
ordinal() {
    printf '%s' "${POD_NAME##*-}"
}

# Which pod is the primary: read live from the config volume, so that a switchover needs no restart of
# the pods' definition (the kubelet refreshes the file when the ConfigMap changes).
primary_ordinal() {
    tr -dc '0-9' <"$RDB_CONFIG_DIR/primary-ordinal"
}

pod_host() {
    printf '%s' "$RDB_CLUSTER-$1$RDB_POD_DNS_SUFFIX"
}

primary_host() {
    pod_host "$(primary_ordinal)"
}

is_primary_ordinal() {
    [ "$(ordinal)" = "$(primary_ordinal)" ]
}

# Prints "t" when the server at host $1 answers and accepts writes (asked as the replication user, whose
# password the pod has anyway).
accepts_writes() {
    psql -X -A -t -c 'SELECT NOT pg_is_in_recovery()' \
        "host=$1 port=$PGPORT user=$RDB_REPLICATION_USER dbname=postgres passfile=$RDB_RUN_DIR/pgpass connect_timeout=3" \
        2>/dev/null || true
}

# The superuser's passfile, for pg_rewind against the new primary; pod memory only, like pgpass.
write_superpass() {
    write_passfile "$RDB_SUPERUSER" superuser-password superpass
}

# Slot names allow [a-z0-9_] only; pod names are DNS labels.
slot_name() {
    printf '%s' "$1" | tr -- '-' '_'
}

# The number of pods the StatefulSet should run; the kubelet refreshes this file when the ConfigMap changes.
pod_count() {
    tr -dc '0-9' <"$RDB_CONFIG_DIR/pod-count"
}

# Changes when any mounted password changes (the kubelet swaps the Secret's files in place).
secret_checksum() {
    cat "$RDB_SECRET_DIR/superuser-password" "$RDB_SECRET_DIR/replication-password" \
        "$RDB_SECRET_DIR/app-password" | sha256sum | cut -d' ' -f1
}

# The replication password lives in a libpq passfile in the pod's memory, made from the Secret, never
# in the data directory: a new Secret reaches the next connection without touching the data.
write_pgpass() {
    write_passfile "$RDB_REPLICATION_USER" replication-password pgpass
}

# write_passfile ROLE SECRET-KEY FILE: a libpq passfile in RDB_RUN_DIR for ROLE from the mounted Secret,
# rewritten only when it changes, and renamed into place so that a connection never reads half a file
# (probes may overlap).
write_passfile() {
    local password new target="$RDB_RUN_DIR/$3"
    password=$(sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' <"$RDB_SECRET_DIR/$2")
    new="*:*:*:$1:$password"
    if [ -f "$target" ] && [ "$(cat "$target")" = "$new" ]; then
        return 0
    fi
    (
        umask 077
        printf '%s\n' "$new" >"$target.$$"
    )
    mv -f "$target.$$" "$target"
}

# psql over the pod-private socket as the superuser (peer authentication: no password involved).
# LOCAL_SOCKET_DIR points elsewhere while the entrypoint runs its maintenance server.
local_psql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "${LOCAL_SOCKET_DIR:-$RDB_SOCKET_DIR}" -p "$PGPORT" \
        -U "$RDB_SUPERUSER" -d postgres "$@"
}

# The flags every server start shares: our configuration files and the pod's own socket and port.
server_flags() {
    printf '%s\n' \
        -c "config_file=$RDB_CONFIG_DIR/postgresql.conf" \
        -c "hba_file=$RDB_CONFIG_DIR/pg_hba.conf" \
        -c "unix_socket_directories=$RDB_SOCKET_DIR" \
        -c "port=$PGPORT"
}

# SQL that sets the three roles' passwords from the mounted Secret, creating the roles and the application
# database when missing. The passwords travel on stdin, never on a command line.
roles_sql() {
    printf '\\set superuser_pw `cat "%s/superuser-password"`\n' "$RDB_SECRET_DIR"
    printf '\\set replication_pw `cat "%s/replication-password"`\n' "$RDB_SECRET_DIR"
    printf '\\set app_pw `cat "%s/app-password"`\n' "$RDB_SECRET_DIR"
    cat <<'SQL'
-- Neither a logged statement nor a failing one may write a password into the server log.
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
-- With synchronous replication on, these commits must not wait for replicas: at start none can connect yet.
SET synchronous_commit = 'local';
ALTER ROLE :"superuser" WITH PASSWORD :'superuser_pw';
SELECT format('CREATE ROLE %I', :'replication_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'replication_user') \gexec
ALTER ROLE :"replication_user" WITH LOGIN REPLICATION PASSWORD :'replication_pw';
SELECT format('CREATE ROLE %I', :'app_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'app_database', :'app_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_database') \gexec
SQL
}

# local_psql with the role and database names that roles_sql uses.
roles_psql() {
    local_psql -v superuser="$RDB_SUPERUSER" -v replication_user="$RDB_REPLICATION_USER" \
        -v app_user="$RDB_APP_USER" -v app_database="$RDB_APP_DATABASE" >/dev/null
}

# The roles, and the replicas' slots when missing (script-driven mode; Patroni keeps its own slots).
apply_roles_and_slots() {
    { roles_sql; slot_sql; } | roles_psql
}

# SQL that creates the missing slot of every replica ordinal, reserving WAL from then on, so that a replica
# that is still cloning or briefly away finds everything it needs.
slot_sql() {
    local count i slot primary
    count=$(pod_count)
    primary=$(primary_ordinal)
    for ((i = 0; i < count; i++)); do
        [ "$i" = "$primary" ] && continue
        slot=$(slot_name "$RDB_CLUSTER-$i")
        printf "SELECT pg_create_physical_replication_slot('%s', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s');\n" "$slot" "$slot"
    done
}

# Drops the slots of pods that a scale-down removed, once nothing streams from them, so that they stop
# holding WAL back on the primary. Their volumes stay; a returning pod gets its slot again.
drop_removed_slots() {
    local count prefix
    count=$(pod_count)
    prefix=$(slot_name "$RDB_CLUSTER-")
    local_psql -v prefix="$prefix" -v count="$count" >/dev/null <<'SQL'
SELECT pg_drop_replication_slot(slot_name)
  FROM pg_replication_slots
 WHERE NOT active
   AND slot_type = 'physical'
   AND left(slot_name, length(:'prefix')) = :'prefix'
   AND substr(slot_name, length(:'prefix') + 1) ~ '^[0-9]+$'
   AND substr(slot_name, length(:'prefix') + 1)::int >= :count;
SQL
}
