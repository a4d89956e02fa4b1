/**
 * Benchmark: what the connection pooler buys clients that connect for every transaction (`pgbench -C`), on
 * real servers started by the component's own scripts (the data-plane harness) and Debian's PgBouncer run
 * with the rendered configuration (tests/harness/pooler.ts). Direct (pod 0 by name) and through the pooler
 * (its Service name; PgBouncer reaches the primary through the harness's rw Service proxy), interleaved, both
 * with TLS and verify-full against the cluster's CA, as the outputs ask. Prints a table of medians.
 *
 *   npm run bench:pooler   (as root; BENCH_RUNS=3 BENCH_SECONDS=15 BENCH_CLIENTS=4; BENCH_QUICK=1 for a smoke run)
 *
 * Two loads per path: as many connections as the machine does (each transaction a new connection and one
 * SELECT), and a paced rate below what both paths do (`-R`, BENCH_RATE, 25 per second by default: this 2-core machine does about 40-100 connections per second), where the latency is the figure.
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { median, spread } from "./stats";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { Cluster } from "../tests/harness/cluster";
import { PG_BIN } from "../tests/harness/pod";
import { PoolerPod } from "../tests/harness/pooler";
import { Service, labelledReadyEndpoints } from "../tests/harness/service";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 5, runs: 3, seconds: 15 });
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);

/**
 * CPU time (user + system, of the processes and of their reaped children) of every process of this run
 * named `postgres` or `pgbouncer`, in ms. The run has a PID namespace of its own (isolated.sh, with its own
 * /proc), so these are this run's servers only; a postmaster's reaped backends count in its children's time.
 * A figure that the machine's other load does not change much, unlike the rates.
 */
function serverCpuMs(): number {
    const tick = 1000 / 100; // CLK_TCK is 100 on Linux
    let ticks = 0;
    for (const pid of fs.readdirSync("/proc").filter((d) => /^[0-9]+$/.test(d))) {
        let stat: string;
        try {
            stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        } catch {
            continue;
        }
        const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        if (comm !== "postgres" && comm !== "pgbouncer") continue;
        // Fields after the command: state is field 3; utime, stime, cutime, cstime are fields 14-17.
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    }
    return ticks * tick;
}

interface Result {
    /** Server CPU (postgres and PgBouncer) per connection, ms. */
    cpuPerConnectionMs: number;
    tps: number;
    latencyMs: number;
    connectMs: number;
    failed: number;
}

function run(c: Cluster, conninfo: string, extra: string[]): Result {
    const cpu0 = serverCpuMs();
    const r = spawnSync(path.join(PG_BIN, "pgbench"), ["-n", "-C", "-S", "-c", String(CLIENTS), "-j", "2", "-T", String(SECONDS), ...extra, `${conninfo} dbname=app`], {
        env: { PGPASSWORD: c.secret("app-password"), PGUSER: "app", PATH: process.env.PATH },
        encoding: "utf8",
        maxBuffer: 64 << 20,
    });
    const out = r.stdout + r.stderr;
    if (r.status !== 0) throw new Error(`pgbench: ${out}`);
    const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
    const transactions = num(/number of transactions actually processed: ([0-9]+)/);
    return {
        cpuPerConnectionMs: (serverCpuMs() - cpu0) / transactions,
        tps: num(/tps = ([0-9.]+)/),
        latencyMs: num(/latency average = ([0-9.]+) ms/),
        connectMs: num(/average connection time = ([0-9.]+) ms/),
        failed: num(/number of failed transactions: ([0-9]+)/) || 0,
    };
}

async function main(): Promise<void> {
    const c = new Cluster({ args: { replicas: 1, pooler: { enabled: true, defaultPoolSize: 10 } } });
    let rw: Service | undefined;
    let pooler: PoolerPod | undefined;
    try {
        await c.up();
        rw = new Service("rw", labelledReadyEndpoints(c, false), path.join(c.base, "service-rw.log"));
        await rw.start();
        pooler = new PoolerPod(c, "rw");
        await pooler.start();
        const init = spawnSync(path.join(PG_BIN, "pgbench"), ["-i", "-s", String(SCALE), "-q", `${c.hosts(0)} port=5432 dbname=app`], {
            env: { PGPASSWORD: c.secret("app-password"), PGUSER: "app", PATH: process.env.PATH },
            encoding: "utf8",
        });
        if (init.status !== 0) throw new Error(init.stderr);
        const direct = `${c.hosts(0)} port=5432`;
        const pooled = pooler.conninfo();
        const RATE = String(process.env.BENCH_RATE ?? 25);
        const loads = { "as fast as it goes": [] as string[], [`paced, -R ${RATE}`]: ["-R", RATE] };
        const results: Record<string, Result[]> = {};
        const progress = new Progress("pooler", RUNS * Object.keys(loads).length * 2);
        for (let i = 0; i < RUNS; i++) {
            for (const [load, extra] of Object.entries(loads)) {
                for (const [way, conninfo] of [["direct", direct], ["pooler", pooled]] as const) {
                    progress.step(`run ${i + 1}/${RUNS}, ${load}, ${way}`);
                    const res = run(c, conninfo, extra);
                    (results[`${load}|${way}`] ??= []).push(res);
                    console.error(`run ${i + 1} ${load} ${way}: ${res.tps.toFixed(0)} tps, latency ${res.latencyMs} ms, connect ${res.connectMs} ms, server CPU ${res.cpuPerConnectionMs.toFixed(2)} ms per connection, failed ${res.failed}`);
                }
            }
        }
        const list = (k: string) => results[k];
        const raw = new Results("pooler", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
        for (const [k, rs] of Object.entries(results)) {
            const key = k.replace("|", ".").replace(/[^A-Za-z0-9.]+/g, "-");
            raw.add(`${key}.tps`, "tps", rs.map((x) => x.tps));
            raw.add(`${key}.latency`, "ms", rs.map((x) => x.latencyMs));
            raw.add(`${key}.cpuPerConnection`, "ms", rs.map((x) => x.cpuPerConnectionMs));
        }
        const json = raw.write();
        console.log(machineLine());
        console.log(`\npgbench -C -S, ${CLIENTS} clients, ${SECONDS} s per run, ${RUNS} runs per figure, interleaved; TLS verify-full on every client connection${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
        console.log("| load | path | connections (= transactions) per s | latency average, ms | connection time average, ms | server CPU per connection (postgres + PgBouncer), ms | failed |");
        console.log("|---|---|---|---|---|---|---|");
        for (const load of Object.keys(loads)) {
            for (const way of ["direct", "pooler"]) {
                const l = list(`${load}|${way}`);
                console.log(`| ${load} | ${way} | ${spread(l.map((x) => x.tps), 0)} | ${spread(l.map((x) => x.latencyMs), 2)} | ${spread(l.map((x) => x.connectMs), 2)} | ${spread(l.map((x) => x.cpuPerConnectionMs), 2)} | ${l.reduce((a, x) => a + x.failed, 0)} |`);
            }
            const ratio = median(list(`${load}|pooler`).map((x) => x.tps)) / median(list(`${load}|direct`).map((x) => x.tps));
            const cpuRatio = median(list(`${load}|pooler`).map((x) => x.cpuPerConnectionMs)) / median(list(`${load}|direct`).map((x) => x.cpuPerConnectionMs));
            console.log(`| ${load} | pooler / direct | ${ratio.toFixed(2)} | | | ${cpuRatio.toFixed(2)} | |`);
        }
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } finally {
        await pooler?.stop();
        await rw?.stop();
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
