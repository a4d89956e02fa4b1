#!/bin/bash
# restore.sh [--datadir=DIR] [--scope=NAME]: makes a NEW cluster's first data directory ($PGDATA, or
# Patroni's --datadir) from another cluster's pgBackRest stanza (RDB_RESTORE_FROM), recovered to
# RDB_RESTORE_TYPE (latest | time | lsn | name) / RDB_RESTORE_TARGET and promoted. The manual supervisor
# runs it instead of initdb; Patroni runs it as its custom bootstrap method (which passes the two options).
#
# It never touches existing data: a $PGDATA that holds anything is refused, and so is a target that no
# backup can reach (before the end of the earliest backup), before anything is written. The work happens in
# $PGDATA.restore, renamed into place only once the server there has promoted and been stopped cleanly, so
# that a pod killed half-way leaves nothing a later start could take for a data directory; a retry removes
# the leftover and starts again.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

for arg in "$@"; do
    case "$arg" in
    --datadir=*) PGDATA=${arg#--datadir=} ;;
    --scope=*) ;;
    *) die "restore.sh: unknown argument \"$arg\"; allowed: --datadir=DIR, --scope=NAME" ;;
    esac
done

FROM=${RDB_RESTORE_FROM:-}
TYPE=${RDB_RESTORE_TYPE:-latest}
TARGET=${RDB_RESTORE_TARGET:-}
# Replaying a long archive takes time; the startup probe allows the pod an hour (manual mode).
RECOVERY_SECONDS=${RDB_RESTORE_RECOVERY_SECONDS:-3000}
STAGE="$PGDATA.restore"
# The temporary server's own socket directory: no client, probe or peer looks there.
SOCKET="$RDB_RUN_DIR/restore"

# refuse WHAT: the one ERROR line, and a failed exit.
refuse() {
    log "ERROR: $*"
    exit 1
}

[ -n "$FROM" ] || refuse "RDB_RESTORE_FROM is empty; it must name the stanza to restore from"
case "$RECOVERY_SECONDS" in
'' | *[!0-9]* | 0) refuse "RDB_RESTORE_RECOVERY_SECONDS is \"$RECOVERY_SECONDS\"; allowed: a whole number of seconds above 0" ;;
esac

# lsn_num X/Y: a WAL position as one number, to compare.
lsn_num() {
    printf '%s' "$(((16#${1%/*} << 32) + 16#${1#*/}))"
}

case "$TYPE" in
latest)
    [ -z "$TARGET" ] || refuse "RDB_RESTORE_TARGET is \"$TARGET\" with RDB_RESTORE_TYPE latest; allowed: empty (latest replays the whole archive)"
    ;;
time)
    # PostgreSQL's timestamp with time zone text ("2026-11-25 21:00:00.123+00"), which GNU date reads.
    target_epoch=$(date -d "$TARGET" +%s 2>/dev/null) ||
        refuse "RDB_RESTORE_TARGET is \"$TARGET\"; allowed with RDB_RESTORE_TYPE time: a timestamp with time zone such as \"2026-11-25 21:00:00+00\""
    ;;
lsn)
    [[ "$TARGET" =~ ^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$ ]] ||
        refuse "RDB_RESTORE_TARGET is \"$TARGET\"; allowed with RDB_RESTORE_TYPE lsn: a WAL position such as \"0/3000060\""
    ;;
name)
    [ -n "$TARGET" ] || refuse "RDB_RESTORE_TARGET is empty; allowed with RDB_RESTORE_TYPE name: the name of a restore point"
    ;;
*)
    refuse "RDB_RESTORE_TYPE is \"$TYPE\"; allowed: latest, time, lsn, name"
    ;;
esac

if [ -e "$PGDATA/PG_VERSION" ]; then
    refuse "$PGDATA already holds a data directory; a restore only makes the first data directory of a new cluster"
fi
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    refuse "$PGDATA holds files but no PG_VERSION; refusing to restore over them"
fi

# The backups of the source stanza, oldest first, one "LABEL STOP-LSN STOP-EPOCH" line each, from
# pgBackRest's JSON. Perl's core JSON::PP reads it: the image has no other JSON tool, and Perl is there
# wherever pgBackRest's package is (it depends on postgresql-common, which depends on perl).
backups() {
    perl -MJSON::PP -e 'my $stanza = decode_json(join("", <STDIN>))->[0];
        print "$_->{label} $_->{lsn}{stop} $_->{timestamp}{stop}\n"
            for sort { $a->{timestamp}{stop} <=> $b->{timestamp}{stop} } @{$stanza->{backup} || []};' <<<"$1"
}

# Why a stanza has no backup, in pgBackRest's words ("missing stanza path", "no valid backups").
stanza_message() {
    perl -MJSON::PP -e 'print decode_json(join("", <STDIN>))->[0]{status}{message} // "";' <<<"$1"
}

if ! info=$(pgbackrest --stanza="$FROM" info --output=json 2>&1); then
    printf '%s\n' "$info" >&2
    refuse "could not read the backups of stanza $FROM from the repository (pgBackRest's lines above say why); nothing was changed"
fi
# The JSON is one line; a warning pgBackRest logs to the console would come before it.
json=$(printf '%s\n' "$info" | grep '^\[' | tail -n 1) || true
if ! listed=$(backups "$json"); then
    refuse "could not read pgBackRest's list of the backups of stanza $FROM: $info"
fi
mapfile -t sets < <(printf '%s' "$listed" | sed '/^$/d')
if [ "${#sets[@]}" = 0 ]; then
    refuse "stanza $FROM has no backup to restore from (the repository says: $(stanza_message "$json")); nothing was changed"
fi
read -r first_label first_lsn first_stop <<<"${sets[0]}"
earliest_time=$(date -u -d "@$first_stop" '+%Y-%m-%d %H:%M:%S+00')

# The backup to start from: the newest that ended at or before the target. pgBackRest picks by time itself,
# but not by LSN in every version; choosing here makes both the same and the refusal exact.
set_label=""
case "$TYPE" in
time)
    if [ "$target_epoch" -lt "$first_stop" ]; then
        refuse "restore target time \"$TARGET\" is before the earliest restorable point of stanza $FROM," \
            "$earliest_time (the end of backup $first_label); nothing was changed"
    fi
    for s in "${sets[@]}"; do
        read -r label _ stop <<<"$s"
        [ "$stop" -gt "$target_epoch" ] || set_label=$label
    done
    ;;
lsn)
    if [ "$(lsn_num "$TARGET")" -lt "$(lsn_num "$first_lsn")" ]; then
        refuse "restore target LSN $TARGET is before the earliest restorable point of stanza $FROM," \
            "LSN $first_lsn (the end of backup $first_label); nothing was changed"
    fi
    for s in "${sets[@]}"; do
        read -r label lsn _ <<<"$s"
        [ "$(lsn_num "$lsn")" -gt "$(lsn_num "$TARGET")" ] || set_label=$label
    done
    ;;
*)
    # latest, and a restore point, whose position only the WAL knows: the newest backup.
    read -r set_label _ <<<"${sets[${#sets[@]} - 1]}"
    ;;
esac

options=(--stanza="$FROM" --pg1-path="$STAGE" --set="$set_label")
case "$TYPE" in
latest) options+=(--type=default) ;;
*) options+=(--type="$TYPE" --target="$TARGET" --target-action=promote) ;;
esac

rm -rf "$STAGE"
mkdir -m 0700 "$STAGE"
log "restoring backup $set_label of stanza $FROM into $STAGE (target: $TYPE${TARGET:+ $TARGET})"
pgbackrest "${options[@]}" restore >&2 ||
    refuse "pgbackrest restore of stanza $FROM into $STAGE failed (its lines above say why); $PGDATA was not touched"

# The temporary server: the settings the supervisor gives the real one (manual mode: its configuration file
# in pod memory; Patroni: the restored directory's own), but only a private socket, no archiving (this
# cluster's stanza does not exist yet, and the source's must never receive its WAL), and no hot standby:
# nobody reads it before it promotes, and without it recovery does not insist on the source's
# max_connections and similar, which a smaller new cluster may not match.
mkdir -p "$SOCKET"
printf 'local all %s peer\n' "$RDB_SUPERUSER" >"$SOCKET/pg_hba.conf"
flags=(-D "$STAGE" -c "hba_file=$SOCKET/pg_hba.conf" -c "unix_socket_directories=$SOCKET" -c "port=$PGPORT"
    -c "listen_addresses=" -c archive_mode=off -c hot_standby=off)
if [ -f "$RDB_RUN_DIR/postgresql.conf" ]; then
    flags+=(-c "config_file=$RDB_RUN_DIR/postgresql.conf")
fi

SERVER_PID=""
# A restore that stops half-way (a stop signal, a failure) takes its server with it; the directory stays
# for a look and is removed by the next attempt.
stop_temporary() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        pg_ctl -D "$STAGE" -m fast -w -t 600 stop >&2 || kill -QUIT "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap stop_temporary EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

postgres "${flags[@]}" >&2 &
SERVER_PID=$!
export LOCAL_SOCKET_DIR="$SOCKET"
started=$(date +%s)
next_note=$((started + 30))
log "recovering to $TYPE${TARGET:+ $TARGET} in a temporary server (at most $RECOVERY_SECONDS s)"
# The control file first: every connection refused during recovery (hot_standby=off) would be a FATAL line
# in the log, once a second for as long as the archive takes to replay.
promoted() {
    LC_ALL=C pg_controldata "$STAGE" 2>/dev/null | grep -q '^Database cluster state: *in production$' &&
        [ "$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]
}
until promoted; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        rc=0
        wait "$SERVER_PID" || rc=$?
        SERVER_PID=""
        refuse "the temporary server in $STAGE exited (status $rc) before it promoted at $TYPE${TARGET:+ $TARGET}" \
            "(its lines above say why, e.g. a target beyond the archive); $PGDATA was not touched"
    fi
    now=$(date +%s)
    if [ $((now - started)) -ge "$RECOVERY_SECONDS" ]; then
        refuse "the temporary server in $STAGE has not promoted after $RECOVERY_SECONDS s (RDB_RESTORE_RECOVERY_SECONDS);" \
            "$PGDATA was not touched"
    fi
    if [ "$now" -ge "$next_note" ]; then
        log "still recovering after $((now - started)) s"
        next_note=$((now + 30))
    fi
    sleep 1
done
log "promoted after $(($(date +%s) - started)) s of recovery"

# pgBackRest wrote the recovery settings into postgresql.auto.conf, which every replica's clone copies and
# which outranks the rendered configuration: a replica would fetch WAL from the source's stanza.
mapfile -t recovery < <(sed -n -E 's/^[[:space:]]*(restore_command|recovery_target[a-z_]*|recovery_end_command|archive_cleanup_command)[[:space:]]*=.*/\1/p' \
    "$STAGE/postgresql.auto.conf" | sort -u)
{
    for name in "${recovery[@]}"; do
        printf 'ALTER SYSTEM RESET %s;\n' "$name"
    done
    printf 'CHECKPOINT;\n'
} | local_psql >/dev/null || refuse "could not remove the recovery settings (${recovery[*]}) from $STAGE/postgresql.auto.conf"
if grep -q -E '^[[:space:]]*(restore_command|recovery_target)' "$STAGE/postgresql.auto.conf"; then
    refuse "recovery settings are still in $STAGE/postgresql.auto.conf after ALTER SYSTEM RESET; $PGDATA was not touched"
fi
stop_temporary
trap - EXIT

# An empty mount-point directory may already be there (a fresh volume's sub directory); anything else was
# refused above.
[ ! -d "$PGDATA" ] || rmdir "$PGDATA"
mv "$STAGE" "$PGDATA"
log "restored stanza $FROM (backup $set_label, $TYPE${TARGET:+ $TARGET}) into $PGDATA; removed from postgresql.auto.conf: ${recovery[*]:-nothing}"
