/**
 * Manual failover while the old primary's pod is frozen (every process of it paused with SIGSTOP, as a frozen VM
 * or a stalled node would), then resumed after 25 s. The chosen replica cannot tell a frozen pod from a dead
 * one (neither answers), so it promotes; the old primary, once it runs again, takes writes until its supervisor's
 * next tick reads the new primaryOrdinal and steps down. These tests measure that window with writers and
 * samplers connected as applications connect, and show what it costs in each replication mode
 * (docs/failover.md, "A primary frozen during a manual failover"):
 * - synchronous: a commit on the resumed old primary waits for a standby, which now follows the new primary, so
 *   it is never acknowledged: nothing is lost;
 * - asynchronous: a commit the resumed old primary acknowledges in the window is discarded by its rewind; the
 *   test shows that only such commits are lost, never one acknowledged before the freeze.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { freeze, thaw } from "../harness/pause";
import { RoleSampler } from "../harness/roles";
import { AckedWriter } from "../harness/writer";

const FREEZE_MS = 25000;
/** The window's bound (docs/failover.md): one supervisor tick (1 s) and its step-down, on a busy machine. */
const WINDOW_BOUND_MS = 2000;
/** Writers on separate tables: a writer whose statement is caught by the freeze waits with it. */
const TABLES = ["w1", "w2", "w3"];

function frozenScenario(title: string, synchronousReplicas: number) {
    describe(title, function () {
        this.timeout(300000);
        const c = new Cluster({ args: { replicas: 2, synchronousReplicas } });
        const superuser = { user: "postgres", database: "postgres" };
        const ordinals = [0, 1, 2];
        const outOfRecovery = (i: number) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f";
        const followers = (primary: number) =>
            c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);

        before(async () => {
            await c.up();
            await c.until("db-1 and db-2 to stream from db-0", () => followers(0) === "db_1,db_2");
            for (const t of TABLES) c.sql(0, `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL)`);
        });
        after(() => c.cleanup());

        it("steps the resumed old primary down within one tick; loses only what it acknowledged after resuming, if anything", async () => {
            const sampler = new RoleSampler(c, ordinals, c.secret("app-password"), path.join(c.base, "roles"));
            const writers = TABLES.map((t) => new AckedWriter(c.hosts(ordinals), c.secret("app-password"), t, path.join(c.base, `acks-${t}`)));
            const ackedCount = () => writers.reduce((n, w) => n + w.acked().length, 0);
            let atThaw: number[] = [];
            try {
                sampler.start();
                await c.until("the writers to get going", () => ackedCount() > 60);
                const frozen = freeze(c.pod(0));
                const frozenAt = Date.now();
                await c.apply({ primaryOrdinal: 1 });
                await c.until("db-1 to promote while db-0 is frozen", () => outOfRecovery(1), FREEZE_MS - 2000);
                await sleep(frozenAt + FREEZE_MS - Date.now());
                atThaw = writers.map((w) => w.acked().length);
                const resumed = thaw(frozen);
                console.log(`      froze ${frozen.length} processes of db-0 for ${Date.now() - frozenAt} ms; ${resumed} resumed`);
                await c.until(
                    "db-1 the only writable pod, db-0 and db-2 streaming from it, taking writes",
                    () => !outOfRecovery(0) && followers(1) === "db_0,db_2" && ackedCount() >= atThaw.reduce((a, b) => a + b, 0) + 30,
                    180000,
                );
            } finally {
                await Promise.all(writers.map((w) => w.stop()));
                await sampler.stop();
            }

            const samples = sampler.samples();
            const promoted = samples.find((s) => s.writable && s.ordinal === 1);
            assert.ok(promoted, "db-1 answered as writable");
            const stale = samples.filter((s) => s.ordinal === 0 && s.atMs >= promoted.atMs);
            const staleWritable = stale.filter((s) => s.writable);
            const windowMs = staleWritable.length === 0 ? 0 : staleWritable[staleWritable.length - 1].atMs - stale[0].atMs;
            console.log(
                `      db-0, resumed, answered as writable beside db-1 for ${windowMs} ms (${staleWritable.length} of its ${stale.length} samples after db-1's promotion)`,
            );
            for (const line of fs.readFileSync(c.logFile(0), "utf8").split("\n").filter((l) => /stepping down|stepped_down/.test(l)).slice(0, 2)) console.log(`      ${line}`);
            assert.ok(stale.length > 0, "the sampler observed db-0 after it resumed");
            assert.ok(windowMs <= WINDOW_BOUND_MS, `db-0 answered as writable for ${windowMs} ms after resuming (bound ${WINDOW_BOUND_MS} ms)`);

            writers.forEach((w, k) => {
                const acked = w.acked();
                const table = TABLES[k];
                const missing = c
                    .sql(1, `SELECT coalesce(string_agg(a::text, ',' ORDER BY a), '') FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM ${table} WHERE id = a)`)
                    .split(",")
                    .filter(Boolean)
                    .map(Number);
                const beforeThaw = new Set(acked.slice(0, atThaw[k]));
                console.log(`      ${table}: ${acked.length} acknowledged, ${missing.length} missing${missing.length ? ` (${missing.join(",")})` : ""}`);
                assert.deepStrictEqual(missing.filter((id) => beforeThaw.has(id)), [], `rows of ${table} acknowledged before db-0 resumed are missing`);
                if (synchronousReplicas > 0) assert.deepStrictEqual(missing, [], `acknowledged rows of ${table} are missing`);
            });
            assert.strictEqual(c.sql(2, "SELECT pg_is_in_recovery()", superuser), "t");
        });
    });
}

frozenScenario("manual failover while the primary's pod is frozen, then resumed: synchronous replication", 1);
frozenScenario("manual failover while the primary's pod is frozen, then resumed: asynchronous replication", 0);
