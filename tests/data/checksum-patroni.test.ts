/**
 * A damaged page on a replica with failover: "patroni": patroni.sh's loop sees the server's checksum failure,
 * logs it, and the readiness probe (probe.sh, the same as the manual mode's) fails the replica while
 * the leader stays ready.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";

describe("checksum failures on a replica (failover: patroni)", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 1, failover: "patroni", image: PATRONI_IMAGE } });
    const superuser = { user: "postgres", database: "app" };

    before(() => c.up());
    after(() => c.cleanup());

    it("a replica that read a damaged page goes not ready and says why; the leader stays ready", async () => {
        const inRecovery = (i: number) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim();
        await c.until("a leader and a replica", () => [0, 1].map(inRecovery).sort().join() === "f,t", 120000);
        const leader = inRecovery(0) === "f" ? 0 : 1;
        const replica = 1 - leader;
        c.sql(leader, "CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 5000) g");
        c.sql(leader, "VACUUM FREEZE victim", superuser);
        c.sql(leader, "CHECKPOINT", superuser);
        const file = c.sql(leader, "SELECT pg_relation_filepath('victim')", superuser);
        const lsn = c.sql(leader, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("the replica to replay it", () => c.sql(replica, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t");
        c.sql(replica, "CHECKPOINT", superuser);
        await c.stop(replica, "SIGINT");
        const fd = fs.openSync(path.join(c.pod(replica).dataDir, "pgdata", file), "r+");
        fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 6000);
        fs.closeSync(fd);
        c.start(replica);
        await c.waitReady(replica, 120000);

        assert.match(c.psql(replica, "SELECT count(*) FROM victim").stderr, /invalid page in block 0 of relation/);
        await c.until("the replica to be not ready", () => !c.ready(replica), 60000);
        assert.ok(c.ready(leader), "the leader stays ready");
        const log = fs.readFileSync(c.logFile(replica), "utf8");
        assert.match(log, new RegExp(`db-${replica} replicated-db: event=checksum_failure failures=1 databases=app:1 `));
        assert.match(log, /Readiness probe failed: not ready: data checksum failures in this replica's data directory \(1 seen\)/);
    });
});
