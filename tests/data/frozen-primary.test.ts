/**
 * Manual failover while the old primary's pod is frozen (every process of it paused with SIGSTOP, as a frozen VM
 * or a stalled node would), then resumed after 25 s. The chosen replica cannot tell a frozen pod from a dead
 * one (neither answers), so it promotes; the old primary, once it runs again, takes writes until its supervisor's
 * next tick reads the new primaryOrdinal and steps down. These tests measure that window with writers and
 * samplers connected as applications connect, and show what it costs in each replication mode
 * (docs/failover.md, "A primary frozen during a manual failover"):
 * - synchronous: a commit on the resumed old primary waits for a standby, which now follows the new primary, so
 *   it is never acknowledged: nothing is lost;
 * - asynchronous: a commit the resumed old primary acknowledges in the window is discarded by its rewind, and so
 *   may be the last commit each writer had acknowledged before the freeze, if replication had not sent it yet (the
 *   loss asynchronous replication allows in any failover); the test shows that nothing else is lost.
 * With Patroni the pod is frozen longer than the leader lock's ttl, Patroni and its fence with it: a replica takes
 * the lock, and the resumed Patroni finds its lock gone and demotes its server.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_TIMING } from "../../components/engines/postgres/topologies/patroni/timing";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { PATRONI_IMAGE } from "../harness/patroni";
import { freeze, thaw } from "../harness/pause";
import { RoleSampler } from "../harness/roles";
import { AckedWriter, missingAcked } from "../harness/writer";

/** The window's bound (docs/failover.md): one supervisor tick (1 s) and its step-down, on a busy machine; with
 * Patroni, one of its loops after it runs again (it then finds the lock gone and demotes). */
const WINDOW_BOUND_MS = 2000;
/** Writers on separate tables: a writer whose statement is caught by the freeze waits with it. */
const TABLES = ["w1", "w2", "w3"];

interface Mode {
    args: ReplicatedDatabaseArgs;
    /** How long the pod stays frozen: with Patroni, longer than ttl, so that another member takes the lock. */
    freezeMs: number;
    /** The failover, once the primary `old`'s pod is frozen: the operator's (manual), or nobody's (Patroni). */
    failover: (c: Cluster, old: number) => Promise<void>;
    /** How a member is named in pg_stat_replication.application_name. */
    member: (i: number) => string;
}

const MANUAL: Mode = {
    args: { replicas: 2 },
    freezeMs: 25000,
    failover: (c, old) => c.apply({ primaryOrdinal: (old + 1) % 3 }),
    member: (i) => `db_${i}`,
};
const PATRONI: Mode = {
    args: { replicas: 2, failover: "patroni", image: PATRONI_IMAGE },
    freezeMs: (PATRONI_TIMING.ttl + 15) * 1000,
    failover: async () => {},
    member: (i) => `db-${i}`,
};

function frozenScenario(title: string, mode: Mode, synchronousReplicas: number) {
    describe(title, function () {
        this.timeout(360000);
        const c = new Cluster({ args: { ...mode.args, synchronousReplicas } });
        const superuser = { user: "postgres", database: "postgres" };
        const ordinals = [0, 1, 2];
        const outOfRecovery = (i: number) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f";
        const followers = (primary: number) =>
            c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);
        const othersOf = (primary: number) => ordinals.filter((i) => i !== primary).map(mode.member).join(",");

        // The primary the test freezes: db-0 in the manual mode, whichever member Patroni elected.
        let old = -1;
        before(async () => {
            await c.up();
            await c.until("one primary, the two others streaming from it", () => {
                old = ordinals.find(outOfRecovery) ?? -1;
                return old >= 0 && followers(old) === othersOf(old);
            }, 120000);
            for (const t of TABLES) c.sql(old, `CREATE TABLE ${t} (id bigint PRIMARY KEY, note text NOT NULL)`);
        });
        after(() => c.cleanup());

        it("steps the resumed old primary down at once; loses only what it acknowledged after resuming, if anything", async () => {
            const sampler = new RoleSampler(c, ordinals, c.secret("app-password"), path.join(c.base, "roles"));
            const writers = TABLES.map((t) => new AckedWriter(c.hosts(ordinals), c.secret("app-password"), t, path.join(c.base, `acks-${t}`)));
            const ackedCount = () => writers.reduce((n, w) => n + w.acked().length, 0);
            let atThaw: number[] = [];
            let atFreeze: number[] = [];
            let promoted = -1;
            try {
                sampler.start();
                await c.until("the writers to get going", () => ackedCount() > 60);
                const frozen = freeze(c.pod(old));
                const frozenAt = Date.now();
                // A reply the server sent just before the freeze reaches its writer's file within this; no other pod
                // takes writes yet.
                await sleep(500);
                atFreeze = writers.map((w) => w.acked().length);
                await mode.failover(c, old);
                await c.until(`a replica to promote while db-${old} is frozen`, () => {
                    promoted = ordinals.filter((i) => i !== old).find(outOfRecovery) ?? -1;
                    return promoted >= 0;
                }, mode.freezeMs - 2000);
                await sleep(frozenAt + mode.freezeMs - Date.now());
                atThaw = writers.map((w) => w.acked().length);
                const resumed = thaw(frozen);
                console.log(`      froze ${frozen.length} processes of db-${old} for ${Date.now() - frozenAt} ms; ${resumed} resumed`);
                await c.until(
                    `db-${promoted} the only writable pod, the others streaming from it, taking writes`,
                    () => !outOfRecovery(old) && followers(promoted) === othersOf(promoted) && ackedCount() >= atThaw.reduce((a, b) => a + b, 0) + 30,
                    180000,
                );
            } finally {
                await Promise.all(writers.map((w) => w.stop()));
                await sampler.stop();
            }

            const samples = sampler.samples();
            const first = samples.find((s) => s.writable && s.ordinal === promoted);
            assert.ok(first, `db-${promoted} answered as writable`);
            const stale = samples.filter((s) => s.ordinal === old && s.atMs >= first.atMs);
            const staleWritable = stale.filter((s) => s.writable);
            const windowMs = staleWritable.length === 0 ? 0 : staleWritable[staleWritable.length - 1].atMs - stale[0].atMs;
            console.log(
                `      db-${old}, resumed, answered as writable beside db-${promoted} for ${windowMs} ms (${staleWritable.length} of its ${stale.length} samples after db-${promoted}'s promotion)`,
            );
            const said = /stepping down|stepped_down|[Dd]emot|FENCE|lock owner|following a different leader/;
            for (const line of fs.readFileSync(c.logFile(old), "utf8").split("\n").filter((l) => said.test(l)).slice(0, 4)) console.log(`      ${line}`);
            assert.ok(stale.length > 0, `the sampler observed db-${old} after it resumed`);
            assert.ok(windowMs <= WINDOW_BOUND_MS, `db-${old} answered as writable for ${windowMs} ms after resuming (bound ${WINDOW_BOUND_MS} ms)`);

            writers.forEach((w, k) => {
                const acked = w.acked();
                const table = TABLES[k];
                const missing = missingAcked((q) => c.sql(promoted, q), table, acked);
                const beforeThaw = new Set(acked.slice(0, atThaw[k]));
                // Asynchronous: the writer's last commit before the freeze may not have been sent to any replica.
                const unsent = synchronousReplicas > 0 ? undefined : acked[atFreeze[k] - 1];
                console.log(
                    `      ${table}: ${acked.length} acknowledged, ${missing.length} missing${missing.length ? ` (${missing.join(",")})` : ""}` +
                        (unsent !== undefined && missing.includes(unsent) ? `; ${unsent}, its last commit before the freeze, had not been sent` : ""),
                );
                assert.deepStrictEqual(
                    missing.filter((id) => beforeThaw.has(id) && id !== unsent),
                    [],
                    `rows of ${table} acknowledged before db-${old} resumed are missing`,
                );
                if (synchronousReplicas > 0) assert.deepStrictEqual(missing, [], `acknowledged rows of ${table} are missing`);
            });
            for (const i of ordinals.filter((x) => x !== promoted)) assert.strictEqual(c.sql(i, "SELECT pg_is_in_recovery()", superuser), "t");
        });
    });
}

frozenScenario("manual failover while the primary's pod is frozen, then resumed: synchronous replication", MANUAL, 1);
frozenScenario("manual failover while the primary's pod is frozen, then resumed: asynchronous replication", MANUAL, 0);
frozenScenario("Patroni: the primary's whole pod frozen longer than ttl, then resumed: asynchronous replication", PATRONI, 0);
