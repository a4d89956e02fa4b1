#!/bin/bash
# backup.sh full|diff|incr: one pgBackRest backup of this pod's server, which must be the primary. The
# backup CronJob execs it in the primary pod (backup-job.sh), so it runs with the database container's env
# and as its user. Writes its outcome to $RDB_RUN_DIR/backup-status, key=value lines, for the status command
# and metrics (a failed backup must be visible, never silent):
#   last_attempt           epoch seconds when the last backup started
#   last_type              full | diff | incr
#   last_result            ok | failed
#   last_duration_seconds  of the last attempt
#   last_success           epoch seconds when the last successful backup started (kept across failures)
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

TYPE=${1:-}
STATUS_FILE="$RDB_RUN_DIR/backup-status"
[ -n "${PGBACKREST_STANZA:-}" ] || die "PGBACKREST_STANZA is not set; the database container's env must name this cluster's stanza"

case "$TYPE" in
full | diff | incr) ;;
*) die "backup.sh: the backup type is \"$TYPE\"; allowed: full, diff, incr" ;;
esac

# write_status RESULT STARTED: renamed into place, so that a reader never sees half a file.
write_status() {
    local result="$1" started="$2" success tmp="$STATUS_FILE.$$"
    success=$(sed -n 's/^last_success=//p' "$STATUS_FILE" 2>/dev/null || true)
    [ "$result" != ok ] || success=$started
    printf 'last_attempt=%s\nlast_type=%s\nlast_result=%s\nlast_duration_seconds=%s\nlast_success=%s\n' \
        "$started" "$TYPE" "$result" "$(($(date +%s) - started))" "$success" >"$tmp" &&
        mv -f "$tmp" "$STATUS_FILE"
}

started=$(date +%s)
rc=0
# The stanza first: on a primary that has just started, or after a repository outage, it may be missing,
# and its check proves that archiving works, without which the backup could never complete.
bash "$RDB_SCRIPTS_DIR/backup-stanza.sh" || rc=$?
if [ "$rc" = 3 ]; then
    write_status failed "$started"
    log "ERROR: $TYPE backup of stanza $PGBACKREST_STANZA refused: this server is a standby; backups run on the primary"
    exit 3
fi
if [ "$rc" != 0 ]; then
    write_status failed "$started"
    log "ERROR: $TYPE backup of stanza $PGBACKREST_STANZA not started: the stanza is not ready (see above)"
    exit 1
fi
log "starting a $TYPE backup of stanza $PGBACKREST_STANZA"
# pgBackRest expires backups past the retention at the end of a successful backup.
if ! pgbackrest backup --type="$TYPE" >&2; then
    write_status failed "$started"
    log "ERROR: $TYPE backup of stanza $PGBACKREST_STANZA failed after $(($(date +%s) - started)) s (pgBackRest's lines above say why)"
    exit 1
fi
write_status ok "$started"
log "$TYPE backup of stanza $PGBACKREST_STANZA completed in $(($(date +%s) - started)) s"
