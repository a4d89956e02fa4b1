#!/bin/bash
# The backups the backup Jobs ask for (backup-job.sh inserts a request through replicated_db.request_backup, as
# the backup role, and waits for its outcome): the primary's supervisor, in both failover modes, takes them here,
# once a tick, and runs backup.sh for each, one at a time, in the background. So no Job needs a right in the
# Kubernetes API or an exec into a pod. Sourced by the supervisors after lib.sh when RDB_BACKUP_USER is set;
# sets no shell option; runs nothing when sourced.

BACKUP_RUNNER="$RDB_RUN_DIR/backup-request"
# A finished request is kept this long for an operator to read (the backups themselves are pgBackRest's to list
# and expire), then deleted when another one finishes: a daily schedule leaves about 30 rows, not one a day forever.
BACKUP_REQUESTS_KEPT_DAYS=30

# decide_backup_request request=... runner=...: one action, a pure function of what was observed (no
# file, no command), tested as a table (tests/unit/backup-requests.test.ts).
#   request  none | requested ID TYPE | running ID POD   the oldest request not yet finished (whichever POD
#                                                        marked it running, this pod's runner alone says
#                                                        whether it still runs here)
#   runner   none | running ID | done ID STATUS            this pod's backup.sh for a request
# Actions:
#   wait                 nothing to do, or this pod's backup still runs
#   start ID TYPE        run backup.sh TYPE for request ID
#   finish ID STATUS     record the outcome of this pod's run (STATUS: backup.sh's exit status)
#   abandon ID           a request marked running that nothing here runs: another pod started it before it
#                        stopped being the primary, or this pod's supervisor restarted under it
decide_backup_request() {
    local -A f=()
    local arg
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    local runner request
    read -r -a runner <<<"${f[runner]}"
    read -r -a request <<<"${f[request]}"
    case "${runner[0]}" in
    done) echo "finish ${runner[1]} ${runner[2]}" && return 0 ;;
    running) echo wait && return 0 ;;
    esac
    case "${request[0]}" in
    requested) echo "start ${request[1]} ${request[2]}" ;;
    running) echo "abandon ${request[1]}" ;;
    *) echo wait ;;
    esac
}

# What this pod's runner is: none, running ID, or done ID STATUS (a runner that died without a status is done 1).
backup_runner_state() {
    local id pid status
    [ -f "$BACKUP_RUNNER.id" ] || { echo none && return 0; }
    read -r id pid <"$BACKUP_RUNNER.id"
    if [ -f "$BACKUP_RUNNER.status" ]; then
        read -r status <"$BACKUP_RUNNER.status"
        echo "done $id ${status:-1}"
    elif kill -0 "$pid" 2>/dev/null; then
        echo "running $id"
    else
        echo "done $id 1"
    fi
}

# backup_requests_tick: on the primary only (the query answers nothing on a standby), one step a tick.
backup_requests_tick() {
    local request action
    request=$(local_psql -c "SELECT CASE WHEN pg_is_in_recovery() THEN 'standby'
        ELSE coalesce((SELECT state || ' ' || id || ' ' || CASE state WHEN 'requested' THEN type ELSE coalesce(pod, '') END
                       FROM replicated_db.backup_requests WHERE state IN ('requested', 'running') ORDER BY id LIMIT 1), 'none') END" 2>/dev/null) || return 0
    [ "$request" != standby ] || return 0
    read -r -a action < <(decide_backup_request "request=$request" "runner=$(backup_runner_state)")
    case "${action[0]}" in
    wait) ;;
    start)
        local_psql -c "UPDATE replicated_db.backup_requests SET state = 'running', pod = '$POD_NAME' WHERE id = ${action[1]} AND state = 'requested'" >/dev/null || return 0
        (
            trap - TERM INT
            rc=0
            bash "$RDB_SCRIPTS_DIR/backup.sh" "${action[2]}" || rc=$?
            echo "$rc" >"$BACKUP_RUNNER.status"
        ) &
        echo "${action[1]} $!" >"$BACKUP_RUNNER.id"
        log "backup request ${action[1]}: a ${action[2]} backup started"
        ;;
    finish)
        local state=ok detail=""
        [ "${action[2]}" = 0 ] || { state=failed && detail="backup.sh exited with status ${action[2]} on $POD_NAME; its ERROR line is in that pod's log"; }
        local_psql -v detail="$detail" >/dev/null <<SQL || return 0
UPDATE replicated_db.backup_requests SET state = '$state', finished_at = now(), detail = nullif(:'detail', '')
    WHERE id = ${action[1]} AND state = 'running';
DELETE FROM replicated_db.backup_requests WHERE finished_at < now() - interval '$BACKUP_REQUESTS_KEPT_DAYS days';
SQL
        rm -f "$BACKUP_RUNNER.id" "$BACKUP_RUNNER.status"
        log "backup request ${action[1]}: $state"
        ;;
    abandon)
        local_psql -c "UPDATE replicated_db.backup_requests SET state = 'failed', finished_at = now(),
            detail = 'the backup stopped before it finished: its pod stopped being the primary, or its supervisor restarted'
            WHERE id = ${action[1]} AND state = 'running'" >/dev/null || return 0
        log "backup request ${action[1]}: failed (it was running where nothing runs it now)"
        ;;
    esac
}
