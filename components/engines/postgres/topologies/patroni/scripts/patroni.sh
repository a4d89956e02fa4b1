#!/bin/bash
# The database container's entrypoint with automatedFailover. Patroni, not this script, decides which pod
# is the primary (a leader lock through the Kubernetes API), clones, promotes and rewinds. This hands
# Patroni what differs per pod and the Secret's passwords, keeps the passwords current while it runs, and
# gates a replica that is not streaming (patroni-gate.sh), writing the state that readiness reads.
set -euo pipefail
# shellcheck source=../../../scripts/lib.sh
. "$RDB_SCRIPTS_DIR/lib.sh"
# shellcheck source=../../../scripts/gate.sh
. "$RDB_SCRIPTS_DIR/gate.sh"
# shellcheck source=../../../scripts/state.sh
. "$RDB_SCRIPTS_DIR/state.sh"
# shellcheck source=../../../scripts/decide-gate.sh
. "$RDB_SCRIPTS_DIR/decide-gate.sh"
# shellcheck source=patroni-gate.sh
. "$RDB_SCRIPTS_DIR/patroni-gate.sh"
# shellcheck source=patroni-standby.sh
. "$RDB_SCRIPTS_DIR/patroni-standby.sh"
# shellcheck source=patroni-dynamic.sh
. "$RDB_SCRIPTS_DIR/patroni-dynamic.sh"
if [ -n "${RDB_BACKUP_USER:-}" ]; then
    # shellcheck source=../../../backup/scripts/backup-requests.sh
    . "$RDB_SCRIPTS_DIR/backup-requests.sh"
fi

# The oldest Patroni this component supports: 3.3 for the configurable Kubernetes role label, and at least
# 3.1 for the leader-lock fixes a paused primary needs (upstream #2689, #2693, #2787; README, "Automated
# failover"). An older one is refused before it can run, with the version found and the minimum. The test
# harness runs the image's Patroni (tools/versions.env), so this check runs there as it does in the image.
MIN_VERSION=${RDB_PATRONI_MIN_VERSION:-3.3.0}

check_patroni_version() {
    local out found
    [[ "$MIN_VERSION" =~ ^[0-9]+(\.[0-9]+)*$ ]] ||
        die "invalid RDB_PATRONI_MIN_VERSION: '$MIN_VERSION' (allowed: a version such as 3.3.0)"
    out=$(patroni --version 2>&1) || die "'patroni --version' failed: $out"
    found=${out##* }
    [[ "$found" =~ ^[0-9]+(\.[0-9]+)*$ ]] || die "cannot read Patroni's version from '$out'"
    if [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$found" | sort -V | head -n 1)" != "$MIN_VERSION" ]; then
        die "Patroni $found is older than $MIN_VERSION, the oldest this component supports; use an image with Patroni $MIN_VERSION or newer (images/postgres/Dockerfile)"
    fi
    log "Patroni $found (supported: $MIN_VERSION or newer)"
}

# Patroni merges every .yml of this directory in name order: the rendered configuration, then the
# passwords. They live in the pod's memory (mode 0600), never in the ConfigMap or on the volume, and not
# in Patroni's environment, which would override the file and could not change while Patroni runs.
CONF_DIR="$RDB_RUN_DIR/patroni"

# A YAML single-quoted scalar of a Secret file: any character is literal, a quote is doubled.
quoted() {
    local value
    value=$(cat "$(secret_file "$1")")
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
    rewind: {password: $(quoted rewind-password)}
restapi:
  authentication: {username: patroni, password: $(quoted patroni-api-password)}
YAML
    )
    mv -f "$tmp" "$CONF_DIR/20-passwords.yml"
}

# A standby cluster with TLS (README, "Disaster recovery: standby cluster"): the replication connections
# trust this cluster's CA and the source's, one bundle in pod memory (patroni.yml's sslrootcert), rewritten
# when either file changes.
CA_BUNDLE="$RDB_RUN_DIR/ca-bundle.crt"
write_ca_bundle() {
    local source_ca="$RDB_CONFIG_DIR/standby-ca.crt" new
    [ -n "${RDB_TLS_CA:-}" ] && [ -s "$source_ca" ] || return 0
    new=$(cat "$RDB_TLS_CA" "$source_ca") || return 1
    [ "$(cat "$CA_BUNDLE" 2>/dev/null)" != "$new" ] || return 0
    printf '%s\n' "$new" >"$CA_BUNDLE.tmp" && mv -f "$CA_BUNDLE.tmp" "$CA_BUNDLE"
}

check_patroni_version
mkdir -p "$CONF_DIR"
write_ca_bundle || die "cannot write the CA bundle $CA_BUNDLE"
# A link, so that a reload sees the kubelet's update of the ConfigMap.
ln -sfn "$RDB_CONFIG_DIR/patroni.yml" "$CONF_DIR/10-rendered.yml"
# A container restart keeps the pod's memory volume, and with it the last good copy of the passwords.
if ! take_secret; then
    secret_checksum >/dev/null || die "the Secret is not usable and there are no earlier passwords to keep"
fi
write_password_config
write_standby_bootstrap "$CONF_DIR" || die "cannot write the standby cluster's bootstrap setting in $CONF_DIR"
# The server's access rules (hba_file in patroni.yml) are in place, gated, before Patroni first starts it:
# until this pod is the primary or streams, the application is refused. A container restart keeps the
# pod's memory, and with it stale rules from the last run, so they are rewritten too.
[[ "$GATE_AFTER_SECONDS" =~ ^[0-9]{1,3}$ ]] ||
    die "invalid RDB_GATE_AFTER_SECONDS: '$GATE_AFTER_SECONDS' (allowed: whole seconds from 0 to 999)"
start_gated || die "cannot write the access rules $SERVER_HBA"

# Members reach each other by pod DNS name through the headless Service, never by IP: an IP changes
# when a pod is rescheduled, and the leader's address is what every replica streams from.
host=$(pod_host "$(ordinal)")
export PATRONI_NAME="$POD_NAME"
export PATRONI_POSTGRESQL_CONNECT_ADDRESS="$host:$PGPORT"
export PATRONI_RESTAPI_CONNECT_ADDRESS="$host:$RDB_PATRONI_PORT"

log "starting Patroni as $PATRONI_NAME ($host)"
patroni "$CONF_DIR" &
PATRONI_PID=$!
# Kills a primary that hangs before its leader lock can expire (see the script); it lives as long as
# Patroni does.
/bin/bash "$RDB_SCRIPTS_DIR/patroni-fence.sh" &
FENCE_PID=$!
# Patroni runs as a child so that this script can watch the Secret; the kubelet's stop signal is passed
# on, and Patroni shuts PostgreSQL down cleanly and releases the leader lock.
# Patroni's clean shutdown has no bound of its own, while the kubelet SIGKILLs the container after
# terminationGracePeriodSeconds (RDB_TERMINATION_GRACE_SECONDS, 60 s: components/limits.ts): PostgreSQL's fast shutdown sends
# the last WAL to every connected standby and waits for it to confirm, so a primary whose standby hangs waits
# for wal_sender_timeout (60 s); Patroni waits for a synchronous standby's release (2 x loop_wait), for its
# store, and for a task of its own it does not cancel (3.0.2). Past STOP_IMMEDIATE_AFTER the server is stopped
# in immediate mode (SIGQUIT to the postmaster): a crash of the server, which loses no committed transaction
# (its WAL is flushed, and in synchronous mode an acknowledged commit is on a standby too) and leaves nothing
# here that takes writes; Patroni then finds it down, releases the leader lock and exits. Past STOP_KILL_AFTER
# Patroni and the server are killed, still before the kubelet would, and the log says which step ran.
set_stop_deadlines
stop_deadline() {
    local pm
    sleep "$STOP_IMMEDIATE_AFTER"
    kill -0 "$PATRONI_PID" 2>/dev/null || return 0
    if pm=$(postmaster_pid); then
        log "Patroni has not stopped within ${STOP_IMMEDIATE_AFTER} s of the stop signal: stopping PostgreSQL in immediate mode (postmaster $pm)"
        kill -QUIT "$pm" 2>/dev/null || true
    fi
    sleep $((STOP_KILL_AFTER - STOP_IMMEDIATE_AFTER))
    kill -0 "$PATRONI_PID" 2>/dev/null || return 0
    log "Patroni has not stopped within ${STOP_KILL_AFTER} s of the stop signal: killing it and its server"
    if pm=$(postmaster_pid); then kill -KILL "$pm" 2>/dev/null || true; fi
    kill -KILL "$PATRONI_PID" 2>/dev/null || true
}
STOPPING=""
on_stop() {
    [ -z "$STOPPING" ] || return 0
    STOPPING=1
    kill -TERM "$PATRONI_PID" 2>/dev/null || true
    stop_deadline &
    DEADLINE_PID=$!
    log "stop signal received: Patroni told to stop (bounded: ${STOP_IMMEDIATE_AFTER} s, then ${STOP_KILL_AFTER} s)"
}
DEADLINE_PID=""
trap on_stop TERM INT

# A rotation (a new Secret) without a restart, as in the script-driven mode: the primary sets the new
# passwords first, then every member reloads Patroni, which rewrites its passfile and the replicas'
# primary_conninfo. A replica that reloads before the primary has the new password retries until it has.
applied=$(secret_checksum)
secret_tick() {
    local current
    # A Secret with a missing or empty key is refused, said once, and looked at again on the next round.
    take_secret || return 0
    current=$(secret_checksum) || return 0
    [ "$current" != "$applied" ] || return 0
    if [ "$(local_psql -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; then
        if ! roles_sql | roles_psql; then
            log "the Secret changed, but setting the new passwords failed; retrying"
            return 0
        fi
    fi
    write_password_config
    kill -HUP "$PATRONI_PID" 2>/dev/null || true
    applied=$current
    log "the Secret changed: passwords set and Patroni reloaded"
}

# A renewed certificate reaches PostgreSQL and the REST API through a reload of Patroni (SIGHUP): it reloads the
# server's configuration, and its REST API takes a certificate whose serial number changed. No restart.
tls_remember
hup_patroni() {
    kill -HUP "$PATRONI_PID" 2>/dev/null
}
tls_tick() {
    tls_follow "Patroni reloaded" hup_patroni
}

# The gate looks every second (a replica that stops streaming is gated within RDB_GATE_AFTER_SECONDS and one
# tick), the Secret every RDB_SECRET_POLL_SECONDS, the dynamic settings every DYNAMIC_POLL_SECONDS (a new
# primary applies a changed render within that). A failing step is logged and tried on the next tick: bash
# does not apply errexit inside a function whose status is tested, so nothing in a tick ends the loop.
SECRET_POLL_SECONDS=${RDB_SECRET_POLL_SECONDS:-10}
DYNAMIC_POLL_SECONDS=5
secret_checked=$(date +%s)
dynamic_checked=0
supervise() {
    while kill -0 "$PATRONI_PID" 2>/dev/null; do
        sleep 1 &
        wait $! || true
        gate_tick || log "gate tick failed (status $?); retrying"
        tls_tick || log "certificate check failed (status $?); retrying"
        write_ca_bundle || log "could not rewrite the CA bundle; retrying"
        checksum_watch || true
        now=$(date +%s)
        if [ $((now - secret_checked)) -ge "$SECRET_POLL_SECONDS" ]; then
            secret_checked=$now
            secret_tick || log "Secret check failed (status $?); retrying"
        fi
        standby_settings_tick "$CONF_DIR" || true
        if [ $((now - dynamic_checked)) -ge "$DYNAMIC_POLL_SECONDS" ]; then
            dynamic_checked=$now
            dynamic_tick || log "dynamic settings check failed (status $?); retrying"
        fi
        # The backups the backup Jobs ask for, on the primary (backup-requests.sh).
        [ -z "${RDB_BACKUP_USER:-}" ] || backup_requests_tick || log "could not take the backup requests; retrying"
    done
}

# The ticks run in a process of their own, and this shell, from here on, only waits with the `wait` builtin,
# which a trapped signal interrupts at once: bash runs a trap only once the foreground command it waits for
# has ended, and a tick's command (a psql to a server that hangs) may not end. The ticks' process ignores
# SIGINT (a background job does) and ends with Patroni; if a tick ends it (errexit), it stops Patroni, so
# that the container ends, as when the loop ran in this shell.
(
    trap 'kill -TERM "$PATRONI_PID" 2>/dev/null || true' EXIT
    supervise
    trap - EXIT
) &
SUPERVISE_PID=$!
# SIGKILL: a TERM would run the ticks' EXIT trap, which signals a Patroni that is gone by then.
trap 'kill -TERM "$FENCE_PID" 2>/dev/null || true; kill -KILL "$SUPERVISE_PID" $DEADLINE_PID 2>/dev/null || true' EXIT
while kill -0 "$PATRONI_PID" 2>/dev/null; do
    wait "$PATRONI_PID" || true
done
wait "$PATRONI_PID"
