/**
 * The load tests' oracle for stale reads (tests/harness/clients/analysis.ts) as a table: a standby counts as current
 * only while it answers as a primary or its WAL receiver said "streaming" at two polls in a row, the same receiver.
 */
import * as assert from "assert";
import { STALE_READ_GRACE_MS, staleReads, streamingTimes } from "../harness/clients/analysis";
import { OpRecord, Sample } from "../harness/clients/protocol";

const T0 = 1_000_000;
const sample = (t: number, wal: string | null, walPid: number | null, rec = true): Sample => ({ t, end: t + 5, pod: 1, ok: true, rec, wal, walPid });
const read = (t: number, wal: string | null = null): OpRecord => ({ t, end: t + 5, client: "pg-ro", kind: "read", ok: true, addr: "10.0.0.1", rec: true, wal });

describe("the load tests' stale-read oracle", () => {
    const rows: [why: string, samples: Sample[], current: number[]][] = [
        ["a primary's answers count", [sample(T0, null, null, false), sample(T0 + 70, null, null, false)], [T0 + 5, T0 + 75]],
        ["one 'streaming' answer is not enough", [sample(T0, "streaming", 41)], []],
        ["the same receiver twice is", [sample(T0, "streaming", 41), sample(T0 + 70, "streaming", 41)], [T0 + 75]],
        [
            "a new receiver at each poll (one refused every retry) never is",
            [sample(T0, "streaming", 41), sample(T0 + 70, "streaming", 42), sample(T0 + 140, null, null), sample(T0 + 210, "streaming", 43)],
            [],
        ],
        ["a poll in between without a receiver breaks the pair", [sample(T0, "streaming", 41), sample(T0 + 70, null, null), sample(T0 + 140, "streaming", 41)], []],
        ["a failed poll does not", [sample(T0, "streaming", 41), { t: T0 + 70, end: T0 + 75, pod: 1, ok: false }, sample(T0 + 140, "streaming", 41)], [T0 + 145]],
    ];
    for (const [why, samples, current] of rows) {
        it(why, () => assert.deepStrictEqual(streamingTimes(samples).get(1) ?? [], current));
    }

    it("flags a read from a standby whose receiver was only ever seen connecting, whatever the read itself saw", () => {
        const glimpses = [0, 5000, 10000].map((d, i) => sample(T0 + d, "streaming", 100 + i));
        const stale = staleReads([read(T0 + 10000 + STALE_READ_GRACE_MS + 1, "streaming")], glimpses, () => 1, ["pg-ro"], T0);
        assert.strictEqual(stale.length, 1, JSON.stringify(stale));
        assert.match(stale[0], /pg-ro read from db-1 at .*, not seen streaming for 15\.0 s \(the read saw wal receiver streaming\)/);
    });

    it("passes a read within the grace of the last confirmed stream, and ignores ungated clients", () => {
        const streamed = [sample(T0, "streaming", 7), sample(T0 + 70, "streaming", 7)];
        const at = T0 + 75 + STALE_READ_GRACE_MS;
        assert.deepStrictEqual(staleReads([read(at)], streamed, () => 1, ["pg-ro"], T0), []);
        assert.strictEqual(staleReads([read(at + 1)], streamed, () => 1, ["pg-ro"], T0).length, 1);
        assert.deepStrictEqual(staleReads([read(at + 1)], streamed, () => 1, ["direct-1"], T0), []);
    });
});
