/**
 * cloneFromReplicas when the copied replica is lost mid-copy: the new pod drops its partial copy and clones the
 * primary in the same tick, under a writer that reconnects on every error, and ends with every acknowledged row.
 * The copy is slowed (cloneMaxRate 8M over about 100 MB) so that the replica can be killed while it runs.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";

describe("a new replica whose copied replica dies mid-copy", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 1, cloneMaxRate: "8M" } });
    const superuser = { user: "postgres", database: "postgres" };

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        // About 100 MB, so that the copy at 8 MB/s takes seconds.
        c.sql(0, "CREATE TABLE ballast AS SELECT g AS id, repeat(md5(g::text), 20) AS pad FROM generate_series(1, 150000) g", superuser);
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("db-1 to replay the ballast", () => c.sql(1, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t", 120000);
    });
    after(() => c.cleanup());

    it("drops the partial copy and clones the primary; every acknowledged row is there", async () => {
        const writer = new AckedWriter(c.hosts([0]), c.secret("app-password"), "items", path.join(c.base, "acks"));
        let log = "";
        try {
            await c.until("writes", () => Number(c.sql(0, "SELECT count(*) FROM items")) > 20);
            await c.apply({ replicas: 2 });
            await c.until("db-2 to start copying db-1", () => {
                log = fs.existsSync(c.logFile(2)) ? fs.readFileSync(c.logFile(2), "utf8") : "";
                return log.includes(`event=clone_started source=${c.host(1)} from=replica`);
            }, 120000);
            assert.doesNotMatch(log, /event=clone_finished/, "the copy ended before db-1 could be killed");
            await c.stop(1, "SIGKILL");
            await c.waitReady(2, 240000);
            await c.until("db-2 to stream", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'db_2' AND state = 'streaming'", superuser) === "1", 120000);
        } finally {
            await writer.stop();
        }
        log = fs.readFileSync(c.logFile(2), "utf8");
        const events = [...log.matchAll(/event=(clone_\w+) (.*)/g)].map((m) => `${m[1]} ${m[2]}`);
        // The checkpoint's rule decided on db-1's restartpoint, whose value varies; the copy's story does not.
        assert.match(events[0] ?? "", new RegExp(`^clone_checkpoint source=${c.host(1)} restartpoint=[0-9A-F]+/[0-9A-F]+ primary_lsn=[0-9A-F]+/[0-9A-F]+ decided=(checkpoint|none)$`));
        assert.deepStrictEqual(events.slice(1), [
            `clone_started source=${c.host(1)} from=replica slot=db_2`,
            `clone_failed source=${c.host(1)} from=replica next=primary`,
            `clone_started source=${c.host(0)} from=primary slot=db_2`,
            `clone_finished source=${c.host(0)} from=primary`,
        ]);
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("db-2 to replay the primary's position", () => c.sql(2, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t", 60000);
        const acked = writer.acked();
        assert.ok(acked.length > 0, "the writer committed nothing");
        const rows = new Set(c.sql(2, "SELECT id FROM items").split("\n"));
        const missing = acked.filter((id) => !rows.has(String(id)));
        assert.deepStrictEqual(missing, [], `${missing.length} of ${acked.length} acknowledged rows missing on db-2`);
        assert.strictEqual(c.sql(2, "SELECT count(*) FROM ballast", superuser), "150000");
    });
});
