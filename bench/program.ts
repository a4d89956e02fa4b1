/**
 * Benchmark: evaluation time and peak memory of programs with 1, 10 and 100 components under mocks, and
 * of `npm run render -- --stack dev`. Each size runs in a fresh process (peak RSS is per process), several
 * times; prints medians and spreads, and the per-component cost ratio between sizes (linear growth keeps
 * it near 1).
 *
 *   npx ts-node --transpile-only bench/program.ts [runs]
 */
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const TS_NODE = require.resolve("ts-node/dist/bin");

/** Child mode: render N components, print {ms, rssMb, resources}. */
async function child(n: number): Promise<void> {
    const { renderComponentsForBench } = await import("./support");
    const t0 = process.hrtime.bigint();
    const resources = await renderComponentsForBench(n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(JSON.stringify({ ms, rssMb, resources }) + "\n");
}

function run(args: string[]): { ms: number; rssMb: number; resources?: number } {
    const r = spawnSync(process.execPath, [TS_NODE, "--transpile-only", ...args], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

function stats(xs: number[]): { median: number; min: number; max: number } {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

function main(): void {
    const runs = Number(process.argv[2] ?? 3);
    const rows: { what: string; ms: ReturnType<typeof stats>; rss: ReturnType<typeof stats>; resources?: number; n?: number }[] = [];
    for (const n of [1, 10, 100]) {
        const samples = Array.from({ length: runs }, () => run([__filename, "--child", String(n)]));
        rows.push({ what: `${n} component(s) under mocks`, n, ms: stats(samples.map((s) => s.ms)), rss: stats(samples.map((s) => s.rssMb)), resources: samples[0].resources });
    }
    const render = Array.from({ length: runs }, () => run([path.join(__dirname, "render-once.ts")]));
    rows.push({ what: "npm run render -- --stack dev", ms: stats(render.map((s) => s.ms)), rss: stats(render.map((s) => s.rssMb)) });

    console.log(`node ${process.version}, ${require("os").cpus().length} CPUs, ${runs} runs each (fresh process per run)\n`);
    console.log("| what | resources | time median (min-max) | peak RSS median (min-max) |");
    console.log("|---|---|---|---|");
    for (const r of rows) {
        console.log(`| ${r.what} | ${r.resources ?? "-"} | ${r.ms.median.toFixed(0)} ms (${r.ms.min.toFixed(0)}-${r.ms.max.toFixed(0)}) | ${r.rss.median.toFixed(0)} MB (${r.rss.min.toFixed(0)}-${r.rss.max.toFixed(0)}) |`);
    }
    const per = (i: number) => rows[i].ms.median / rows[i].n!;
    console.log(`\nper-component time, 10 vs 1: ${(per(1) / per(0)).toFixed(2)}x; 100 vs 10: ${(per(2) / per(1)).toFixed(2)}x (<= 1 means linear or better)`);
    const mem = (i: number) => rows[i].rss.median;
    console.log(`peak RSS growth per component from 10 to 100: ${((mem(2) - mem(1)) / 90).toFixed(2)} MB`);
}

if (process.argv[2] === "--child") {
    child(Number(process.argv[3])).catch((e) => {
        console.error(e);
        process.exit(1);
    });
} else {
    main();
}
