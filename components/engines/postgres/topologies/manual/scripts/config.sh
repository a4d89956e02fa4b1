#!/bin/bash
# What the config volume says the cluster should be: which ordinal is the primary and how many pods there
# are. The kubelet refreshes these files in place when the ConfigMap changes, so the supervisor re-reads
# them on every tick. A value that is not a valid ordinal is refused loudly and the last good one is kept:
# a typo in the ConfigMap must never stop a server or send a pod after a host that does not exist.
# Sourced; sets no shell option. read_config sets globals, so it must not run in a subshell.

LAST_GOOD_PRIMARY="$RDB_RUN_DIR/primary-ordinal.last-good"
LAST_GOOD_COUNT="$RDB_RUN_DIR/pod-count.last-good"
declare -A REFUSED=()
CONFIG_VALUE=""

# read_config_number FILE LAST-GOOD-FILE MIN MAX-EXCLUSIVE WHAT: sets CONFIG_VALUE to the file's number if it
# is a whole number in range, else to the last good value (with one log line per distinct bad value); fails
# when there is none.
read_config_number() {
    local file="$1" last="$2" min="$3" max="$4" what="$5" raw
    raw=$(tr -d '[:space:]' 2>/dev/null <"$file") || raw="(unreadable)"
    if [[ "$raw" =~ ^[0-9]+$ ]] && [ "$((10#$raw))" -ge "$min" ] && [ "$((10#$raw))" -lt "$max" ]; then
        CONFIG_VALUE=$((10#$raw))
        REFUSED[$what]=""
        [ "$(cat "$last" 2>/dev/null)" = "$CONFIG_VALUE" ] || printf '%s\n' "$CONFIG_VALUE" >"$last"
        return 0
    fi
    if [ "${REFUSED[$what]:-}" != "$raw" ]; then
        REFUSED[$what]=$raw
        log "ERROR: config $what is \"$raw\": not a whole number from $min to $((max - 1));" \
            "keeping the last good value ($(cat "$last" 2>/dev/null || printf 'none'))"
    fi
    [ -s "$last" ] || return 1
    CONFIG_VALUE=$(cat "$last")
}

# Sets COUNT (the pods the StatefulSet should run) and DESIRED (which of them is the primary).
read_config() {
    read_config_number "$RDB_CONFIG_DIR/pod-count" "$LAST_GOOD_COUNT" 1 10000 pod-count || return 1
    COUNT=$CONFIG_VALUE
    read_config_number "$RDB_CONFIG_DIR/primary-ordinal" "$LAST_GOOD_PRIMARY" 0 "$COUNT" primary-ordinal || return 1
    # shellcheck disable=SC2034 # read by entrypoint.sh
    DESIRED=$CONFIG_VALUE
}
