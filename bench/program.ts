/**
 * Benchmark: evaluation time and memory of programs with 1, 10 and 100 components under mocks, and of
 * `npm run render -- --stack dev`. Each size runs in a fresh process (peak RSS is per process), several
 * times; prints medians and spreads, the per-component cost ratio between sizes (linear growth keeps it
 * near 1), and per component: resources, time, peak RSS growth and heap kept after the program.
 *
 * Wall time is what a user waits; CPU time (user + system, of the evaluation alone) is printed beside it
 * because on a shared machine wall time also counts other processes' turns. The load average is printed
 * before and after.
 *
 * With `--baseline <dir>` (another checkout of this repository, with its node_modules), every run of
 * every size is made in that checkout and in this one in turn, so that both see the same load; both tables
 * are printed, then their ratios.
 *
 *   npx ts-node --transpile-only bench/program.ts [runs, default 5] [--baseline <dir>]
 *
 * The goal (100 components in under 10 s of wall time) is judged against the runs' spread: "undecided" when the
 * spread is wider than the margin.
 */
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { judge, verdictCell } from "./report";

const ROOT = path.join(__dirname, "..");
const TS_NODE = require.resolve("ts-node/dist/bin");
const SIZES = [1, 10, 100];
/** The issue's goal for 100 components under mocks, wall time. */
const GOAL_MS = 10000;

interface Sample {
    /** Wall time of the evaluation (modules already loaded). */
    ms: number;
    /** CPU time (user + system) of the evaluation. */
    cpuMs: number;
    /** Peak RSS of the process. */
    rssMb: number;
    /** Heap in use after a full GC once the program has finished: what the evaluated program keeps. */
    heapMb?: number;
    resources: number;
}

/** Child mode: render N components of the checkout at `root`, print a Sample. */
async function child(n: number, root: string): Promise<void> {
    const { renderComponentsForBench } = (await import(path.join(root, "bench", "support"))) as typeof import("./support");
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const resources = await renderComponentsForBench(n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = process.cpuUsage(cpu0);
    const rssMb = process.resourceUsage().maxRSS / 1024;
    (global as { gc?: () => void }).gc?.();
    const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
    const sample: Sample = { ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb, heapMb, resources };
    process.stdout.write(JSON.stringify(sample) + "\n");
}

function run(root: string, args: string[]): Sample {
    const r = spawnSync(process.execPath, ["--expose-gc", TS_NODE, "--transpile-only", ...args], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const runChild = (root: string, n: number) => run(root, [__filename, "--child", String(n), root]);
const runRender = (root: string) => run(root, [path.join(__dirname, "render-once.ts"), root]);

function stats(xs: number[]): { median: number; min: number; max: number } {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

type Stats = ReturnType<typeof stats>;

interface Row {
    what: string;
    /** Every run's wall time, ms. */
    times: number[];
    ms: Stats;
    cpu: Stats;
    rss: Stats;
    heap?: Stats;
    resources: number;
    n?: number;
}

function row(what: string, samples: Sample[], n?: number): Row {
    const heaps = samples.map((s) => s.heapMb).filter((h): h is number => h !== undefined);
    return {
        what,
        n,
        times: samples.map((s) => s.ms),
        ms: stats(samples.map((s) => s.ms)),
        cpu: stats(samples.map((s) => s.cpuMs)),
        rss: stats(samples.map((s) => s.rssMb)),
        heap: heaps.length ? stats(heaps) : undefined,
        resources: samples[0].resources,
    };
}

/** Runs every size and the render `runs` times in each checkout, the checkouts in turn within each run. */
function measure(roots: string[], runs: number): Row[][] {
    const samples = roots.map(() => new Map<string, Sample[]>());
    const take = (i: number, key: string, s: Sample) => samples[i].set(key, [...(samples[i].get(key) ?? []), s]);
    for (let r = 0; r < runs; r++) {
        for (const n of SIZES) roots.forEach((root, i) => take(i, String(n), runChild(root, n)));
        roots.forEach((root, i) => take(i, "render", runRender(root)));
    }
    return samples.map((m) => [
        ...SIZES.map((n) => row(`${n} component(s) under mocks`, m.get(String(n))!, n)),
        row("npm run render -- --stack dev", m.get("render")!),
    ]);
}

function print(title: string, rows: Row[]): void {
    const range = (s: Stats, unit: string) => `${s.median.toFixed(0)} ${unit} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
    console.log(`${title}\n`);
    console.log("| what | resources | time median (min-max) | CPU time median (min-max) | peak RSS median (min-max) | heap kept median |");
    console.log("|---|---|---|---|---|---|");
    for (const r of rows) {
        console.log(`| ${r.what} | ${r.resources} | ${range(r.ms, "ms")} | ${range(r.cpu, "ms")} | ${range(r.rss, "MB")} | ${r.heap ? `${r.heap.median.toFixed(0)} MB` : "-"} |`);
    }
    const [one, ten, hundred] = rows;
    console.log(`\n100 components in under ${GOAL_MS / 1000} s: ${verdictCell(judge(hundred.times, { atLeast: false, value: GOAL_MS }), 0)} ms`);
    const per = (r: Row) => r.ms.median / r.n!;
    console.log(`\nper-component time, 10 vs 1: ${(per(ten) / per(one)).toFixed(2)}x; 100 vs 10: ${(per(hundred) / per(ten)).toFixed(2)}x (<= 1 means linear or better)`);
    // Per component: the difference between 100 and 10 components over the 90 added, so that what every
    // program pays once (the stack, the modules, the runtime) is left out.
    const added = (f: (r: Row) => number) => (f(hundred) - f(ten)) / 90;
    console.log("per component (100 against 10 components, over the 90 added):");
    console.log(`  resources: ${added((r) => r.resources).toFixed(0)}`);
    console.log(`  time: ${added((r) => r.ms.median).toFixed(0)} ms wall, ${added((r) => r.cpu.median).toFixed(0)} ms CPU`);
    console.log(`  peak RSS growth: ${added((r) => r.rss.median).toFixed(2)} MB (garbage not yet collected included)`);
    if (hundred.heap && ten.heap) {
        console.log(`  heap kept once the program has finished, after a full GC: ${added((r) => r.heap!.median).toFixed(2)} MB`);
    }
    console.log("");
}

function main(): void {
    const args = process.argv.slice(2);
    const at = args.indexOf("--baseline");
    const baseline = at >= 0 ? path.resolve(args.splice(at, 2)[1]) : undefined;
    const runs = Number(args[0] ?? 5);
    const load = () => os.loadavg().map((l) => l.toFixed(2)).join(", ");
    const loadBefore = load();
    const roots = baseline ? [baseline, ROOT] : [ROOT];
    const tables = measure(roots, runs);
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${runs} runs each (fresh process per run); load average ${loadBefore} before, ${load()} after\n`);
    roots.forEach((root, i) => print(baseline ? `${i === 0 ? "baseline" : "this checkout"}: ${root}` : root, tables[i]));
    if (baseline) {
        console.log("this checkout against the baseline (medians):\n");
        console.log("| what | time | CPU time | peak RSS |");
        console.log("|---|---|---|---|");
        tables[1].forEach((r, j) => {
            const b = tables[0][j];
            console.log(`| ${r.what} | ${(r.ms.median / b.ms.median).toFixed(2)}x | ${(r.cpu.median / b.cpu.median).toFixed(2)}x | ${(r.rss.median / b.rss.median).toFixed(2)}x |`);
        });
    }
}

if (process.argv[2] === "--child") {
    child(Number(process.argv[3]), process.argv[4] ?? ROOT).catch((e) => {
        console.error(e);
        process.exit(1);
    });
} else {
    main();
}
