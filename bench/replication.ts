/**
 * Benchmark: what replication costs, measured on real servers started by the component's own scripts
 * (the data-plane harness). Prints a table of medians, spreads and ratios from one run.
 *
 *   npx ts-node --transpile-only bench/replication.ts      (as root; BENCH_SCALE=50 BENCH_RUNS=3 BENCH_SECONDS=15)
 *
 * - replica bootstrap: a new replica cloning a primary of pgbench scale BENCH_SCALE (50 = ~750 MiB) until it
 *   streams, against `cp -a` of the same stopped data directory on the same disk;
 * - replay lag under a pgbench write load with two replicas (pg_stat_replication.replay_lag, sampled);
 * - primary throughput with no replica streaming, with two async replicas, and with synchronous replication
 *   (ANY 1 of the two), runs interleaved.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median, percentile, pgbench, spread } from "./stats";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

const SCALE = Number(process.env.BENCH_SCALE ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

function tps(c: Cluster): number {
    const out = pgbench(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS)]);
    return Number(/tps = ([0-9.]+)/.exec(out)![1]);
}

const superuser = { user: "postgres", database: "postgres" };

async function bootstrap(c: Cluster): Promise<{ clone: number[]; copy: number[]; bytes: number }> {
    const clone: number[] = [];
    const copy: number[] = [];
    for (let run = 0; run < RUNS; run++) {
        // A fresh volume for ordinal 1 each time: the replica must clone from nothing.
        await c.apply({ replicas: 0 });
        fs.rmSync(c.pod(1).dataDir, { recursive: true, force: true });
        fs.mkdirSync(c.pod(1).dataDir);
        const t0 = Date.now();
        await c.apply({ replicas: 1 });
        await c.waitReady(1, 1800000);
        clone.push((Date.now() - t0) / 1000);

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
    return { clone, copy, bytes };
}

async function lag(c: Cluster): Promise<number[]> {
    const samples: number[] = [];
    const done = { value: false };
    const sampler = (async () => {
        while (!done.value) {
            const r = c.psql(0, "SELECT COALESCE(EXTRACT(epoch FROM max(replay_lag)) * 1000, 0) FROM pg_stat_replication", superuser);
            if (r.status === 0) samples.push(Number(r.stdout.trim()));
            await sleep(200);
        }
    })();
    await new Promise<void>((resolve, reject) => {
        const child = require("child_process").spawn(path.join(PG_BIN, "pgbench"), ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS * 2), "-h", c.host(0), "-U", "app", "app"], {
            env: { PGPASSWORD: c.secret("app-password"), PATH: process.env.PATH, ...c.libpqEnv() },
            stdio: "ignore",
        });
        child.on("exit", (code: number) => (code === 0 ? resolve() : reject(new Error(`pgbench exited ${code}`))));
    });
    done.value = true;
    await sampler;
    return samples;
}

async function throughput(c: Cluster): Promise<{ none: number[]; async: number[]; sync: number[] }> {
    const out = { none: [] as number[], async: [] as number[], sync: [] as number[] };
    const setSync = async (value: string) => {
        c.sql(0, `ALTER SYSTEM SET synchronous_standby_names = '${value}'`, superuser);
        c.sql(0, "SELECT pg_reload_conf()", superuser);
        await sleep(500);
    };
    for (let run = 0; run < RUNS; run++) {
        // No replica streaming: both stopped (their slots stay, which costs the primary nothing meanwhile).
        await c.pod(1).stop("SIGINT");
        await c.pod(2).stop("SIGINT");
        out.none.push(tps(c));
        c.start(1);
        c.start(2);
        await c.waitReady(1);
        await c.waitReady(2);
        out.async.push(tps(c));
        await setSync("ANY 1 (db_1, db_2)");
        out.sync.push(tps(c));
        await setSync("");
    }
    return out;
}

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
        const lags = await lag(c);
        const t = await throughput(c);

        console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`);
        console.log(`PostgreSQL: ${spawnSync(path.join(PG_BIN, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim()}; pgbench scale ${SCALE} (${(boot.bytes / 2 ** 20).toFixed(0)} MiB, loaded in ${initSeconds.toFixed(0)} s); ${RUNS} runs; pgbench -N -c 4 for ${SECONDS} s per throughput run\n`);
        console.log("| figure | median (min-max) | ratio |");
        console.log("|---|---|---|");
        console.log(`| replica bootstrap (clone until streaming), s | ${spread(boot.clone)} | ${(median(boot.clone) / median(boot.copy)).toFixed(2)}x cp -a |`);
        console.log(`| cp -a of the stopped data directory, s | ${spread(boot.copy)} | 1 |`);
        console.log(`| replay lag under write load, p50 / p99 / max, ms | ${percentile(lags, 50).toFixed(1)} / ${percentile(lags, 99).toFixed(1)} / ${Math.max(...lags).toFixed(1)} (${lags.length} samples) | |`);
        console.log(`| primary tps, no replica streaming | ${spread(t.none, 0)} | 1 |`);
        console.log(`| primary tps, two async replicas | ${spread(t.async, 0)} | ${(median(t.async) / median(t.none)).toFixed(2)} |`);
        console.log(`| primary tps, synchronous (ANY 1 of 2) | ${spread(t.sync, 0)} | ${(median(t.sync) / median(t.none)).toFixed(2)} |`);
    } finally {
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
