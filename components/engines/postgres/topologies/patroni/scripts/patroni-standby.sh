#!/bin/bash
# A standby cluster with Patroni (README, "Disaster recovery: standby cluster"). Patroni keeps its standby_cluster
# setting in its dynamic configuration (the store), which its bootstrap sets only when the cluster is created. The config volume carries the rendered setting live (patroni-standby.json: the source while a
# standby, null once promoted; outside the checksum, so no change of it rolls the pods), and this keeps the
# store equal to it: a changed source reaches the standby leader, and `standby.enabled: false` removes the
# setting, upon which Patroni promotes its standby leader on its next loop: one config change, as in the manual
# mode. Sourced by patroni.sh after lib.sh; sets no shell option.

PATRONI_STANDBY_FILE="$RDB_CONFIG_DIR/patroni-standby.json"
# Only the member holding the leader lock writes: every pod's kubelet refreshes its copy of the ConfigMap on
# its own schedule, and a member with an older copy must not write it back over a newer one (that could turn a
# promoted cluster into a standby again). An unchanged file is checked again this often (by the leader against
# the store; by the others, whether they have become the leader)...
STANDBY_RECHECK_SECONDS=60
# ...a changed one, or a failed check (Patroni or the store not answering yet), within this: patronictl and the
# REST API question are Python processes, not for every tick.
STANDBY_RETRY_SECONDS=10
# The checksum of the file at the last check that came to a conclusion (applied or found equal as the leader,
# refused, or not the leader); empty while a check is still to be made or failed.
STANDBY_SETTLED=""
STANDBY_CHECKED_AT=0
# The checksum of the file last refused (a promoted cluster told to be a standby), said once in the log.
STANDBY_REFUSED=""

# write_standby_bootstrap CONF_DIR: a new standby cluster's first leader must know at its bootstrap that it is a
# standby (Patroni takes bootstrap.dcs then only). The setting comes from the live file, not patroni.yml, so that
# a promotion changes no file the pods' checksum covers: promoting must not roll the pods. Patroni merges the
# files of its configuration directory in name order. The keys the file sets to null (to remove them from a
# running cluster's store) are left out: a new key is taken as it is, and Patroni reads a present
# primary_slot_name, even null, as "use a slot".
write_standby_bootstrap() {
    local out="$1/30-standby.yml"
    rm -f "$out"
    [ -f "$PATRONI_STANDBY_FILE" ] || return 0
    python3 -c '
import json, sys
setting = json.load(open(sys.argv[1]))["standby_cluster"]
if setting:
    kept = {k: v for k, v in setting.items() if v is not None}
    json.dump({"bootstrap": {"dcs": {"standby_cluster": kept}}}, open(sys.argv[2], "w"))
' "$PATRONI_STANDBY_FILE" "$out.tmp" || return 1
    [ ! -f "$out.tmp" ] || mv -f "$out.tmp" "$out"
}

# This member's role by its own REST API (a standby leader is in recovery like any replica, so the server
# cannot tell): primary, standby_leader, replica...; fails when Patroni does not answer (not up yet). Asked at
# the address the other members use (patroni.sh's PATRONI_RESTAPI_CONNECT_ADDRESS, the pod's DNS name, which
# its certificate names), verified against the cluster's CA when TLS is on.
patroni_role() {
    timeout 5 python3 -c '
import json, ssl, sys, urllib.request
url, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca) if ca else None
with urllib.request.urlopen(url, timeout=3, context=ctx) as r:
    print(json.load(r).get("role", ""))
' "$([ -n "${RDB_TLS_CA:-}" ] && echo https || echo http)://$PATRONI_RESTAPI_CONNECT_ADDRESS/patroni" "${RDB_TLS_CA:-}" 2>/dev/null
}

# standby_settings_tick CONF_DIR: cheap (a checksum) unless the file changed or a recheck is due.
standby_settings_tick() {
    local sum now out role rc=0
    [ -f "$PATRONI_STANDBY_FILE" ] || return 0
    sum=$(cksum <"$PATRONI_STANDBY_FILE") || return 1
    now=$(date +%s)
    if [ "$sum" = "$STANDBY_SETTLED" ]; then
        [ $((now - STANDBY_CHECKED_AT)) -ge "$STANDBY_RECHECK_SECONDS" ] || return 0
    else
        [ $((now - STANDBY_CHECKED_AT)) -ge "$STANDBY_RETRY_SECONDS" ] || return 0
    fi
    STANDBY_CHECKED_AT=$now
    STANDBY_SETTLED=""
    # Not up yet: asked again after STANDBY_RETRY_SECONDS.
    role=$(patroni_role) || return 0
    case "$role" in
    standby_leader) ;;
    primary | master)
        # This cluster took writes of its own: making it a standby again could have Patroni rewind those writes
        # away to follow the source. Only new volumes can make it a standby (README); nothing is changed.
        if ! grep -q '"standby_cluster": null' "$PATRONI_STANDBY_FILE"; then
            [ "$sum" = "$STANDBY_REFUSED" ] ||
                log "ERROR: standby.enabled is true but this cluster was promoted (it took writes of its own); it stays the primary. A standby needs new, empty volumes (README, \"Disaster recovery: standby cluster\")"
            STANDBY_REFUSED=$sum
            STANDBY_SETTLED=$sum
            return 0
        fi
        ;;
    *)
        STANDBY_SETTLED=$sum
        return 0
        ;;
    esac
    # --apply merges the file into the stored configuration and writes (a compare-and-swap on its version)
    # only when that changes something; --quiet prints nothing unless it wrote. Bounded as dynamic_tick is.
    out=$(timeout 8 patronictl -c "$1" edit-config "$RDB_CLUSTER" --apply "$PATRONI_STANDBY_FILE" --force --quiet 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
        log "applying the rendered standby_cluster setting failed (status $rc): ${out//$'\n'/ }"
        return 1
    fi
    if [ -n "$out" ]; then
        if grep -q '"standby_cluster": null' "$PATRONI_STANDBY_FILE"; then
            log "standby.enabled is false: standby_cluster removed from Patroni's configuration; the standby leader promotes"
        else
            log "Patroni's standby_cluster setting differed from the rendered one: applied ($PATRONI_STANDBY_FILE)"
        fi
    fi
    STANDBY_SETTLED=$sum
}
