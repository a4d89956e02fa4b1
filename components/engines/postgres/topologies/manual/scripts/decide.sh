#!/bin/bash
# What the supervisor (entrypoint.sh) does on a tick, as a pure function of what it observed: no file, no
# network, no clock, no command other than bash's own, so that every rule can be tested as a table
# (tests/unit/decide.test.ts) and the code that acts stays thin. Sourced; sets no shell option; runs nothing.
#
# decide_gate (the engine's decide-gate.sh, shared with Patroni's gate) and then decide_tick KEY=VALUE... print one
# line: an action and its arguments. Facts are
# given as KEY=VALUE. Observing some facts costs a question to the server or to another pod, and the rules
# ask them only when they matter (a replica that is streaming never asks whether its primary takes writes):
# when a rule needs a fact it was not given, it prints "ask KEY", and the caller observes KEY and asks again
# with it. So the pods are asked exactly what, and in the order, the rules need.
#
# The facts:
#   me, desired, count   this pod's ordinal, the one the config names the primary, the pods there should be
#   server               running | exited (it died under the supervisor) | down (not started, or stopped)
#   recovery             t | f | noanswer: pg_is_in_recovery() of the running server
#   source               the standby cluster's source hosts ("" when this cluster is not a standby)
#   major                the data directory's PG_VERSION ("none" without one), as first observed on this tick
#   server_major         the major version of the postgres binary
#   allow_major          RDB_ALLOW_MAJOR_CHANGE (true | false)
#   data, signal         yes | no: PG_VERSION and standby.signal in $PGDATA
#   restore              yes | no: a new primary is restored from a stanza (RDB_RESTORE_FROM) instead of initdb
#   claim.N              pod N's answer to "may you take writes?": peers.sh peer_state, but "busy SECONDS" for
#                        a pod that has answered busy (starting up or shutting down) for SECONDS
#   peer.N               pod N's peer_state: gone | busy | unknown | primary | standby LSN
#   wal                  the wal receiver's status as decide_wal (decide-gate.sh) reads it: streaming, connecting, old-timeline, none, ... or noanswer
#   archive              yes | no: replaying the standby source's archive (gate.sh fed_by_archive)
#   gated                yes | no: clients are refused (gate.sh)
#   named                yes | no: me = desired (the gate's facts, decide-gate.sh)
#   quiet                seconds since the standby last streamed (0 while it streams, or on its first silent tick)
#   since_rewind         seconds since this standby last checked whether its history forked
#   mine                 the LSN this standby holds (the larger of received and replayed), or noanswer

# The settings, not observations: the environment's, as the pod gets them.
# A replica that has not streamed for this long while the primary takes writes checks whether its history
# forked off the primary's (pg_rewind decides), at most once per REWIND_RETRY_SECONDS.
REWIND_AFTER_SECONDS=${RDB_REWIND_AFTER_SECONDS:-20}
REWIND_RETRY_SECONDS=300
# A pod that answers "starting up" or "shutting down" holds off the named pod's start for this long only: a
# standby that needs this pod's WAL to become consistent says "starting up" until this pod runs, and must not
# hold it off for ever.
BUSY_GRACE_SECONDS=60

# lsn_bytes LSN: a WAL position ("X/Y" hexadecimal) as a byte count.
lsn_bytes() {
    local hi=${1%/*} lo=${1#*/}
    echo $(((16#$hi << 32) + 16#$lo))
}

# lsn_ge A B: whether WAL position A is at or beyond B.
lsn_ge() {
    [ "$(lsn_bytes "$1")" -ge "$(lsn_bytes "$2")" ]
}

# The actions of decide_tick:
#   crashed                        the server exited under the supervisor: the container restarts
#   unresponsive                   the running server does not say whether it is in recovery
#   refuse-major | set-aside-major the data directory is of another major version (allowMajorVersionChange)
#   hold-writes N STATE            named the primary, but pod N may take writes: wait
#   start-standby-leader           a standby cluster's named pod: start as a standby of the source
#   restore | initdb               make the new primary's data directory (the caller then asks again)
#   start-standby-then-promote     named the primary, data marked a standby: start so, promote when safe
#   start-primary
#   wait-clone | clone             an empty volume: wait until the named pod can be cloned, or clone it
#   wait-rewind | rewind           a former primary: wait until the named pod takes writes, or rewind onto it
#   start-replica
#   step-down                      a primary the config no longer names
#   primary | primary-standby-enabled   the named primary (the second: standby.enabled on a promoted cluster)
#   standby-unresponsive           the running standby does not say what its wal receiver does
#   lead-standby                   a standby cluster's named pod keeps streaming from the source, never promotes
#   wait-lsn                       named the primary, but this standby does not say how much WAL it holds
#   hold-promote N STATE           named the primary, but pod N is neither gone nor a standby: wait
#   catch-up N LSN                 named the primary, but pod N holds more WAL: stream it from there first
#   promote
#   follow-streaming | follow-lagging   a replica streams from the named pod (ready), or does not (not ready)
#   follow-rewind                  not streaming for long while the named pod takes writes: check for a fork
decide_tick() {
    local -A f=()
    local arg
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    case "${f[server]}" in
    exited) echo crashed ;;
    down) decide_down ;;
    *)
        decide_known recovery || return 0
        case "${f[recovery]}" in
        noanswer) echo unresponsive ;;
        f) decide_primary ;;
        *) decide_standby ;;
        esac
        ;;
    esac
}

decide_down() {
    local i s
    decide_known major || return 0
    if [ "${f[major]}" != none ]; then
        decide_known server_major || return 0
        if [ "${f[major]}" != "${f[server_major]}" ]; then
            if [ "${f[allow_major]}" = true ]; then echo set-aside-major; else echo refuse-major; fi
            return 0
        fi
    fi
    if [ "${f[desired]}" = "${f[me]}" ]; then
        # Writes only when no other pod takes them, or may: a failed question is never "not writable".
        for ((i = 0; i < f[count]; i++)); do
            [ "$i" = "${f[me]}" ] && continue
            decide_known "claim.$i" || return 0
            s=${f[claim.$i]}
            case "$s" in
            primary | unknown) echo "hold-writes $i $s" && return 0 ;;
            'busy '*) [ "${s#busy }" -ge "$BUSY_GRACE_SECONDS" ] || { echo "hold-writes $i busy" && return 0; } ;;
            esac
        done
        if [ -n "${f[source]}" ]; then echo start-standby-leader; return 0; fi
        decide_known data || return 0
        if [ "${f[data]}" = no ]; then
            if [ "${f[restore]}" = yes ]; then echo restore; else echo initdb; fi
            return 0
        fi
        decide_known signal || return 0
        if [ "${f[signal]}" = yes ]; then echo start-standby-then-promote; else echo start-primary; fi
        return 0
    fi
    decide_known data || return 0
    if [ "${f[data]}" = no ]; then
        # In a standby cluster the named pod never takes writes: a replica clones it once it runs as a standby.
        decide_known "peer.${f[desired]}" || return 0
        s=${f[peer.${f[desired]}]}
        if [ "$s" = primary ] || { [ -n "${f[source]}" ] && [[ "$s" == "standby "* ]]; }; then
            echo clone
        else
            echo wait-clone
        fi
        return 0
    fi
    decide_known signal || return 0
    if [ "${f[signal]}" = no ]; then
        # A former primary that did not step down cleanly (killed): it may hold WAL the new primary never got.
        decide_known "peer.${f[desired]}" || return 0
        if [ "${f[peer.${f[desired]}]}" = primary ]; then echo rewind; else echo wait-rewind; fi
        return 0
    fi
    echo start-replica
}

decide_primary() {
    if [ "${f[desired]}" != "${f[me]}" ]; then
        echo step-down
    elif [ -n "${f[source]}" ]; then
        # Said, not acted on: stepping down would not make this data a standby of the source again.
        echo primary-standby-enabled
    else
        echo primary
    fi
}

decide_standby() {
    local i s ahead="" ahead_lsn=""
    decide_known wal || return 0
    if [ "${f[wal]}" = noanswer ]; then echo standby-unresponsive; return 0; fi
    if [ "${f[desired]}" = "${f[me]}" ]; then
        # Once standby-hosts is empty (standby.enabled false) the named pod promotes as any named replica does.
        if [ -n "${f[source]}" ]; then echo lead-standby; return 0; fi
        decide_known mine || return 0
        if [ "${f[mine]}" = noanswer ]; then echo wait-lsn; return 0; fi
        # Promote only when that cannot fork history: every other pod gone, or a standby holding no more WAL.
        for ((i = 0; i < f[count]; i++)); do
            [ "$i" = "${f[me]}" ] && continue
            decide_known "peer.$i" || return 0
            s=${f[peer.$i]}
            case "$s" in
            gone) ;;
            'standby '*)
                s=${s#standby }
                if ! lsn_ge "${f[mine]}" "$s" && { [ -z "$ahead" ] || ! lsn_ge "$ahead_lsn" "$s"; }; then
                    ahead=$i ahead_lsn=$s
                fi
                ;;
            *) echo "hold-promote $i $s" && return 0 ;;
            esac
        done
        if [ -n "$ahead" ]; then echo "catch-up $ahead $ahead_lsn"; else echo promote; fi
        return 0
    fi
    if [ "${f[wal]}" = streaming ]; then echo follow-streaming; return 0; fi
    if [ "${f[quiet]}" -ge "$REWIND_AFTER_SECONDS" ] && [ "${f[since_rewind]}" -ge "$REWIND_RETRY_SECONDS" ]; then
        # Most often this replica held WAL the new primary never got (it was ahead of it when the old primary
        # died): pg_rewind finds out, and says so when nothing needs rewinding.
        decide_known "peer.${f[desired]}" || return 0
        if [ "${f[peer.${f[desired]}]}" = primary ]; then echo follow-rewind; return 0; fi
    fi
    echo follow-lagging
}

# decide_pace elapsed_ms=N hurried=yes|no: whether the supervisor's next tick comes after its usual sleep or at
# once, given how long this tick took (ms, by the wall clock) and whether this tick itself came at once. A tick
# that took longer than a peer takes to be called gone (peers.sh waits 3 s for an answer) was most likely stalled
# with the whole pod (frozen, or its node starved). Another pod may have been named and promoted meanwhile, and
# this server, running again, takes writes beside it until the next tick steps it down: so that tick comes at
# once. Only one in a row, so that a starved pod does not spin.
STALLED_TICK_MS=3000
decide_pace() {
    local -A f=()
    local arg
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    if [ "${f[elapsed_ms]}" -ge "$STALLED_TICK_MS" ] && [ "${f[hurried]}" = no ]; then echo now; else echo sleep; fi
}
