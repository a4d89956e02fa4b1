/**
 * Benchmark: what the metrics exporter costs the primary. One cluster (a primary and one replica) started by the
 * harness, the primary's exporter sidecar run from its rendered container (tests/harness/exporter.ts); pgbench's
 * TPC-B-like load on the primary with nobody scraping, with a scrape of /metrics every 15 s (Prometheus's usual
 * interval, the PodMonitor's) and, to make the cost visible at all, every 1 s. Runs interleaved, in rotating order.
 *
 *   npm run bench:metrics   (as root; BENCH_RUNS=5 BENCH_SECONDS=30 BENCH_SCALE=10; BENCH_QUICK=1 for a smoke run)
 *
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { median, pgbench, pgbenchBackground, spread } from "./stats";
import { benchSettings, machineLine, Progress, Results } from "./report";
import { Cluster, sleep } from "../tests/harness/cluster";
import { Exporters } from "../tests/harness/exporter";
import { podAddress } from "../tests/harness/pod";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 10, runs: 5, seconds: 30 });
const MODES = [
    { key: "none", name: "no scrape", every: 0 },
    { key: "every15s", name: "scrape every 15 s", every: 15 },
    { key: "every1s", name: "scrape every 1 s", every: 1 },
];

/** The exporter's CPU time so far, in ms (utime + stime from /proc, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A scraper: a process of its own, GETting /metrics every `every` seconds and timing each (curl's own clock). */
function scraper(url: string, every: number, log: string): ChildProcess {
    const loop = `while :; do curl -s -o /dev/null -w '%{time_total}\\n' '${url}' >>'${log}'; sleep ${every}; done`;
    return spawn("bash", ["-c", loop], { stdio: "ignore", detached: true });
}

/** The scrape times a scraper logged, ms (none if it was stopped before its first answer). */
function scrapeTimes(log: string): number[] {
    if (!fs.existsSync(log)) return [];
    return fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((x) => Number(x) * 1000);
}

async function main(): Promise<void> {
    const c = new Cluster({ name: "bench", args: { replicas: 1 } });
    const exporters = new Exporters(c);
    try {
        await c.up();
        exporters.start(0);
        const url = `http://${podAddress(0)}:9187/metrics`;
        const progress = new Progress("metrics", RUNS * MODES.length);
        pgbench(c, ["-i", "-q", "-s", String(SCALE)]);
        await sleep(2000);
        const by = () => Object.fromEntries(MODES.map((m) => [m.key, [] as number[]]));
        const tps = by();
        const scrapeMs = by();
        const cpuPerScrape = by();
        for (let run = 0; run < RUNS; run++) {
            // Rotate the order, so that no mode always runs first (a cold cache) or last (a fuller table).
            for (let k = 0; k < MODES.length; k++) {
                const mode = MODES[(run + k) % MODES.length];
                progress.step(`run ${run + 1}/${RUNS}, ${mode.name}`);
                const log = `${c.base}/scrapes-${run}-${k}.log`;
                const cpu0 = cpuMs(exporters.pid(0));
                const s = mode.every > 0 ? scraper(url, mode.every, log) : undefined;
                try {
                    tps[mode.key].push(await pgbenchBackground(c, ["-c", "4", "-j", "2", "-T", String(SECONDS), "-n"]).tps);
                } finally {
                    if (s) process.kill(-s.pid!, "SIGKILL");
                }
                const cpu = cpuMs(exporters.pid(0)) - cpu0;
                if (s) {
                    const times = scrapeTimes(log);
                    scrapeMs[mode.key].push(...times);
                    if (times.length) cpuPerScrape[mode.key].push(cpu / times.length);
                }
            }
        }
        const raw = new Results("metrics", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
        for (const m of MODES) {
            raw.add(`tps.${m.key}`, "tps", tps[m.key]);
            if (m.every > 0) {
                raw.add(`scrape.${m.key}`, "ms", scrapeMs[m.key]);
                raw.add(`exporterCpuPerScrape.${m.key}`, "ms", cpuPerScrape[m.key]);
            }
        }
        const json = raw.write();
        const base = median(tps.none);
        const cell = (xs: number[], digits: number) => (xs.length ? spread(xs, digits) : "none");
        console.log(machineLine());
        console.log(`\nmetrics exporter cost on the primary (${RUNS} runs of ${SECONDS} s each, pgbench -c 4 -j 2, scale ${SCALE}, interleaved)${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
        console.log("| load | TPS median (min-max) | vs no scrape | one scrape, ms (count) | exporter CPU per scrape, ms |");
        console.log("|---|---|---|---|---|");
        for (const m of MODES) {
            const scrape = m.every > 0 ? `${cell(scrapeMs[m.key], 0)} (${scrapeMs[m.key].length})` : "-";
            const cpu = m.every > 0 ? cell(cpuPerScrape[m.key], 0) : "-";
            console.log(`| ${m.name} | ${spread(tps[m.key], 0)} | ${((median(tps[m.key]) / base) * 100).toFixed(1)} % | ${scrape} | ${cpu} |`);
        }
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } finally {
        exporters.stop();
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
