/**
 * Benchmark: what replication costs, measured on real servers started by the component's own scripts
 * (the data-plane harness). Prints a table of medians, spreads, paired ratios and verdicts from one run, its
 * progress on stderr, and its raw figures as JSON (bench/results; compare two runs with bench/compare.ts).
 *
 *   npm run bench:replication      (as root; BENCH_SCALE=50 BENCH_RUNS=5 BENCH_SECONDS=15; BENCH_QUICK=1 for a smoke run)
 *
 * - replica bootstrap: a new replica cloning a primary of pgbench scale BENCH_SCALE (50 = ~750 MiB) until it
 *   streams (the primary's pg_stat_replication shows it `streaming`), and until the kubelet reports it ready
 *   (its readiness probe runs every 10 s, so that figure is rounded up to the probe's period), against `cp -a`
 *   of the same stopped data directory on the same disk;
 * - primary throughput (pgbench -N -c 4) with no replica streaming, with two async replicas, and with synchronous
 *   replication (ANY 1 of the two): the three modes one after the other in every run, so that each ratio is
 *   taken against the baseline of its own run; the replay lag is sampled (one held connection, every 200 ms)
 *   during every mode, so that the sampler's cost is in the baseline too.
 * Every run measures two layouts, in alternating order:
 * - unpinned: the servers, the client and the bench share both cores, as they happen to be scheduled;
 * - pinned: the primary (its postmaster, backends and walsenders: everything replication asks of the primary
 *   itself) and the pgbench client on CPU 0; both replicas, the bench and the harness on CPU 1. The client's work
 *   per transaction is the same in every mode, so what the primary's core loses with replicas is the walsenders'
 *   work and the synchronous waits. The client does not go beside the replicas: it is bound by latency (4
 *   connections, one transaction each in flight), and every wait for its turn on a busy core leaves the primary
 *   idle; a run with the client on CPU 1 beside the replicas (at nice 19) had CPU 0 16 % idle with two async
 *   replicas against 1 % without, and measured that wait, not replication.
 * In both layouts the replicas' volumes are on tmpfs (a disk of their own, as on nodes of their own; the bootstrap
 * runs before, on the primary's disk), so that their WAL writes and flushes do not hold up the primary's commits.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { median, percentile, pgbench, pgbenchAsync, spread, tpsOf } from "./stats";
import { LagSampler } from "./lag";
import { allCpus, pinPod } from "./pin";
import { untilStreaming } from "./streaming";
import { benchSettings, busyShares, cpuTimes, Goal, judge, machineLine, pairedRatios, Progress, Results, verdictCell } from "./report";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 50, runs: 5, seconds: 15 });
const PLACEMENTS = ["unpinned", "pinned"] as const;
type Placement = (typeof PLACEMENTS)[number];
const MODES = ["none", "async", "sync"] as const;
type Mode = (typeof MODES)[number];
/** Where each process runs (taskset's lists). Pinned: the primary and the client on CPU 0, the replicas, the
 * bench and the harness on CPU 1. */
const CPUS: Record<Placement, { primary: string; client: string; replicas: string; bench: string }> = {
    unpinned: { primary: allCpus(), client: allCpus(), replicas: allCpus(), bench: allCpus() },
    pinned: { primary: "0", client: "0", replicas: "1", bench: "1" },
};
const results = new Results("replication", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
// bootstrap: one step per run; throughput: three per run and placement.
const progress = new Progress("replication", RUNS + RUNS * PLACEMENTS.length * MODES.length);

/** The pods and the bench's own process (the harness's node runs in it), in `placement`. */
function place(c: Cluster, placement: Placement): void {
    const p = CPUS[placement];
    for (const i of c.pods.keys()) if (c.pod(i).running) pinPod(c, i, i === 0 ? p.primary : p.replicas);
    spawnSync("taskset", ["-a", "-p", "-c", p.bench, String(process.pid)], { stdio: "ignore" });
}

const superuser = { user: "postgres", database: "postgres" };

async function bootstrap(c: Cluster): Promise<{ streaming: number[]; ready: number[]; copy: number[]; bytes: number }> {
    const streaming: number[] = [];
    const ready: number[] = [];
    const copy: number[] = [];
    for (let run = 0; run < RUNS; run++) {
        progress.step(`bootstrap: run ${run + 1}/${RUNS}, clone and cp -a`);
        // A fresh volume for ordinal 1 each time: the replica must clone from nothing.
        await c.apply({ replicas: 0 });
        fs.rmSync(c.pod(1).dataDir, { recursive: true, force: true });
        fs.mkdirSync(c.pod(1).dataDir);
        const t0 = Date.now();
        await c.apply({ replicas: 1 });
        // Both at once: the primary's view (streaming, polled every 50 ms with async calls) and the kubelet's
        // (the readiness probe, every 10 s), neither holding up the other.
        const [seen] = await Promise.all([
            untilStreaming(c, "db_1", 1800000),
            c.waitReady(1, 1800000).then(() => ready.push((Date.now() - t0) / 1000)),
        ]);
        streaming.push((seen.seenAt - t0) / 1000);

        // The physical limit: the same data directory copied on the same disk, server stopped.
        await c.pod(0).stop("SIGINT");
        const target = path.join(c.base, "copy");
        fs.rmSync(target, { recursive: true, force: true });
        spawnSync("sync");
        const t1 = Date.now();
        const r = spawnSync("cp", ["-a", path.join(c.pod(0).dataDir, "pgdata"), target]);
        spawnSync("sync");
        copy.push((Date.now() - t1) / 1000);
        if (r.status !== 0) throw new Error(`cp failed: ${r.stderr}`);
        fs.rmSync(target, { recursive: true, force: true });
        c.start(0);
        await c.waitReady(0);
    }
    const bytes = Number(c.sql(0, "SELECT sum(pg_database_size(datname)) FROM pg_database", superuser));
    return { streaming, ready, copy, bytes };
}

type Sample = { tps: number; lag: number[]; busy: number[] };
type Throughput = Record<Mode, Sample[]>;

/** One pgbench run on the primary with the lag sampler beside it: its tps, the lag samples, each core's busy share. */
async function measure(c: Cluster, placement: Placement): Promise<Sample> {
    // Every mode starts right after a checkpoint, so that each pays the same full-page writes after one, and
    // none has a checkpoint of its own fall into it by chance (checkpoint_timeout is 5 min).
    c.sql(0, "CHECKPOINT", superuser);
    const sampler = new LagSampler(c).start();
    const before = cpuTimes();
    const out = await pgbenchAsync(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS)], CPUS[placement].client);
    const busy = busyShares(before, cpuTimes());
    return { tps: tpsOf(out), lag: await sampler.stop(), busy };
}

async function throughput(c: Cluster): Promise<Record<Placement, Throughput>> {
    const out = Object.fromEntries(PLACEMENTS.map((p) => [p, { none: [], async: [], sync: [] }])) as unknown as Record<Placement, Throughput>;
    const setSync = async (value: string) => {
        c.sql(0, `ALTER SYSTEM SET synchronous_standby_names = '${value}'`, superuser);
        c.sql(0, "SELECT pg_reload_conf()", superuser);
        await sleep(500);
    };
    for (let run = 0; run < RUNS; run++) {
        // Placements alternate within each run, so that both see the same machine.
        for (const placement of run % 2 ? [...PLACEMENTS].reverse() : PLACEMENTS) {
            const o = out[placement];
            // No replica streaming: both stopped (their slots stay, which costs the primary nothing meanwhile).
            progress.step(`throughput: run ${run + 1}/${RUNS}, ${placement}, no replica`);
            await c.pod(1).stop("SIGINT");
            await c.pod(2).stop("SIGINT");
            place(c, placement);
            o.none.push(await measure(c, placement));
            c.start(1);
            c.start(2);
            await c.waitReady(1);
            await c.waitReady(2);
            place(c, placement);
            // The replicas first replay what they missed while stopped; measured once they have.
            await untilCaughtUp(c);
            progress.step(`throughput: run ${run + 1}/${RUNS}, ${placement}, two async replicas`);
            o.async.push(await measure(c, placement));
            await setSync("ANY 1 (db_1, db_2)");
            progress.step(`throughput: run ${run + 1}/${RUNS}, ${placement}, synchronous ANY 1`);
            o.sync.push(await measure(c, placement));
            await setSync("");
        }
    }
    return out;
}

/** Until both replicas stream and have replayed everything the primary has written. */
async function untilCaughtUp(c: Cluster): Promise<void> {
    const deadline = Date.now() + 300000;
    for (;;) {
        const behind = c.sql(0, "SELECT count(*) FILTER (WHERE state = 'streaming' AND pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) < 65536) FROM pg_stat_replication WHERE application_name <> 'pg_basebackup'", superuser);
        if (Number(behind) >= 2) return;
        if (Date.now() > deadline) throw new Error(`the replicas did not catch up in 5 minutes (${behind} of 2 caught up)`);
        await sleep(200);
    }
}

/** The goals on this machine, for the pinned figures. */
const GOALS = { asyncRatio: { atLeast: true, value: 0.9 }, syncRatio: { atLeast: true, value: 0.65 }, lagP99Ms: { atLeast: false, value: 50 } };

/** The tmpfs mounts of the replicas' volumes, unmounted at the end. */
const mounted: string[] = [];

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root (the harness needs mount namespaces)");
    const c = new Cluster({
        args: {
            replicas: 0,
            resources: { cpuRequest: "500m", memoryRequest: "512Mi", memoryLimit: "1Gi" },
            parameters: { max_wal_size: "2GB", checkpoint_timeout: "5min" },
        },
    });
    try {
        await c.up();
        const t0 = Date.now();
        pgbench(c, ["-i", "-q", "-s", String(SCALE)]);
        const initSeconds = (Date.now() - t0) / 1000;
        const boot = await bootstrap(c);
        // The replicas' volumes on disks of their own for the lag and throughput runs, as on nodes of their own:
        // on the primary's disk their WAL writes and flushes held up its commits (a run with them there: CPU 0 only
        // 84 % busy with two async replicas, 99 % without). tmpfs is the only other disk here; its flushes cost
        // nothing, so the synchronous figure is the best case for the replicas' disk.
        await c.apply({ replicas: 0 });
        for (const i of [1, 2]) {
            const dir = c.pod(i).dataDir;
            fs.rmSync(dir, { recursive: true, force: true });
            fs.mkdirSync(dir);
            const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=8g", `rdb-bench-replica-${i}`, dir], { encoding: "utf8" });
            if (m.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${m.stderr}`);
            mounted.push(dir);
        }
        await c.apply({ replicas: 2 });
        await c.waitReady(1, 1800000);
        await c.waitReady(2, 1800000);
        const t = await throughput(c);
        place(c, "unpinned");

        results.add("bootstrap.streaming", "s", boot.streaming);
        results.add("bootstrap.ready", "s", boot.ready);
        results.add("bootstrap.copy", "s", boot.copy);
        const p99s = (p: Placement) => t[p].async.map((x) => percentile(x.lag, 99));
        const ratios = (p: Placement, mode: "async" | "sync") => pairedRatios(t[p][mode].map((x) => x.tps), t[p].none.map((x) => x.tps));
        for (const p of PLACEMENTS) {
            results.add(`lag.${p}`, "ms", t[p].async.flatMap((x) => x.lag));
            results.add(`lagP99.${p}`, "ms", p99s(p));
            for (const mode of MODES) results.add(`tps.${p}.${mode}`, "tps", t[p][mode].map((x) => x.tps));
            results.add(`ratio.${p}.async`, "", ratios(p, "async"));
            results.add(`ratio.${p}.sync`, "", ratios(p, "sync"));
        }
        const json = results.write();

        console.log(machineLine());
        console.log(`PostgreSQL: ${spawnSync(path.join(PG_BIN, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim()}; pgbench scale ${SCALE} (${(boot.bytes / 2 ** 20).toFixed(0)} MiB, loaded in ${initSeconds.toFixed(0)} s); ${RUNS} runs; pgbench -N -c 4 -j 2 for ${SECONDS} s per throughput run, after a CHECKPOINT${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
        console.log("| figure | median (min-max) | ratio |");
        console.log("|---|---|---|");
        console.log(`| replica bootstrap: clone until the primary sees it streaming (polled every 50 ms), s | ${spread(boot.streaming)} | ${(median(boot.streaming) / median(boot.copy)).toFixed(2)}x cp -a |`);
        console.log(`| replica bootstrap: clone until the kubelet reports it ready (readiness probe every 10 s), s | ${spread(boot.ready)} | ${(median(boot.ready) / median(boot.copy)).toFixed(2)}x cp -a |`);
        console.log(`| cp -a of the stopped data directory, s | ${spread(boot.copy)} | 1 |`);
        console.log("");
        console.log("Both replicas' volumes on tmpfs. Pinned: the primary and the pgbench client on CPU 0; both replicas, the bench and the harness on CPU 1. Ratios are each run's against the no-replica run just before it: median (min-max) of the runs.\n");
        console.log(`| figure | unpinned: median (min-max) | ratio | pinned | ratio | CPU 0 / CPU 1 busy, pinned | goal (pinned): verdict |`);
        console.log("|---|---|---|---|---|---|---|");
        const busy = (p: Placement, mode: Mode) => [0, 1].map((cpu) => `${(median(t[p][mode].map((x) => x.busy[cpu] ?? 0)) * 100).toFixed(0)} %`).join(" / ");
        const tpsCell = (p: Placement, mode: Mode) => spread(t[p][mode].map((x) => x.tps), 0);
        const j = (xs: number[], goal: Goal) => verdictCell(judge(xs, goal));
        const lagCell = (p: Placement) => `${spread(p99s(p))} (p50 of all ${percentile(t[p].async.flatMap((x) => x.lag), 50).toFixed(1)}, ${t[p].async.reduce((n, x) => n + x.lag.length, 0)} samples)`;
        console.log(`| replay lag p99 under the write load, two async replicas, ms: median (min-max) of the runs' p99 | ${lagCell("unpinned")} | | ${lagCell("pinned")} | | ${busy("pinned", "async")} | <= ${GOALS.lagP99Ms.value}: ${j(p99s("pinned"), GOALS.lagP99Ms)} |`);
        console.log(`| primary tps, no replica streaming | ${tpsCell("unpinned", "none")} | 1 | ${tpsCell("pinned", "none")} | 1 | ${busy("pinned", "none")} | |`);
        console.log(`| primary tps, two async replicas | ${tpsCell("unpinned", "async")} | ${spread(ratios("unpinned", "async"), 2)} | ${tpsCell("pinned", "async")} | ${spread(ratios("pinned", "async"), 2)} | ${busy("pinned", "async")} | >= ${GOALS.asyncRatio.value}: ${j(ratios("pinned", "async"), GOALS.asyncRatio)} |`);
        console.log(`| primary tps, synchronous (ANY 1 of 2) | ${tpsCell("unpinned", "sync")} | ${spread(ratios("unpinned", "sync"), 2)} | ${tpsCell("pinned", "sync")} | ${spread(ratios("pinned", "sync"), 2)} | ${busy("pinned", "sync")} | >= ${GOALS.syncRatio.value}: ${j(ratios("pinned", "sync"), GOALS.syncRatio)} |`);
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } finally {
        // The replicas stopped first, so that nothing holds their tmpfs volumes, which go before the cluster's
        // directory does.
        if (mounted.length) await c.apply({ replicas: 0 }).catch(() => undefined);
        for (const dir of mounted) spawnSync("umount", ["--lazy", dir]);
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
