#!/bin/bash
# The container's probes: probe.sh startup|readiness|liveness. They only read: the long-running process of
# the container (manual: the supervisor, entrypoint.sh; patroni: patroni.sh's loop) does everything that
# acts and writes what it sees into $RDB_RUN_DIR/state. A probe that the kubelet kills at its timeout can
# therefore never leave anything half done. The Patroni mode uses readiness only (liveness is Patroni's).
# Readiness also reads $RDB_RUN_DIR/checksum-failures, which the same loop writes (lib.sh checksum_watch).
set -euo pipefail
# shellcheck source=lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"
# shellcheck source=state.sh
. "$RDB_SCRIPTS_DIR/state.sh"

# The supervisor beats every second; a stalled one (a hung server it is waiting on) fails readiness
# within this many seconds and liveness within the liveness probe's threshold.
READY_STALE_SECONDS=10
ALIVE_STALE_SECONDS=30

fail() {
    printf '%s\n' "$*"
    exit 1
}

case "${1:-}" in
startup)
    # Started once the server serves its role: a long clone or a wait for the primary keeps liveness off.
    [ "$(state_value phase)" = running ] || fail "supervisor phase: $(state_value phase) ($(state_value reason))"
    ;;
readiness)
    [ "$(state_age)" -le "$READY_STALE_SECONDS" ] || fail "supervisor silent for $(state_age) s"
    [ "$(state_value ready)" = yes ] || fail "not ready: $(state_value reason)"
    # A replica whose pages fail their checksums serves damaged data: out of the read-only Service until it is
    # cloned afresh. The primary stays: without it every write fails (README, "Consistency checks").
    if [ "$(state_value role)" = replica ] && checksum_damaged; then
        fail "not ready: data checksum failures in this replica's data directory ($(cut -d ' ' -f 2 "$RDB_RUN_DIR/checksum-failures") seen): clone it afresh"
    fi
    ;;
liveness)
    # Alive while the supervisor loop runs; it notices a dead or hung server itself.
    [ "$(state_age)" -le "$ALIVE_STALE_SECONDS" ] || fail "supervisor silent for $(state_age) s"
    ;;
*)
    fail "usage: probe.sh startup|readiness|liveness"
    ;;
esac
