#!/bin/bash
# Where a new replica's first data directory comes from (backup.replicasFromRepository): this cluster's latest
# backup in the repository, so that its copy reads nothing of the primary's disk and asks the primary for no
# checkpoint; the primary (pg_basebackup, server.sh clone_from) when that is off, or once the repository has
# failed this pod (no backup yet, unreachable, another major). A restored replica replays the archive
# (restore_command, this cluster's stanza) from the backup on, then streams through its slot; PostgreSQL itself
# moves between the two. Sourced by the manual supervisor after lib.sh and server.sh when RDB_BACKUP is on; sets
# no shell option; runs nothing when sourced.

REPLICA_RESTORE_FAILED="$RDB_RUN_DIR/replica-restore-failed"

# decide_replica_source from_repository=on|off repository=untried|failed: "repository" or "primary"; a pure
# function of what was observed (no file, no command), tested as a table (tests/unit/replica-source.test.ts).
decide_replica_source() {
    local -A f=()
    local arg
    for arg; do f[${arg%%=*}]=${arg#*=}; done
    if [ "${f[from_repository]:-off}" = on ] && [ "${f[repository]:-untried}" = untried ]; then
        echo repository
    else
        echo primary
    fi
}

replica_source() {
    decide_replica_source "from_repository=${RDB_REPLICAS_FROM_REPOSITORY:-off}" \
        "repository=$([ -e "$REPLICA_RESTORE_FAILED" ] && echo failed || echo untried)"
}

# restore_replica: the latest backup of this cluster's stanza into $PGDATA, left a standby (restore-standby.sh
# stages, renames and refuses a non-empty $PGDATA). A failure is remembered for this pod's life (its run
# directory is in memory), so that the next tick clones the primary instead of asking the repository again.
restore_replica() {
    event replica_restore_started stanza="$PGBACKREST_STANZA"
    if ! supervised bash "$RDB_SCRIPTS_DIR/restore-standby.sh" --stanza="$PGBACKREST_STANZA"; then
        touch "$REPLICA_RESTORE_FAILED"
        # Only our own partial copy: the clone from the primary needs the room.
        rm -rf "$PGDATA.restore"
        event replica_restore_failed stanza="$PGBACKREST_STANZA" next=clone
        return 1
    fi
    event replica_restore_finished stanza="$PGBACKREST_STANZA"
}
