/**
 * Benchmark: what replication costs, measured on real servers started by the component's own scripts
 * (the data-plane harness). Prints a table of medians, spreads and ratios from one run, its progress on
 * stderr, and its raw figures as JSON (bench/results; compare two runs with bench/compare.ts).
 *
 *   npm run bench:replication      (as root; BENCH_SCALE=50 BENCH_RUNS=3 BENCH_SECONDS=15; BENCH_QUICK=1 for a smoke run)
 *
 * - replica bootstrap: a new replica cloning a primary of pgbench scale BENCH_SCALE (50 = ~750 MiB) until it
 *   streams (the primary's pg_stat_replication shows it `streaming`), and until the kubelet reports it ready
 *   (its readiness probe runs every 10 s, so that figure is rounded up to the probe's period), against `cp -a`
 *   of the same stopped data directory on the same disk;
 * - replay lag under a pgbench write load with two replicas (pg_stat_replication.replay_lag, sampled);
 * - primary throughput with no replica streaming, with two async replicas, and with synchronous replication
 *   (ANY 1 of the two), runs interleaved.
 * The lag and the throughput are measured twice: unpinned (every server and the client share every core) and
 * pinned (the primary and the client on CPU 0, both replicas on CPU 1), so that the replicas' own work does not
 * show up as the primary's loss; the pinned ratios are what replication costs the primary.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { median, percentile, pgbench, pgbenchAsync, spread, tpsOf } from "./stats";
import { allCpus, pinPod } from "./pin";
import { untilStreaming } from "./streaming";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 50, runs: 3, seconds: 15 });
const PLACEMENTS = ["unpinned", "pinned"] as const;
type Placement = (typeof PLACEMENTS)[number];
/** Where the client and each pod run: the primary's CPU is the client's. */
const CPUS: Record<Placement, { primary: string; replicas: string }> = {
    unpinned: { primary: allCpus(), replicas: allCpus() },
    pinned: { primary: "0", replicas: "1" },
};
const results = new Results("replication", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
// bootstrap: one step per run; lag: one per placement; throughput: three per run and placement.
const progress = new Progress("replication", RUNS + PLACEMENTS.length + RUNS * PLACEMENTS.length * 3);

function place(c: Cluster, placement: Placement): void {
    for (const i of c.pods.keys()) if (c.pod(i).running) pinPod(c, i, i === 0 ? CPUS[placement].primary : CPUS[placement].replicas);
}

function tps(c: Cluster, placement: Placement): number {
    return tpsOf(pgbench(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS)], CPUS[placement].primary));
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

async function lag(c: Cluster, placement: Placement): Promise<number[]> {
    progress.step(`replay lag under load, ${placement}`);
    place(c, placement);
    const samples: number[] = [];
    const done = { value: false };
    const sampler = (async () => {
        while (!done.value) {
            const r = c.psql(0, "SELECT COALESCE(EXTRACT(epoch FROM max(replay_lag)) * 1000, 0) FROM pg_stat_replication", superuser);
            if (r.status === 0) samples.push(Number(r.stdout.trim()));
            await sleep(200);
        }
    })();
    await pgbenchAsync(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS * 2)], CPUS[placement].primary);
    done.value = true;
    await sampler;
    return samples;
}

type Throughput = { none: number[]; async: number[]; sync: number[] };

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
            o.none.push(tps(c, placement));
            c.start(1);
            c.start(2);
            await c.waitReady(1);
            await c.waitReady(2);
            place(c, placement);
            progress.step(`throughput: run ${run + 1}/${RUNS}, ${placement}, two async replicas`);
            o.async.push(tps(c, placement));
            await setSync("ANY 1 (db_1, db_2)");
            progress.step(`throughput: run ${run + 1}/${RUNS}, ${placement}, synchronous ANY 1`);
            o.sync.push(tps(c, placement));
            await setSync("");
        }
    }
    return out;
}

/** The goals on this machine, for the pinned figures. */
const GOALS = { asyncRatio: 0.9, syncRatio: 0.65, lagP99Ms: 50 };
const verdict = (met: boolean) => (met ? "met" : "not met");

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
        await c.apply({ replicas: 2 });
        await c.waitReady(1, 1800000);
        await c.waitReady(2, 1800000);
        const lags = { unpinned: await lag(c, "unpinned"), pinned: await lag(c, "pinned") };
        const t = await throughput(c);
        place(c, "unpinned");

        results.add("bootstrap.streaming", "s", boot.streaming);
        results.add("bootstrap.ready", "s", boot.ready);
        results.add("bootstrap.copy", "s", boot.copy);
        for (const p of PLACEMENTS) {
            results.add(`lag.${p}`, "ms", lags[p]);
            for (const mode of ["none", "async", "sync"] as const) results.add(`tps.${p}.${mode}`, "tps", t[p][mode]);
        }
        const json = results.write();

        console.log(machineLine());
        console.log(`PostgreSQL: ${spawnSync(path.join(PG_BIN, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim()}; pgbench scale ${SCALE} (${(boot.bytes / 2 ** 20).toFixed(0)} MiB, loaded in ${initSeconds.toFixed(0)} s); ${RUNS} runs; pgbench -N -c 4 for ${SECONDS} s per throughput run${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
        console.log("| figure | median (min-max) | ratio |");
        console.log("|---|---|---|");
        console.log(`| replica bootstrap: clone until the primary sees it streaming (polled every 50 ms), s | ${spread(boot.streaming)} | ${(median(boot.streaming) / median(boot.copy)).toFixed(2)}x cp -a |`);
        console.log(`| replica bootstrap: clone until the kubelet reports it ready (readiness probe every 10 s), s | ${spread(boot.ready)} | ${(median(boot.ready) / median(boot.copy)).toFixed(2)}x cp -a |`);
        console.log(`| cp -a of the stopped data directory, s | ${spread(boot.copy)} | 1 |`);
        console.log("");
        console.log(`| figure | unpinned: median (min-max) | ratio | pinned (primary and client on CPU 0, replicas on CPU 1) | ratio | goal (pinned) |`);
        console.log("|---|---|---|---|---|---|");
        const lagCell = (xs: number[]) => `${percentile(xs, 50).toFixed(1)} / ${percentile(xs, 99).toFixed(1)} / ${Math.max(...xs).toFixed(1)} (${xs.length} samples)`;
        console.log(`| replay lag under write load, two replicas, p50 / p99 / max, ms | ${lagCell(lags.unpinned)} | | ${lagCell(lags.pinned)} | | p99 <= ${GOALS.lagP99Ms}: ${verdict(percentile(lags.pinned, 99) <= GOALS.lagP99Ms)} |`);
        const ratio = (p: Placement, mode: "async" | "sync") => median(t[p][mode]) / median(t[p].none);
        console.log(`| primary tps, no replica streaming | ${spread(t.unpinned.none, 0)} | 1 | ${spread(t.pinned.none, 0)} | 1 | |`);
        console.log(`| primary tps, two async replicas | ${spread(t.unpinned.async, 0)} | ${ratio("unpinned", "async").toFixed(2)} | ${spread(t.pinned.async, 0)} | ${ratio("pinned", "async").toFixed(2)} | >= ${GOALS.asyncRatio}: ${verdict(ratio("pinned", "async") >= GOALS.asyncRatio)} |`);
        console.log(`| primary tps, synchronous (ANY 1 of 2) | ${spread(t.unpinned.sync, 0)} | ${ratio("unpinned", "sync").toFixed(2)} | ${spread(t.pinned.sync, 0)} | ${ratio("pinned", "sync").toFixed(2)} | >= ${GOALS.syncRatio}: ${verdict(ratio("pinned", "sync") >= GOALS.syncRatio)} |`);
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } finally {
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
