import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { benchSettings, BenchResults, busyShares, compare, cpuTimes, judge, pairedRatios, Progress, QUICK, Results } from "../../bench/report";
import { ArchiveEvent, classify, pairArchiveEvents } from "../../bench/archive-watch";

describe("benchmark reports (bench/report.ts)", () => {
    const defaults = { scale: 50, runs: 3, seconds: 15 };

    it("takes the bench's defaults, the quick mode's figures with BENCH_QUICK=1, and explicit settings over both", () => {
        assert.deepStrictEqual(benchSettings(defaults, {}), { ...defaults, quick: false });
        assert.deepStrictEqual(benchSettings(defaults, { BENCH_QUICK: "1" }), { ...QUICK, quick: true });
        assert.deepStrictEqual(benchSettings(defaults, { BENCH_QUICK: "1", BENCH_RUNS: "2" }), { ...QUICK, runs: 2, quick: true });
        assert.deepStrictEqual(benchSettings(defaults, { BENCH_SCALE: "10", BENCH_SECONDS: "" }), { scale: 10, runs: 3, seconds: 15, quick: false });
    });

    it("refuses a setting that is not a whole number of 1 or more, naming it and its value", () => {
        for (const [name, value] of [["BENCH_RUNS", "0"], ["BENCH_SCALE", "2.5"], ["BENCH_SECONDS", "ten"]]) {
            assert.throws(() => benchSettings(defaults, { [name]: value }), new RegExp(`^Error: ${name}=${value}: allowed is a whole number of 1 or more$`));
        }
    });

    it("reports each step with the steps left and no estimate before the first step has taken time", () => {
        const lines: string[] = [];
        const p = new Progress("x", 3, (l) => lines.push(l));
        p.step("first");
        p.step("second");
        assert.match(lines[0], /^\[x\] 1\/3 first \(\d+s so far\)$/);
        assert.match(lines[1], /^\[x\] 2\/3 second \(\d+s so far, about \d+s left\)$/);
    });

    it("writes the raw figures as JSON, and compares two runs by median", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-"));
        try {
            const a = new Results("demo", { scale: 1, runs: 3, seconds: 3, quick: true });
            a.add("tps", "tps", [100, 300, 200]);
            a.add("lag", "ms", [1, 2]);
            const file = a.write(dir);
            const first = JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults;
            assert.deepStrictEqual(first.figures.tps, { unit: "tps", values: [100, 300, 200] });
            assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, "demo-latest.json"), "utf8")), first);
            assert.strictEqual(first.settings.quick, true);
            const second: BenchResults = { ...first, startedAt: "later", figures: { tps: { unit: "tps", values: [150, 150] }, extra: { unit: "s", values: [1] } } };
            const table = compare(first, second);
            assert.ok(table.includes("| tps | tps | 200.00 | 150.00 | 0.75 | no |"), table.join("\n"));
            assert.ok(table.includes("| lag | ms | 1.50 | - |  |  |"), table.join("\n"));
            assert.ok(table.includes("| extra | s | - | 1.00 |  |  |"), table.join("\n"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("judges repeated runs against a goal: met or not met only when the spread is narrower than the margin", () => {
        const table: [number[], { atLeast: boolean; value: number }, string, number][] = [
            // values, goal, verdict, margin
            [[0.95, 0.96, 0.97], { atLeast: true, value: 0.9 }, "met", 0.06],
            [[0.8, 0.82, 0.81], { atLeast: true, value: 0.9 }, "not met", -0.09],
            [[0.85, 0.95, 0.97], { atLeast: true, value: 0.9 }, "undecided", 0.05],
            [[0.78, 0.95, 0.91], { atLeast: true, value: 0.9 }, "undecided", 0.01],
            [[16, 20, 18], { atLeast: false, value: 50 }, "met", 32],
            [[60, 70, 65], { atLeast: false, value: 50 }, "not met", -15],
            [[20, 111, 40], { atLeast: false, value: 50 }, "undecided", 10],
            [[0.9, 0.9], { atLeast: true, value: 0.9 }, "met", 0],
        ];
        for (const [values, goal, verdict, margin] of table) {
            const j = judge(values, goal);
            assert.strictEqual(j.verdict, verdict, JSON.stringify({ values, goal }));
            assert.ok(Math.abs(j.margin - margin) < 1e-9, JSON.stringify({ values, goal, margin: j.margin }));
        }
        assert.throws(() => judge([], { atLeast: true, value: 1 }), /no values/);
    });

    it("pairs each run with its own baseline, and reads each CPU's busy share from /proc/stat", () => {
        assert.deepStrictEqual(pairedRatios([90, 50], [100, 100]), [0.9, 0.5]);
        assert.throws(() => pairedRatios([1], [1, 2]), /1 values against 2 baselines/);
        const before = cpuTimes("cpu  1 2 3 4\ncpu0 100 0 0 100 0 0 0 0\ncpu1 10 0 0 190 0 0 0 0\nintr 5\n");
        const after = cpuTimes("cpu  1 2 3 4\ncpu0 190 0 10 100 0 0 0 0\ncpu1 20 0 0 270 10 0 0 0\nintr 5\n");
        assert.deepStrictEqual(busyShares(before, after), [1, 0.1]);
        assert.strictEqual(cpuTimes().length > 0, true);
    });

});

describe("the archive-lag sampler's events (bench/archive-watch.ts)", () => {
    const seg = (n: number) => `00000001000000000000000${n}`;

    it("takes a segment's .ready and .done in archive_status and its whole file in the repository, nothing else", () => {
        assert.deepStrictEqual(classify(`${seg(5)}.ready`, false), { kind: "ready", segment: seg(5) });
        assert.deepStrictEqual(classify(`${seg(5)}.done`, false), { kind: "done", segment: seg(5) });
        assert.deepStrictEqual(classify(`${seg(5)}-${"a".repeat(40)}.zst`, true), { kind: "repo", segment: seg(5) });
        // pgBackRest's file before its rename, a timeline history, a backup label, and a .ready outside archive_status.
        for (const [name, repo] of [[`${seg(5)}-${"a".repeat(40)}.zst.pgbackrest.tmp`, true], ["00000002.history.ready", false], [`${seg(5)}.00000028.backup.ready`, false], [`${seg(5)}.ready`, true]] as const) {
            assert.strictEqual(classify(name, repo), undefined, name);
        }
    });

    it("pairs each completed segment with its arrival in the repository and its .done, and counts one that never arrived", () => {
        const events: ArchiveEvent[] = [
            { t: 1000, kind: "ready", segment: seg(1), via: "watch" },
            { t: 1120, kind: "repo", segment: seg(1), via: "watch" },
            { t: 1130, kind: "done", segment: seg(1), via: "watch" },
            { t: 2000, kind: "ready", segment: seg(2), via: "watch" },
            { t: 2400, kind: "repo", segment: seg(2), via: "scan" },
            { t: 2450, kind: "done", segment: seg(2), via: "watch" },
            { t: 3000, kind: "ready", segment: seg(3), via: "watch" },
            // A segment completed before the sampler started: no .ready seen, so no figure.
            { t: 900, kind: "repo", segment: seg(0), via: "watch" },
        ];
        assert.deepStrictEqual(pairArchiveEvents(events), { toRepository: [120, 400], toDone: [130, 450], missing: 1, byScan: 1 });
    });
});
