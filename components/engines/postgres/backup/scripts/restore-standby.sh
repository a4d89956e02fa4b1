#!/bin/bash
# restore-standby.sh [--stanza=NAME] [--datadir=DIR] [--scope=..] [--role=..] [--connstring=..]: a first data
# directory ($PGDATA, or Patroni's --datadir) from the latest backup of a stanza in the repository, left a
# standby that has replayed nothing yet; the server then replays the archive and streams when it can. Two users:
# - a standby cluster's first pod, from the SOURCE's stanza (RDB_STANDBY_ARCHIVE_FROM, the default; README,
#   "Disaster recovery: standby cluster"): the manual supervisor runs it when the source cannot be cloned,
#   Patroni as its `pgbackrest` replica method, before basebackup;
# - a new replica, from this cluster's OWN stanza (--stanza=$PGBACKREST_STANZA, backup.replicasFromRepository),
#   so that its copy reads nothing of the primary's disk: the manual supervisor (replica-source.sh) and Patroni's
#   `repository` replica method run it before they clone the primary.
#
# Read only on the repository (pgBackRest's restore writes nothing there). Existing data is never touched: a
# $PGDATA that holds anything is refused. The work happens in $PGDATA.restore, renamed into place only when
# whole, so that a pod killed half-way leaves nothing a later start could take for a data directory. A backup
# of another PostgreSQL major than this image's is refused, and its copy removed (it is only our own copy).
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

FROM=${RDB_STANDBY_ARCHIVE_FROM:-}
for arg in "$@"; do
    case "$arg" in
    --stanza=*) FROM=${arg#--stanza=} ;;
    --datadir=*) PGDATA=${arg#--datadir=} ;;
    # Patroni's other parameters of a replica method: the source is the repository here, not a server.
    --scope=* | --role=* | --connstring=* | --no_leader=* | --keep_data=*) ;;
    *) die "restore-standby.sh: unknown argument \"$arg\"; allowed: --stanza=NAME, --datadir=DIR, --scope=, --role=, --connstring=" ;;
    esac
done

STAGE="$PGDATA.restore"

refuse() {
    log "ERROR: $*"
    exit 1
}

[ -n "$FROM" ] || refuse "no stanza: RDB_STANDBY_ARCHIVE_FROM is empty and no --stanza=NAME was given"
if [ -e "$PGDATA/PG_VERSION" ]; then
    refuse "$PGDATA already holds a data directory; only an empty volume is made from a backup"
fi
if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    refuse "$PGDATA holds files but no PG_VERSION; refusing to restore over them"
fi

rm -rf "$STAGE"
mkdir -m 0700 "$STAGE"
log "restoring the latest backup of stanza $FROM into $STAGE, as a standby"
# --type=standby writes standby.signal. archive_mode stays as rendered (no --archive-mode=off, which would be
# written into postgresql.auto.conf for good): a standby archives nothing, and once promoted this cluster
# archives to its OWN stanza (PGBACKREST_STANZA), never the source's.
pgbackrest --stanza="$FROM" --pg1-path="$STAGE" --type=standby restore >&2 ||
    refuse "pgbackrest restore of stanza $FROM failed (its lines above say why, e.g. no backup yet); $PGDATA was not touched"

# pgBackRest also wrote its restore_command into postgresql.auto.conf, which outranks every other file: the
# supervisor (follow.conf), Patroni (standby_cluster, recovery_conf) or the rendered configuration (this
# cluster's own stanza) sets the one to use, and a standby cluster's drops it once promoted.
sed -i -E '/^[[:space:]]*restore_command[[:space:]]*=/d' "$STAGE/postgresql.auto.conf"
touch "$STAGE/standby.signal"

major=$(server_major)
if [ "$(cat "$STAGE/PG_VERSION")" != "$major" ]; then
    found=$(cat "$STAGE/PG_VERSION")
    rm -rf "$STAGE"
    refuse "the latest backup of stanza $FROM is of PostgreSQL $found, this server runs $major; removed the copy, $PGDATA was not touched"
fi

[ ! -d "$PGDATA" ] || rmdir "$PGDATA"
mv "$STAGE" "$PGDATA"
log "restored the latest backup of stanza $FROM into $PGDATA as a standby; it replays the archive from there"
