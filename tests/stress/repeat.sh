#!/bin/bash
# Runs one data-plane test file N times in a row, each in a fresh private network and PID namespace (tests/harness/isolated.sh) (other runs on
# this machine use the same loopback addresses), optionally beside K CPU-bound burner processes, and keeps
# the logs of the failed runs only (of every run with --keep, to read the figures a passing run prints).
#
#   tests/stress/repeat.sh [-n N] [--busy K] [--logs DIR] [--keep] TEST_FILE
#
# Prints "N passed, M failed"; exits 1 when any run failed, 2 on bad arguments.
set -euo pipefail

usage() {
    echo "usage: $0 [-n RUNS] [--busy BURNERS] [--logs DIR] [--keep] TEST_FILE" >&2
    echo "$1" >&2
    exit 2
}

runs=3
busy=0
logs=/var/tmp/rdb-stress
file=""
keep=false
while [ $# -gt 0 ]; do
    case "$1" in
    -n) runs=${2:-}; shift 2 || usage "-n needs a value" ;;
    --busy) busy=${2:-}; shift 2 || usage "--busy needs a value" ;;
    --logs) logs=${2:-}; shift 2 || usage "--logs needs a value" ;;
    --keep) keep=true; shift ;;
    -*) usage "unknown option $1 (allowed: -n, --busy, --logs, --keep)" ;;
    *) file=$1; shift ;;
    esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || usage "invalid -n: '$runs' (allowed: a whole number of at least 1)"
[[ "$busy" =~ ^[0-9]+$ ]] || usage "invalid --busy: '$busy' (allowed: a whole number of burners, 0 for none)"
if [ -z "$file" ] || [ ! -f "$file" ]; then
    usage "invalid TEST_FILE: '$file' (allowed: an existing test file, e.g. tests/data/switchover-load.test.ts)"
fi
file=$(realpath "$file")
[ "$(id -u)" = 0 ] || usage "run as root: the harness needs mount and network namespaces"

cd "$(dirname "$0")/../.."
mkdir -p "$logs"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=$(basename "$file" .test.ts)

# The burners stand for other workloads on the node; only the ones started here are killed.
burners=()
stop_burners() {
    local pid
    for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
for ((b = 0; b < busy; b++)); do
    sh -c 'while :; do :; done' &
    burners+=("$!")
done

passed=0
failed=0
for ((i = 1; i <= runs; i++)); do
    run="$logs/$name-$stamp-busy$busy-run$i"
    mkdir -p "$run"
    start=$SECONDS
    # RDB_KEEP_DIR: the load tests copy the pods' and clients' logs there before removing the cluster.
    # isolated.sh: a network and PID namespace of the run's own, as npm run test:data uses.
    if RDB_KEEP_DIR="$run" tests/harness/isolated.sh npx mocha -r ts-node/register/transpile-only --extension ts \
        --timeout 900000 --exit --forbid-only "$file" >"$run/mocha.log" 2>&1; then
        passed=$((passed + 1))
        echo "run $i: passed in $((SECONDS - start)) s"
        if [ "$keep" = true ]; then echo "  logs kept in $run"; else rm -rf "$run"; fi
    else
        failed=$((failed + 1))
        echo "run $i: FAILED in $((SECONDS - start)) s; logs kept in $run"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
