#!/bin/bash
# backup-job.sh full|diff|incr: what the backup CronJobs run. It finds the one running pod that carries the
# primary's labels (RDB_PRIMARY_SELECTOR, in RDB_NAMESPACE) and execs backup.sh in its database container
# (RDB_CONTAINER), so that the backup runs where the data and the archiving are, with the pod's own env.
# The Job's status is the exec's: a failed backup is a failed Job. No primary, or more than one (labels
# mid-switchover), is an error, never a guess: the next schedule tries again.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

TYPE=${1:-}
case "$TYPE" in
full | diff | incr) ;;
*) die "backup-job.sh: the backup type is \"$TYPE\"; allowed: full, diff, incr" ;;
esac
for var in RDB_NAMESPACE RDB_PRIMARY_SELECTOR RDB_CONTAINER; do
    [ -n "${!var:-}" ] || die "backup-job.sh: $var is not set; the CronJob's env must name it"
done

fail() {
    log "ERROR: $*"
    exit 1
}

# Pods that are terminating still report phase Running; they carry a deletionTimestamp (a second word on
# their line), and are left out.
if ! pods=$(kubectl get pods -n "$RDB_NAMESPACE" -l "$RDB_PRIMARY_SELECTOR" --field-selector=status.phase=Running \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}{end}'); then
    fail "could not list the pods matching $RDB_PRIMARY_SELECTOR in namespace $RDB_NAMESPACE"
fi
mapfile -t names < <(printf '%s\n' "$pods" | awk 'NF == 1 { print $1 }')
case "${#names[@]}" in
0) fail "no running pod matches $RDB_PRIMARY_SELECTOR in namespace $RDB_NAMESPACE: no primary to back up" ;;
1) ;;
*) fail "${#names[@]} running pods match $RDB_PRIMARY_SELECTOR in namespace $RDB_NAMESPACE (${names[*]}): not choosing one" ;;
esac

log "running a $TYPE backup in ${names[0]}"
rc=0
kubectl exec -n "$RDB_NAMESPACE" "${names[0]}" -c "$RDB_CONTAINER" -- /bin/bash "$RDB_SCRIPTS_DIR/backup.sh" "$TYPE" || rc=$?
[ "$rc" = 0 ] || log "ERROR: the $TYPE backup in ${names[0]} failed (status $rc)"
exit "$rc"
