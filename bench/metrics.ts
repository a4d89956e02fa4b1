/**
 * Benchmark: what the metrics exporter costs the primary. One cluster (a primary and one replica) started by the
 * harness, the primary's exporter sidecar run from its rendered container (tests/harness/exporter.ts); pgbench's
 * TPC-B-like load on the primary with nobody scraping, with a scrape of /metrics every 15 s (Prometheus's usual
 * interval, the PodMonitor's) and, to make the cost visible at all, every 1 s. Runs interleaved, in rotating order.
 *
 *   tests/harness/isolated.sh npx ts-node --transpile-only bench/metrics.ts   (as root; BENCH_RUNS=5 BENCH_SECONDS=30 BENCH_SCALE=10)
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { median, pgbench, spread } from "./stats";
import { Cluster, sleep } from "../tests/harness/cluster";
import { Exporters } from "../tests/harness/exporter";
import { podAddress } from "../tests/harness/pod";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const MODES = [
    { name: "no scrape", every: 0 },
    { name: "scrape every 15 s", every: 15 },
    { name: "scrape every 1 s", every: 1 },
];

/** The exporter's CPU time so far, in ms (utime + stime from /proc, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A scraper: a process of its own (pgbench blocks this one), GETting /metrics every `every` seconds and timing each. */
function scraper(url: string, every: number, log: string): ChildProcess {
    const loop = `while :; do curl -s -o /dev/null -w '%{time_total}\\n' '${url}' >>'${log}'; sleep ${every}; done`;
    return spawn("bash", ["-c", loop], { stdio: "ignore", detached: true });
}

async function main(): Promise<void> {
    const c = new Cluster({ name: "bench", args: { replicas: 1 } });
    const exporters = new Exporters(c);
    try {
        await c.up();
        exporters.start(0);
        const url = `http://${podAddress(0)}:9187/metrics`;
        pgbench(c, ["-i", "-q", "-s", String(SCALE)]);
        await sleep(2000);
        const tps: Record<string, number[]> = Object.fromEntries(MODES.map((m) => [m.name, []]));
        const scrapeMs: Record<string, number[]> = Object.fromEntries(MODES.map((m) => [m.name, []]));
        const cpuPerScrape: Record<string, number[]> = Object.fromEntries(MODES.map((m) => [m.name, []]));
        for (let run = 0; run < RUNS; run++) {
            // Rotate the order, so that no mode always runs first (a cold cache) or last (a fuller table).
            for (let k = 0; k < MODES.length; k++) {
                const mode = MODES[(run + k) % MODES.length];
                const log = `${c.base}/scrapes-${run}-${k}.log`;
                const cpu0 = cpuMs(exporters.pid(0));
                const s = mode.every > 0 ? scraper(url, mode.every, log) : undefined;
                const out = pgbench(c, ["-c", "4", "-j", "2", "-T", String(SECONDS), "-n"]);
                if (s) process.kill(-s.pid!, "SIGKILL");
                const cpu = cpuMs(exporters.pid(0)) - cpu0;
                tps[mode.name].push(Number(/tps = ([0-9.]+)/.exec(out)![1]));
                if (s) {
                    const times = fs.readFileSync(log, "utf8").trim().split("\n").map(Number);
                    scrapeMs[mode.name].push(...times.map((x) => x * 1000));
                    cpuPerScrape[mode.name].push(cpu / times.length);
                }
            }
        }
        const base = median(tps[MODES[0].name]);
        console.log(`\nmetrics exporter cost on the primary (${RUNS} runs of ${SECONDS} s each, pgbench -c 4 -j 2, scale ${SCALE}, interleaved)\n`);
        console.log("| load | TPS median (min-max) | vs no scrape | one scrape, ms | exporter CPU per scrape, ms |");
        console.log("|---|---|---|---|---|");
        for (const m of MODES) {
            const scrape = m.every > 0 ? `${spread(scrapeMs[m.name], 0)} (${scrapeMs[m.name].length})` : "-";
            const cpu = m.every > 0 ? spread(cpuPerScrape[m.name], 0) : "-";
            console.log(`| ${m.name} | ${spread(tps[m.name], 0)} | ${((median(tps[m.name]) / base) * 100).toFixed(1)} % | ${scrape} | ${cpu} |`);
        }
    } finally {
        exporters.stop();
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
