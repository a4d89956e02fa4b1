/**
 * Compares two benchmark runs' raw figures (the JSON a bench writes to bench/results):
 *
 *   npx ts-node --transpile-only bench/compare.ts FIRST.json SECOND.json
 *
 * Prints a table of each figure's median in both runs and the second's ratio to the first.
 */
import * as fs from "fs";
import { BenchResults, compare } from "./report";

const [first, second] = process.argv.slice(2);
if (!first || !second) {
    console.error("usage: compare.ts FIRST.json SECOND.json");
    process.exit(2);
}
const read = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as BenchResults;
const [a, b] = [read(first), read(second)];
if (a.bench !== b.bench) console.error(`note: comparing different benchmarks (${a.bench}, ${b.bench})`);
console.log(compare(a, b).join("\n"));
