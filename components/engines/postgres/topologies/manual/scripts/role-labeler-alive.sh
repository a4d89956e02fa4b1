#!/bin/sh
# Liveness of the role-labeler sidecar (busybox sh): passes while the heartbeat its loop writes is at most
# $RDB_LABELER_MAX_AGE seconds old. It only reads that file; a loop that has stopped (a hung call, a stopped
# process) leaves the role label stale, and the kubelet's restart of the sidecar is the remedy.
set -eu

beat=$(cat "$RDB_LABELER_HEARTBEAT" 2>/dev/null || true)
case "$beat" in
'' | *[!0-9]*)
    echo "no heartbeat in $RDB_LABELER_HEARTBEAT"
    exit 1
    ;;
esac
age=$(($(date +%s) - beat))
if [ "$age" -gt "$RDB_LABELER_MAX_AGE" ]; then
    echo "heartbeat ${age}s old (most ${RDB_LABELER_MAX_AGE}s)"
    exit 1
fi
