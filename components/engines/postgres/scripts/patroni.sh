#!/bin/bash
# The database container's entrypoint with automatedFailover. Patroni, not this script, decides which pod
# is the primary (a leader lock through the Kubernetes API), clones, promotes and rewinds. This only hands
# Patroni what differs per pod and the Secret's passwords, then execs it so that the kubelet's stop signal
# reaches Patroni, which shuts PostgreSQL down cleanly and releases the lock.
set -eu
. "$RDB_SCRIPTS_DIR/lib.sh"

secret() {
    cat "$RDB_SECRET_DIR/$1"
}

# Read at every start, so a new Secret is what Patroni uses after a restart. The passwords travel in
# Patroni's own environment (readable by this uid only), never on a command line or on the volume.
PATRONI_SUPERUSER_PASSWORD=$(secret superuser-password)
PATRONI_REPLICATION_PASSWORD=$(secret replication-password)
PATRONI_REWIND_PASSWORD=$PATRONI_SUPERUSER_PASSWORD
# Patroni's unsafe REST endpoints (switchover, restart, reinit) are open to anyone who can reach the pod
# unless they ask for a password; the probes only read, which stays open.
PATRONI_RESTAPI_USERNAME=patroni
PATRONI_RESTAPI_PASSWORD=$PATRONI_SUPERUSER_PASSWORD
export PATRONI_SUPERUSER_PASSWORD PATRONI_REPLICATION_PASSWORD PATRONI_REWIND_PASSWORD \
    PATRONI_RESTAPI_USERNAME PATRONI_RESTAPI_PASSWORD

# Members reach each other by pod DNS name through the headless Service, never by IP: an IP changes
# when a pod is rescheduled, and the leader's address is what every replica streams from.
host=$(pod_host "$(ordinal)")
export PATRONI_NAME="$POD_NAME"
export PATRONI_POSTGRESQL_CONNECT_ADDRESS="$host:$PGPORT"
export PATRONI_RESTAPI_CONNECT_ADDRESS="$host:$RDB_PATRONI_PORT"

log "starting Patroni as $PATRONI_NAME ($host)"
exec patroni "$RDB_CONFIG_DIR/patroni.yml"
