#!/bin/bash
# Refusing application connections on a replica whose data may be old (it is not streaming), on every path
# to it: the Services, its pod name, the multi-host read strings. The server reads its access rules from a
# file in pod memory that this rewrites and reloads. Sourced by both failover modes' supervising scripts
# after lib.sh; sets no shell option.

SERVER_HBA="$RDB_RUN_DIR/pg_hba.conf"
GATED=""

# One look at the wal receiver, as a column for either mode's question to its server: "STATUS PID TIMELINE NEWEST",
# "none 0 0 NEWEST" when there is none; NEWEST is the newest timeline whose history file is in pg_wal (0: none).
# decide_wal (decide-gate.sh) reads it with the receiver taken for streaming at the previous look.
# shellcheck disable=SC2034 # read by the supervising scripts that source this file (entrypoint.sh, patroni-gate.sh)
WAL_RECEIVER_SQL="coalesce((SELECT status || ' ' || pid || ' ' || received_tli FROM pg_stat_wal_receiver), 'none 0 0')
 || ' ' || coalesce((SELECT max(('x' || substr(name, 1, 8))::bit(32)::int) FROM pg_ls_waldir()
                     WHERE name ~ '^[0-9A-F]{8}[.]history\$'), 0)"
WAL_SEEN=-

# wal_fact "STATUS PID TIMELINE NEWEST": sets WAL, the fact "wal" of this look, and WAL_SEEN for the next. In the
# supervising script's own shell, never a subshell: WAL_SEEN must outlive the call.
wal_fact() {
    local status pid tli newest
    read -r status pid tli newest <<<"$1"
    # shellcheck disable=SC2034 # WAL is the caller's
    read -r WAL WAL_SEEN <<<"$(decide_wal status="$status" pid="${pid:-0}" tli="${tli:-0}" newest="${newest:-0}" seen="$WAL_SEEN")"
}

reload_server() {
    local_psql -c 'SELECT pg_reload_conf()' >/dev/null
}

# Access rules: "open" is the rendered pg_hba.conf. "gated" (a replica that is not streaming) lets in only
# what replication and the other pods' supervisors need (streaming, their questions, pg_rewind), and refuses
# every application connection: every path to the data (Services, pod names, multi-host strings) gets the
# same answer, not only the one that honours readiness.
write_hba() {
    local mode="$1" tmp="$SERVER_HBA.tmp" net=host
    # With TLS on, the supervisors' questions must come encrypted too, as every other network connection.
    [ -z "${RDB_TLS_CA:-}" ] || net=hostssl
    if [ "$mode" = open ]; then
        cp "$RDB_CONFIG_DIR/pg_hba.conf" "$tmp" || return 1
    else
        {
            echo "# Gated by the supervisor: this replica is not streaming, so its data may be old."
            grep -E '^[[:space:]]*(local|host[a-z]*[[:space:]]+replication)[[:space:]]' "$RDB_CONFIG_DIR/pg_hba.conf"
            # The superuser too: an operator's diagnosis of a stale replica (no pod logs in as it any more).
            echo "$net postgres $RDB_SUPERUSER,$RDB_REWIND_USER,$RDB_REPLICATION_USER all scram-sha-256"
            echo "host all all all reject"
        } >"$tmp" || return 1
    fi
    mv -f "$tmp" "$SERVER_HBA"
}

# gate on|off REASON: switch the access rules of a running server; on closes the application's sessions too.
gate() {
    local want="$1" reason="$2"
    [ "$want" = on ] && [ -n "$GATED" ] && return 0
    [ "$want" = off ] && [ -z "$GATED" ] && return 0
    if [ "$want" = on ]; then
        write_hba gated && reload_server || return 1
        # The exporter's socket session stays (its role is let in on the socket, gated or not): the alerts need
        # to hear from a replica most when it does not stream.
        local_psql -v superuser="$RDB_SUPERUSER" -v repl="$RDB_REPLICATION_USER" -v mon="${RDB_MONITORING_USER:-}" >/dev/null <<'SQL' || true
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename NOT IN (:'superuser', :'repl', :'mon');
SQL
        GATED=1
        log "refusing application connections: $reason"
    else
        write_hba open && reload_server || return 1
        GATED=""
        log "accepting application connections again: $reason"
    fi
}

# fed_by_archive: succeeds while this cluster is a standby cluster with the archive feed (RDB_STANDBY_ARCHIVE_FROM;
# standby-hosts non-empty) and the source's archive answered this pod's restore_command (archive-get.sh touches
# $RDB_RUN_DIR/archive-answered) within RDB_ARCHIVE_FRESH_SECONDS (60): a standby leader that replays the
# source's archive is as fresh as that archive, and is let in although it does not stream. Only the standby
# leader (manual: the named pod) runs archive-get.sh while streaming fails, so only it can be fed this way.
fed_by_archive() {
    local hosts answered
    [ -n "${RDB_STANDBY_ARCHIVE_FROM:-}" ] || return 1
    hosts=$(tr -d '[:space:]' 2>/dev/null <"$RDB_CONFIG_DIR/standby-hosts") || return 1
    [ -n "$hosts" ] || return 1
    answered=$(stat -c %Y "$RDB_RUN_DIR/archive-answered" 2>/dev/null) || return 1
    [ $(($(date +%s) - answered)) -lt "${RDB_ARCHIVE_FRESH_SECONDS:-60}" ]
}
