/**
 * Runs the data-plane suite in lanes: the test files split between N mocha processes that run side by side,
 * each inside a `tests/harness/isolated.sh` of its own (own network and PID namespace, so the lanes' pods,
 * which all listen on the same addresses, never meet). Most of a data test's time is waiting on
 * servers (failure detection, promotion, catching up), so two lanes on two cores take about half the time.
 *
 *   ts-node tests/harness/lanes.ts [--lanes N] [--write-timings] [FILE...]
 *
 * Files are dealt to lanes by their last measured time (tests/data/timings.json), longest first, each to
 * the lane with the least time so far. The lane count is RDB_DATA_LANES, or --lanes, 2 by default.
 * Each line of output is prefixed with its lane; at the end, each lane's result and the slowest files.
 * --write-timings rewrites tests/data/timings.json from this run (commit it when the files change much).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const TIMINGS = path.join(ROOT, "tests", "data", "timings.json");
const DATA_DIR = path.join(ROOT, "tests", "data");

export interface Lane {
    files: string[];
    /** The lane's expected time, in seconds, from the timings. */
    seconds: number;
}

/**
 * Deals files to `count` lanes, longest first, each to the lane with the least expected time (ties to the
 * lowest lane), so the lanes end close together. A file without a timing counts as the median timing.
 */
export function dealLanes(files: string[], timings: Record<string, number>, count: number): Lane[] {
    if (!Number.isInteger(count) || count < 1) {
        throw new Error(`invalid lanes: ${count} (allowed: a whole number of at least 1)`);
    }
    const known = Object.values(timings).sort((a, b) => a - b);
    const median = known.length ? known[Math.floor(known.length / 2)] : 60;
    const cost = (f: string) => timings[f] ?? median;
    const lanes: Lane[] = Array.from({ length: Math.min(count, Math.max(files.length, 1)) }, () => ({ files: [], seconds: 0 }));
    const ordered = [...files].sort((a, b) => cost(b) - cost(a) || (a < b ? -1 : 1));
    for (const f of ordered) {
        const lane = lanes.reduce((best, l) => (l.seconds < best.seconds ? l : best), lanes[0]);
        lane.files.push(f);
        lane.seconds += cost(f);
    }
    return lanes;
}

function dataFiles(): string[] {
    return fs
        .readdirSync(DATA_DIR)
        .filter((f) => f.endsWith(".test.ts"))
        .map((f) => path.join("tests", "data", f))
        .sort();
}

function readTimings(): Record<string, number> {
    return fs.existsSync(TIMINGS) ? JSON.parse(fs.readFileSync(TIMINGS, "utf8")) : {};
}

interface LaneResult {
    lane: number;
    code: number;
    seconds: number;
    summary: string[];
    timings: Record<string, number>;
}

function runLane(lane: number, files: string[]): Promise<LaneResult> {
    const timingsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "rdb-lane-")), "timings.json");
    const mocha = path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js");
    const args = [
        path.join(ROOT, "tests", "harness", "isolated.sh"), process.execPath, mocha, "--config", ".mocharc.data.json",
        "--reporter-option", `timings=${timingsFile}`, "--reporter-option", "slowest=5", ...files,
    ];
    const started = Date.now();
    const child = spawn(args[0], args.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const summary: string[] = [];
    const prefix = `[lane ${lane}] `;
    for (const stream of [child.stdout, child.stderr]) {
        let partial = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => {
            const lines = (partial + chunk).split("\n");
            partial = lines.pop()!;
            for (const line of lines) {
                process.stdout.write(prefix + line + "\n");
                if (/^\s+\d+ (passing|failing|pending)/.test(line)) summary.push(line.trim());
            }
        });
        stream.on("end", () => partial && process.stdout.write(prefix + partial + "\n"));
    }
    return new Promise((resolve) => {
        child.on("close", (code, signal) => {
            const timings = fs.existsSync(timingsFile) ? JSON.parse(fs.readFileSync(timingsFile, "utf8")) : {};
            resolve({ lane, code: code ?? (signal ? 128 : 1), seconds: (Date.now() - started) / 1000, summary, timings });
        });
    });
}

async function main(): Promise<void> {
    const argv = process.argv.slice(2);
    let count = Number(process.env.RDB_DATA_LANES ?? 2);
    let write = false;
    const files: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--lanes") count = Number(argv[++i]);
        else if (argv[i] === "--write-timings") write = true;
        else files.push(path.relative(ROOT, path.resolve(argv[i])));
    }
    const lanes = dealLanes(files.length ? files : dataFiles(), readTimings(), count);
    for (const [i, l] of lanes.entries()) {
        console.log(`lane ${i}: ${l.files.length} files, about ${Math.round(l.seconds / 60)} min by the last timings: ${l.files.map((f) => path.basename(f, ".test.ts")).join(" ")}`);
    }
    const started = Date.now();
    const results = await Promise.all(lanes.map((l, i) => runLane(i, l.files)));
    const timings = Object.assign({}, ...results.map((r) => r.timings)) as Record<string, number>;
    console.log(`\nlanes done in ${((Date.now() - started) / 60000).toFixed(1)} min:`);
    for (const r of results) {
        console.log(`  lane ${r.lane}: ${(r.seconds / 60).toFixed(1)} min, exit ${r.code}: ${r.summary.join(", ") || "no summary"}`);
    }
    console.log("  slowest files:");
    for (const [f, s] of Object.entries(timings).sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`    ${s.toFixed(0).padStart(5)} s  ${f}`);
    if (write) {
        const merged = { ...readTimings(), ...Object.fromEntries(Object.entries(timings).map(([f, s]) => [f, Math.round(s)])) };
        const sorted = Object.fromEntries(Object.keys(merged).filter((f) => fs.existsSync(path.join(ROOT, f))).sort().map((f) => [f, merged[f]]));
        fs.writeFileSync(TIMINGS, JSON.stringify(sorted, null, 2) + "\n");
        console.log(`wrote ${path.relative(ROOT, TIMINGS)}`);
    }
    process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
}

if (require.main === module) {
    main().catch((e) => {
        console.error(e);
        process.exitCode = 1;
    });
}
