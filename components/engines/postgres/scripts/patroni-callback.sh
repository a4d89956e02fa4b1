#!/bin/bash
# Patroni runs this after bootstrapping a new cluster ("post_bootstrap CONNINFO") and, on every member, after
# each start and role change ("on_start|on_role_change ROLE SCOPE"). On the primary it makes the Secret the
# truth: a kept volume with a new Secret must not lock the replicas or the application out, and a promoted
# replica must hold the current passwords even if its data predates a rotation.
set -eu
. "$RDB_SCRIPTS_DIR/lib.sh"

action=${1:-}
role=${2:-}

case "$action" in
post_bootstrap)
    # Patroni waits for this before it lets clients in: the application role and database exist first.
    roles_sql | roles_psql
    log "post_bootstrap: roles and the application database created"
    ;;
on_start | on_role_change)
    case "$role" in
    master | primary | promoted)
        roles_sql | roles_psql
        log "$action as $role: passwords set from the Secret"
        ;;
    *)
        log "$action as $role: nothing to do on a replica"
        ;;
    esac
    ;;
*)
    die "unknown Patroni callback action: '$action'"
    ;;
esac
