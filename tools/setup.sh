#!/usr/bin/env bash
# The machine's set-up for the test suite: the Debian packages the tests run and the pinned upstream tools
# (tools/versions.env). Safe to re-run: every install step is skipped when its tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "$0: run as root (apt-get, and the data-plane tests' namespaces)" >&2; exit 2; }

need_apt=()
# The data-plane tests start real PostgreSQL servers (Debian's 15 stands in for the image's 17).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql)
# unshare/nsenter/setpriv give each test pod its own mount namespace and drop root; dash runs the
# sidecar script the way busybox sh would; curl and openssl serve the labeler's fake API server.
command -v unshare >/dev/null || need_apt+=(util-linux)
# tests/harness/isolated.sh brings up the loopback interface of each run's own network namespace.
command -v ip >/dev/null || need_apt+=(iproute2)
command -v dash >/dev/null || need_apt+=(dash)
command -v curl >/dev/null || need_apt+=(curl)
command -v openssl >/dev/null || need_apt+=(openssl)
# The Patroni mode's tests run Patroni at the image's version from PyPI (tools/patroni/install.sh, below), in a
# venv made with Debian's python3 (the pods' uid cannot enter /root, where this machine's own python lives), with
# etcd's v2 API as its store until the harness is a node of the real API server. Debian's own Patroni stays for
# tests/integration/image.test.ts, which holds the Dockerfile's version check to what a Patroni binary prints.
[ -x /usr/bin/patroni ] || need_apt+=(patroni)
/usr/bin/python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v etcd >/dev/null || need_apt+=(etcd-server)
# Backups: the data-plane tests run Debian's pgBackRest against a directory repository and an S3-compatible
# server on loopback (tests/harness/s3.ts, an npm devDependency); tests/integration/image.test.ts also holds
# the image's version check to what that binary prints.
command -v pgbackrest >/dev/null || need_apt+=(pgbackrest)
# The connection pooler's tests and benchmark run Debian's PgBouncer with the rendered configuration.
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need_apt+=(pgbouncer)
# The pod scripts are checked with shellcheck (tests/integration/shell.test.ts).
command -v shellcheck >/dev/null || need_apt+=(shellcheck)
# Applications' clients in the load and client tests: pgjdbc, run as single-file Java sources (which need the
# JDK's compiler), beside psql and node-postgres.
command -v javac >/dev/null || need_apt+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || need_apt+=(libpostgresql-jdbc-java)
# Monitoring: the alert rules run under Prometheus's own promtool (tests/integration/alert-rules.test.ts), and the
# data-plane test runs Debian's postgres_exporter with the rendered queries and a real Prometheus with the rules.
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v prometheus-postgres-exporter >/dev/null || need_apt+=(prometheus-postgres-exporter)
if [ ${#need_apt[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
# Debian's postinst starts its own cluster on 127.0.0.1:5432; the tests use 127.0.0.10 and up, but a
# stopped cluster keeps memory free on a 2-core runner.
if command -v pg_ctlcluster >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
    pg_lsclusters -h | awk '$4 == "online" { print $1, $2 }' | while read -r version name; do
        pg_ctlcluster "$version" "$name" stop || true
    done
fi
# The control-plane tests' real Kubernetes (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), the harness node's streaming server and the upstream CRDs, built once into the tools cache (docs/control-plane.md).
bash tools/controlplane/build.sh
# Patroni at the image's pin (PATRONI_VERSION), from PyPI into the tools cache.
bash tools/patroni/install.sh
# The real Pulumi engine's CLI and Kubernetes provider (tests/pulumi), built once into the tools cache. A cold build
# takes long on 2 cores (docs/testing.md); a warm run returns at once.
bash tools/pulumi/build.sh
