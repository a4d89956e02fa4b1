/** How the data suite's files are dealt to lanes (tests/harness/lanes.ts): a table over its inputs. */
import * as assert from "assert";
import { dealLanes } from "../harness/lanes";

describe("dealing the data suite's files to lanes", () => {
    const timings = { a: 600, b: 500, c: 300, d: 200, e: 100 };
    const cases: { what: string; files: string[]; lanes: number; want: string[][]; seconds: number[] }[] = [
        { what: "one lane takes everything, longest first", files: ["e", "a", "c"], lanes: 1, want: [["a", "c", "e"]], seconds: [1000] },
        { what: "two lanes: each file to the lane with the least time so far", files: ["a", "b", "c", "d", "e"], lanes: 2, want: [["a", "d", "e"], ["b", "c"]], seconds: [900, 800] },
        { what: "more lanes than files: no empty lane", files: ["a", "b"], lanes: 4, want: [["a"], ["b"]], seconds: [600, 500] },
        { what: "a file without a timing costs the median", files: ["a", "new", "e"], lanes: 2, want: [["a"], ["new", "e"]], seconds: [600, 400] },
        { what: "equal times keep the name order", files: ["y", "x"], lanes: 2, want: [["x"], ["y"]], seconds: [300, 300] },
    ];
    for (const c of cases) {
        it(c.what, () => {
            const lanes = dealLanes(c.files, c.what.startsWith("equal") ? { x: 300, y: 300 } : timings, c.lanes);
            assert.deepStrictEqual(lanes.map((l) => l.files), c.want);
            assert.deepStrictEqual(lanes.map((l) => l.seconds), c.seconds);
        });
    }

    it("refuses a lane count that is not a whole number of at least 1, naming it", () => {
        for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => dealLanes(["a"], timings, bad), /^Error: invalid lanes: .* \(allowed: a whole number of at least 1\)$/);
    });
});
