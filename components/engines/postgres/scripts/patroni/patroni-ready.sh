#!/bin/bash
# The readiness probe in the Patroni mode. It only reads the state file that patroni.sh writes once a second
# (patroni-gate.sh): ready is the primary, or a replica that streams. A probe that the kubelet kills at its
# timeout can therefore never leave anything half done.
set -euo pipefail

STATE_FILE="$RDB_RUN_DIR/state"
# patroni.sh beats every second; a stalled loop (a hung server it waits on) fails readiness within this.
READY_STALE_SECONDS=10

value() {
    sed -n "s/^$1=//p" "$STATE_FILE"
}

if [ ! -f "$STATE_FILE" ]; then
    echo "no state yet from patroni.sh"
    exit 1
fi
beat=$(value heartbeat)
if ! [[ "$beat" =~ ^[0-9]+$ ]]; then
    echo "no heartbeat in the state file: '$beat'"
    exit 1
fi
if [ $(($(date +%s) - beat)) -gt "$READY_STALE_SECONDS" ]; then
    echo "patroni.sh silent for $(($(date +%s) - beat)) s"
    exit 1
fi
if [ "$(value ready)" != yes ]; then
    echo "not ready: $(value reason)"
    exit 1
fi
