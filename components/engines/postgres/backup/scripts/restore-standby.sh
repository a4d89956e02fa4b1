#!/bin/bash
# restore-standby.sh [--datadir=DIR] [--scope=..] [--role=..] [--connstring=..]: a standby cluster's first
# data directory ($PGDATA, or Patroni's --datadir) from the SOURCE's latest backup in the repository
# (RDB_STANDBY_ARCHIVE_FROM), left a standby that has replayed nothing yet: the server then replays the
# source's archive and streams from the source when it can (README, "Disaster recovery: standby cluster").
# The manual supervisor runs it when the source cannot be cloned; Patroni as its `pgbackrest` replica method,
# before basebackup.
#
# Read only on the repository (pgBackRest's restore writes nothing there). Existing data is never touched: a
# $PGDATA that holds anything is refused. The work happens in $PGDATA.restore, renamed into place only when
# whole, so that a pod killed half-way leaves nothing a later start could take for a data directory.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

for arg in "$@"; do
    case "$arg" in
    --datadir=*) PGDATA=${arg#--datadir=} ;;
    # Patroni's other parameters of a replica method: the source is the repository here, not a server.
    --scope=* | --role=* | --connstring=* | --no_leader=* | --keep_data=*) ;;
    *) die "restore-standby.sh: unknown argument \"$arg\"; allowed: --datadir=DIR, --scope=, --role=, --connstring=" ;;
    esac
done

FROM=${RDB_STANDBY_ARCHIVE_FROM:-}
STAGE="$PGDATA.restore"

refuse() {
    log "ERROR: $*"
    exit 1
}

[ -n "$FROM" ] || refuse "RDB_STANDBY_ARCHIVE_FROM is empty; it must name the source's stanza"
if [ -e "$PGDATA/PG_VERSION" ]; then
    refuse "$PGDATA already holds a data directory; only an empty volume is made from the source's backup"
fi
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    refuse "$PGDATA holds files but no PG_VERSION; refusing to restore over them"
fi

rm -rf "$STAGE"
mkdir -m 0700 "$STAGE"
log "restoring the latest backup of the source's stanza $FROM into $STAGE, as a standby"
# --type=standby writes standby.signal. archive_mode stays as rendered (no --archive-mode=off, which would be
# written into postgresql.auto.conf for good): a standby archives nothing, and once promoted this cluster
# archives to its OWN stanza (PGBACKREST_STANZA), never the source's.
pgbackrest --stanza="$FROM" --pg1-path="$STAGE" --type=standby restore >&2 ||
    refuse "pgbackrest restore of the source's stanza $FROM failed (its lines above say why, e.g. no backup yet); $PGDATA was not touched"

# pgBackRest also wrote its restore_command into postgresql.auto.conf, which outranks every other file: the
# supervisor (follow.conf) or Patroni (standby_cluster) sets the one to use, and drops it once promoted.
sed -i -E '/^[[:space:]]*restore_command[[:space:]]*=/d' "$STAGE/postgresql.auto.conf"
touch "$STAGE/standby.signal"

[ ! -d "$PGDATA" ] || rmdir "$PGDATA"
mv "$STAGE" "$PGDATA"
log "restored the source's stanza $FROM into $PGDATA as a standby; it replays the source's archive from there"
