/**
 * Benchmark: what TLS costs (issue 14), on real servers started by the component's own scripts (the
 * data-plane harness). Each run is a fresh cluster of a primary and two async replicas, once with TLS off and
 * once with TLS on (the default), interleaved so that both see the same machine; one table of medians and
 * on/off ratios.
 *
 *   npm run bench:tls      (as root; BENCH_SCALE=10 BENCH_RUNS=3 BENCH_SECONDS=15; BENCH_QUICK=1 for a smoke run)
 *
 * - primary tps, pgbench -N -c 4 on kept connections: the cost of encrypting the traffic;
 * - primary tps with a new connection per transaction (pgbench -C): the cost of the handshake, which
 *   applications without a pool pay on every connection;
 * - replay lag under the kept-connection load, sampled from pg_stat_replication every 200 ms: the cost
 *   of encrypting the WAL stream to the replicas.
 * With TLS on, clients connect by name with sslmode=verify-full and the cluster's CA, as the outputs say.
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { median, percentile, pgbench, pgbenchAsync, spread, tpsOf } from "./stats";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { Cluster, sleep } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 10, runs: 3, seconds: 15 });
const results = new Results("tls", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
const progress = new Progress("tls", RUNS * 2);
const superuser = { user: "postgres", database: "postgres" };

interface Sample {
    tps: number;
    tpsNewConnection: number;
    lagMs: number[];
}

/** pgbench -N on kept connections while pod 0's replay lag is sampled; its tps and the samples. */
async function loadWithLag(c: Cluster): Promise<{ tps: number; lagMs: number[] }> {
    const lagMs: number[] = [];
    let done = false;
    const sampler = (async () => {
        while (!done) {
            const r = c.psql(0, "SELECT COALESCE(EXTRACT(epoch FROM max(replay_lag)) * 1000, 0) FROM pg_stat_replication", superuser);
            if (r.status === 0) lagMs.push(Number(r.stdout.trim()));
            await sleep(200);
        }
    })();
    const out = await pgbenchAsync(c, ["-N", "-c", "4", "-j", "2", "-T", String(SECONDS)]);
    done = true;
    await sampler;
    return { tps: tpsOf(out), lagMs };
}

async function measure(tls: boolean): Promise<Sample> {
    const c = new Cluster({
        args: {
            replicas: 2,
            tls: { enabled: tls },
            resources: { cpuRequest: "500m", memoryRequest: "512Mi", memoryLimit: "1Gi" },
            parameters: { max_wal_size: "1GB" },
        },
    });
    try {
        await c.up();
        if (tls !== Boolean(c.caFile)) throw new Error(`asked for TLS ${tls ? "on" : "off"}, the render says otherwise`);
        pgbench(c, ["-i", "-q", "-s", String(SCALE)]);
        await c.until("both replicas caught up with the load", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn = pg_current_wal_lsn()", superuser) === "2", 120000);
        const load = await loadWithLag(c);
        const tpsNewConnection = tpsOf(pgbench(c, ["-N", "-C", "-c", "4", "-j", "2", "-T", String(SECONDS)]));
        return { tps: load.tps, tpsNewConnection, lagMs: load.lagMs };
    } finally {
        await c.cleanup();
    }
}

async function main(): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("run as root (the harness needs mount namespaces)");
    const off: Sample[] = [];
    const on: Sample[] = [];
    for (let run = 0; run < RUNS; run++) {
        // Alternate which goes first, so that neither always meets a warmer or a busier machine.
        for (const tls of run % 2 ? [true, false] : [false, true]) {
            progress.step(`run ${run + 1}/${RUNS}: a cluster with TLS ${tls ? "on" : "off"}, load, lag, new connections`);
            (tls ? on : off).push(await measure(tls));
        }
    }
    for (const [name, xs] of [["off", off], ["on", on]] as const) {
        results.add(`tps.${name}`, "tps", xs.map((x) => x.tps));
        results.add(`tpsNewConnection.${name}`, "tps", xs.map((x) => x.tpsNewConnection));
        results.add(`lag.${name}`, "ms", xs.flatMap((x) => x.lagMs));
    }
    const json = results.write();
    const row = (what: string, pick: (s: Sample) => number, digits: number) => {
        const a = off.map(pick);
        const b = on.map(pick);
        console.log(`| ${what} | ${spread(a, digits)} | ${spread(b, digits)} | ${(median(b) / median(a)).toFixed(2)} |`);
    };
    const lag = (xs: Sample[]) => xs.flatMap((s) => s.lagMs);
    console.log(machineLine());
    console.log(`PostgreSQL: ${spawnSync(path.join(PG_BIN, "postgres"), ["--version"], { encoding: "utf8" }).stdout.trim()}; pgbench scale ${SCALE}; ${RUNS} runs each, interleaved; pgbench -N -c 4 -j 2 for ${SECONDS} s; primary and two async replicas${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
    console.log("| figure | TLS off, median (min-max) | TLS on (verify-full), median (min-max) | on / off |");
    console.log("|---|---|---|---|");
    row("primary tps, kept connections", (s) => s.tps, 0);
    row("primary tps, a new connection per transaction (-C)", (s) => s.tpsNewConnection, 0);
    const [lagOff, lagOn] = [lag(off), lag(on)];
    for (const p of [50, 99]) {
        console.log(`| replay lag p${p}, ms | ${percentile(lagOff, p).toFixed(1)} | ${percentile(lagOn, p).toFixed(1)} | |`);
    }
    console.log(`| replay lag samples | ${lagOff.length} | ${lagOn.length} | |`);
    console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
