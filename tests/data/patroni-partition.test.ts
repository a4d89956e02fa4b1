/**
 * The partition in which only the primary loses the store, with Patroni's fast timings: each pod reaches the
 * real API server (its Kubernetes store) through a proxy of its own (tests/harness/store-proxy.ts), and only the
 * primary's is cut, as a blackhole (its requests time out; nothing is refused), for ttl + 10 s. The replicas
 * still reach the store, so the primary's leader lock expires ttl after its last renewal and one of them takes
 * over, while the cut-off primary must have demoted itself before then (storeLossDemoteSeconds after its last
 * renewal plus a busy node's overrun, STORE_LOSS_MARGIN_SECONDS: components/engines/postgres/topologies/patroni/resolve.ts). Under a client
 * that commits one row per transaction and follows the primary, with every pod's role sampled on the servers
 * themselves every 50 ms (RoleSampler), in both replication modes:
 * - a replica takes over while the old primary is still cut off; the old primary's last answer as writable
 *   comes before the new primary's first; never two writable pods; once the path is back the old primary
 *   follows the new one (rewound if it must be) and the cluster settles on that one primary;
 * - strict synchronous mode: no acknowledged row is lost (a commit returns only once the synchronous standby,
 *   the only member Patroni lets take over, has it);
 * - asynchronous mode: the acknowledged rows missing on the new primary are printed, not asserted. A commit
 *   returns once it is on the old primary's disk; the replica that takes over may not have received the last
 *   ones when the old primary stopped (Patroni promotes a replica up to maximum_lag_on_failover, 1 MB, behind),
 *   and the old primary's rejoin (pg_rewind) discards them. In this partition the old primary keeps streaming
 *   to the replicas until its demotion and its fast shutdown sends them what it has, so few or none are
 *   expected to go, but nothing guarantees it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { RoleSample, RoleSampler } from "../harness/roles";
import { AckedWriter } from "../harness/writer";
import { FAST_TIMING, STORE_LOSS_MARGIN_SECONDS, storeLossDemoteSeconds } from "../../components/engines/postgres/topologies/patroni/resolve";
import {
    ORDINALS,
    OVERLAP_WINDOW_MS,
    SUPERUSER,
    assertNeverTwoWritable,
    fastCluster,
    missingRows,
    settleUnderWrites,
    settled,
    twoWritable,
    untilSyncStandby,
    writable,
} from "./patroni-fast-support";

const T = FAST_TIMING;
/** As long as the lock takes to expire after the cut, and 10 s more for a replica to take it and promote. */
const CUT_MS = (T.ttl + 10) * 1000;

/** Patroni's lines about the leader lock, the store and a demotion or promotion. */
const PATRONI_EVENT = /DCS is not accessible|Demoting self|failed to update leader lock|promoted self|acquired session lock|Lock owner|following a different leader|pg_rewind|running pg_rewind|Request to server .* failed/;

/** Patroni's lines of pod `ordinal` about the lock, the store, a demotion or a promotion, stamped (Patroni's
 * "YYYY-MM-DD HH:MM:SS,mmm", the pod's clock, which is this machine's, in UTC here) from `fromMs` to `toMs`. */
function patroniEvents(c: Cluster, ordinal: number, fromMs: number, toMs: number): string[] {
    const found: string[] = [];
    for (const line of fs.readFileSync(c.logFile(ordinal), "utf8").split("\n")) {
        const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) /.exec(line);
        if (!m || !PATRONI_EVENT.test(line)) continue;
        const at = Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`);
        if (at >= fromMs && at <= toMs) found.push(line.slice(m.index).trim());
    }
    return found;
}

/** What one partition showed, in ms from the cut. */
interface Outcome {
    old: number;
    now: number;
    cutAt: number;
    restoredAt: number;
    samples: RoleSample[];
    acked: number[];
    lastOld?: RoleSample;
    firstNew?: RoleSample;
}

/** Cuts the primary's path to the API server for CUT_MS under the writer and the sampler, restores it and waits until the
 * cluster settles under writes; prints the figures and Patroni's lines about the lock. */
async function partitionPrimary(c: Cluster, table: string): Promise<Outcome> {
    const old = writable(c)[0];
    const sampler = new RoleSampler(c, ORDINALS, c.secret("app-password"), path.join(c.base, `roles-${table}`));
    const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), table, path.join(c.base, `acks-${table}`));
    const proxy = c.storeProxy(old);
    let cutAt = 0;
    let restoredAt = 0;
    try {
        sampler.start();
        await c.until("the writer to get going", () => writer.acked().length > 50);
        cutAt = Date.now();
        proxy.cut();
        try {
            await sleep(CUT_MS);
        } finally {
            // Taken before the restore: the requests it resets are logged after this.
            restoredAt = Date.now();
            proxy.restore();
        }
        const count = writer.acked().length;
        await settleUnderWrites(c, writer, count, T.loopWait);
    } finally {
        await writer.stop();
        await sampler.stop();
    }
    const samples = sampler.samples();
    const firstNew = samples.find((s) => s.writable && s.ordinal !== old && s.atMs >= cutAt);
    const lastOld = samples.filter((s) => s.writable && s.ordinal === old).pop();
    const now = writable(c)[0];
    const acked = writer.acked();
    const from = (s?: RoleSample) => (s ? `${s.atMs - cutAt} ms` : "never");
    const gap = lastOld && firstNew ? `${firstNew.atMs - lastOld.atMs} ms` : "n/a";
    console.log(
        `      ${table}: db-${old}'s path to the API server cut for ${restoredAt - cutAt} ms from ${new Date(cutAt).toISOString()}; ` +
            `db-${old} last writable ${from(lastOld)} after the cut, db-${firstNew?.ordinal ?? "?"} first writable ${from(firstNew)} after it; gap ${gap} ` +
            `(the lock expires ${(T.ttl - T.loopWait) * 1000}-${T.ttl * 1000} ms after the cut: ttl after its last renewal, at most loopWait before the cut; ` +
            `Patroni's worst case for the demotion ${storeLossDemoteSeconds(T) * 1000} ms after that renewal, plus up to ${STORE_LOSS_MARGIN_SECONDS * 1000} ms overrun); primary now db-${now}`,
    );
    for (const i of [old, ...(firstNew && firstNew.ordinal !== old ? [firstNew.ordinal] : [])]) {
        const lines = patroniEvents(c, i, cutAt - 2000, restoredAt + 20000);
        // A failed request to the store repeats every retryTimeout: the first and last few show it.
        const shown = lines.length > 20 ? [...lines.slice(0, 10), `... ${lines.length - 20} more ...`, ...lines.slice(-10)] : lines;
        for (const l of shown) console.log(`      db-${i}: ${l}`);
    }
    return { old, now, cutAt, restoredAt, samples, acked, lastOld, firstNew };
}

/** What must hold in both modes: a takeover during the cut, the old primary gone before it, never two writable
 * pods, and the old primary following the new one afterwards. */
async function assertTakeoverWithoutOverlap(c: Cluster, o: Outcome, table: string): Promise<void> {
    const two = twoWritable(o.samples);
    console.log(`      ${table}: ${o.samples.length} role samples; ${two.length} pairs with two writable pods within ${OVERLAP_WINDOW_MS} ms`);
    assert.ok(o.lastOld && o.lastOld.atMs >= o.cutAt, `db-${o.old} was sampled as the primary when its path was cut`);
    assert.ok(o.firstNew, "a replica took over");
    assert.ok(o.firstNew.atMs < o.restoredAt, `db-${o.firstNew.ordinal} became writable ${o.firstNew.atMs - o.cutAt} ms after the cut, not while db-${o.old} was still cut off (${o.restoredAt - o.cutAt} ms)`);
    assert.ok(
        o.lastOld.atMs < o.firstNew.atMs,
        `db-${o.old} answered as writable ${o.lastOld.atMs - o.cutAt} ms after the cut, after db-${o.firstNew.ordinal} first did (${o.firstNew.atMs - o.cutAt} ms)`,
    );
    assertNeverTwoWritable(two);
    // Patroni itself stepped down for want of the store, and saw it time out (a blackhole), never refuse.
    const events = patroniEvents(c, o.old, o.cutAt, o.restoredAt - 1);
    assert.ok(events.some((l) => l.includes("demoting self because DCS is not accessible and I was a leader")), `db-${o.old}'s Patroni demoted itself for want of the store`);
    const failed = events.filter((l) => /Request to server .* failed/.test(l));
    assert.ok(failed.length > 0 && failed.every((l) => /timed out/i.test(l) && !/refused/i.test(l)), `db-${o.old}'s requests to the store timed out while cut: ${failed.slice(0, 2).join(" | ")}`);
    assert.strictEqual(o.now, o.firstNew.ordinal, "the cluster settled on the replica that took over");
    // The old primary follows the new one: a row written there now is replayed on it.
    c.sql(o.now, `INSERT INTO ${table} (id, note) VALUES (-1, 'after the partition')`);
    await c.until(`db-${o.old} to replay a row written on db-${o.now}`, () => c.sql(o.old, `SELECT count(*) FROM ${table} WHERE id = -1`) === "1", 60000);
    assert.strictEqual(c.sql(o.old, "SELECT pg_is_in_recovery()", SUPERUSER), "t", `db-${o.old} is a replica`);
}

for (const mode of [
    { name: "strict synchronous", table: "partition_sync", synchronousReplicas: 1 },
    { name: "asynchronous", table: "partition_async", synchronousReplicas: 0 },
]) {
    describe(`Patroni's fast timings, ${mode.name} replication: only the primary loses the store`, function () {
        this.timeout(600000);
        const c = fastCluster({ synchronousReplicas: mode.synchronousReplicas, storeProxies: true });

        before(async () => {
            await c.up();
            await c.until("one primary and two streaming replicas", () => settled(c), 120000);
            c.sql(writable(c)[0], `CREATE TABLE ${mode.table} (id bigint PRIMARY KEY, note text NOT NULL)`);
            if (mode.synchronousReplicas > 0) await untilSyncStandby(c, writable(c)[0]);
        });
        // cleanup() keeps the pods' logs under tests/stress/repeat.sh (RDB_KEEP_DIR).
        after(() => c.cleanup());

        it(`the primary's path to the API server cut for ${CUT_MS / 1000} s: a replica takes over after the old primary stopped, never two writable pods, ${
            mode.synchronousReplicas > 0 ? "no acknowledged row lost" : "the rows async lost printed"
        }, the old primary follows`, async () => {
            const o = await partitionPrimary(c, mode.table);
            const missing = missingRows(c, o.now, mode.table, o.acked);
            console.log(`      ${mode.table}: ${o.acked.length} acknowledged, ${missing} missing on the new primary db-${o.now}`);
            await assertTakeoverWithoutOverlap(c, o, mode.table);
            if (mode.synchronousReplicas > 0) assert.strictEqual(missing, 0, "no acknowledged row lost");
        });
    });
}
