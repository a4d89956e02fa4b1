/**
 * A standby cluster fed from the source's archive (docs/standby.md, "The archive as
 * a second feed"), manual failover mode: two clusters in one run (as standby-cluster.test.ts) sharing the test S3
 * server (as backup-s3.test.ts). src archives and backs up to its stanza default-src; dr names src's stanza
 * (`standby.archiveFromClusterName: "src"`) and a source port nobody listens on, so that it CANNOT stream: dr-0 is
 * made from src's latest backup in the bucket, replays src's archive, serves reads, refuses writes, and dr-1
 * cascades from it. Rows committed on src and archived after dr started appear on dr-0 (the time from the push
 * to the replay is measured) and on dr-1. Then the source is made reachable (one config change: the port) and
 * dr-0 streams. Last, src is gone, dr is promoted and archives to ITS OWN stanza: src's stanza is not written
 * to again. The same with dr in Patroni mode (Patroni's standby_cluster restore_command and its pgbackrest replica
 * method), the switch to streaming by one config change, and the promotion.
 */
import * as assert from "assert";
import * as fs from "fs";
import { BACKUP_IMAGE, archiver } from "../harness/backup";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { ArchivingSource, StandbySettings, localPsql, standbyLeader } from "./standby-support";

const su = { user: "postgres", database: "postgres" };

function summary(values: number[]): string {
    const s = [...values].sort((a, b) => a - b);
    return `n=${s.length} min=${s[0]} median=${s[Math.floor(s.length / 2)]} max=${s[s.length - 1]}`;
}

/** Waits until an asynchronous check holds, polling; fails with `what` and the pods' logs. */
async function eventually(c: Cluster, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${c.tail(0)}\n${c.tail(1)}`);
        await sleep(200);
    }
}

/**
 * Five times a row committed on src and its segment switched and pushed: the ms from the push (src's own clock)
 * until dr's `head` can read it are printed; `other` (cascading from `head`) must get it too.
 */
async function archivedRowsArrive(src: Cluster, dr: Cluster, head: number, headName: string): Promise<void> {
    const app = { password: src.secret("app-password") };
    const lagMs: number[] = [];
    for (let i = 0; i < 5; i++) {
        const id = 100 + i;
        const before = archiver(src, 0).archived;
        src.sql(0, `INSERT INTO items VALUES (${id}, 'archived after dr started')`);
        src.sql(0, "SELECT pg_switch_wal()", su);
        await src.until("src to push the segment", () => archiver(src, 0).archived > before, 60000);
        const pushed = Number(src.sql(0, "SELECT round(extract(epoch FROM last_archived_time) * 1000) FROM pg_stat_archiver", su));
        await dr.until(`row ${id} on ${headName}`, () => dr.sql(head, `SELECT count(*) FROM items WHERE id = ${id}`, app) === "1", 60000);
        lagMs.push(Date.now() - pushed);
        await dr.until(`row ${id} on dr-${1 - head}`, () => dr.sql(1 - head, `SELECT count(*) FROM items WHERE id = ${id}`, app) === "1", 60000);
    }
    console.log(`      archive push on src to the row readable on ${headName}, ms: ${summary(lagMs)}; load average ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
}

/** The source made reachable by one config change (its real port): `head` streams from src-0, and a row not
 * archived yet reaches both members by streaming. Returns the applied settings. */
async function streamsOnceReachable(src: Cluster, dr: Cluster, standby: StandbySettings, head: number, headName: string): Promise<StandbySettings> {
    const app = { password: src.secret("app-password") };
    const local = (query: string) => localPsql(dr, head, query, "postgres");
    const started = Date.now();
    const applied = { ...standby, sourcePort: 5432 };
    await dr.apply({ standby: applied });
    await eventually(dr, `${headName} to stream from src`, async () => (await local("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")) === "streaming", 120000);
    console.log(`      ${Date.now() - started} ms from the applied config to ${headName} streaming`);
    assert.strictEqual(await local("SELECT sender_host FROM pg_stat_wal_receiver"), src.host(0));
    src.sql(0, "INSERT INTO items VALUES (200, 'streamed')");
    for (const i of [head, 1 - head]) {
        await dr.until(`the streamed row on dr-${i}`, () => dr.sql(i, "SELECT count(*) FROM items WHERE id = 200", app) === "1", 30000);
    }
    return applied;
}

describe("a standby cluster fed from the source's archive on real PostgreSQL servers (manual failover)", function () {
    this.timeout(900000);
    const source = new ArchivingSource();
    const { s3, src } = source;
    let dr: Cluster;
    let standby: StandbySettings;
    const srcApp = () => ({ password: src.secret("app-password") });
    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);
    const srcKeys = () => source.srcKeys();

    before(async () => {
        await source.start();
        ({ dr, standby } = source.standbyCluster({ image: BACKUP_IMAGE }));
        await dr.up();
    });
    after(async () => {
        // cleanup() keeps the logs under repeat.sh (RDB_KEEP_DIR).
        await dr?.cleanup();
        await source.stop();
    });

    it("makes dr-0 from src's backup in the bucket (src cannot be cloned), replays src's archive, refuses writes; dr-1 cascades", async () => {
        const log = fs.readFileSync(dr.logFile(0), "utf8");
        assert.match(log, /event=restore_finished stanza=default-src/);
        assert.doesNotMatch(log, /event=clone_finished/);
        assert.strictEqual(await local(0, "SELECT pg_is_in_recovery()"), "t");
        // Not streaming: no WAL receiver runs, or one that never got a connection.
        assert.notStrictEqual(await local(0, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')", "postgres"), "streaming");
        // Both rows: the one in the backup, and the one only the archive has.
        await dr.until("dr-0 to replay src's archived row", () => dr.sql(0, "SELECT count(*) FROM items", srcApp()) === "2", 60000);
        // Ready because it follows the archive: the supervisor let clients in for that reason, and says so.
        assert.match(fs.readFileSync(dr.logFile(0), "utf8"), /accepting application connections again: replaying the source's archive/);
        const state = (await dr.exec(0, ["cat", "/run/replicated-db/state"])).stdout;
        assert.match(state, /^ready=yes$/m);
        assert.match(state, /^reason=standby cluster: replaying the source's archive \(stanza default-src, last segment [0-9A-F]{24}\); not streaming/m);
        const write = dr.psql(0, "INSERT INTO items VALUES (-1, 'refused')", srcApp());
        assert.notStrictEqual(write.status, 0);
        assert.match(write.stderr, /read-only transaction/);
        await dr.until("dr-1 to cascade the rows", () => dr.sql(1, "SELECT count(*) FROM items", srcApp()) === "2", 60000);
        assert.strictEqual(await local(1, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"), `${dr.host(0)} streaming`);
        // dr-1 falls back to src's archive too, should it lose dr-0.
        assert.match(await local(1, "SHOW restore_command", "postgres"), /archive-get\.sh %f "%p"/);
        // dr-0 is labelled a replica and ready (it follows the archive): dr's read-only Service has both pods.
        assert.deepStrictEqual(dr.serviceEndpoints("rw"), []);
        assert.deepStrictEqual(dr.serviceEndpoints("ro"), [0, 1]);
        // dr is a standby: it pushed nothing to its own stanza.
        assert.deepStrictEqual(s3.objectKeys("pgbackrest/archive/default-dr/"), []);
    });

    it("replays rows committed on src after dr started once src archives them (push-to-replay time measured)", async () => {
        await archivedRowsArrive(src, dr, 0, "dr-0");
        assert.ok(fs.readFileSync(dr.logFile(0), "utf8").split("\n").every((l) => !/archive-push/.test(l)), "dr pushed WAL while a standby");
    });

    it("streams from src once it can reach it (one config change), and still refuses writes", async () => {
        standby = await streamsOnceReachable(src, dr, standby, 0, "dr-0");
        assert.notStrictEqual(dr.psql(0, "INSERT INTO items VALUES (-2, 'refused')", srcApp()).status, 0);
    });

    it("promoted after src is gone: archives to its own stanza, never src's", async () => {
        await Promise.all([src.stop(0, "SIGKILL"), src.stop(1, "SIGKILL")]);
        const srcBefore = srcKeys();
        await dr.apply({ standby: { ...standby, enabled: false } });
        await dr.until("dr-0 takes writes", () => dr.roleLabel(0) === "primary" && dr.ready(0), 120000);
        await dr.until("dr's own app password on dr-0", () => dr.sql(0, "SELECT 1") === "1");
        dr.sql(0, "INSERT INTO items VALUES (300, 'after the promotion')");
        await dr.until("dr-0 to archive to its own stanza", () => s3.objectKeys("pgbackrest/archive/default-dr/").some((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(k)), 180000);
        await dr.until("the new row on dr-1", () => dr.sql(1, "SELECT count(*) FROM items WHERE id = 300") === "1", 60000);
        dr.sql(0, "SELECT pg_switch_wal()", su);
        await sleep(5000);
        // Not one object of src's stanza was added or removed since src died: dr only ever read it.
        assert.deepStrictEqual([...srcKeys()].sort(), [...srcBefore].sort());
        // Replicas of the promoted cluster fall back to the rendered restore_command (dr's own stanza).
        assert.strictEqual(await local(1, "SHOW restore_command", "postgres"), 'pgbackrest archive-get %f "%p"');
    });
});

describe("a Patroni standby cluster fed from the source's archive on real PostgreSQL servers", function () {
    this.timeout(900000);
    const source = new ArchivingSource();
    const { s3, src } = source;
    let dr: Cluster;
    let standby: StandbySettings;
    let leader = -1;
    const srcApp = () => ({ password: src.secret("app-password") });
    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);

    before(async () => {
        await source.start();
        ({ dr, standby } = source.standbyCluster({ failover: "patroni", image: PATRONI_IMAGE }));
        await dr.up();
        leader = await standbyLeader(dr, [0, 1]);
    });
    after(async () => {
        // cleanup() keeps the logs under repeat.sh (RDB_KEEP_DIR).
        await dr?.cleanup();
        await source.stop();
    });

    it("makes the standby leader with the pgbackrest method from src's backup, replays src's archive; the other member cascades", async () => {
        const other = 1 - leader;
        const log = fs.readFileSync(dr.logFile(leader), "utf8");
        assert.match(log, /replica has been created using pgbackrest/);
        assert.match(log, /restored the latest backup of stanza default-src into/);
        assert.strictEqual(await local(leader, "SHOW restore_command", "postgres"), '/bin/bash /etc/replicated-db/scripts/archive-get.sh %f "%p"');
        assert.notStrictEqual(await local(leader, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')", "postgres"), "streaming");
        await dr.until("the standby leader to replay src's archived row", () => dr.sql(leader, "SELECT count(*) FROM items", srcApp()) === "2", 60000);
        assert.match((await dr.exec(leader, ["cat", "/run/replicated-db/state"])).stdout, /^reason=standby leader: replaying the source's archive \(stanza default-src/m);
        assert.match(dr.psql(leader, "INSERT INTO items VALUES (-1, 'refused')", srcApp()).stderr, /read-only transaction/);
        await dr.until("the other member to cascade", () => dr.sql(other, "SELECT count(*) FROM items", srcApp()) === "2", 60000);
        // Seen once not streaming for a moment right after the rows arrived (one run of seven): waited for.
        const cascade = async () => (await local(other, "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver", "postgres")) === `${dr.host(leader)} streaming`;
        await eventually(dr, "the other member to stream from the standby leader", cascade, 30000);
    });

    it("replays rows archived on src after it started (push-to-replay time measured)", async () => {
        await archivedRowsArrive(src, dr, leader, "the standby leader");
    });

    it("streams from src once it can reach it (one config change, applied to the running cluster by patroni-standby.sh)", async () => {
        standby = await streamsOnceReachable(src, dr, standby, leader, "the standby leader");
    });

    it("promoted after src is gone: archives to its own stanza, never src's", async () => {
        await Promise.all([src.stop(0, "SIGKILL"), src.stop(1, "SIGKILL")]);
        const srcBefore = source.srcKeys();
        await dr.apply({ standby: { ...standby, enabled: false } });
        await dr.until("the standby leader takes writes", () => dr.psql(leader, "SELECT pg_is_in_recovery()", su).stdout.trim() === "f", 120000);
        await dr.until("dr's own app password", () => dr.sql(leader, "SELECT 1") === "1", 60000);
        dr.sql(leader, "INSERT INTO items VALUES (300, 'after the promotion')");
        await dr.until("the leader to archive to its own stanza", () => s3.objectKeys("pgbackrest/archive/default-dr/").some((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(k)), 180000);
        await dr.until("the new row on the other member", () => dr.sql(1 - leader, "SELECT count(*) FROM items WHERE id = 300") === "1", 120000);
        await sleep(5000);
        assert.deepStrictEqual([...source.srcKeys()].sort(), [...srcBefore].sort());
    });
});
