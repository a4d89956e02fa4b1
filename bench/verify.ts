/**
 * Benchmark: what bin/replicated-db-verify costs, side by side with pg_dump of the same database, on real
 * servers started by the component's own scripts (the data-plane harness), one primary and BENCH_REPLICAS
 * replicas, a pgbench database of scale BENCH_SCALE in the application database. Runs interleaved, BENCH_RUNS
 * of each; prints one table from one run.
 *
 *   npm run bench:verify      (as root; BENCH_SCALE=20 BENCH_RUNS=3 BENCH_REPLICAS=1)
 *
 * - verify, full: row hashes on every replica and the primary, amcheck on every B-tree index, the page scan;
 * - verify without the page scan (--no-page-scan), to show its share;
 * - pg_dump of the application database in the primary's pod (its socket, output to /dev/null): the baseline a
 *   logical comparison would need once per server;
 * - the same full verify under a pgbench load (2 clients), with how long the writes were held back and the
 *   load's throughput during it against without.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { Cluster } from "../tests/harness/cluster";
import { Kubectl } from "../tests/harness/kubectl";
import { PG_BIN } from "../tests/harness/pod";
import { median, pgbench, spread } from "./stats";

const SCALE = Number(process.env.BENCH_SCALE ?? 20);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1);
const VERIFY = path.join(__dirname, "..", "bin", "replicated-db-verify");

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; result: T }> {
    const t0 = Date.now();
    const result = await run();
    return { seconds: (Date.now() - t0) / 1000, result };
}

function load(c: Cluster, seconds: number): { proc: ChildProcess; done: Promise<string> } {
    const proc = spawn(path.join(PG_BIN, "pgbench"), ["-c", "2", "-T", String(seconds), "-h", c.host(0), "-p", "5432", "-U", "app", "app"], {
        env: { PGPASSWORD: c.secret("app-password"), PATH: process.env.PATH, ...c.libpqEnv() },
        stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    return { proc, done: new Promise((resolve) => proc.on("close", () => resolve(out))) };
}

const tps = (out: string) => Number(out.match(/tps = ([0-9.]+)/)?.[1] ?? NaN);

async function main(): Promise<void> {
    const c = new Cluster({ args: { replicas: REPLICAS } });
    try {
        await c.up();
        const k = new Kubectl(c);
        pgbench(c, ["-i", "-s", String(SCALE), "-q"]);
        const size = c.sql(0, "SELECT pg_size_pretty(pg_database_size('app'))");
        // amcheck once, so that every run checks the indexes.
        const first = await k.run(VERIFY, ["-n", "default", "--create-amcheck", "db"]);
        if (first.code !== 0) throw new Error(`verify failed: ${first.stdout}${first.stderr}`);

        const full: number[] = [];
        const noScan: number[] = [];
        const dump: number[] = [];
        for (let run = 0; run < RUNS; run++) {
            const v = await timed(() => k.run(VERIFY, ["-n", "default", "db"]));
            if (v.result.code !== 0) throw new Error(`verify failed: ${v.result.stdout}${v.result.stderr}`);
            full.push(v.seconds);
            const n = await timed(() => k.run(VERIFY, ["-n", "default", "--no-page-scan", "db"]));
            if (n.result.code !== 0) throw new Error(`verify --no-page-scan failed: ${n.result.stdout}`);
            noScan.push(n.seconds);
            const d = await timed(() => c.exec(0, ["bash", "-c", 'pg_dump -h "$RDB_SOCKET_DIR" -p "$PGPORT" -U "$RDB_SUPERUSER" app >/dev/null']));
            if (d.result.status !== 0) throw new Error(`pg_dump failed: ${d.result.stderr}`);
            dump.push(d.seconds);
        }

        // Under load: the load's throughput alone, then with a verify in its middle.
        const alone = load(c, 20);
        const aloneTps = tps(await alone.done);
        const busy = load(c, 40);
        await new Promise((r) => setTimeout(r, 5000));
        const underLoad = await timed(() => k.run(VERIFY, ["-n", "default", "db"]));
        const busyTps = tps(await busy.done);
        if (underLoad.result.code !== 0) throw new Error(`verify under load failed: ${underLoad.result.stdout}`);
        const held = Number(underLoad.result.stdout.match(/^database app: .* held back for (\d+) ms/m)?.[1]);

        const ratio = (xs: number[]) => (median(xs) / median(dump)).toFixed(2);
        console.log(`\npgbench scale ${SCALE} (application database ${size}), 1 primary + ${REPLICAS} replicas, ${RUNS} runs each, interleaved; seconds, median (min-max)\n`);
        console.log("| what | seconds | against pg_dump |");
        console.log("|---|---|---|");
        console.log(`| replicated-db-verify (hashes on ${REPLICAS + 1} servers, amcheck, page scan of ${REPLICAS + 1} pods) | ${spread(full, 2)} | ${ratio(full)}x |`);
        console.log(`| replicated-db-verify --no-page-scan | ${spread(noScan, 2)} | ${ratio(noScan)}x |`);
        console.log(`| pg_dump of the application database (one server, to /dev/null) | ${spread(dump, 2)} | 1x |`);
        console.log(`| replicated-db-verify under pgbench -c 2 | ${underLoad.seconds.toFixed(2)} | ${(underLoad.seconds / median(dump)).toFixed(2)}x |`);
        console.log(`\nunder load: writes held back ${held} ms; pgbench ${aloneTps.toFixed(0)} tps alone (20 s), ${busyTps.toFixed(0)} tps over 40 s with one verify in it`);
    } finally {
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
