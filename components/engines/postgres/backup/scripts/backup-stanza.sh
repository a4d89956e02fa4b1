#!/bin/bash
# backup-stanza.sh [--retry]: makes sure this cluster's pgBackRest stanza exists and that WAL archiving into
# it works, on the primary only. The supervisor (manual mode) and patroni-callback.sh start it in the
# background with --retry on every start or promotion of a primary; backup.sh runs it once before each
# backup. The stanza and the repository come from the env (PGBACKREST_STANZA, PGBACKREST_CONFIG).
#
# Exit status: 0 the stanza is there and a WAL segment reached it; 3 this server is not the primary (not
# an error for a caller that races a switchover, but never a success); 1 anything else (one ERROR line).
# With --retry, failures are retried every RDB_STANZA_RETRY_SECONDS (60) until it works or the server is
# no longer the primary: an unreachable repository at start must not leave the stanza missing for good.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

RETRY_SECONDS=${RDB_STANZA_RETRY_SECONDS:-60}
[ -n "${PGBACKREST_STANZA:-}" ] || die "PGBACKREST_STANZA is not set; the database container's env must name this cluster's stanza"

# pgBackRest's own lines go to the container log (stderr), where the ERROR line below points.
ensure_stanza() {
    local role out
    if ! role=$(local_psql -c 'SELECT pg_is_in_recovery()' 2>&1); then
        log "ERROR: stanza $PGBACKREST_STANZA not checked: the local server does not answer ($role)"
        return 1
    fi
    if [ "$role" != f ]; then
        log "stanza $PGBACKREST_STANZA not checked: this server is a standby; the primary archives and checks"
        return 3
    fi
    # stanza-create is a no-op for a stanza that exists and matches this database ("already exists and is
    # valid"); for one made by another database (a cluster re-created under the same name, or a major
    # upgrade) it fails, and that must stay visible: stanza-upgrade is the operator's decision.
    if ! out=$(pgbackrest stanza-create 2>&1); then
        printf '%s\n' "$out" >&2
        log "ERROR: pgbackrest stanza-create for stanza $PGBACKREST_STANZA failed: $(last_error "$out")"
        return 1
    fi
    printf '%s\n' "$out" >&2
    # check switches to a new WAL segment and waits until archive_command has pushed it: the proof that
    # archiving, not only the repository, works.
    if ! out=$(pgbackrest check 2>&1); then
        printf '%s\n' "$out" >&2
        log "ERROR: pgbackrest check of stanza $PGBACKREST_STANZA failed: $(last_error "$out")"
        return 1
    fi
    printf '%s\n' "$out" >&2
    log "stanza $PGBACKREST_STANZA is ready: created or valid, and WAL archiving into it works"
}

# The first ERROR line pgBackRest printed (its lines name the cause), else its last line.
last_error() {
    local line
    line=$(printf '%s\n' "$1" | grep -m1 'ERROR:' || printf '%s\n' "$1" | tail -n 1)
    printf '%s' "${line#*ERROR: }"
}

case "${1:-}" in
'')
    ensure_stanza
    ;;
--retry)
    case "$RETRY_SECONDS" in
    '' | *[!0-9]* | 0) die "RDB_STANZA_RETRY_SECONDS is \"$RETRY_SECONDS\"; allowed: a whole number of seconds above 0" ;;
    esac
    # One retrying run per pod: Patroni may call back twice for one start (bootstrap, then start), and a
    # quick stop and start of the manual mode's server outlives the previous run's pause.
    exec 9>"$RDB_RUN_DIR/backup-stanza.lock"
    if ! flock -n 9; then
        log "stanza $PGBACKREST_STANZA: a retrying check already runs in this pod"
        exit 0
    fi
    # Stopped (the supervisor's on_stop, a pod's stop), it ends at once: the pause in the background, killed with
    # it, and without the lock. A pause in the foreground outlived this script, holding the lock and keeping the
    # pod's processes alive for up to RETRY_SECONDS after its stop.
    pause=""
    trap '[ -z "$pause" ] || kill "$pause" 2>/dev/null; exit 143' TERM INT
    while :; do
        rc=0
        ensure_stanza || rc=$?
        [ "$rc" = 1 ] || exit "$rc"
        log "retrying the stanza of $PGBACKREST_STANZA in $RETRY_SECONDS s"
        sleep "$RETRY_SECONDS" 9>&- &
        pause=$!
        wait "$pause" || true
        pause=""
    done
    ;;
*)
    die "backup-stanza.sh: unknown argument \"$1\"; allowed: none, or --retry"
    ;;
esac
