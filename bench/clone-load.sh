#!/bin/bash
# Benchmark: what a replica's clone costs the primary under a write load, by cloneMaxRate.
#
#   npm run bench:clone        (as root, inside tests/harness/isolated.sh; BENCH_SCALE=30 BENCH_RUNS=5
#                               BENCH_RATES="none 100M 50M")
#
# One primary (Debian's PostgreSQL, as the data-plane tests run it) of pgbench scale BENCH_SCALE, under
# `pgbench -N -c 4 -j 2` for 60 s. After 22 s a clone starts: pg_basebackup -X stream -c fast, as the manual
# mode's clone runs it, with --max-rate when the rate is not "none". Each run prints the primary's tps in the
# 15 s before the clone, during it, and in the 15 s after it, and the transactions lost against the "before"
# rate. The rates are interleaved within each of BENCH_RUNS rounds, so that each sees the same machine; the end
# prints each rate's medians (min-max) side by side, and the clone's time against `cp -a` of the same stopped
# data directory on the same disk.
#
# What it cannot show: the clone and the primary share one disk and two cores here, where a real replica writes
# to a disk of its own on another node; and it runs without TLS (the pods' connections use it).
set -euo pipefail
SCALE=${BENCH_SCALE:-30}
RUNS=${BENCH_RUNS:-5}
RATES=${BENCH_RATES:-none 100M 50M}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${BENCH_DIR:-/var/tmp/rdb-bench-clone}

[ "$(id -u)" = 0 ] || { echo "run as root (inside tests/harness/isolated.sh)" >&2; exit 1; }
as_postgres() { runuser -u postgres -- "$@"; }
progress() { printf '[clone] %s\n' "$*" >&2; }

setup() {
    rm -rf "$DIR"
    mkdir -p "$DIR"
    chown postgres "$DIR"
    as_postgres "$PG_BIN/initdb" -D "$DIR/primary" -A trust >/dev/null
    cat >>"$DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = 5432
unix_socket_directories = '$DIR'
max_wal_size = '2GB'
checkpoint_timeout = '5min'
max_wal_senders = 5
CONF
    echo "host replication all 127.0.0.1/32 trust" >>"$DIR/primary/pg_hba.conf"
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" start -w >/dev/null
    progress "pgbench -i -s $SCALE"
    as_postgres "$PG_BIN/pgbench" -h "$DIR" -i -q -s "$SCALE" postgres 2>/dev/null
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# copy_seconds: cp -a of the stopped data directory, synced, on the same disk.
copy_seconds() {
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" stop -m fast >/dev/null
    sync
    local t0 t1
    t0=$(now)
    cp -a "$DIR/primary" "$DIR/copy"
    sync
    t1=$(now)
    rm -rf "$DIR/copy"
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" start -w >/dev/null
    elapsed "$t0" "$t1"
}

# run RATE: one clone under the load; prints "RATE CLONE_S BEFORE DURING AFTER LOST".
run() {
    local rate="$1" extra=() t0 t1 load
    [ "$rate" = none ] || extra=(--max-rate="$rate")
    as_postgres "$PG_BIN/pgbench" -h "$DIR" -N -c 4 -j 2 -T 60 -P 1 postgres >"$DIR/load.out" 2>&1 &
    load=$!
    sleep 22
    rm -rf "$DIR/replica"
    t0=$(now)
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -D "$DIR/replica" -X stream -c fast "${extra[@]}"
    t1=$(now)
    wait "$load"
    rm -rf "$DIR/replica"
    # pgbench -P 1 prints "progress: T s, TPS tps, ...": T counts from the load's start, the clone started near 22 s.
    awk -v rate="$rate" -v d="$(elapsed "$t0" "$t1")" '
        /^progress:/ { t = $2 + 0; tps = $4 + 0
            if (t > 7 && t <= 22) { b += tps; nb++ }
            else if (t > 22 && t <= 22 + d) { c += tps; nc++ }
            else if (t > 22 + d && t <= 37 + d) { a += tps; na++ } }
        END { if (nc == 0) { c = 0; nc = 1 }
            printf "%s %.2f %.0f %.0f %.0f %.0f\n", rate, d, b / nb, c / nc, a / na, (b / nb - c / nc) * d }' "$DIR/load.out"
}

setup
progress "cp -a of the stopped data directory"
COPY=$(copy_seconds)
MIB=$(du -sm "$DIR/primary" | cut -f1)
: >"$DIR/runs"
for ((r = 1; r <= RUNS; r++)); do
    # Rotated each round: no rate always runs first (after the previous run's clone) or last.
    read -r -a order <<<"$RATES"
    for ((i = 0; i < ${#order[@]}; i++)); do
        rate=${order[$(((i + r - 1) % ${#order[@]}))]}
        progress "round $r/$RUNS, rate $rate"
        run "$rate" | tee -a "$DIR/runs" >&2
    done
done
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" stop -m fast >/dev/null

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $("$PG_BIN/postgres" --version); pgbench scale $SCALE ($MIB MiB); $RUNS rounds; pgbench -N -c 4 -j 2"
echo "cp -a of the stopped data directory: $COPY s"
echo
echo "| cloneMaxRate | clone, s (x cp -a) | primary tps before | during the clone (ratio) | 15 s after (ratio) | transactions lost |"
echo "|---|---|---|---|---|---|"
for rate in $RATES; do
    awk -v rate="$rate" -v copy="$COPY" '
        function med(v, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
        function cell(v, n, digits,   lo, hi, i, f) { lo = v[1]; hi = v[1]; for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
            f = "%." digits "f"; return sprintf(f " (" f "-" f ")", med(v, n), lo, hi) }
        $1 == rate { n++; d[n] = $2; b[n] = $3; c[n] = $4; a[n] = $5; l[n] = $6; rc[n] = $4 / $3; ra[n] = $5 / $3 }
        END { printf "| %s | %s (%.1fx) | %s | %s (%.2f) | %s (%.2f) | %s |\n", rate, cell(d, n, 1), med(d, n) / copy, cell(b, n, 0), cell(c, n, 0), med(rc, n), cell(a, n, 0), med(ra, n), cell(l, n, 0) }' "$DIR/runs"
done
rm -rf "$DIR"
