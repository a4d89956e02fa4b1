/**
 * No false failover with Patroni's fast timings: the store (the real kube-apiserver of the harness's node,
 * tests/harness/node.ts) paused with SIGSTOP, an API server that stops answering, under a client that commits one row per
 * transaction, with every pod's role sampled on the servers themselves (RoleSampler, every 50 ms).
 * - Shorter than retryTimeout: the primary keeps its role and no other pod is ever writable.
 * - Longer than ttl: the primary demotes itself (no writes rather than two primaries) before its lock can
 *   expire, ttl - loopWait after the outage's start at the earliest (Patroni's worst case is
 *   storeLossDemoteSeconds after the last renewal, plus a busy node's overrun); never two writable pods, no
 *   acknowledged row lost, and once the store is back the cluster settles on one primary.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { sleep } from "../harness/cluster";
import { RoleSampler } from "../harness/roles";
import { AckedWriter } from "../harness/writer";
import { FAST_TIMING, storeLossDemoteSeconds } from "../../components/engines/postgres/topologies/patroni/resolve";
import {
    ORDINALS,
    OVERLAP_WINDOW_MS,
    assertNeverTwoWritable,
    fastCluster,
    missingRows,
    settleUnderWrites,
    settled,
    storePid,
    twoWritable,
    untilSyncStandby,
    writable,
} from "./patroni-fast-support";

const T = FAST_TIMING;
/** The bounds docs/failover.md states: an outage this much shorter than retryTimeout is ridden out... */
const SHORT_PAUSE_MS = (T.retryTimeout - 2) * 1000;
/** ...and one longer than ttl is not. */
const LONG_PAUSE_MS = (T.ttl + 5) * 1000;
/** The primary must stop answering as one before its lock can expire: the lock was last renewed at most one loop
 * before the outage began, so it can expire ttl - loopWait after that. A replica cut off from nothing could
 * take over then; here the store is gone for everyone, so this bound stands in for the partition in which
 * only the primary loses it. */
const DEMOTE_BOUND_MS = (T.ttl - T.loopWait) * 1000;

describe("Patroni's fast timings and a store that stops answering", function () {
    this.timeout(600000);
    const c = fastCluster();
    let primary = -1;

    before(async () => {
        await c.up();
        await c.until("one primary and two streaming replicas", () => settled(c), 120000);
        primary = writable(c)[0];
        for (const t of ["short_pause", "long_pause"]) c.sql(primary, `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL)`);
        await untilSyncStandby(c, primary);
    });
    after(() => c.cleanup());

    /** Pauses the API server for `ms` under the writer and the sampler; returns when the pause began and ended. */
    async function pauseStore(table: string, ms: number, sampler: RoleSampler, writer: AckedWriter): Promise<{ from: number; to: number }> {
        sampler.start();
        await c.until("the writer to get going", () => writer.acked().length > 50);
        const pid = storePid(c);
        const from = Date.now();
        process.kill(pid, "SIGSTOP");
        try {
            await sleep(ms);
        } finally {
            process.kill(pid, "SIGCONT");
        }
        const to = Date.now();
        console.log(`      ${table}: kube-apiserver paused for ${to - from} ms from ${new Date(from).toISOString()}`);
        return { from, to };
    }

    const demotions = (i: number) => fs.readFileSync(c.logFile(i), "utf8").split("\n").filter((l) => l.includes("DCS is not accessible and I was a leader"));

    it(`a ${SHORT_PAUSE_MS / 1000} s outage (shorter than retryTimeout ${T.retryTimeout} s): the primary keeps its role, no other pod is ever writable`, async () => {
        const old = primary;
        const sampler = new RoleSampler(c, ORDINALS, c.secret("app-password"), path.join(c.base, "roles-short"));
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "short_pause", path.join(c.base, "acks-short"));
        let window = { from: 0, to: 0 };
        try {
            window = await pauseStore("short_pause", SHORT_PAUSE_MS, sampler, writer);
            const count = writer.acked().length;
            // Three loops after the store is back: a late demotion would show by then.
            await sleep(3 * T.loopWait * 1000 + T.retryTimeout * 1000);
            await c.until("more writes", () => writer.acked().length > count + 20);
        } finally {
            await writer.stop();
            await sampler.stop();
        }
        const samples = sampler.samples();
        const others = samples.filter((s) => s.ordinal !== old && s.writable);
        const oldDuring = samples.filter((s) => s.ordinal === old && s.atMs >= window.from);
        const missing = missingRows(c, old, "short_pause", writer.acked());
        console.log(`      short_pause: ${samples.length} role samples, ${oldDuring.filter((s) => !s.writable).length} of db-${old} in recovery, ${others.length} writable on other pods; ${writer.acked().length} acknowledged, ${missing} missing`);
        assert.deepStrictEqual(writable(c), [old], "the primary kept its role");
        assert.strictEqual(others.length, 0, "no other pod was writable");
        assert.ok(oldDuring.length > 100 && oldDuring.every((s) => s.writable), "the primary answered as the primary throughout");
        assert.deepStrictEqual(demotions(old), [], "Patroni did not demote the primary");
        assert.strictEqual(missing, 0);
    });

    it(`a ${LONG_PAUSE_MS / 1000} s outage (longer than ttl ${T.ttl} s): the primary demotes itself before its lock can expire (${DEMOTE_BOUND_MS / 1000} s), never two writable pods, no acknowledged row lost`, async () => {
        const old = primary;
        await untilSyncStandby(c, old);
        const sampler = new RoleSampler(c, ORDINALS, c.secret("app-password"), path.join(c.base, "roles-long"));
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "long_pause", path.join(c.base, "acks-long"));
        let window = { from: 0, to: 0 };
        try {
            window = await pauseStore("long_pause", LONG_PAUSE_MS, sampler, writer);
            const count = writer.acked().length;
            await settleUnderWrites(c, writer, count, T.loopWait);
        } finally {
            await writer.stop();
            await sampler.stop();
        }
        const samples = sampler.samples();
        const two = twoWritable(samples);
        const lastOld = samples.filter((s) => s.ordinal === old && s.writable && s.atMs <= window.to).pop();
        const now = writable(c)[0];
        const missing = missingRows(c, now, "long_pause", writer.acked());
        const demotedAfterMs = lastOld ? lastOld.atMs - window.from : -1;
        console.log(
            `      long_pause: db-${old} last answered as the primary ${demotedAfterMs} ms into the outage; primary now db-${now}; ` +
                `${two.length} pairs with two writable pods within ${OVERLAP_WINDOW_MS} ms; ${writer.acked().length} acknowledged, ${missing} missing`,
        );
        for (const l of demotions(old)) console.log(`      ${l}`);
        assert.ok(demotions(old).length >= 1, "Patroni demoted the primary because the store did not answer");
        assert.ok(lastOld, "the primary was sampled as the primary when the outage began");
        assert.ok(
            demotedAfterMs <= DEMOTE_BOUND_MS,
            `the primary answered as one ${demotedAfterMs} ms into the outage, after its lock could have expired (${DEMOTE_BOUND_MS} ms; ` +
                `Patroni's worst case ${storeLossDemoteSeconds(T) * 1000} ms)`,
        );
        assertNeverTwoWritable(two);
        // No pod but the old primary was writable during the outage: nobody took over while the store was away.
        assert.deepStrictEqual(samples.filter((s) => s.writable && s.ordinal !== old && s.atMs < window.to), []);
        assert.strictEqual(missing, 0);
        primary = now;
    });
});
