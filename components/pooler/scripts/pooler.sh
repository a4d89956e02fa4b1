#!/bin/bash
# The pooler container's process (README, "Connection pooler"). PgBouncer needs the password of the role it
# looks clients up with (auth_user) in its auth_file; that file is written here, into pod memory, from the
# mounted Secret, so that the password is never in a ConfigMap or the pod spec. PgBouncer runs as this
# script's child: a changed Secret (the kubelet swaps the mounted file in place) is written anew and PgBouncer
# reloads it (SIGHUP), and the kubelet's stop signal becomes PgBouncer's safe shutdown (SIGINT: in-flight
# transactions finish first).
set -euo pipefail

: "${RDB_POOLER_CONFIG:?the rendered pgbouncer.ini}" "${RDB_SECRET_DIR:?the mounted Secret}"
: "${RDB_POOLER_RUN_DIR:?pod memory for the auth_file}" "${RDB_POOLER_USER:?the auth_user role}"
INTERVAL=${RDB_POOLER_CHECK_SECONDS:-10}
SECRET_FILE="$RDB_SECRET_DIR/pooler-password"
USERLIST="$RDB_POOLER_RUN_DIR/userlist.txt"

log() {
    printf '%s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "${POD_NAME:-pooler}" "$*" >&2
}

# The auth_file holds the pooler role alone. A missing or empty key keeps the last good file, said once per
# change of the Secret: an empty password would lock every client out without a word.
refused=""
refuse() {
    [ "$refused" = "$1" ] || log "ERROR: Secret key pooler-password is $1; keeping the last good one"
    refused=$1
    return 1
}
write_userlist() {
    local password
    password=$(cat "$SECRET_FILE" 2>/dev/null) || refuse missing || return 1
    [ -n "$password" ] || refuse empty || return 1
    refused=""
    # auth_file quoting: a double quote inside a field is written twice.
    (
        umask 077
        printf '"%s" "%s"\n' "$RDB_POOLER_USER" "${password//\"/\"\"}" >"$USERLIST.tmp"
    ) || return 1
    mv -f "$USERLIST.tmp" "$USERLIST"
}

fingerprint() {
    sha256sum 2>/dev/null <"$SECRET_FILE" || true
}

write_userlist || exit 1
last=$(fingerprint)
pgbouncer "$RDB_POOLER_CONFIG" &
child=$!
stopping=""
# SIGINT is PgBouncer's safe shutdown; SIGTERM would drop the transactions in flight (1.18-1.22).
trap 'stopping=1; kill -INT "$child" 2>/dev/null || true' TERM INT

while kill -0 "$child" 2>/dev/null && [ -z "$stopping" ]; do
    # A signal interrupts the wait at once; the loop then sees $stopping.
    sleep "$INTERVAL" &
    wait $! || true
    now=$(fingerprint)
    if [ "$now" = "$last" ]; then
        # Back to the Secret in force (or never away): a later refusal is news again.
        refused=""
    elif [ -z "$stopping" ] && write_userlist; then
        kill -HUP "$child" 2>/dev/null || true
        log "the pooler role's password changed in the Secret: PgBouncer reloaded"
        last=$now
    fi
done
status=0
wait "$child" || status=$?
# A PgBouncer that exits on its own fails the container (the kubelet restarts it); a stop is a clean exit.
if [ -n "$stopping" ]; then
    exit 0
fi
log "ERROR: pgbouncer exited with status $status"
[ "$status" -ne 0 ] || status=1
exit "$status"
