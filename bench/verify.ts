/**
 * Benchmark: what bin/replicated-db-verify costs, side by side with pg_dump of the same database, on real
 * servers started by the component's own scripts (the data-plane harness), one primary and BENCH_REPLICAS
 * replicas, a pgbench database of scale BENCH_SCALE in the application database. Runs interleaved, BENCH_RUNS
 * of each; prints one table from one run.
 *
 *   npm run bench:verify      (as root; BENCH_SCALE=20 BENCH_RUNS=3 BENCH_SECONDS=20 BENCH_REPLICAS=1; BENCH_QUICK=1 for a smoke run)
 *
 * - verify, full: row hashes on every replica and the primary, amcheck on every B-tree index, the page scan;
 * - verify without the page scan (--no-page-scan), to show its share;
 * - pg_dump of the application database in the primary's pod (its socket, output to /dev/null): the baseline a
 *   logical comparison would need once per server;
 * - the same full verify under a pgbench load (2 clients, twice BENCH_SECONDS, the verify starting after a
 *   quarter of BENCH_SECONDS), with how long the writes were held back and the load's throughput during it
 *   against the same load alone for BENCH_SECONDS.
 * Progress on stderr; raw figures as JSON in bench/results (compare two runs with bench/compare.ts).
 */
import * as path from "path";
import { Cluster } from "../tests/harness/cluster";
import { Kubectl } from "../tests/harness/kubectl";
import { median, pgbench, pgbenchBackground, spread } from "./stats";
import { benchSettings, machineLine, Progress, Results } from "./report";

const { scale: SCALE, runs: RUNS, seconds: SECONDS, quick } = benchSettings({ scale: 20, runs: 3, seconds: 20 });
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1);
if (!Number.isInteger(REPLICAS) || REPLICAS < 1) throw new Error(`BENCH_REPLICAS=${process.env.BENCH_REPLICAS}: allowed is a whole number of 1 or more`);
const VERIFY = path.join(__dirname, "..", "bin", "replicated-db-verify");

async function timed<T>(run: () => Promise<T>): Promise<{ seconds: number; result: T }> {
    const t0 = Date.now();
    const result = await run();
    return { seconds: (Date.now() - t0) / 1000, result };
}

async function main(): Promise<void> {
    const c = new Cluster({ args: { replicas: REPLICAS }, onNode: true });
    try {
        await c.up();
        const progress = new Progress("verify", 1 + RUNS + 1);
        progress.step(`loading pgbench scale ${SCALE}, amcheck`);
        const k = await Kubectl.create(c);
        pgbench(c, ["-i", "-s", String(SCALE), "-q"]);
        const size = c.sql(0, "SELECT pg_size_pretty(pg_database_size('app'))");
        // amcheck once, so that every run checks the indexes.
        const first = await k.run(VERIFY, ["-n", "default", "--create-amcheck", "db"]);
        if (first.code !== 0) throw new Error(`verify failed: ${first.stdout}${first.stderr}`);

        const full: number[] = [];
        const noScan: number[] = [];
        const dump: number[] = [];
        for (let run = 0; run < RUNS; run++) {
            progress.step(`run ${run + 1}/${RUNS}: verify, verify --no-page-scan, pg_dump`);
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
        progress.step(`under load: pgbench -c 2 alone for ${SECONDS} s, then ${2 * SECONDS} s with one verify in it`);
        const aloneTps = await pgbenchBackground(c, ["-c", "2", "-T", String(SECONDS)]).tps;
        const busy = pgbenchBackground(c, ["-c", "2", "-T", String(2 * SECONDS)]);
        const underLoad = await (async () => {
            try {
                await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 4));
                return await timed(() => k.run(VERIFY, ["-n", "default", "db"]));
            } catch (err) {
                await busy.stop();
                throw err;
            }
        })();
        const busyTps = await busy.tps;
        if (underLoad.result.code !== 0) throw new Error(`verify under load failed: ${underLoad.result.stdout}`);
        const held = Number(underLoad.result.stdout.match(/^database app: .* held back for (\d+) ms/m)?.[1]);
        const outlasted = underLoad.seconds + SECONDS / 4 > 2 * SECONDS;

        const results = new Results("verify", { scale: SCALE, runs: RUNS, seconds: SECONDS, quick });
        results.add("verify.full", "s", full);
        results.add("verify.noPageScan", "s", noScan);
        results.add("pgDump", "s", dump);
        results.add("verify.underLoad", "s", [underLoad.seconds]);
        results.add("heldBack", "ms", [held]);
        results.add("tps.alone", "tps", [aloneTps]);
        results.add("tps.withVerify", "tps", [busyTps]);
        const json = results.write();

        const ratio = (xs: number[]) => (median(xs) / median(dump)).toFixed(2);
        console.log(machineLine());
        console.log(`\npgbench scale ${SCALE} (application database ${size}), 1 primary + ${REPLICAS} replicas, ${RUNS} runs each, interleaved; seconds, median (min-max)${quick ? "; QUICK run (a smoke test, not a measurement)" : ""}\n`);
        console.log("| what | seconds | against pg_dump |");
        console.log("|---|---|---|");
        console.log(`| replicated-db-verify (hashes on ${REPLICAS + 1} servers, amcheck, page scan of ${REPLICAS + 1} pods) | ${spread(full, 2)} | ${ratio(full)}x |`);
        console.log(`| replicated-db-verify --no-page-scan | ${spread(noScan, 2)} | ${ratio(noScan)}x |`);
        console.log(`| pg_dump of the application database (one server, to /dev/null) | ${spread(dump, 2)} | 1x |`);
        console.log(`| replicated-db-verify under pgbench -c 2 | ${underLoad.seconds.toFixed(2)} | ${(underLoad.seconds / median(dump)).toFixed(2)}x |`);
        console.log(`\nunder load: writes held back ${held} ms; pgbench ${aloneTps.toFixed(0)} tps alone (${SECONDS} s), ${busyTps.toFixed(0)} tps over ${2 * SECONDS} s with one verify in it${outlasted ? " (the verify outlasted the load)" : ""}`);
        console.log(`\nraw figures: ${path.relative(process.cwd(), json)}`);
    } finally {
        await c.cleanup();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
