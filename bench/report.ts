/**
 * What every benchmark reports besides its table: its settings (with a quick mode for a smoke run), its
 * progress on stderr (phase, step, time left), and its raw figures as JSON, so that two runs can be compared
 * by bench/compare.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { median } from "./stats";

export interface BenchSettings {
    /** pgbench's scale factor of the loaded database. */
    scale: number;
    /** Repetitions of each measured figure. */
    runs: number;
    /** Seconds of each pgbench load. */
    seconds: number;
    /** BENCH_QUICK=1: a smoke run in CI-sized time; its figures prove that the bench works, not how fast. */
    quick: boolean;
}

/** Figures that a quick run uses unless BENCH_SCALE, BENCH_RUNS or BENCH_SECONDS say otherwise. */
export const QUICK = { scale: 1, runs: 1, seconds: 3 };

/** The bench's settings from BENCH_SCALE, BENCH_RUNS, BENCH_SECONDS and BENCH_QUICK over its defaults. */
export function benchSettings(defaults: { scale: number; runs: number; seconds: number }, env: NodeJS.ProcessEnv = process.env): BenchSettings {
    const quick = env.BENCH_QUICK === "1";
    const base = quick ? QUICK : defaults;
    const read = (name: string, fallback: number) => {
        const raw = env[name];
        if (raw === undefined || raw === "") return fallback;
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 1) throw new Error(`${name}=${raw}: allowed is a whole number of 1 or more`);
        return n;
    };
    return { scale: read("BENCH_SCALE", base.scale), runs: read("BENCH_RUNS", base.runs), seconds: read("BENCH_SECONDS", base.seconds), quick };
}

export function machine(): { cpus: number; model: string; memoryGiB: number; kernel: string; loadAverage: number } {
    return {
        cpus: os.cpus().length,
        model: os.cpus()[0].model,
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        kernel: `${os.type()} ${os.release()}`,
        loadAverage: Number(os.loadavg()[0].toFixed(1)),
    };
}

/** One line for the top of a table: the machine, and how busy it was when the figures were taken. */
export function machineLine(): string {
    const m = machine();
    return `machine: ${m.cpus} x ${m.model}, ${m.memoryGiB} GiB RAM, ${m.kernel}; load average at the end ${m.loadAverage}`;
}

const clock = (ms: number) => {
    const s = Math.round(ms / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};

/**
 * Progress on stderr: which step of how many, what it is, the time so far and an estimate of what is left
 * (the mean time per step so far, times the steps left). Steps need not take equal time; the estimate says
 * "about".
 */
export class Progress {
    private done = 0;
    private readonly t0 = Date.now();

    constructor(
        private readonly bench: string,
        private readonly total: number,
        private readonly write: (line: string) => void = (l) => process.stderr.write(l + "\n"),
    ) {}

    step(what: string): void {
        const elapsed = Date.now() - this.t0;
        const left = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : undefined;
        this.done++;
        this.write(`[${this.bench}] ${this.done}/${this.total} ${what} (${clock(elapsed)} so far${left === undefined ? "" : `, about ${clock(left)} left`})`);
    }
}

export interface Figure {
    unit: string;
    values: number[];
}

export interface BenchResults {
    bench: string;
    startedAt: string;
    finishedAt: string;
    machine: ReturnType<typeof machine>;
    settings: BenchSettings;
    figures: Record<string, Figure>;
}

/** The raw figures of one run, written as JSON to BENCH_OUT (default bench/results, not committed). */
export class Results {
    private readonly startedAt = new Date().toISOString();
    readonly figures: Record<string, Figure> = {};

    constructor(
        readonly bench: string,
        readonly settings: BenchSettings,
    ) {}

    add(key: string, unit: string, values: number[]): number[] {
        this.figures[key] = { unit, values };
        return values;
    }

    /** Writes `<bench>-<time>.json` and `<bench>-latest.json`; returns the first path. */
    write(dir = process.env.BENCH_OUT || path.join(__dirname, "results")): string {
        const out: BenchResults = { bench: this.bench, startedAt: this.startedAt, finishedAt: new Date().toISOString(), machine: machine(), settings: this.settings, figures: this.figures };
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${this.bench}-${out.startedAt.replace(/[:.]/g, "-")}.json`);
        const text = JSON.stringify(out, null, 2) + "\n";
        fs.writeFileSync(file, text);
        fs.writeFileSync(path.join(dir, `${this.bench}-latest.json`), text);
        return file;
    }
}

/** How far two runs of the same bench may differ on a headline figure and still agree. */
export const AGREEMENT = 0.1;

/** Two runs' figures side by side: the medians and their ratio, for every figure either run has. */
export function compare(a: BenchResults, b: BenchResults): string[] {
    const keys = [...new Set([...Object.keys(a.figures), ...Object.keys(b.figures)])];
    const cell = (f: Figure | undefined) => (f && f.values.length ? median(f.values).toFixed(2) : "-");
    const lines = [`| figure | unit | ${a.startedAt} | ${b.startedAt} | second / first | within ${AGREEMENT * 100} % |`, "|---|---|---|---|---|---|"];
    for (const k of keys) {
        const [fa, fb] = [a.figures[k], b.figures[k]];
        const r = fa?.values.length && fb?.values.length && median(fa.values) !== 0 ? median(fb.values) / median(fa.values) : undefined;
        const agrees = r === undefined ? "" : Math.abs(r - 1) <= AGREEMENT + 1e-9 ? "yes" : "no";
        lines.push(`| ${k} | ${(fa ?? fb)!.unit} | ${cell(fa)} | ${cell(fb)} | ${r === undefined ? "" : r.toFixed(2)} | ${agrees} |`);
    }
    return lines;
}

/** A goal on one figure: at least, or at most, `value`. */
export interface Goal {
    /** "at least" (a ratio of throughput) or "at most" (a lag, a time). */
    atLeast: boolean;
    value: number;
}

export interface Judgement {
    median: number;
    min: number;
    max: number;
    /** How far the median is from the goal, in the goal's favour when positive. */
    margin: number;
    /** "met", "not met", or "undecided" when the runs' spread is wider than the margin: the runs say nothing about the goal. */
    verdict: "met" | "not met" | "undecided";
}

/**
 * Judges repeated runs of one figure against its goal. The spread (max - min of the runs) is compared with the
 * margin (median to goal): a spread wider than the margin means another set of runs could land on the other
 * side, so the verdict is "undecided" instead of met or not met.
 */
export function judge(values: number[], goal: Goal): Judgement {
    if (values.length === 0) throw new Error("judge: no values");
    const m = median(values);
    const [min, max] = [Math.min(...values), Math.max(...values)];
    const margin = goal.atLeast ? m - goal.value : goal.value - m;
    const verdict = max - min > Math.abs(margin) ? "undecided" : margin >= 0 ? "met" : "not met";
    return { median: m, min, max, margin, verdict };
}

/** A judgement as a table cell: "met (margin 0.06, spread 0.03)". */
export function verdictCell(j: Judgement, digits = 2): string {
    const note = j.verdict === "undecided" ? "undecided: the spread is wider than the margin" : j.verdict;
    return `${note} (margin ${j.margin.toFixed(digits)}, spread ${(j.max - j.min).toFixed(digits)})`;
}

/** Each run's value of a figure divided by its baseline's in the same run (the runs are interleaved in pairs). */
export function pairedRatios(values: number[], baseline: number[]): number[] {
    if (values.length !== baseline.length) throw new Error(`pairedRatios: ${values.length} values against ${baseline.length} baselines`);
    return values.map((v, i) => v / baseline[i]);
}

/** Time each CPU spent busy and in all, from /proc/stat (jiffies), to tell which core a load saturated. */
export function cpuTimes(stat = require("fs").readFileSync("/proc/stat", "utf8") as string): { busy: number; total: number }[] {
    const out: { busy: number; total: number }[] = [];
    for (const line of stat.split("\n")) {
        const m = /^cpu(\d+)\s+(.*)$/.exec(line);
        if (!m) continue;
        // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
        const f = m[2].trim().split(/\s+/).map(Number);
        const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
        out[Number(m[1])] = { busy: total - f[3] - f[4], total };
    }
    return out;
}

/** Each CPU's busy share (0-1) between two cpuTimes() readings. */
export function busyShares(before: { busy: number; total: number }[], after: { busy: number; total: number }[]): number[] {
    return after.map((a, i) => (a.total - before[i].total > 0 ? (a.busy - before[i].busy) / (a.total - before[i].total) : 0));
}
