/**
 * Automated failover with the fast timings (`patroni: { ttl: 20, loopWait: 2, retryTimeout: 5,
 * primaryStartTimeout: 30 }`, strict synchronous mode with one standby) under a client that commits one row per
 * transaction and follows the primary as applications do (libpq multi-host, target_session_attrs=read-write):
 * - node loss: the primary's whole pod SIGKILLed (Patroni with it, so its lock must expire);
 * - the primary's postmaster SIGKILLed while Patroni lives: noticed within one loop_wait;
 * - the primary's postgres paused (SIGSTOP) for longer than ttl, then resumed: the fence's bound follows the
 *   timings, and no two pods are ever writable (sampled on the servers themselves).
 * Each prints the time from the failure to the first acknowledged write; none may lose an acknowledged row.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { sleep } from "../harness/cluster";
import { freezePostgres, thaw } from "../harness/pause";
import { RoleSampler } from "../harness/roles";
import { AckedWriter } from "../harness/writer";
import { FAST_TIMING } from "../../components/engines/postgres/topologies/patroni/resolve";
import { fenceAfterSeconds } from "../../components/engines/postgres/topologies/patroni/timing";
import {
    ORDINALS,
    OVERLAP_WINDOW_MS,
    assertNeverTwoWritable,
    fastCluster,
    firstAckAfter,
    missingRows,
    postmasterPid,
    settleUnderWrites,
    settled,
    twoWritable,
    untilSyncStandby,
    writable,
} from "./patroni-fast-support";

const T = FAST_TIMING;
/** The bound docs/failover.md states for node loss: the lock expires within ttl of the death, a replica notices and
 * promotes within two loops; on top, as in the other Patroni tests, 10 s for the client's reconnect
 * (connect_timeout 2 s per host) on a machine that runs other suites beside this one. */
const NODE_LOSS_BOUND_MS = (T.ttl + 2 * T.loopWait + 10) * 1000;
/** A crashed server under a live Patroni is noticed within one loop (plus its own 1 s of slack)... */
const DETECT_BOUND_MS = (T.loopWait + 1) * 1000;
/** ...and restarted in place (Patroni: crash recovery in single-user mode, a start, a promotion) or
 * replaced; the client's reconnect on top. */
const POSTGRES_DEATH_BOUND_MS = 15000;

/**
 * The time of the first line of a pod's log at or after `fromMs` that matches `re`, by Patroni's UTC stamp.
 * A stamp may follow `backend> `: the prompt that PostgreSQL in single-user mode (Patroni's crash recovery before
 * a rewind) leaves unterminated on the shared output.
 */
function logTime(lines: string[], re: RegExp, fromMs: number): number | undefined {
    for (const l of lines) {
        const m = /^(?:backend> )*(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) /.exec(l);
        if (!m || !re.test(l)) continue;
        const t = Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`);
        if (t >= fromMs) return t;
    }
    return undefined;
}

describe("automated failover with Patroni's fast timings", function () {
    this.timeout(600000);
    const c = fastCluster();
    let primary = -1;

    before(async () => {
        await c.up();
        await c.until("one primary and two streaming replicas", () => settled(c), 120000);
        primary = writable(c)[0];
        for (const t of ["node_loss", "pg_death", "paused"]) c.sql(primary, `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL)`);
    });
    after(() => c.cleanup());

    async function settle(): Promise<void> {
        await c.until("one primary with every other pod streaming from it", () => settled(c), 180000);
        primary = writable(c)[0];
        await untilSyncStandby(c, primary);
    }

    it(`node loss: the primary's pod SIGKILLed, a replica takes writes within ${NODE_LOSS_BOUND_MS / 1000} s, no acknowledged row lost`, async () => {
        await untilSyncStandby(c, primary);
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "node_loss", path.join(c.base, "acks-node-loss"));
        const old = primary;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 50);
            const killedAt = Date.now();
            await c.stop(old, "SIGKILL");
            // Counted once the pod is gone and the writer has recorded what the old primary acknowledged before its
            // death: the record of an acknowledgement can land after the kill (seen 117 ms after it on a busy
            // machine), and no replica can take over within a second (the lock lives ttl - loopWait at least).
            await sleep(1000);
            const count = writer.acked().length;
            const ms = await firstAckAfter(writer, count, killedAt, 120000);
            const now = writable(c);
            console.log(`      node loss: first acknowledged write ${ms} ms after the kill of db-${old}, on db-${now.join(",")} (${count} acknowledged before)`);
            assert.deepStrictEqual(now.length, 1, "one writable pod");
            assert.notStrictEqual(now[0], old);
            assert.ok(ms <= NODE_LOSS_BOUND_MS, `${ms} ms > ${NODE_LOSS_BOUND_MS} ms`);
            await c.until("more writes on the new primary", () => writer.acked().length > count + 20);
        } finally {
            await writer.stop();
        }
        const acked = writer.acked();
        const missing = missingRows(c, writable(c)[0], "node_loss", acked);
        console.log(`      node loss: ${acked.length} acknowledged, ${missing} missing`);
        assert.strictEqual(missing, 0);
        c.start(old);
        await settle();
    });

    it(`the primary's postmaster SIGKILLed while Patroni lives: writes again within ${POSTGRES_DEATH_BOUND_MS / 1000} s, no acknowledged row lost`, async () => {
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "pg_death", path.join(c.base, "acks-pg-death"));
        const old = primary;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 50);
            const killedAt = Date.now();
            process.kill(postmasterPid(c, old), "SIGKILL");
            // A commit acknowledged just before the kill may reach the file a moment later; no server is back
            // within 200 ms (Patroni has to notice and run crash recovery).
            await sleep(200);
            const ms = await firstAckAfter(writer, writer.acked().length, killedAt, 120000);
            await c.until("one writable pod", () => writable(c).length === 1, 30000);
            const now = writable(c)[0];
            // Patroni's clock is the same as the test's (one machine); its stamps have milliseconds.
            const noticed = logTime(fs.readFileSync(c.logFile(old), "utf8").split("\n"), /Postgresql is not running/, killedAt - 1000);
            const detectMs = noticed === undefined ? -1 : noticed - killedAt;
            console.log(
                `      postgres death: Patroni noticed ${detectMs} ms after the kill of db-${old}'s postmaster; first acknowledged write ${ms} ms after it, ` +
                    `on db-${now} (${now === old ? "restarted in place" : "failed over"})`,
            );
            assert.ok(noticed !== undefined, "Patroni logged that PostgreSQL is not running");
            assert.ok(detectMs <= DETECT_BOUND_MS, `noticed after ${detectMs} ms > ${DETECT_BOUND_MS} ms`);
            assert.ok(ms <= POSTGRES_DEATH_BOUND_MS, `${ms} ms > ${POSTGRES_DEATH_BOUND_MS} ms`);
        } finally {
            await writer.stop();
        }
        const acked = writer.acked();
        const missing = missingRows(c, writable(c)[0], "pg_death", acked);
        console.log(`      postgres death: ${acked.length} acknowledged, ${missing} missing`);
        assert.strictEqual(missing, 0);
        await settle();
    });

    it(`the primary's postgres paused for ttl + 10 s: fenced after ${fenceAfterSeconds(T)} s, never two writable pods, no acknowledged row lost`, async () => {
        const old = primary;
        const fenceLines = () => fs.readFileSync(c.logFile(old), "utf8").split("\n").filter((l) => l.includes("FENCE:"));
        const fencedBefore = fenceLines().length;
        const sampler = new RoleSampler(c, ORDINALS, c.secret("app-password"), path.join(c.base, "roles-paused"));
        const writer = new AckedWriter(c.hosts(ORDINALS), c.secret("app-password"), "paused", path.join(c.base, "acks-paused"));
        let frozenAt = 0;
        let firstMs = -1;
        try {
            sampler.start();
            await c.until("the writer to get going", () => writer.acked().length > 50);
            const frozen = freezePostgres(c.pod(old));
            frozenAt = Date.now();
            const count = writer.acked().length;
            // Watched from the pause on: the fenced server may take writes again before the pause ends.
            const first = firstAckAfter(writer, count, frozenAt, 120000);
            await sleep((T.ttl + 10) * 1000);
            thaw(frozen);
            firstMs = await first;
            await settleUnderWrites(c, writer, count, T.loopWait);
        } finally {
            await writer.stop();
            await sampler.stop();
        }
        const samples = sampler.samples();
        const two = twoWritable(samples);
        const now = writable(c)[0];
        const acked = writer.acked();
        const missing = missingRows(c, now, "paused", acked);
        const fences = fenceLines().slice(fencedBefore);
        console.log(
            `      paused: first acknowledged write ${firstMs} ms after the pause began; primary db-${now}; ${samples.length} role samples, ` +
                `${two.length} pairs with two writable pods within ${OVERLAP_WINDOW_MS} ms; ${acked.length} acknowledged, ${missing} missing`,
        );
        for (const l of fences) console.log(`      ${l}`);
        const back = samples.find((x) => x.writable && x.atMs > frozenAt + fenceAfterSeconds(T) * 1000);
        if (back) console.log(`      paused: db-${back.ordinal} answered as the primary again ${back.atMs - frozenAt} ms after the pause began (server's clock)`);
        // What the old primary's pod did after the fence, for the report: Patroni's and the server's lines.
        const log = fs.readFileSync(c.logFile(old), "utf8").split("\n");
        const at = log.findIndex((l) => l === fences[0]);
        const notable = log.slice(at + 1).filter((x) => /INFO|WARNING|ERROR|FATAL|LOG: /.test(x) && !/pg_controldata|Lock owner|Retry got|falling back|last_operation/.test(x));
        for (const l of notable.slice(0, 25)) console.log(`        | ${l.slice(0, 200)}`);
        assert.strictEqual(missing, 0);
        assert.ok(samples.filter((s) => s.ordinal !== old).length > 100, "the sampler observed the other pods");
        assertNeverTwoWritable(two);
        assert.strictEqual(fences.length, 1, "the fence killed the hung primary once");
        assert.match(fences[0], new RegExp(`not answered for ${fenceAfterSeconds(T)}s`));
        primary = now;
    });
});
