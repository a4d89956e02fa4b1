#!/bin/bash
# Patroni runs this after bootstrapping a new cluster ("post_bootstrap CONNINFO") and, on every member, after
# each start and role change ("on_start|on_role_change ROLE SCOPE"). On the primary it makes the Secret the
# truth: a kept volume with a new Secret must not lock the replicas or the application out, and a promoted
# replica must hold the current passwords even if its data predates a rotation.
set -euo pipefail
# shellcheck source=../../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"

action=${1:-}
role=${2:-}

# Patroni calls on_role_change as soon as it has asked for the promotion, before the server has left
# recovery, when ALTER ROLE would still be refused as a read-only transaction.
wait_writable() {
    local tries=0
    until [ "$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 240 ] || die "$action as $role: still in recovery after 2 minutes; passwords not set"
        sleep 0.5
    done
}

# With RDB_BACKUP=on (docs/pod-contract.md, "Backups") a primary makes sure its pgBackRest stanza exists and
# that archiving into it works (Patroni's ha.py calls on_start after a bootstrap too). Detached, in the
# background: Patroni kills a callback, children included, that still runs when the next one comes, and
# the repository may be down. backup-stanza.sh retries every minute until it worked or this server is no
# longer the primary, one run per pod at a time.
ensure_stanza() {
    [ "${RDB_BACKUP:-off}" = on ] || return 0
    setsid bash "$RDB_SCRIPTS_DIR/backup-stanza.sh" --retry </dev/null &
}

case "$action" in
post_bootstrap)
    # Patroni waits for this before it lets clients in: the application role and database exist first.
    roles_sql | roles_psql
    event role_chosen role=primary action=bootstrap
    ;;
on_start | on_role_change)
    case "$role" in
    master | primary | promoted)
        wait_writable
        roles_sql | roles_psql
        log "$action as $role: passwords set from the Secret"
        if [ "$action" = on_role_change ]; then
            event promoted by=patroni
        else
            event role_chosen role=primary by=patroni callback="$action"
        fi
        ensure_stanza
        ;;
    *)
        event role_chosen role=replica by=patroni callback="$action"
        ;;
    esac
    ;;
*)
    die "unknown Patroni callback action: '$action'"
    ;;
esac
