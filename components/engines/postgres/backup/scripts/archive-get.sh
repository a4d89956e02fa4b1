#!/bin/bash
# archive-get.sh WAL PATH: the restore_command of a standby cluster fed from its source's archive (README,
# "Disaster recovery: standby cluster"). The server runs it for each WAL segment (or history file) it lacks
# while it does not stream; it fetches from the SOURCE's stanza (RDB_STANDBY_ARCHIVE_FROM) with pgBackRest's
# archive-get, which only reads the repository: nothing here pushes to, or expires, the source's stanza.
#
# It also notes when the repository last answered ($RDB_RUN_DIR/archive-answered, its mtime): status 0 (the
# file was there) and 1 (pgBackRest's "not in the archive yet") both mean the archive was read to its end, so
# that the supervisor can tell a standby that follows the archive from one that follows nothing. Any other
# status is a failure to read the repository. The exit status is pgBackRest's: the server retries on non-zero.
set -euo pipefail
# shellcheck source=../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

[ "$#" = 2 ] || die "archive-get.sh: WAL and PATH expected (restore_command '... %f \"%p\"'), got $# arguments"
FROM=${RDB_STANDBY_ARCHIVE_FROM:-}
[ -n "$FROM" ] || die "archive-get.sh: RDB_STANDBY_ARCHIVE_FROM is empty; it must name the source's stanza"

rc=0
pgbackrest --stanza="$FROM" archive-get "$1" "$2" || rc=$?
case "$rc" in
0)
    touch "$RDB_RUN_DIR/archive-answered"
    # The last segment restored, for the state's reason and the tests.
    printf '%s\n' "$1" >"$RDB_RUN_DIR/archive-restored.tmp" && mv -f "$RDB_RUN_DIR/archive-restored.tmp" "$RDB_RUN_DIR/archive-restored"
    ;;
1) touch "$RDB_RUN_DIR/archive-answered" ;;
*) log "ERROR: pgbackrest archive-get of $1 from the source's stanza $FROM failed (status $rc; its lines above say why)" ;;
esac
exit "$rc"
