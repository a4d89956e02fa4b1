#!/bin/bash
# backup-job.sh full|diff|incr: what the backup CronJobs run. It logs into the primary as the backup role (every
# pod in RDB_BACKUP_HOSTS, libpq's read-write target finds the primary; verify-full against RDB_TLS_CA with TLS
# on), asks for a backup (replicated_db.request_backup) and waits for its outcome, which the primary's supervisor
# records once backup.sh has run there (backup-requests.sh). The Job holds no Kubernetes token and runs nothing
# in the database pods itself. Its status is the backup's: a failed backup is a failed Job.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

TYPE=${1:-}
case "$TYPE" in
full | diff | incr) ;;
*) die "backup-job.sh: the backup type is \"$TYPE\"; allowed: full, diff, incr" ;;
esac
for var in RDB_BACKUP_HOSTS RDB_BACKUP_PORT RDB_BACKUP_USER RDB_SECRET_DIR; do
    [ -n "${!var:-}" ] || die "backup-job.sh: $var is not set; the CronJob's env must name it"
done
# How often the Job asks for the outcome; the Job's activeDeadlineSeconds bounds the whole wait.
POLL_SECONDS=${RDB_BACKUP_POLL_SECONDS:-2}

fail() {
    log "ERROR: $*"
    exit 1
}

# The password reaches psql in its environment, never on a command line.
PGPASSWORD=$(cat "$RDB_SECRET_DIR/backup-password") || fail "cannot read the backup role's password in $RDB_SECRET_DIR"
export PGPASSWORD
CONNINFO="host=$RDB_BACKUP_HOSTS port=$RDB_BACKUP_PORT dbname=postgres user=$RDB_BACKUP_USER target_session_attrs=read-write connect_timeout=5$(tls_conninfo)"
ask() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$CONNINFO" -c "$1"
}

if ! id=$(ask "SELECT replicated_db.request_backup('$TYPE')" 2>&1); then
    fail "could not ask the primary for a $TYPE backup: $id"
fi
log "asked the primary for a $TYPE backup (request $id)"
while :; do
    sleep "$POLL_SECONDS"
    # A failed question (a switchover under way) is asked again: the request is in the database, and a new
    # primary that has it takes it or says it stopped.
    if ! outcome=$(ask "SELECT replicated_db.backup_outcome($id)" 2>&1); then
        log "could not ask for request $id's outcome ($outcome); asking again"
        continue
    fi
    case "$outcome" in
    ok*)
        log "the $TYPE backup of request $id completed"
        exit 0
        ;;
    failed*) fail "the $TYPE backup of request $id failed: ${outcome#failed: }" ;;
    requested* | running*) ;;
    '') fail "request $id is gone: the primary that has the data now never received it (a failover to a replica that lagged); the next schedule asks again" ;;
    *) fail "request $id has an outcome this script does not know: $outcome" ;;
    esac
done
