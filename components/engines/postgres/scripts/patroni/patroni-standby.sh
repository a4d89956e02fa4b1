#!/bin/bash
# The promotion of a standby cluster with Patroni (README, "Disaster recovery: standby cluster"). Patroni keeps
# its standby_cluster setting in its dynamic configuration (in the store), which the rendered bootstrap.dcs sets
# only when the cluster is created. When the rendered config says this cluster is no longer a standby
# (standby-hosts present and empty: standby.enabled false), this removes the setting from the store with
# patronictl, and Patroni promotes its standby leader on its next loop: the promotion stays one config change,
# as in the manual mode. Sourced by patroni.sh after lib.sh; sets no shell option.

PATRONI_STANDBY_HOSTS="$RDB_CONFIG_DIR/standby-hosts"
# Set once the store holds no standby_cluster; cleared while the config names a source.
STANDBY_SETTING_REMOVED=""
# patronictl is a Python process: a failed edit (the store not reachable yet) is retried this often, not every tick.
STANDBY_RETRY_SECONDS=10
STANDBY_LAST_TRY=0

# standby_promotion_tick CONF_DIR: cheap unless the config has just turned promoted; every member may run it
# (patronictl applies an edit against the version it read, so two at once cannot undo each other; a refused one
# is tried again on the next tick, and finds nothing left to change).
standby_promotion_tick() {
    local hosts
    [ -f "$PATRONI_STANDBY_HOSTS" ] || return 0
    hosts=$(tr -d '[:space:]' <"$PATRONI_STANDBY_HOSTS") || return 1
    if [ -n "$hosts" ]; then
        STANDBY_SETTING_REMOVED=""
        return 0
    fi
    [ -z "$STANDBY_SETTING_REMOVED" ] || return 0
    [ $(($(date +%s) - STANDBY_LAST_TRY)) -ge "$STANDBY_RETRY_SECONDS" ] || return 0
    STANDBY_LAST_TRY=$(date +%s)
    patronictl -c "$1" edit-config --force --quiet --set standby_cluster=null >/dev/null || return 1
    STANDBY_SETTING_REMOVED=1
    log "standby.enabled is false: standby_cluster removed from Patroni's configuration; the standby leader promotes"
}
