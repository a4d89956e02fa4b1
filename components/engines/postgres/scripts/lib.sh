#!/bin/bash
# Helpers that both failover modes' scripts source (manual: entrypoint.sh, probe.sh; patroni: patroni.sh,
# patroni-callback.sh). Everything comes from the pod contract's environment (docs/pod-contract.md); nothing
# here knows a path or a host name of its own. Sourcing this file sets no shell option: each script sets its
# own.

log() {
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "${POD_NAME:-?}" "$*" >&2
}

# event NAME [KEY=VALUE...]: one line per decision a pod script takes (role chosen, clone, promotion, rewind,
# slot dropped, checksum failure seen), always in this format, so that `kubectl logs` tells the story and a
# line can be found by its name:  <time> <pod> replicated-db: event=NAME key=value key="a value with spaces"
# A value with a space, a quote or a backslash is double-quoted with \ and \" escaped; nothing else is.
event() {
    local line="replicated-db: event=$1" kv key value
    shift
    for kv in "$@"; do
        key=${kv%%=*} value=${kv#*=}
        if [[ "$value" =~ [[:space:]\"\\] || -z "$value" ]]; then
            value=${value//\\/\\\\}
            value="\"${value//\"/\\\"}\""
        fi
        line+=" $key=$value"
    done
    log "$line"
}

die() {
    log "FATAL: $*"
    exit 1
}

# The major version of the postgres binary on the PATH, the one that must open a data directory (the manual
# supervisor's decisions, a clone's or a restore's check).
server_major() {
    # "postgres (PostgreSQL) 17.6 (Debian ...)": the third word, up to its first dot.
    postgres --version | awk '{ split($3, v, "."); print v[1] }'
}

# The ordinal is the suffix of the StatefulSet pod's name.
# The stop's deadlines, from the grace period after which the kubelet kills the container
# (RDB_TERMINATION_GRACE_SECONDS, rendered from terminationGracePeriodSeconds: components/limits.ts). A clean
# stop has no bound of its own (a fast shutdown waits for every connected standby and the archiver's
# backlog), so both modes give it two thirds, then stop the server in immediate mode (a crash, which loses no
# committed transaction), and patroni.sh kills what is left at five sixths, still before the kubelet would.
# Checked at the start, so that a bad value stops the pod at once, not at its first stop.
# shellcheck disable=SC2034 # read by server.sh and patroni.sh, which source this file
set_stop_deadlines() {
    local grace=${RDB_TERMINATION_GRACE_SECONDS:-60}
    if ! [[ "$grace" =~ ^[0-9]{1,4}$ ]] || [ "$grace" -lt 12 ]; then
        die "invalid RDB_TERMINATION_GRACE_SECONDS: '$grace' (allowed: whole seconds from 12 to 9999)"
    fi
    STOP_IMMEDIATE_AFTER=$((grace * 2 / 3))
    STOP_KILL_AFTER=$((grace * 5 / 6))
}

ordinal() {
    printf '%s' "${POD_NAME##*-}"
}

pod_host() {
    printf '%s' "$RDB_CLUSTER-$1$RDB_POD_DNS_SUFFIX"
}

# The conninfo words for a connection to another pod: with TLS on (RDB_TLS_CA names the CA file), the server
# must prove it is that pod (its certificate signed by the CA and valid for the name dialled); "" with TLS off.
tls_conninfo() {
    [ -z "${RDB_TLS_CA:-}" ] || printf ' sslmode=verify-full sslrootcert=%s' "$RDB_TLS_CA"
}

# Slot names allow [a-z0-9_] only; pod names are DNS labels.
slot_name() {
    printf '%s' "$1" | tr -- '-' '_'
}

SECRET_KEYS=(superuser-password replication-password app-password rewind-password)
# With the connection pooler on (RDB_POOLER_USER set), its role's password is in the Secret too.
[ -z "${RDB_POOLER_USER:-}" ] || SECRET_KEYS+=(pooler-password)
# The exporter's role, with monitoring on: its password is checked and applied like the others.
[ -z "${RDB_MONITORING_USER:-}" ] || SECRET_KEYS+=(monitoring-password)
# The backup Jobs' role, with backups on.
[ -z "${RDB_BACKUP_USER:-}" ] || SECRET_KEYS+=(backup-password)
# The failover mode's own passwords (Patroni's REST API's), no role's: accepted and rotated the same way.
if [ -n "${RDB_MODE_SECRET_KEYS:-}" ]; then
    read -r -a mode_secret_keys <<<"$RDB_MODE_SECRET_KEYS"
    SECRET_KEYS+=("${mode_secret_keys[@]}")
fi

# mounted_secret_file KEY: the mounted file of a password. A standby cluster (README, "Disaster recovery: standby
# cluster") mounts its source's replication password at RDB_REPLICATION_SECRET_DIR: its data, roles included,
# is the source's copy, so the source's password is the one that works, to the source and between its pods.
mounted_secret_file() {
    if [ "$1" = replication-password ] && [ -n "${RDB_REPLICATION_SECRET_DIR:-}" ]; then
        printf '%s/%s' "$RDB_REPLICATION_SECRET_DIR" "$1"
    else
        printf '%s/%s' "$RDB_SECRET_DIR" "$1"
    fi
}

# secret_file KEY: the accepted copy of a password, the only one anything reads (ALTER ROLE, passfiles, initdb,
# Patroni's configuration). It lives in pod memory, mode 0600, and only accept_secret writes it. Checking the
# mounted file and reading it later would let a Secret rotated to an empty value in between reach ALTER ROLE:
# PostgreSQL would clear the password and lock the role out without a word.
secret_file() {
    printf '%s/secret/%s' "$RDB_RUN_DIR" "$1"
}

# accept_secret: copies every password of the mounted Secret to the accepted copy when each one is there and
# not empty. Otherwise it changes nothing, names the first bad key on stdout and fails: the last good
# passwords stay. Each key is renamed into place, so that a reader in another process sees a whole password.
accept_secret() {
    local key staged="$RDB_RUN_DIR/secret/.staged"
    (umask 077 && mkdir -p "$staged") || {
        printf 'copy cannot be written in %s' "$RDB_RUN_DIR/secret"
        return 1
    }
    for key in "${SECRET_KEYS[@]}"; do
        if [ ! -f "$(mounted_secret_file "$key")" ]; then
            printf 'key %s is missing' "$key"
            return 1
        fi
        (umask 077 && cat "$(mounted_secret_file "$key")" >"$staged/$key") || {
            printf 'key %s cannot be read' "$key"
            return 1
        }
        if [ ! -s "$staged/$key" ]; then
            printf 'key %s is empty' "$key"
            return 1
        fi
    done
    for key in "${SECRET_KEYS[@]}"; do
        mv -f "$staged/$key" "$(secret_file "$key")"
    done
}

# The one line said when accept_secret refuses the Secret.
secret_refused() {
    log "ERROR: the Secret's $1: refused, keeping the last good passwords (set a non-empty value)"
}

# take_secret: accept_secret for the supervising loops of both modes, which call it every round: a refusal is
# said once per distinct problem (SECRET_REFUSAL is what was last said; "" once a usable Secret came). Fails when
# the Secret is refused.
SECRET_REFUSAL=""
take_secret() {
    local problem
    if problem=$(accept_secret); then
        SECRET_REFUSAL=""
        return 0
    fi
    [ "$problem" = "$SECRET_REFUSAL" ] || secret_refused "$problem"
    SECRET_REFUSAL=$problem
    return 1
}

# Changes when any accepted password changes. Fails, printing nothing, when a file cannot be read (nothing
# accepted yet), so that a missing key never looks like a new Secret.
secret_checksum() {
    local key sum files=()
    for key in "${SECRET_KEYS[@]}"; do
        files+=("$(secret_file "$key")")
        [ -r "${files[-1]}" ] || return 1
    done
    sum=$(cat "${files[@]}" | sha256sum) || return 1
    printf '%s\n' "${sum%% *}"
}

# Changes when the mounted certificate, key or CA changes (a renewal by `pulumi up` or cert-manager: the kubelet
# swaps the Secret's files in place, all at once). Prints nothing with TLS off; fails, printing nothing, when a
# file cannot be read, so that a half-visible Secret never looks like a renewal.
tls_checksum() {
    [ -n "${RDB_TLS_CA:-}" ] || return 0
    local sum
    sum=$(cat "${RDB_TLS_CA%/*}"/* | sha256sum) || return 1
    printf '%s\n' "${sum%% *}"
}

# A renewed certificate is taken by a reload, without a restart, in both modes: new connections (clients,
# replicas, REST API calls) get it, established ones keep their session. tls_remember records the files in use at
# start; tls_follow WHAT RELOAD... runs RELOAD... once they change, and on success remembers them and says WHAT.
# A reload that fails is said and tried again on the next call; PostgreSQL keeps serving the certificate it has
# if the new files do not load.
TLS_APPLIED=""
tls_remember() {
    TLS_APPLIED=$(tls_checksum || true)
}
tls_follow() {
    local what="$1" current
    shift
    current=$(tls_checksum) || return 0
    [ "$current" != "$TLS_APPLIED" ] || return 0
    if ! "$@"; then
        log "the TLS certificate changed, but the reload failed; retrying"
        return 0
    fi
    TLS_APPLIED=$current
    log "the TLS certificate changed: $what"
}

# write_passfile ROLE SECRET-KEY FILE: a libpq passfile in RDB_RUN_DIR (pod memory, never the data volume)
# for ROLE from the mounted Secret, rewritten only when it changes, and renamed into place so that a
# connection never reads half a file.
write_passfile() {
    local password new target="$RDB_RUN_DIR/$3"
    password=$(sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' <"$(secret_file "$2")") || return 1
    new="*:*:*:$1:$password"
    if [ -f "$target" ] && [ "$(cat "$target")" = "$new" ]; then
        return 0
    fi
    (
        umask 077
        printf '%s\n' "$new" >"$target.$$"
    ) || return 1
    mv -f "$target.$$" "$target"
}

# The replication password, for streaming and for asking other pods what they are.
write_pgpass() {
    write_passfile "$RDB_REPLICATION_USER" replication-password pgpass
}

# The rewind role's, for pg_rewind and the CHECKPOINT before it against the new primary (roles_sql).
write_rewindpass() {
    write_passfile "$RDB_REWIND_USER" rewind-password rewindpass
}

# rewind_conninfo HOST: the rewind role's connection to another pod (pg_rewind's source, and the CHECKPOINT and
# control-file questions before a rewind or a clone).
rewind_conninfo() {
    printf 'host=%s port=%s user=%s dbname=postgres passfile=%s connect_timeout=5%s' \
        "$1" "$PGPORT" "$RDB_REWIND_USER" "$RDB_RUN_DIR/rewindpass" "$(tls_conninfo)"
}

# psql over the pod-private socket as the superuser (peer authentication: no password involved).
# LOCAL_SOCKET_DIR points elsewhere while the primary runs its start-up maintenance server.
local_psql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "${LOCAL_SOCKET_DIR:-$RDB_SOCKET_DIR}" -p "$PGPORT" \
        -U "$RDB_SUPERUSER" -d postgres "$@"
}

# SQL that sets the roles' passwords from the mounted Secret (the three, and the monitoring and pooler roles when
# they are on), creating the roles and the application
# database when missing. The passwords travel on stdin, never on a command line.
roles_sql() {
    # The backquotes are psql's, run by psql when it reads the line: the password never passes through a
    # shell variable or a command line here.
    # shellcheck disable=SC2016
    printf '\\set superuser_pw `cat "%s"`\n' "$(secret_file superuser-password)"
    # shellcheck disable=SC2016
    printf '\\set replication_pw `cat "%s"`\n' "$(secret_file replication-password)"
    # shellcheck disable=SC2016
    printf '\\set app_pw `cat "%s"`\n' "$(secret_file app-password)"
    # shellcheck disable=SC2016
    printf '\\set rewind_pw `cat "%s"`\n' "$(secret_file rewind-password)"
    if [ -n "${RDB_MONITORING_USER:-}" ]; then
        # shellcheck disable=SC2016
        printf '\\set monitoring_pw `cat "%s"`\n' "$(secret_file monitoring-password)"
    fi
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
-- pg_rewind's role on a new primary: the functions it reads the data directory with (granted in this database,
-- postgres, the one it connects to) and CHECKPOINT, so that its control file shows the new timeline. It can read
-- any file of the data directory, as pg_rewind must, but it is no superuser: it runs no code and writes nothing.
SELECT format('CREATE ROLE %I', :'rewind_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'rewind_user') \gexec
ALTER ROLE :"rewind_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION INHERIT CONNECTION LIMIT 5 PASSWORD :'rewind_pw';
SELECT format('GRANT EXECUTE ON FUNCTION pg_catalog.%s TO %I', f, :'rewind_user')
    FROM unnest(ARRAY['pg_ls_dir(text, boolean, boolean)', 'pg_stat_file(text, boolean)', 'pg_read_binary_file(text)',
                      'pg_read_binary_file(text, bigint, bigint, boolean)']) f
    WHERE NOT has_function_privilege(:'rewind_user', 'pg_catalog.' || f, 'EXECUTE') \gexec
SELECT format('GRANT pg_checkpoint TO %I', :'rewind_user')
    WHERE NOT pg_has_role(:'rewind_user', 'pg_checkpoint', 'MEMBER') \gexec
SQL
    if [ -n "${RDB_MONITORING_USER:-}" ]; then
        # Reads the statistics views and settings (pg_monitor), nothing else: no table, no write.
        cat <<'SQL'
SELECT format('CREATE ROLE %I', :'monitoring_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'monitoring_user') \gexec
ALTER ROLE :"monitoring_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 5 PASSWORD :'monitoring_pw';
SELECT format('GRANT pg_monitor TO %I', :'monitoring_user')
    WHERE NOT pg_has_role(:'monitoring_user', 'pg_monitor', 'MEMBER') \gexec
SQL
    fi
    [ -z "${RDB_POOLER_USER:-}" ] || pooler_sql
    [ -z "${RDB_BACKUP_USER:-}" ] || backup_sql
}

# With backups on: the backup Jobs' role and what it may do, in database postgres: request a backup of this server
# and read that request's outcome, through two SECURITY DEFINER functions over a table only the superuser owns
# (replicated_db.backup_requests). The primary's supervisor takes the requests (backup-requests.sh). The role
# cannot read the table, any other table, or write anything else.
backup_sql() {
    # shellcheck disable=SC2016
    printf '\\set backup_pw `cat "%s"`\n' "$(secret_file backup-password)"
    cat <<'SQL'
SELECT format('CREATE ROLE %I', :'backup_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'backup_user') \gexec
ALTER ROLE :"backup_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 3 PASSWORD :'backup_pw';
CREATE SCHEMA IF NOT EXISTS replicated_db AUTHORIZATION :"superuser";
REVOKE ALL ON SCHEMA replicated_db FROM PUBLIC;
CREATE TABLE IF NOT EXISTS replicated_db.backup_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type text NOT NULL CHECK (type IN ('full', 'diff', 'incr')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'running', 'ok', 'failed')),
    pod text,
    finished_at timestamptz,
    detail text
);
REVOKE ALL ON replicated_db.backup_requests FROM PUBLIC;
CREATE OR REPLACE FUNCTION replicated_db.request_backup(kind text) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ INSERT INTO replicated_db.backup_requests (type) VALUES (kind) RETURNING id $$;
CREATE OR REPLACE FUNCTION replicated_db.backup_outcome(request bigint) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT state || coalesce(': ' || detail, '') FROM replicated_db.backup_requests WHERE id = request $$;
REVOKE ALL ON FUNCTION replicated_db.request_backup(text), replicated_db.backup_outcome(bigint) FROM PUBLIC;
GRANT USAGE ON SCHEMA replicated_db TO :"backup_user";
GRANT EXECUTE ON FUNCTION replicated_db.request_backup(text), replicated_db.backup_outcome(bigint) TO :"backup_user";
SQL
}

# With the connection pooler on: its role (the Secret's pooler-password) and, in the application database,
# the one function it may call, which hands PgBouncer's auth_query the SCRAM secret of a role that is neither
# a superuser nor a replication role. SECURITY DEFINER: the pooler role itself cannot read pg_shadow. Ends
# connected to postgres again, with the session settings roles_sql starts with, for what follows it.
pooler_sql() {
    # shellcheck disable=SC2016
    printf '\\set pooler_pw `cat "%s"`\n' "$(secret_file pooler-password)"
    cat <<'SQL'
SELECT format('CREATE ROLE %I', :'pooler_user')
    WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'pooler_user') \gexec
ALTER ROLE :"pooler_user" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD :'pooler_pw';
\connect :"app_database"
SET synchronous_commit = 'local';
CREATE SCHEMA IF NOT EXISTS pooler AUTHORIZATION :"superuser";
REVOKE ALL ON SCHEMA pooler FROM PUBLIC;
GRANT USAGE ON SCHEMA pooler TO :"pooler_user";
CREATE OR REPLACE FUNCTION pooler.user_secret(p_usename text, OUT usename name, OUT passwd text)
    RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$ SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s WHERE s.usename = p_usename AND NOT s.usesuper AND NOT s.userepl $$;
REVOKE ALL ON FUNCTION pooler.user_secret(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pooler.user_secret(text) TO :"pooler_user";
\connect postgres
SET log_statement = 'none';
SET log_min_error_statement = 'panic';
SET synchronous_commit = 'local';
SQL
}

# local_psql with the role and database names that roles_sql uses.
roles_psql() {
    local_psql -v superuser="$RDB_SUPERUSER" -v replication_user="$RDB_REPLICATION_USER" -v rewind_user="$RDB_REWIND_USER" \
        -v app_user="$RDB_APP_USER" -v app_database="$RDB_APP_DATABASE" -v pooler_user="${RDB_POOLER_USER:-}" \
        -v monitoring_user="${RDB_MONITORING_USER:-}" -v backup_user="${RDB_BACKUP_USER:-}" >/dev/null
}

# The data directory's identity: a clone, restore or re-initialisation renames a new directory into place (a
# new inode); a restart of the server or the container keeps it.
pgdata_id() {
    stat -c %i "$PGDATA" 2>/dev/null
}

# checksum_watch: the supervising loop's look at the data-checksum failures the server has counted
# (pg_stat_database.checksum_failures, every database and the shared catalogs). A failure means a page on this
# pod's volume no longer holds what was written: it does not heal by itself, and PostgreSQL forgets the count
# after a crash, so the worst count seen for this data directory is kept in $RDB_RUN_DIR/checksum-failures
# ("<data directory inode> <count>"), which the readiness probe reads (a replica with a count is not ready;
# README, "Consistency checks"). One event line whenever the count grows. A server that does not answer is
# simply asked again on the next tick.
checksum_watch() {
    local count id file="$RDB_RUN_DIR/checksum-failures" recorded seen=0 details
    count=$(PGCONNECT_TIMEOUT=2 timeout 3 psql -X -q -A -t -h "$RDB_SOCKET_DIR" -p "$PGPORT" -U "$RDB_SUPERUSER"         -d postgres -c 'SELECT coalesce(sum(checksum_failures), 0) FROM pg_stat_database' 2>/dev/null) || return 0
    [[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -gt 0 ] || return 0
    id=$(pgdata_id) || return 0
    recorded=$(cat "$file" 2>/dev/null || true)
    [ "${recorded% *}" != "$id" ] || seen=${recorded#* }
    [[ "$seen" =~ ^[0-9]+$ ]] || seen=0
    [ "$count" -gt "$seen" ] || return 0
    printf '%s %s\n' "$id" "$count" >"$file.tmp" && mv -f "$file.tmp" "$file"
    details=$(PGCONNECT_TIMEOUT=2 timeout 3 psql -X -q -A -t -F ':' -h "$RDB_SOCKET_DIR" -p "$PGPORT" -U "$RDB_SUPERUSER"         -d postgres -c "SELECT string_agg(coalesce(datname, '(shared)') || ':' || checksum_failures, ',' ORDER BY datname)
                          FROM pg_stat_database WHERE checksum_failures > 0" 2>/dev/null || true)
    event checksum_failure failures="$count" databases="$details" \
        action="a replica is not ready until it is cloned afresh; a primary stays ready: switch over, then re-clone it"
}

# checksum_damaged: succeeds when the supervising loop has seen checksum failures in the current data directory,
# or has seen some and the data directory is not there (moved aside for a re-clone, while its server still runs).
checksum_damaged() {
    local recorded id
    recorded=$(cat "$RDB_RUN_DIR/checksum-failures" 2>/dev/null) || return 1
    id=$(pgdata_id) || return 0
    [ "${recorded% *}" = "$id" ] && [ "${recorded#* }" -gt 0 ] 2>/dev/null
}
