/**
 * Mocha's spec reporter, plus each test file's wall time (its first suite's start to its last suite's end,
 * hooks included) and, at the end, the slowest files: where a suite's time goes, in every run.
 *
 *   mocha --reporter ./tests/harness/timed-reporter.js [--reporter-option slowest=N] [--reporter-option timings=FILE]
 *
 * `timings=FILE` also writes {file: seconds} as JSON (tests/harness/lanes.ts balances lanes with it).
 */
"use strict";
const fs = require("fs");
const path = require("path");
const Spec = require("mocha/lib/reporters/spec");

class TimedReporter extends Spec {
    constructor(runner, options) {
        super(runner, options);
        const opts = (options && options.reporterOption) || (options && options.reporterOptions) || {};
        const slowest = Number(opts.slowest || 10);
        const files = new Map();
        const rel = (f) => path.relative(process.cwd(), f);
        runner.on("suite", (suite) => {
            if (!suite.file) return;
            const f = rel(suite.file);
            if (!files.has(f)) files.set(f, { start: Date.now(), end: Date.now() });
        });
        runner.on("suite end", (suite) => {
            if (suite.file && files.has(rel(suite.file))) files.get(rel(suite.file)).end = Date.now();
        });
        runner.once("end", () => {
            const rows = [...files].map(([f, t]) => [f, (t.end - t.start) / 1000]).sort((a, b) => b[1] - a[1]);
            const total = rows.reduce((s, [, x]) => s + x, 0);
            process.stdout.write(`\n  slowest files (of ${rows.length}, ${total.toFixed(0)} s in all):\n`);
            for (const [f, s] of rows.slice(0, slowest)) process.stdout.write(`    ${s.toFixed(1).padStart(7)} s  ${f}\n`);
            if (opts.timings) fs.writeFileSync(opts.timings, JSON.stringify(Object.fromEntries(rows), null, 1) + "\n");
        });
    }
}

module.exports = TimedReporter;
