/**
 * The benchmarks still run: each data-plane bench in its quick mode (BENCH_QUICK=1: tiny database, one run,
 * three-second loads) from start to end, its table printed and its raw figures written. The figures of a
 * quick run prove that the bench works, not how fast anything is.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BenchResults } from "../../bench/report";

const ROOT = path.join(__dirname, "..", "..");

/** Runs bench/<name>.ts quick, with its JSON in a temporary directory; its stdout and the JSON it wrote. */
function runQuick(name: string): Promise<{ stdout: string; stderr: string; results: BenchResults }> {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
    return new Promise((resolve, reject) => {
        const child = spawn(path.join(ROOT, "node_modules", ".bin", "ts-node"), ["--transpile-only", path.join(ROOT, "bench", `${name}.ts`)], {
            cwd: ROOT,
            env: { ...process.env, BENCH_QUICK: "1", BENCH_OUT: out },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("exit", (code) => {
            try {
                if (code !== 0) throw new Error(`bench/${name}.ts exited ${code}:\n${stderr}`);
                const results = JSON.parse(fs.readFileSync(path.join(out, `${name}-latest.json`), "utf8")) as BenchResults;
                resolve({ stdout, stderr, results });
            } catch (err) {
                reject(err);
            } finally {
                fs.rmSync(out, { recursive: true, force: true });
            }
        });
    });
}

function assertFigures(r: BenchResults, keys: string[]): void {
    assert.deepStrictEqual(Object.keys(r.figures).sort(), [...keys].sort());
    for (const [k, f] of Object.entries(r.figures)) {
        assert.ok(f.values.length > 0 && f.values.every((v) => Number.isFinite(v) && v >= 0), `${k}: ${JSON.stringify(f.values)}`);
    }
    assert.strictEqual(r.settings.quick, true);
}

describe("the benchmarks run end to end in their quick mode", function () {
    this.timeout(900000);

    it("replication: bootstrap, lag and throughput, unpinned and pinned, with progress and raw figures", async () => {
        const { stdout, stderr, results } = await runQuick("replication");
        const modes = ["none", "async", "sync"];
        assertFigures(results, ["bootstrap.streaming", "bootstrap.ready", "bootstrap.copy", ...["unpinned", "pinned"].flatMap((p) => [`lag.${p}`, `lagP99.${p}`, `ratio.${p}.async`, `ratio.${p}.sync`, ...modes.map((m) => `tps.${p}.${m}`)])]);
        assert.ok(results.figures["tps.pinned.none"].values[0] > 0, "no transaction ran");
        assert.match(stdout, /\| primary tps, two async replicas \| \d+/);
        assert.match(stdout, /QUICK run/);
        // Streaming comes before the kubelet's readiness probe has seen it (or in the same instant at most).
        assert.ok(results.figures["bootstrap.streaming"].values[0] <= results.figures["bootstrap.ready"].values[0], JSON.stringify(results.figures));
        assert.match(stdout, /\| replica bootstrap: clone until the primary sees it streaming \(polled every 50 ms\), s \| \d/);
        assert.match(stderr, /\[replication\] 7\/7 throughput: run 1\/1, pinned, synchronous ANY 1/);
        // Every goal gets a verdict that weighs the runs' spread against the margin.
        assert.match(stdout, /\| primary tps, two async replicas \|.*\| >= 0\.9: (met|not met|undecided: the spread is wider than the margin) \(margin -?[0-9.]+, spread [0-9.]+\) \|/);
    });

    it("tls: on and off, with raw figures", async () => {
        const { stdout, results } = await runQuick("tls");
        assertFigures(results, ["tps.off", "tps.on", "tpsNewConnection.off", "tpsNewConnection.on", "lag.off", "lag.on"]);
        assert.match(stdout, /\| primary tps, kept connections \| \d+/);
    });

    it("pooler: new connections direct and through PgBouncer, with raw figures", async () => {
        const { stdout, results } = await runQuick("pooler");
        const loads = ["as-fast-as-it-goes", "paced-R-25"];
        assertFigures(results, loads.flatMap((l) => ["direct", "pooler"].flatMap((w) => ["tps", "latency", "cpuPerConnection"].map((f) => `${l}.${w}.${f}`))));
        assert.match(stdout, /\| as fast as it goes \| pooler \/ direct \| [0-9.]+/);
    });

    it("backup: backups, restores, archiving and throughput, with raw figures", async () => {
        const { results } = await runQuick("backup");
        assertFigures(results, ["backup.empty", "backup.zst", "backup.lz4", "restore.zst", "restore.lz4", "copy", "repository", "archiveLag", "archiveDone", "archivePush", "tps.archivingOff", "tps.archivingOn"]);
        // Each segment reaches the repository before the server counts it archived, and not in the same instant
        // as its completion (a sampler held up would see both at once).
        const lag = results.figures.archiveLag.values;
        assert.ok(lag.every((ms) => ms > 0), `archive lag ${JSON.stringify(lag)} ms`);
        assert.ok(Math.max(...lag) <= Math.max(...results.figures.archiveDone.values), JSON.stringify(results.figures));
    });

    it("metrics: the exporter's cost with no scrape, every 15 s and every 1 s, with progress and raw figures", async () => {
        const { stdout, stderr, results } = await runQuick("metrics");
        assertFigures(results, ["tps.none", "tps.every15s", "tps.every1s", "scrape.every15s", "scrape.every1s", "exporterCpuPerScrape.every15s", "exporterCpuPerScrape.every1s"]);
        assert.match(stdout, /\| scrape every 1 s \| \d+ \(\d+-\d+\) \| [0-9.]+ % \| /);
        assert.match(stderr, /\[metrics\] 3\/3 run 1\/1, /);
    });

    it("verify: replicated-db-verify against pg_dump, and under a load, with progress and raw figures", async () => {
        const { stdout, stderr, results } = await runQuick("verify");
        assertFigures(results, ["verify.full", "verify.noPageScan", "pgDump", "verify.underLoad", "heldBack", "tps.alone", "tps.withVerify"]);
        assert.ok(results.figures["tps.alone"].values[0] > 0, "no transaction ran");
        assert.match(stdout, /\| replicated-db-verify --no-page-scan \| [0-9.]+ /);
        assert.match(stderr, /\[verify\] 3\/3 under load: /);
    });
});

describe("the clone-under-load benchmark runs end to end in its quick mode", function () {
    this.timeout(600000);

    it("clone: a replica joins from a replica, the primary and the repository under a load, pinned, with the goals judged", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-clone-"));
        // The servers run as postgres, which must reach the work directory inside.
        fs.chmodSync(dir, 0o755);
        const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn("bash", [path.join(ROOT, "bench", "clone-load.sh")], {
                cwd: ROOT,
                env: { ...process.env, BENCH_QUICK: "1", BENCH_LAYOUTS: "pinned", BENCH_DIR: path.join(dir, "work") },
            });
            let out = "";
            let err = "";
            child.stdout.on("data", (d) => (out += d));
            child.stderr.on("data", (d) => (err += d));
            child.on("exit", (c) => resolve({ code: c, stdout: out, stderr: err }));
        });
        fs.rmSync(dir, { recursive: true, force: true });
        assert.strictEqual(code, 0, stderr);
        assert.match(stdout, /QUICK run/);
        for (const source of ["replica", "primary", "repository"]) {
            // The join's seconds, the primary's rates, each core's busy share, for a replica's copy the WAL since its
            // restartpoint and how often the checkpoint's rule asked for one, and both goals judged.
            const wal = source === "replica" ? "\\d+ \\(\\d+-\\d+\\) \\([01] of 1\\)" : "-";
            assert.match(stdout, new RegExp(`\\| ${source} \\| pinned \\| [0-9.]+ \\([0-9.]+-[0-9.]+\\) \\([0-9.]+x\\) \\| \\d+ .*\\| \\d+ % / \\d+ % \\| ${wal} \\| (met|not met|undecided) \\(margin -?[0-9.]+, spread [0-9.]+\\); (met|not met|undecided) `), stdout);
        }
        assert.match(stderr, /\[clone\] round 1\/1, repository, pinned/);
    });
});
