#!/bin/bash
# Keeps Patroni's dynamic settings (its timings, the synchronous mode, the server parameters: what the
# cluster-wide configuration in its store holds) equal to the rendered ones, sourced by patroni.sh (after
# lib.sh), which calls dynamic_tick every few seconds for the life of the container; sets no shell option.
# Patroni takes bootstrap.dcs at the cluster's first bootstrap only, so without this a change of the args
# (a faster failover, say) would never reach a running cluster. Only the primary applies them: it is the
# one member that always runs, and patronictl's write is a compare-and-swap on the configuration's version,
# so a member that applies at the same moment as another fails and tries again on its next tick.
# The kubelet refreshes the ConfigMap in running pods before the rollout that a change of the timings
# brings replaces them: a primary whose fence (patroni-fence.sh) still runs the old bound from its env must
# not apply new timings that bound may not fit, so only a pod started from the same render applies them.

DYNAMIC_FILE="$RDB_CONFIG_DIR/patroni-dynamic.json"
FENCE_AFTER_FILE="$RDB_CONFIG_DIR/fence-after-seconds"
# Once applied (or found equal), the same file is checked again this often: an operator's
# `patronictl edit-config` of a setting the component renders is undone within this.
DYNAMIC_RECHECK_SECONDS=60
# The checksum of the file last applied or found equal while this pod was the primary; empty otherwise.
DYNAMIC_APPLIED=""
DYNAMIC_CHECKED_AT=0

dynamic_tick() {
    local now sum out rc=0
    # Bounded like the gate's question: a hung server must not stall patroni.sh's loop (the gate, the state).
    if [ "$(PGCONNECT_TIMEOUT=2 timeout 3 psql -X -A -t -h "$RDB_SOCKET_DIR" -p "$PGPORT" -U "$RDB_SUPERUSER" -d postgres \
        -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" != f ]; then
        DYNAMIC_APPLIED=""
        return 0
    fi
    sum=$(cksum <"$DYNAMIC_FILE") || return 1
    now=$(date +%s)
    if [ "$(cat "$FENCE_AFTER_FILE")" != "${RDB_FENCE_AFTER_SECONDS:-}" ]; then
        if [ "$sum" != "$DYNAMIC_APPLIED" ]; then
            log "the rendered dynamic settings are for a fence bound of $(cat "$FENCE_AFTER_FILE") s, this pod's fence runs ${RDB_FENCE_AFTER_SECONDS:-} s: not applied until this pod is replaced"
            DYNAMIC_APPLIED=$sum
        fi
        return 0
    fi
    if [ "$sum" = "$DYNAMIC_APPLIED" ] && [ $((now - DYNAMIC_CHECKED_AT)) -lt "$DYNAMIC_RECHECK_SECONDS" ]; then
        return 0
    fi
    # --apply merges the file into the stored configuration and writes only when that changes something;
    # --quiet prints nothing unless it wrote. At most 8 s: this runs in patroni.sh's loop, whose state file
    # readiness takes as stale after 10 s, and a store that does not answer is tried again on the next tick.
    out=$(timeout 8 patronictl -c "$CONF_DIR" edit-config "$RDB_CLUSTER" --apply "$DYNAMIC_FILE" --force --quiet 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "applying the rendered dynamic settings failed (status $rc): ${out//$'\n'/ }"
        return 1
    fi
    if [ -n "$out" ]; then
        log "Patroni's dynamic settings differed from the rendered ones: applied ($DYNAMIC_FILE)"
    fi
    DYNAMIC_APPLIED=$sum
    DYNAMIC_CHECKED_AT=$now
}
