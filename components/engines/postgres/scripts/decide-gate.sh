#!/bin/bash
# Whether a server lets the application in: one rule for both failover modes, as a pure function of what the
# mode's supervising script observed (manual: entrypoint.sh before each tick's step; Patroni: patroni-gate.sh once
# a second). No file, no network, no clock, no command other than bash's own, so that the rule is tested as a
# table (tests/unit/decide.test.ts). Sourced; sets no shell option; runs nothing.
#
# decide_gate KEY=VALUE... prints one line: an action and its argument, or "ask KEY" when the rule needs a fact it
# was not given (the caller observes it and asks again). The facts:
#   server   running | down (not started, stopping, or refusing connections) | hung (its postmaster runs but it
#            does not answer in time) | exited (it died under the manual supervisor)
#   recovery t | f | noanswer: pg_is_in_recovery()
#   named    yes | no: this pod may take writes (manual: the config names it; Patroni: Patroni decides, always yes)
#   wal      the wal receiver's status as decide_wal reads it (streaming, connecting, old-timeline, none, ...) or noanswer
#   archive  yes | no: replaying the standby source's archive (gate.sh fed_by_archive)
#   gated    yes | no: clients are refused (gate.sh)
#   quiet    seconds since the standby last streamed (0 while it streams, or on its first silent tick)
# The actions:
#   none                  nothing to decide: the server does not answer, or is a primary that must not open
#   down                  the server is down: the gated rules go in place before it next starts (GATE_WHILE_DOWN=on)
#   hung                  the server runs but does not answer: the rules stay, it is not ready
#   open primary          the named primary opens the gate
#   fresh primary         the named primary, the gate open
#   fresh streaming | fresh archive   a standby that streams, or is fed by the source's archive: its data is current
#   open streaming | open archive     as fresh, and the gate opens (it was shut)
#   stale                 a standby that does not stream: the silence is counted
#   close                 not streaming for GATE_AFTER_SECONDS: the gate shuts (REPLICA_GATE=on)

# decide_wal status=S pid=P tli=T newest=N seen=Q prints the fact "wal" and the receiver to remember for the next
# look, from one look at pg_stat_wal_receiver (its status S, pid P and timeline T; "none", 0 and 0 when there is
# none), the newest timeline N whose history this server holds (0: none) and the receiver Q that was taken for
# streaming at the previous look (- for none). PostgreSQL before 19 says "streaming" from the moment its receiver
# has connected, before the primary has accepted the start point. A server that left the primary's timeline (an old
# primary back before its rewind) shows it for a moment at each try, every wal_retrieve_retry_interval (5 s): its
# receiver is refused and exits, or streams the old timeline up to the fork and waits. One such moment seen by
# the gate once let the application read 30 s old data. So a receiver streams only on the newest timeline this
# server knows (the receiver fetches the primary's history before it asks to stream), and only when the same
# receiver was taken for streaming at the previous look, a tick (a second or more, less than the retry) earlier;
# otherwise it is "connecting", PostgreSQL 19's word, or "old-timeline".
decide_wal() {
    local -A f=()
    local arg
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    if [ "${f[status]}" != streaming ]; then
        echo "${f[status]} -"
    elif [ "${f[tli]}" -lt "${f[newest]}" ]; then
        echo "old-timeline -"
    elif [ "${f[pid]}" = "${f[seen]}" ]; then
        echo "streaming ${f[pid]}"
    else
        echo "connecting ${f[pid]}"
    fi
}

# The settings, not observations: the environment's, as the pod gets them, and the mode's.
# A replica that has not streamed for GATE_AFTER_SECONDS refuses application connections (REPLICA_GATE=on).
GATE_AFTER_SECONDS=${RDB_GATE_AFTER_SECONDS:-2}
REPLICA_GATE=${RDB_REPLICA_GATE:-on}
# Whether a server that is down gets the gated rules before it starts: Patroni restarts its server on its own (as a
# replica after a demotion, a rewind or a clone); the manual supervisor starts it itself, with the rules it chose.
GATE_WHILE_DOWN=${GATE_WHILE_DOWN:-off}

# decide_known KEY: succeeds when the fact was given (in the caller's array f); otherwise asks for it.
decide_known() {
    [[ -v "f[$1]" ]] && return 0
    echo "ask $1"
    return 1
}

decide_gate() {
    local -A f=()
    local arg why=""
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    case "${f[server]}" in
    running) ;;
    down) if [ "$GATE_WHILE_DOWN" = on ]; then echo down; else echo none; fi && return 0 ;;
    hung) echo hung && return 0 ;;
    *) echo none && return 0 ;;
    esac
    decide_known recovery || return 0
    case "${f[recovery]}" in
    noanswer) echo none && return 0 ;;
    f)
        # A primary that may no longer take writes steps down first: the gate stays as it is.
        if [ "${f[named]}" != yes ]; then echo none; elif [ "${f[gated]}" = yes ]; then echo "open primary"; else echo "fresh primary"; fi
        return 0
        ;;
    esac
    decide_known wal || return 0
    if [ "${f[wal]}" = noanswer ]; then echo none; return 0; fi
    if [ "${f[wal]}" = streaming ]; then
        why=streaming
    elif [ "${f[named]}" = yes ]; then
        # A standby cluster's standby leader that replays the source's archive is as fresh as that archive.
        decide_known archive || return 0
        [ "${f[archive]}" = no ] || why=archive
    fi
    if [ -n "$why" ]; then
        if [ "${f[gated]}" = yes ]; then echo "open $why"; else echo "fresh $why"; fi
    elif [ "$REPLICA_GATE" = on ] && [ "${f[gated]}" = no ] && [ "${f[quiet]}" -ge "$GATE_AFTER_SECONDS" ]; then
        echo close
    else
        echo stale
    fi
}
