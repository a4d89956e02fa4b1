#!/bin/bash
# Benchmark: what a new replica's copy costs the primary under a write load, by where the copy comes from.
#
#   npm run bench:clone        (as root, inside tests/harness/isolated.sh; BENCH_SCALE=30 BENCH_RUNS=5
#                               BENCH_SOURCES="replica primary repository" (also primary:RATE)
#                               BENCH_LAYOUTS="shared pinned")
#
# One primary (Debian's PostgreSQL, as the data-plane tests run it) of pgbench scale BENCH_SCALE, archiving to a
# pgBackRest repository on the same disk, under `pgbench -N -c 4 -j 2` for 60 s. After 22 s a replica joins, from:
# - primary: pg_basebackup -X stream -c fast, as the manual mode's clone runs it (cloneMaxRate off);
# - primary:RATE: the same with --max-rate=RATE (cloneMaxRate);
# - repository: pgbackrest restore --type=standby of the latest backup, as restore-standby.sh runs it
#   (backup.replicasFromRepository), then the archive from the backup on (restore_command), then streaming;
# - replica: pg_basebackup -X stream -c fast of a replica that has streamed from the primary (through its slot)
#   since before the load, as clone-peer.sh runs it (cloneFromReplicas), with a CHECKPOINT on the primary first
#   when clone-peer.sh's own rule (decide_clone_checkpoint, sourced from the pod scripts) asks for one: more than
#   64 MiB of WAL since that replica's last restartpoint. That replica runs in every round of every source when
#   this source is asked for, beside the copy (CPU 1 pinned);
# - replica-restartpoint: the same without the checkpoint, as Patroni's clonefrom copies a member: the copy starts at
#   the replica's last restartpoint, here the round's CHECKPOINT before the load (LEAD seconds of WAL to replay; on
#   a cluster, up to checkpoint_timeout's).
# Every new replica streams through its own slot, made before the join as the primary's supervisor makes it.
# Each copy is then started as a standby, and the join ends when the primary sees it streaming. A full backup is
# taken before each round's load, outside every measured window (the WAL a repository replica replays is then
# the round's: an older backup means more of it, read from the repository, not from the primary).
#
# Two layouts, alternating within each round:
# - shared: every process on both cores, as they happen to be scheduled (what the issue measured);
# - pinned: the primary (postmaster, backends, walsenders, archiver) and the client on CPU 0; the copy and the new
#   replica on CPU 1, the new replica's data directory on a tmpfs standing in for its own disk (as bench/replication.ts
#   puts its replicas'). The client's work is the same in every run, so what CPU 0 loses during the join is what the
#   join asks of the primary itself (the checkpoint, reading and sending its files, the walsender), not the copy's
#   own CPU and writes, which on a real cluster are another node's. The client stays with the primary: it is bound
#   by latency, and beside the copy its waits for a turn would idle the primary (bench/replication.ts measured
#   that). In the shared layout the new replica writes to the primary's disk.
# The standing replica (source "replica") is on the tmpfs in both layouts: it is made once, before the rounds.
#
# Each run prints, for a replica's copy, the WAL since the copied replica's last restartpoint and whether the primary
# was asked for a checkpoint. Each run prints the primary's tps in the 15 s (WINDOW) before the join, during it, and in the 15 s after, the
# transactions lost against the "before" rate, and each core's busy share during the join. The end prints each
# source's medians (min-max) per layout side by side, with the join against `cp -a` of the same stopped data
# directory on the same disk, and the issue's goals (at least 85 % of the throughput kept, at most about 2x cp -a)
# judged against the runs' spread.
#
# What it cannot show: a network between the nodes (over loopback, the receiving side's kernel work runs on the
# sender's core); the repository is on the primary's disk (on a cluster, S3 or a network volume); and it runs
# without TLS (the pods' connections use it).
set -euo pipefail
# BENCH_QUICK=1: a smoke run (scale 1, one round, short windows) that shows the bench works, not how fast.
if [ "${BENCH_QUICK:-}" = 1 ]; then
    defaults=(1 1 20 6 4)
else
    defaults=(30 5 60 22 15)
fi
SCALE=${BENCH_SCALE:-${defaults[0]}}
RUNS=${BENCH_RUNS:-${defaults[1]}}
LOAD_SECONDS=${BENCH_LOAD_SECONDS:-${defaults[2]}}
# The join starts LEAD seconds into the load; "before" and "after" are WINDOW seconds each.
LEAD=${defaults[3]}
WINDOW=${defaults[4]}
SOURCES=${BENCH_SOURCES:-replica primary repository}
LAYOUTS=${BENCH_LAYOUTS:-shared pinned}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${BENCH_DIR:-/var/tmp/rdb-bench-clone}
STANZA=bench
OWN=$DIR/own
REPLICA=$DIR/replica

[ "$(id -u)" = 0 ] || { echo "run as root (inside tests/harness/isolated.sh)" >&2; exit 1; }
as_postgres() { runuser -u postgres -- "$@"; }
progress() { printf '[clone] %s\n' "$*" >&2; }
pgbr() { as_postgres pgbackrest --config="$DIR/pgbackrest.conf" --stanza="$STANZA" "$@"; }
# The pods' own rule for the checkpoint before a replica's copy (and the LSN arithmetic it uses).
SCRIPTS=$(cd "$(dirname "$0")/../components/engines/postgres/topologies/manual/scripts" && pwd)
# shellcheck source=../components/engines/postgres/topologies/manual/scripts/decide.sh
. "$SCRIPTS/decide.sh"
# shellcheck source=../components/engines/postgres/topologies/manual/scripts/clone-peer.sh
. "$SCRIPTS/clone-peer.sh"

setup() {
    rm -rf "$DIR"
    mkdir -p "$DIR/repo" "$DIR/spool" "$DIR/lock" "$OWN"
    # The replicas' own disks: private to this run's mount namespace (tests/harness/isolated.sh).
    mount -t tmpfs -o size=8g rdb-bench-own "$OWN"
    chown -R postgres "$DIR"
    cat >"$DIR/pgbackrest.conf" <<CONF
[global]
repo1-path=$DIR/repo
repo1-retention-full=2
compress-type=zst
start-fast=y
process-max=2
log-level-console=warn
log-level-file=off
lock-path=$DIR/lock
spool-path=$DIR/spool

[$STANZA]
pg1-path=$DIR/primary
pg1-socket-path=$DIR
pg1-port=5432
CONF
    as_postgres "$PG_BIN/initdb" -D "$DIR/primary" -A trust >/dev/null
    cat >>"$DIR/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = 5432
unix_socket_directories = '$DIR'
max_wal_size = '2GB'
checkpoint_timeout = '5min'
max_wal_senders = 5
archive_mode = on
archive_command = 'pgbackrest --config=$DIR/pgbackrest.conf --stanza=$STANZA archive-push %p'
archive_timeout = 10
CONF
    echo "host replication all 127.0.0.1/32 trust" >>"$DIR/primary/pg_hba.conf"
    start_primary
    pgbr stanza-create
    progress "pgbench -i -s $SCALE"
    as_postgres "$PG_BIN/pgbench" -h "$DIR" -i -q -s "$SCALE" postgres 2>/dev/null
    case " $SOURCES " in *" replica "* | *" replica-restartpoint "*) start_standing ;; esac
}

# start_standing: a replica streaming from the primary before any load, which the "replica" source clones.
start_standing() {
    progress "a standing replica to clone from"
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -D "$OWN/standing" -X stream -c fast -C -S standing
    touch "$OWN/standing/standby.signal"
    mkdir -p "$DIR/ss" && chown postgres "$DIR/ss"
    as_postgres "$PG_BIN/pg_ctl" -D "$OWN/standing" -l "$DIR/standing.log" -o \
        "-c port=5434 -c unix_socket_directories=$DIR/ss -c listen_addresses=127.0.0.1 -c archive_mode=off \
         -c primary_conninfo='host=127.0.0.1 port=5432 application_name=standing' -c primary_slot_name=standing" start -w >/dev/null
}

start_primary() {
    as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" start -w >/dev/null
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# cpus LAYOUT WHO: taskset's list for the primary and the client ("primary"), or for the copy and the new replica.
cpus() {
    case "$1:$2" in
    pinned:primary) echo 0 ;;
    pinned:*) echo 1 ;;
    *) echo "0-$(($(nproc) - 1))" ;;
    esac
}

# pin_server LAYOUT WHO DATA: the postmaster of DATA and every process it has forked (later ones inherit its mask).
pin_server() {
    local list pm pid
    list=$(cpus "$1" "$2")
    pm=$(head -n 1 "$3/postmaster.pid")
    for pid in "$pm" $(pgrep -P "$pm"); do
        taskset -a -p -c "$list" "$pid" >/dev/null 2>&1 || true
    done
}

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
    start_primary
    elapsed "$t0" "$t1"
}

# cpu_jiffies: "busy0 total0 busy1 total1 ..." from /proc/stat.
cpu_jiffies() {
    awk '/^cpu[0-9]/ { busy = $2 + $3 + $4 + $7 + $8 + $9; printf "%d %d ", busy, busy + $5 + $6 }' /proc/stat
}

# busy_shares BEFORE AFTER: "0.98/0.41" (each core's busy share between the two readings).
busy_shares() {
    awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " "); s = ""
        for (i = 1; i < n; i += 2) { t = y[i + 1] - x[i + 1]; s = s (s == "" ? "" : "/") sprintf("%.2f", t > 0 ? (y[i] - x[i]) / t : 0) }
        print s }'
}

# replica_dir LAYOUT: where the new replica's data directory goes: pinned, on the tmpfs that stands in for the
# replica's own disk; shared, on the primary's disk.
replica_dir() {
    case "$1" in
    pinned) echo "$OWN/replica" ;;
    *) echo "$DIR/replica" ;;
    esac
}

# copy SOURCE LAYOUT: makes $REPLICA a standby's data directory from SOURCE.
copy() {
    local source="$1" extra=() prefix
    prefix=(taskset -c "$(cpus "$2" joiner)")
    case "$source" in
    repository)
        mkdir -m 0700 "$REPLICA" && chown postgres "$REPLICA"
        "${prefix[@]}" runuser -u postgres -- pgbackrest --config="$DIR/pgbackrest.conf" --stanza="$STANZA" \
            --pg1-path="$REPLICA" --type=standby restore
        ;;
    primary*)
        [ "$source" = primary ] || extra=(--max-rate="${source#primary:}")
        "${prefix[@]}" runuser -u postgres -- "$PG_BIN/pg_basebackup" -h 127.0.0.1 -D "$REPLICA" -X stream -S replica -c fast "${extra[@]}"
        touch "$REPLICA/standby.signal"
        ;;
    replica | replica-restartpoint)
        # replica, as clone-peer.sh: a restartpoint on the standing replica and where it is, then a checkpoint on
        # the primary when decide_clone_checkpoint asks for one (the copy's restartpoint is then that checkpoint),
        # then the copy, its WAL through a temporary slot there. replica-restartpoint, as Patroni's clonefrom: no
        # checkpoint asked of the primary; the copy starts at the replica's last restartpoint (here the round's
        # CHECKPOINT, LEAD seconds of load before the join).
        local lsn redo decided=none
        lsn=$(as_postgres "$PG_BIN/psql" -h "$DIR" -X -A -t -c "SELECT pg_current_wal_lsn()" postgres)
        redo=$(as_postgres "$PG_BIN/psql" -h "$DIR/ss" -p 5434 -X -A -t -q -c CHECKPOINT -c "SELECT redo_lsn FROM pg_control_checkpoint()" postgres)
        [ "$source" != replica ] || decided=$(decide_clone_checkpoint primary_lsn="$lsn" restartpoint="$redo")
        echo "$(((($(lsn_bytes "$lsn") - $(lsn_bytes "$redo")) + 524288) / 1048576)) $decided" >"$DIR/decided"
        [ "$decided" != checkpoint ] || as_postgres "$PG_BIN/psql" -h "$DIR" -X -q -c CHECKPOINT postgres
        "${prefix[@]}" runuser -u postgres -- "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p 5434 -D "$REPLICA" -X stream -c fast
        touch "$REPLICA/standby.signal"
        ;;
    esac
}

# join SOURCE LAYOUT: the copy, then the standby started until the primary sees it streaming.
join() {
    local prefix
    prefix=(taskset -c "$(cpus "$2" joiner)")
    copy "$1" "$2"
    mkdir -p "$DIR/rs" && chown postgres "$DIR/rs"
    "${prefix[@]}" runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$REPLICA" -l "$DIR/replica.log" -o \
        "-c port=5433 -c unix_socket_directories=$DIR/rs -c listen_addresses='' -c archive_mode=off \
         -c primary_conninfo='host=127.0.0.1 port=5432 application_name=replica' -c primary_slot_name=replica \
         -c restore_command='pgbackrest --config=$DIR/pgbackrest.conf --stanza=$STANZA --pg1-path=$REPLICA archive-get %f \"%p\"'" start >/dev/null
    # Asked every 0.25 s over the primary's Unix socket: each question is a new backend on the primary (about 1 %
    # of a core at this rate), in every run alike; the join's end is known to within that.
    until [ "$(as_postgres "$PG_BIN/psql" -h "$DIR" -X -A -t -c "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'replica' AND state = 'streaming'" postgres)" = 1 ]; do
        sleep 0.25
    done
}

# run SOURCE LAYOUT: one join under the load; prints "SOURCE LAYOUT JOIN_S BEFORE DURING AFTER LOST BUSY WAL_MIB
# CHECKPOINT" (the last two "-" but for a replica's copy).
run() {
    local source="$1" layout="$2" t0 t1 load before after
    REPLICA=$(replica_dir "$layout")
    rm -rf "$REPLICA"
    echo "- -" >"$DIR/decided"
    pgbr backup --type=full >/dev/null
    as_postgres "$PG_BIN/psql" -h "$DIR" -X -q -c CHECKPOINT postgres
    # The new replica's slot, made before the join as the primary's supervisor makes it (reserving WAL from now).
    as_postgres "$PG_BIN/psql" -h "$DIR" -X -q -c "SELECT pg_create_physical_replication_slot('replica', true)" postgres >/dev/null
    pin_server "$layout" primary "$DIR/primary"
    [ ! -d "$OWN/standing" ] || pin_server "$layout" joiner "$OWN/standing"
    taskset -c "$(cpus "$layout" primary)" runuser -u postgres -- "$PG_BIN/pgbench" -h "$DIR" -N -c 4 -j 2 -T "$LOAD_SECONDS" -P 1 postgres >"$DIR/load.out" 2>&1 &
    load=$!
    sleep "$LEAD"
    before=$(cpu_jiffies)
    t0=$(now)
    join "$source" "$layout"
    t1=$(now)
    after=$(cpu_jiffies)
    wait "$load"
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA" stop -m immediate >/dev/null
    until as_postgres "$PG_BIN/psql" -h "$DIR" -X -q -c "SELECT pg_drop_replication_slot('replica')" postgres >/dev/null 2>&1; do sleep 0.2; done
    rm -rf "$REPLICA"
    # pgbench -P 1 prints "progress: T s, TPS tps, ...": T counts from the load's start, the join started near LEAD s.
    # "During" is every second the join touched (at least one: a join shorter than a second is in the second it ran in).
    awk -v source="$source" -v layout="$layout" -v d="$(elapsed "$t0" "$t1")" -v busy="$(busy_shares "$before" "$after")" -v lead="$LEAD" -v w="$WINDOW" -v decided="$(cat "$DIR/decided")" '
        BEGIN { dd = int(d) + (d > int(d) ? 1 : 0); if (dd < 1) dd = 1 }
        /^progress:/ { t = $2 + 0; tps = $4 + 0
            if (t > lead - w && t <= lead) { b += tps; nb++ }
            else if (t > lead && t <= lead + dd) { c += tps; nc++ }
            else if (t > lead + dd && t <= lead + w + dd) { a += tps; na++ } }
        END { if (nb == 0) { b = 0; nb = 1 } if (nc == 0) { c = 0; nc = 1 } if (na == 0) { a = 0; na = 1 }
            printf "%s %s %.2f %.0f %.0f %.0f %.0f %s %s\n", source, layout, d, b / nb, c / nc, a / na, (b / nb - c / nc) * d, busy, decided }' "$DIR/load.out"
}

setup
progress "cp -a of the stopped data directory"
COPY=$(copy_seconds)
MIB=$(du -sm "$DIR/primary" | cut -f1)
: >"$DIR/runs"
read -r -a sources <<<"$SOURCES"
read -r -a layouts <<<"$LAYOUTS"
for ((r = 1; r <= RUNS; r++)); do
    # Rotated each round: no source always runs first (after the previous run's join) or last; layouts alternate.
    for ((i = 0; i < ${#sources[@]}; i++)); do
        source=${sources[$(((i + r - 1) % ${#sources[@]}))]}
        for ((k = 0; k < ${#layouts[@]}; k++)); do
            layout=${layouts[$(((k + r + i) % ${#layouts[@]}))]}
            progress "round $r/$RUNS, $source, $layout"
            run "$source" "$layout" | tee -a "$DIR/runs" >&2
        done
    done
done
[ ! -d "$OWN/standing" ] || as_postgres "$PG_BIN/pg_ctl" -D "$OWN/standing" stop -m fast >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$DIR/primary" stop -m fast >/dev/null

[ "${BENCH_QUICK:-}" != 1 ] || echo "QUICK run (a smoke test, not a measurement)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); $("$PG_BIN/postgres" --version); $(pgbackrest version); pgbench scale $SCALE ($MIB MiB); $RUNS rounds; pgbench -N -c 4 -j 2"
echo "cp -a of the stopped data directory: $COPY s"
echo
echo "| source | layout | join until streaming, s (x cp -a) | primary tps before | during the join (kept) | $WINDOW s after (kept) | transactions lost | CPU 0 / CPU 1 busy during the join | WAL since the copied replica's restartpoint, MiB (checkpoints asked) | goals: kept >= 0.85; join <= 2x cp -a |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for source in $SOURCES; do
    for layout in $LAYOUTS; do
        awk -v source="$source" -v layout="$layout" -v copy="$COPY" '
            function med(v, n,   i, j, t, w) { for (i = 1; i <= n; i++) w[i] = v[i]
                for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (w[j] < w[i]) { t = w[i]; w[i] = w[j]; w[j] = t }
                return n % 2 ? w[(n + 1) / 2] : (w[n / 2] + w[n / 2 + 1]) / 2 }
            function lo(v, n,   i, m) { m = v[1]; for (i = 2; i <= n; i++) if (v[i] < m) m = v[i]; return m }
            function hi(v, n,   i, m) { m = v[1]; for (i = 2; i <= n; i++) if (v[i] > m) m = v[i]; return m }
            function cell(v, n, digits,   f) { f = "%." digits "f"; return sprintf(f " (" f "-" f ")", med(v, n), lo(v, n), hi(v, n)) }
            # A goal judged as bench/report.ts judge(): undecided when the spread is wider than the margin.
            function verdict(v, n, goal, atleast,   m, margin) { m = med(v, n); margin = atleast ? m - goal : goal - m
                if (hi(v, n) - lo(v, n) > (margin < 0 ? -margin : margin)) return sprintf("undecided (margin %.2f, spread %.2f)", margin, hi(v, n) - lo(v, n))
                return sprintf("%s (margin %.2f, spread %.2f)", margin >= 0 ? "met" : "not met", margin, hi(v, n) - lo(v, n)) }
            $1 == source && $2 == layout { n++; d[n] = $3; b[n] = $4; c[n] = $5; a[n] = $6; l[n] = $7; rc[n] = $5 / $4; ra[n] = $6 / $4; x[n] = $3 / copy
                split($8, u, "/"); u0[n] = u[1]; u1[n] = u[2]; if ($9 != "-") { nw++; wal[nw] = $9 } if ($10 == "checkpoint") asked++ }
            END { if (n == 0) exit
                printf "| %s | %s | %s (%.1fx) | %s | %s (%s) | %s (%.2f) | %s | %.0f %% / %.0f %% | %s | %s; %s |\n", source, layout, cell(d, n, 1), med(d, n) / copy, cell(b, n, 0), cell(c, n, 0), cell(rc, n, 2), cell(a, n, 0), med(ra, n), cell(l, n, 0),
                    med(u0, n) * 100, med(u1, n) * 100, nw ? sprintf("%s (%d of %d)", cell(wal, nw, 0), asked, nw) : "-", verdict(rc, n, 0.85, 1), verdict(x, n, 2, 0) }' "$DIR/runs"
    done
done
umount "$OWN"
rm -rf "$DIR"
