/**
 * A pod told to stop stops within its terminationGracePeriodSeconds whatever the cluster is doing, in both modes.
 * Script-driven mode: server.sh's fast shutdown waits for the standbys as below (and for the archiver's backlog),
 * so past two thirds of the grace period it stops the server in immediate mode. Patroni's clean shutdown has no
 * bound of its own: PostgreSQL's fast shutdown sends the last WAL to every connected
 * standby and waits for it to confirm, so a primary whose standby hangs (a stalled node) waits for
 * wal_sender_timeout; Patroni waits for a synchronous standby's release (2 × loop_wait), for its store, and for a
 * long-running task of its own. Past its bound patroni.sh stops PostgreSQL in immediate mode (a crash of the
 * server: nothing acknowledged is lost, and nothing here can take writes) and then kills Patroni, before the
 * kubelet's SIGKILL.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { freezePostgres, thaw } from "../harness/pause";
import { untilSyncStandby } from "../harness/patroniApi";

const ORDINALS = [0, 1, 2];
const SUPERUSER = { user: "postgres", database: "postgres" };

describe("Patroni mode: a pod told to stop stops within its grace period", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1, failover: "patroni", image: PATRONI_IMAGE } });
    const writable = () => ORDINALS.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", SUPERUSER).stdout.trim() === "f");
    const streamingFrom = (primary: number) =>
        c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", SUPERUSER);
    const graceMs = () => c.objects.statefulSet.spec.template.spec.terminationGracePeriodSeconds * 1000;

    before(async () => {
        await c.up();
        await c.until("one primary and two streaming replicas", () => {
            const w = writable();
            return w.length === 1 && streamingFrom(w[0]).split(",").length === 2;
        });
        // Strict synchronous mode promotes only the standby Patroni has named in its store; the standbys are
        // made to hang only once it has named one, as in the other Patroni tests.
        await untilSyncStandby(c, writable()[0]);
    });
    after(() => c.cleanup());

    it("the primary, while both its standbys hang: stopped in immediate mode before the grace period; no acknowledged row lost", async () => {
        const primary = writable()[0];
        const standbys = ORDINALS.filter((i) => i !== primary);
        c.sql(primary, "CREATE TABLE t (id int PRIMARY KEY)", SUPERUSER);
        c.sql(primary, "INSERT INTO t VALUES (1)", SUPERUSER);
        const logFrom = fs.readFileSync(c.logFile(primary), "utf8").length;
        // The standbys' servers stall (SIGSTOP) with their replication connections open, as on a stalled node.
        const frozen = standbys.flatMap((i) => freezePostgres(c.pod(i)));
        const sentAt = Date.now();
        let stoppedMs = -1;
        try {
            await c.pod(primary).stop("SIGINT", graceMs());
            stoppedMs = Date.now() - sentAt;
        } finally {
            thaw(frozen);
        }
        const log = fs.readFileSync(c.logFile(primary), "utf8").slice(logFrom);
        console.log(`      the primary stopped ${stoppedMs} ms after SIGINT`);
        // Some seconds before the kubelet's SIGKILL would come, on a busy node too.
        assert.ok(stoppedMs < graceMs() - 5000, `stopped ${stoppedMs} ms after SIGINT (grace period ${graceMs()} ms)`);
        const steps = ["stop signal received: Patroni told to stop", "received fast shutdown request", "stopping PostgreSQL in immediate mode", "received immediate shutdown request"];
        const at = steps.map((s) => log.indexOf(s));
        assert.ok(at.every((a, k) => a >= 0 && (k === 0 || a > at[k - 1])), `the clean stop first, then the immediate one: ${JSON.stringify(at)}\n${log}`);
        assert.doesNotMatch(log, /killing it and its server/, "Patroni ended by itself once its server was down");
        // The standbys resume: one of them takes over with the acknowledged row; the old primary stays down.
        await c.until("a standby to take writes", () => writable().length === 1 && standbys.includes(writable()[0]), 120000);
        assert.strictEqual(c.sql(writable()[0], "SELECT count(*) FROM t", SUPERUSER), "1");
    });
});

describe("script-driven mode: a pod told to stop stops within its grace period", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 } });
    const graceMs = () => c.objects.statefulSet.spec.template.spec.terminationGracePeriodSeconds * 1000;

    before(() => c.up());
    after(() => c.cleanup());

    it("the primary, while both its standbys hang: stopped in immediate mode before the grace period; its rows kept", async () => {
        c.sql(0, "CREATE TABLE t (id int PRIMARY KEY)", SUPERUSER);
        c.sql(0, "INSERT INTO t VALUES (1)", SUPERUSER);
        const logFrom = fs.readFileSync(c.logFile(0), "utf8").length;
        const frozen = [1, 2].flatMap((i) => freezePostgres(c.pod(i)));
        const sentAt = Date.now();
        let stoppedMs = -1;
        try {
            await c.stop(0, "SIGINT");
            stoppedMs = Date.now() - sentAt;
        } finally {
            thaw(frozen);
        }
        const log = fs.readFileSync(c.logFile(0), "utf8").slice(logFrom);
        console.log(`      the primary stopped ${stoppedMs} ms after SIGINT`);
        assert.ok(stoppedMs < graceMs() - 5000, `stopped ${stoppedMs} ms after SIGINT (grace period ${graceMs()} ms)`);
        const steps = ["stop requested", "received fast shutdown request", "stopping it in immediate mode", "received immediate shutdown request"];
        const at = steps.map((s) => log.indexOf(s));
        assert.ok(at.every((a, k) => a >= 0 && (k === 0 || a > at[k - 1])), `the fast stop first, then the immediate one: ${JSON.stringify(at)}\n${log}`);
        // The config still names it: started again, it recovers from the crash with its row and leads again.
        c.start(0);
        await c.waitReady(0);
        assert.strictEqual(c.sql(0, "SELECT count(*) FROM t", SUPERUSER), "1");
        await c.until("both standbys streaming again", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", SUPERUSER) === "2", 120000);
    });
});
