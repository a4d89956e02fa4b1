/**
 * Automated failover when the primary's PostgreSQL hangs instead of dying: every postgres process of the
 * primary pod is paused (SIGSTOP, as a hung disk or CPU starvation does) for longer than Patroni's ttl while
 * Patroni and the pod's scripts keep running, then resumed. Whatever the cluster does meanwhile, no
 * acknowledged commit may be lost, two pods may never be writable at once, and it must settle on one
 * primary that every other pod streams from.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_TIMING } from "../../components/engines/postgres/topologies/patroni/timing";
import { PATRONI_IMAGE } from "../harness/patroni";
import { freezePostgres, podProcesses, thaw } from "../harness/pause";
import { RoleSampler } from "../harness/roles";
import { untilSyncStandby } from "../harness/patroniApi";
import { procCmdline, procStat } from "../harness/proc";
import { AckedWriter } from "../harness/writer";

/** Longer than the leader lock's ttl, so that the lock can expire while the server is paused. */
const PAUSE_MS = (PATRONI_TIMING.ttl + 15) * 1000;
/** Two pods out of recovery within this of each other (by their own clocks) count as two primaries. */
const OVERLAP_WINDOW_MS = 100;
/** How long the end state must hold: two of Patroni's loops. */
const STABLE_MS = 2 * PATRONI_TIMING.loop_wait * 1000;
/** Writers on separate tables: a writer whose statement is caught by the pause waits with it. */
const TABLES = ["w1", "w2", "w3"];

/**
 * The scenario, with the pod's fence (patroni-fence.sh) as rendered, or with the paused pod's fence killed
 * first: then nothing kills the hung server, the leader lock expires, a replica is promoted, and what keeps
 * the acknowledged commits is Patroni's conditional renewal of the lock in its store when the old primary
 * resumes (tests/harness/etcd.ts).
 */
function pauseScenario(title: string, fence: boolean) {
    describe(title, function () {
        this.timeout(600000);
        const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1, failover: "patroni", image: PATRONI_IMAGE } });
        const superuser = { user: "postgres", database: "postgres" };
        const ordinals = [0, 1, 2];
        const writable = () => ordinals.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
        const streamingFrom = (primary: number) =>
            c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);
        const settled = () => {
            const w = writable();
            return w.length === 1 && streamingFrom(w[0]) === ordinals.filter((i) => i !== w[0]).map((i) => `db-${i}`).join(",");
        };
        const fenceLines = (i: number) => fs.readFileSync(c.logFile(i), "utf8").split("\n").filter((l) => l.includes("FENCE:"));

        before(async () => {
            await c.up();
            await c.until("one primary and two streaming replicas", settled);
            const primary = writable()[0];
            // Strict synchronous mode promotes only a standby Patroni has named in its store (one of its loops
            // after the replicas stream): the primary is paused only once it has named one.
            await untilSyncStandby(c, primary);
            for (const t of TABLES) c.sql(primary, `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL)`);
        });
        after(() => c.cleanup());

        it(fence ? "loses no acknowledged commit, never has two writable pods, and settles on one primary" : "loses no acknowledged commit and settles on one primary", async () => {
            const old = writable()[0];
            if (!fence) {
                // A bash the pod starts and ends (a tick's subshell) may be gone by the time its command line is read.
                const fences = podProcesses(c.pod(old), "bash").filter((p) => procCmdline(p.pid)?.includes("patroni-fence.sh"));
                // A tick's subshell is a forked bash with the fence's command line, a child of the fence: the fence
                // is the one whose parent is no fence. It goes first, then any subshell of it.
                const pids = new Set(fences.map((p) => p.pid));
                const top = fences.filter((p) => !pids.has(procStat(p.pid)?.ppid ?? -1));
                assert.strictEqual(top.length, 1, `the primary pod runs one fence (${fences.length} fence processes with subshells)`);
                for (const p of [...top, ...fences.filter((f) => f !== top[0])]) {
                    try {
                        process.kill(p.pid, "SIGKILL");
                    } catch {
                        /* a subshell that ended meanwhile */
                    }
                }
            }
            const sampler = new RoleSampler(c, ordinals, c.secret("app-password"), path.join(c.base, "roles"));
            const writers = TABLES.map((t) => new AckedWriter(c.hosts(ordinals), c.secret("app-password"), t, path.join(c.base, `acks-${t}`)));
            const ackedCount = () => writers.reduce((n, w) => n + w.acked().length, 0);
            let primary = -1;
            try {
                sampler.start();
                await c.until("the writers to get going", () => ackedCount() > 60);
                const frozen = freezePostgres(c.pod(old));
                const frozenAt = Date.now();
                await sleep(PAUSE_MS);
                const resumed = thaw(frozen);
                console.log(`      paused ${frozen.length} postgres processes of db-${old} for ${Date.now() - frozenAt} ms; ${resumed} still there to resume`);
                const atThaw = ackedCount();
                // Settled means it stays so for two of Patroni's loops: a demoted primary may stream for a
                // moment before Patroni stops it again to rewind it.
                let since = 0;
                await c.until(
                    "one primary with every other pod streaming from it, taking writes, for two Patroni loops",
                    () => {
                        let ok = false;
                        let now = -1;
                        try {
                            ok = settled() && ackedCount() >= atThaw + 30;
                            now = writable()[0];
                        } catch {
                            /* a pod that does not answer is not settled */
                        }
                        if (!ok || (since && now !== primary)) {
                            since = 0;
                            return false;
                        }
                        if (!since) since = Date.now();
                        primary = now;
                        return Date.now() - since >= STABLE_MS;
                    },
                    240000,
                );
            } finally {
                await Promise.all(writers.map((w) => w.stop()));
                await sampler.stop();
            }

            const samples = sampler.samples();
            const two = RoleSampler.overlaps(samples, OVERLAP_WINDOW_MS);
            const promoted = samples.find((s) => s.writable && s.ordinal !== old);
            console.log(
                `      ${samples.length} role samples; final primary db-${primary}; ` +
                    (promoted ? `db-${promoted.ordinal} first writable ${promoted.atMs - samples[0].atMs} ms after sampling began` : "no other pod was ever writable") +
                    `; ${two.length} sample pairs with two writable pods within ${OVERLAP_WINDOW_MS} ms`,
            );
            if (promoted) {
                const stale = samples.filter((s) => s.ordinal === old && s.writable && s.atMs >= promoted.atMs);
                if (stale.length > 0) console.log(`      db-${old} answered as a primary after db-${promoted.ordinal}'s promotion for ${stale[stale.length - 1].atMs - stale[0].atMs} ms (${stale.length} samples)`);
            }
            for (const line of fenceLines(old)) console.log(`      ${line}`);
            for (const w of writers) {
                const acked = w.acked();
                const table = path.basename(w.acksFile).replace("acks-", "");
                const missing = c.sql(primary, `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE id = a)`);
                console.log(`      ${table}: ${acked.length} acknowledged, ${missing} missing`);
                assert.strictEqual(missing, "0", `${missing} of ${acked.length} acknowledged rows of ${table} are missing on the primary db-${primary}`);
            }
            assert.ok(samples.filter((s) => s.ordinal !== old).length > 100, "the sampler observed the other pods");
            if (fence) {
                assert.strictEqual(fenceLines(old).length, 1, "the fence killed the hung primary once");
                assert.deepStrictEqual(
                    two.slice(0, 5).map(([a, b]) => `db-${a.ordinal}@${a.atMs} db-${b.ordinal}@${b.atMs}`),
                    [],
                    `${two.length} pairs of samples show two writable pods within ${OVERLAP_WINDOW_MS} ms`,
                );
            } else {
                assert.ok(promoted, "without the fence a replica was promoted while the primary was paused");
            }
            for (const i of ordinals.filter((x) => x !== primary)) {
                const conninfo = c.sql(i, "SELECT conninfo FROM pg_stat_wal_receiver", superuser);
                assert.match(conninfo, new RegExp(`host=db-${primary}\\.db-headless\\.default\\.svc\\.cluster\\.local`));
                assert.strictEqual(c.sql(i, "SELECT pg_is_in_recovery()", superuser), "t");
            }
        });
    });
}

pauseScenario("automated failover with Patroni: the primary's postgres paused longer than ttl", true);
pauseScenario("automated failover with Patroni: the primary's postgres paused longer than ttl, its fence gone", false);
