#!/bin/bash
# The database container's entrypoint with automatedFailover. Patroni, not this script, decides which pod
# is the primary (a leader lock through the Kubernetes API), clones, promotes and rewinds. This hands
# Patroni what differs per pod and the Secret's passwords, and keeps the passwords current while it runs.
set -eu
. "$RDB_SCRIPTS_DIR/lib.sh"

# Patroni merges every .yml of this directory in name order: the rendered configuration, then the
# passwords. They live in the pod's memory (mode 0600), never in the ConfigMap or on the volume, and not
# in Patroni's environment, which would override the file and could not change while Patroni runs.
CONF_DIR="$RDB_RUN_DIR/patroni"

# A YAML single-quoted scalar of a Secret file: any character is literal, a quote is doubled.
quoted() {
    local value
    value=$(cat "$RDB_SECRET_DIR/$1")
    printf "'%s'" "${value//\'/\'\'}"
}

write_password_config() {
    local tmp="$CONF_DIR/.passwords.tmp"
    (
        umask 077
        # Patroni's unsafe REST endpoints (switchover, restart, reinit) are open to anyone who can reach
        # the pod unless they ask for a password; the probes only read, which stays open.
        cat >"$tmp" <<YAML
postgresql:
  authentication:
    superuser: {password: $(quoted superuser-password)}
    replication: {password: $(quoted replication-password)}
    rewind: {password: $(quoted superuser-password)}
restapi:
  authentication: {username: patroni, password: $(quoted superuser-password)}
YAML
    )
    mv -f "$tmp" "$CONF_DIR/20-passwords.yml"
}

mkdir -p "$CONF_DIR"
# A link, so that a reload sees the kubelet's update of the ConfigMap.
ln -sfn "$RDB_CONFIG_DIR/patroni.yml" "$CONF_DIR/10-rendered.yml"
write_password_config

# Members reach each other by pod DNS name through the headless Service, never by IP: an IP changes
# when a pod is rescheduled, and the leader's address is what every replica streams from.
host=$(pod_host "$(ordinal)")
export PATRONI_NAME="$POD_NAME"
export PATRONI_POSTGRESQL_CONNECT_ADDRESS="$host:$PGPORT"
export PATRONI_RESTAPI_CONNECT_ADDRESS="$host:$RDB_PATRONI_PORT"

log "starting Patroni as $PATRONI_NAME ($host)"
patroni "$CONF_DIR" &
PATRONI_PID=$!
# Patroni runs as a child so that this script can watch the Secret; the kubelet's stop signal is passed
# on, and Patroni shuts PostgreSQL down cleanly and releases the leader lock.
trap 'kill -TERM "$PATRONI_PID" 2>/dev/null || true' TERM INT

# A rotation (a new Secret) without a restart, as in the script-driven mode: the primary sets the new
# passwords first, then every member reloads Patroni, which rewrites its passfile and the replicas'
# primary_conninfo. A replica that reloads before the primary has the new password retries until it has.
applied=$(secret_checksum)
while kill -0 "$PATRONI_PID" 2>/dev/null; do
    sleep "${RDB_SECRET_POLL_SECONDS:-10}" &
    wait $! || true
    current=$(secret_checksum)
    [ "$current" != "$applied" ] || continue
    if [ "$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
        if ! roles_sql | roles_psql; then
            log "the Secret changed, but setting the new passwords failed; retrying"
            continue
        fi
    fi
    write_password_config
    kill -HUP "$PATRONI_PID" 2>/dev/null || true
    applied=$current
    log "the Secret changed: passwords set and Patroni reloaded"
done
wait "$PATRONI_PID"
