/**
 * Switchover and failover by config (primaryOrdinal), on real servers: the chosen replica promotes only
 * once no other pod accepts writes, the old primary rejoins as a replica (pg_rewind), the others follow.
 */
import * as assert from "assert";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";

describe("switchover and failover on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 }, restartExited: true });
    const superuser = { user: "postgres", database: "postgres" };
    const writable = () => [0, 1, 2].filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const followers = (primary: number) => c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("a planned switchover under writes loses no acknowledged row and never has two writable pods", async () => {
        const writer = new AckedWriter(c.hosts([0, 1, 2]), c.secret("app-password"), "items", path.join(c.base, "acks-1"));
        let most = 0;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 30);
            await c.apply({ primaryOrdinal: 1 });
            await c.until("db-1 to be the only writable pod and db-0, db-2 to follow it", () => {
                const w = writable();
                most = Math.max(most, w.length);
                return w.length === 1 && w[0] === 1 && followers(1) === "db_0,db_2";
            }, 120000);
            const at = writer.acked().length;
            await c.until("writes to go on through the new primary", () => writer.acked().length > at + 30);
        } finally {
            await writer.stop();
        }
        assert.ok(most <= 1, "two pods accepted writes at once");
        const acked = writer.acked();
        const missing = c.sql(1, `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM items WHERE id = a)`);
        assert.strictEqual(missing, "0", `${missing} acknowledged rows are missing`);
    });

    it("a failover to the most advanced replica after the primary is killed, and the old primary rejoins", async () => {
        for (let i = 0; i < 100; i++) c.sql(1, `INSERT INTO items (id, note) VALUES (${100000 + i}, 'before the kill')`);
        await c.stop(1, "SIGKILL");
        // The operator's choice (bin/replicated-db-status does the same): the replica that received most.
        const lsn = (i: number) => BigInt(c.sql(i, "SELECT pg_last_wal_receive_lsn() - '0/0'", superuser));
        const chosen = lsn(0) >= lsn(2) ? 0 : 2;
        const other = chosen === 0 ? 2 : 0;
        await c.apply({ primaryOrdinal: chosen });
        await c.until(`db-${chosen} to promote and db-${other} to follow`, () => writable().join() === String(chosen) && followers(chosen) === `db_${other}`, 120000);
        // Synchronous (ANY 1): every row acknowledged before the kill is on the most advanced replica.
        assert.strictEqual(c.sql(chosen, "SELECT count(*) FROM items WHERE id >= 100000"), "100");
        c.sql(chosen, "INSERT INTO items (id, note) VALUES (200000, 'after the failover')");
        c.start(1);
        await c.until("the old primary to rejoin as a replica of the new one", () => followers(chosen) === [`db_1`, `db_${other}`].sort().join(","), 120000);
        assert.deepStrictEqual(writable(), [chosen]);
        await c.until("the old primary to have the new row", () => c.sql(1, "SELECT count(*) FROM items WHERE id = 200000") === "1");
        await sleep(100);
    });
});
