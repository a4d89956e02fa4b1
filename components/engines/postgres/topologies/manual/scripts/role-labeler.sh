#!/bin/sh
# The role-labeler sidecar (busybox sh + curl): keeps its own pod's role label equal to the role the
# database reports (written by the supervisor to $RDB_RUN_DIR/role), so that the read-write and
# read-only Services select by what each server is, not by its ordinal.
set -eu

API="https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}"
POD_URL="$API/api/v1/namespaces/$POD_NAMESPACE/pods/$POD_NAME"
labelled=""

# Stop at once on the kubelet's SIGTERM instead of after the current sleep.
trap 'exit 0' TERM INT

label() {
    # The token is re-read every time (it rotates) and handed to curl on stdin, never on its command line.
    printf 'header = "Authorization: Bearer %s"\n' "$(cat "$RDB_SERVICEACCOUNT_DIR/token")" |
        curl -sS --fail --max-time 10 -K - \
            --cacert "$RDB_SERVICEACCOUNT_DIR/ca.crt" \
            -X PATCH -H "Content-Type: application/merge-patch+json" \
            --data "{\"metadata\":{\"labels\":{\"$RDB_ROLE_LABEL\":\"$1\"}}}" \
            -o /dev/null "$POD_URL"
}

# The liveness probe (role-labeler-alive.sh) reads this: epoch seconds at the top of each loop, written to a
# temporary file and renamed, so that the probe never reads half a number.
beat() {
    date +%s >"$RDB_LABELER_HEARTBEAT.tmp" && mv -f "$RDB_LABELER_HEARTBEAT.tmp" "$RDB_LABELER_HEARTBEAT"
}

while :; do
    beat
    role=$(cat "$RDB_RUN_DIR/role" 2>/dev/null || true)
    case "$role" in
    primary | replica)
        if [ "$role" != "$labelled" ]; then
            if label "$role"; then
                labelled=$role
                echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $POD_NAME labelled $RDB_ROLE_LABEL=$role"
            else
                echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $POD_NAME labelling failed; retrying" >&2
            fi
        fi
        ;;
    esac
    sleep "$RDB_LABEL_INTERVAL" &
    wait $! || true
done
