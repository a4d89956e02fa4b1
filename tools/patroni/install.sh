#!/usr/bin/env bash
# Installs Patroni at the image's version (PATRONI_VERSION, tools/versions.env) for the data-plane tests:
# a virtual environment at ${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}/patroni-<version>/venv, as
# images/postgres/Dockerfile makes one at /opt/patroni, with the image's extras (kubernetes, psycopg3) and
# the one the tests' store needs: `etcd`, python-etcd, the client of Patroni's etcd v2 store, which the
# harness uses in place of the Kubernetes API (tests/harness/etcd.ts says why v2). `bin/` beside the
# venv holds only the patroni and patronictl links, as the image's /usr/local/bin does, so that the
# harness can put Patroni on a pod's PATH without the venv's python3 shadowing the system one.
# Reused when present: a run that finds `patroni --version` printing the pinned version does nothing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../versions.env
. "$root/tools/versions.env"

dir="${RDB_TOOLS_DIR:-$HOME/.cache/replicated-db-tools}/patroni-$PATRONI_VERSION"
want="patroni $PATRONI_VERSION"
# `.complete` is written last: a directory without it is an interrupted install, made again from nothing.
if [ -f "$dir/.complete" ] && [ "$("$dir/bin/patroni" --version 2>/dev/null)" = "$want" ]; then
    echo "Patroni $PATRONI_VERSION: present in $dir"
    exit 0
fi

start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/bin"
# The venv is made in place: its scripts name their interpreter by absolute path.
/usr/bin/python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-cache-dir \
    "patroni[kubernetes,psycopg3,etcd]==$PATRONI_VERSION"
for tool in patroni patronictl; do
    # shellcheck disable=SC2016 # expanded when the wrapper runs, not here
    printf '#!/bin/sh\nvenv="$(dirname "$0")/../venv"\nexec "$venv/bin/python3" "$venv/bin/%s" "$@"\n' "$tool" >"$dir/bin/$tool"
    chmod 755 "$dir/bin/$tool"
done
got=$("$dir/bin/patroni" --version)
[ "$got" = "$want" ] || { echo "$0: installed '$got', expected '$want'" >&2; exit 1; }
# The store's client and the PostgreSQL driver, for the venv's interpreter, which is the one Patroni runs on.
"$dir/venv/bin/python3" -c 'import etcd, psycopg' || { echo "$0: the venv lacks python-etcd or psycopg" >&2; exit 1; }
touch "$dir/.complete"
echo "Patroni $PATRONI_VERSION: installed in $dir in $(($(date +%s) - start)) s"
