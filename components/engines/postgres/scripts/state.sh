#!/bin/bash
# The state file through which the supervisor (entrypoint.sh) tells the probes what it sees, so that the
# probes only read: $RDB_RUN_DIR/state, one key=value a line. Sourced; sets no shell option.
#   role       primary | replica | none   what the server is right now (not what the config wants)
#   ready      yes | no                   whether it should receive clients through a Service
#   phase      what the supervisor is doing (initialising, cloning, rewinding, running, promoting, ...)
#   reason     why it is not ready, in words
#   heartbeat  epoch seconds of the supervisor's last sign of life

STATE_FILE="$RDB_RUN_DIR/state"

# write_state ROLE READY PHASE REASON: renamed into place, so that a probe never reads half a file.
write_state() {
    local tmp="$STATE_FILE.$$"
    printf 'role=%s\nready=%s\nphase=%s\nreason=%s\nheartbeat=%s\n' "$1" "$2" "$3" "$4" "$(date +%s)" >"$tmp" &&
        mv -f "$tmp" "$STATE_FILE"
}

# state_value KEY: the value of KEY in the state file, empty when there is none.
state_value() {
    [ -f "$STATE_FILE" ] || return 0
    sed -n "s/^$1=//p" "$STATE_FILE"
}

# Seconds since the supervisor's last heartbeat (a large number when there is none).
state_age() {
    local beat
    beat=$(state_value heartbeat)
    case "$beat" in
    '' | *[!0-9]*) printf '999999' ;;
    *) printf '%s' "$(($(date +%s) - beat))" ;;
    esac
}
