/**
 * A standby cluster fed from the source's archive (README, "Disaster recovery: standby cluster", "The archive as
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
import * as path from "path";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { BACKUP_IMAGE, POD_SCRIPTS, archiver, backupInfo } from "../harness/backup";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { patroniRequest } from "../harness/patroniApi";
import { S3Server } from "../harness/s3";

const su = { user: "postgres", database: "postgres" };
/** A port on src's address where nothing listens: streaming from it fails at once (connection refused). */
const DEAD_PORT = 5999;

type StandbySettings = NonNullable<ReplicatedDatabaseArgs["standby"]>;

function summary(values: number[]): string {
    const s = [...values].sort((a, b) => a - b);
    return `n=${s.length} min=${s[0]} median=${s[Math.floor(s.length / 2)]} max=${s[s.length - 1]}`;
}

/** tests/stress/repeat.sh keeps a failed run's logs: the pods' (as pooler.test.ts does). */
function keepLogs(c: Cluster | undefined, label: string): void {
    const keep = process.env.RDB_KEEP_DIR;
    if (!keep || !c || !fs.existsSync(c.base)) return;
    const dir = path.join(keep, label);
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(c.base).filter((x) => x.endsWith(".log"))) fs.copyFileSync(path.join(c.base, f), path.join(dir, f));
}

/** Waits until an asynchronous check holds, polling; fails with `what` and the pods' logs. */
async function eventually(c: Cluster, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${c.tail(0)}\n${c.tail(1)}`);
        await sleep(200);
    }
}

/** Over a pod's private socket as postgres (peer): answers whether or not the pod refuses clients. */
async function localPsql(c: Cluster, ordinal: number, query: string, db = "app"): Promise<string> {
    const r = await c.exec(ordinal, ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-U", "postgres", "-d", db, "-c", query], 30000);
    if (r.status !== 0) throw new Error(`psql in ${c.name}-${ordinal}: ${r.stderr.trim()}`);
    return r.stdout.trim();
}

describe("a standby cluster fed from the source's archive on real PostgreSQL servers (manual failover)", function () {
    this.timeout(900000);
    const dir = fs.mkdtempSync("/var/tmp/rdb-s3-archive-");
    const s3 = new S3Server(dir);
    const creds = s3.credentialsEnv();
    const repository = { s3Bucket: s3.bucket, s3Endpoint: s3.endpoint, s3UriStyle: "path", s3CredentialsSecret: "s3-creds" };
    const s3Secret = { "s3-creds": { "access-key-id": creds.PGBACKREST_REPO1_S3_KEY, "secret-access-key": creds.PGBACKREST_REPO1_S3_KEY_SECRET } };
    const env = { PGBACKREST_REPO1_STORAGE_CA_FILE: s3.caFile, PGBACKREST_IO_TIMEOUT: "3" };
    const src = new Cluster({
        name: "src",
        args: { replicas: 1, image: BACKUP_IMAGE, backup: { ...repository, enabled: true, archiveTimeoutSeconds: 10 } },
        secrets: s3Secret,
        env,
    });
    let dr: Cluster;
    let standby: StandbySettings;
    const srcApp = () => ({ password: src.secret("app-password") });
    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);
    const srcKeys = () => new Set(s3.objectKeys("pgbackrest/archive/default-src/").concat(s3.objectKeys("pgbackrest/backup/default-src/")));

    before(async () => {
        await s3.start();
        await src.up();
        src.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        src.sql(0, "INSERT INTO items VALUES (1, 'before the backup')");
        await src.until("src to archive", () => archiver(src, 0).archived > 0, 180000);
        const backup = await src.exec(0, ["/bin/bash", `${POD_SCRIPTS}/backup.sh`, "full"]);
        assert.strictEqual(backup.status, 0, backup.stderr);
        assert.deepStrictEqual((await backupInfo(src, 0)).backup.map((b: any) => b.type), ["full"]);
        src.sql(0, "INSERT INTO items VALUES (2, 'after the backup')");
        src.sql(0, "SELECT pg_switch_wal()", su);
        standby = {
            enabled: true,
            sourceHosts: [src.host(0)],
            sourcePort: DEAD_PORT,
            replicationSecretName: "src-replication",
            sourceCaCertificate: fs.readFileSync(src.caFile!, "utf8"),
            archiveFromClusterName: "src",
        };
        dr = new Cluster({
            name: "dr",
            addressOffset: 20,
            extraHosts: src.podHostLines(),
            secrets: { ...s3Secret, "src-replication": { "replication-password": src.secret("replication-password") } },
            env,
            args: { replicas: 1, image: BACKUP_IMAGE, backup: { ...repository, enabled: true, archiveTimeoutSeconds: 10 }, standby },
        });
        await dr.up();
    });
    after(async () => {
        // Only under repeat.sh (RDB_KEEP_DIR), which removes them again when the run passed.
        keepLogs(dr, "manual-dr");
        keepLogs(src, "manual-src");
        await dr?.cleanup();
        await src.cleanup();
        await s3.stop();
        fs.rmSync(dir, { recursive: true, force: true });
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
        const lagMs: number[] = [];
        for (let i = 0; i < 5; i++) {
            const id = 100 + i;
            const before = archiver(src, 0).archived;
            src.sql(0, `INSERT INTO items VALUES (${id}, 'archived after dr started')`);
            src.sql(0, "SELECT pg_switch_wal()", su);
            await src.until("src to push the segment", () => archiver(src, 0).archived > before, 60000);
            // The server's own time of the push, in ms since the epoch.
            const pushed = Number(src.sql(0, "SELECT round(extract(epoch FROM last_archived_time) * 1000) FROM pg_stat_archiver", su));
            await dr.until(`row ${id} on dr-0`, () => dr.sql(0, `SELECT count(*) FROM items WHERE id = ${id}`, srcApp()) === "1", 60000);
            lagMs.push(Date.now() - pushed);
            await dr.until(`row ${id} on dr-1`, () => dr.sql(1, `SELECT count(*) FROM items WHERE id = ${id}`, srcApp()) === "1", 60000);
        }
        console.log(`      archive push on src to the row readable on dr-0, ms: ${summary(lagMs)}; load average ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
        assert.ok(fs.readFileSync(dr.logFile(0), "utf8").split("\n").every((l) => !/archive-push/.test(l)), "dr pushed WAL while a standby");
    });

    it("streams from src once it can reach it (one config change), and still refuses writes", async () => {
        const started = Date.now();
        standby = { ...standby, sourcePort: 5432 };
        await dr.apply({ standby });
        await eventually(dr, "dr-0 to stream from src", async () => (await local(0, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')", "postgres")) === "streaming", 120000);
        console.log(`      ${Date.now() - started} ms from the applied config to dr-0 streaming`);
        assert.strictEqual(await local(0, "SELECT sender_host FROM pg_stat_wal_receiver", "postgres"), src.host(0));
        // A row not archived yet (no switch) arrives by streaming.
        src.sql(0, "INSERT INTO items VALUES (200, 'streamed')");
        await dr.until("the streamed row on dr-0", () => dr.sql(0, "SELECT count(*) FROM items WHERE id = 200", srcApp()) === "1", 30000);
        await dr.until("the streamed row on dr-1", () => dr.sql(1, "SELECT count(*) FROM items WHERE id = 200", srcApp()) === "1", 30000);
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
    const dir = fs.mkdtempSync("/var/tmp/rdb-s3-archive-patroni-");
    const s3 = new S3Server(dir);
    const creds = s3.credentialsEnv();
    const repository = { s3Bucket: s3.bucket, s3Endpoint: s3.endpoint, s3UriStyle: "path", s3CredentialsSecret: "s3-creds" };
    const s3Secret = { "s3-creds": { "access-key-id": creds.PGBACKREST_REPO1_S3_KEY, "secret-access-key": creds.PGBACKREST_REPO1_S3_KEY_SECRET } };
    const env = { PGBACKREST_REPO1_STORAGE_CA_FILE: s3.caFile, PGBACKREST_IO_TIMEOUT: "3" };
    const src = new Cluster({
        name: "src",
        args: { replicas: 1, image: BACKUP_IMAGE, backup: { ...repository, enabled: true, archiveTimeoutSeconds: 10 } },
        secrets: s3Secret,
        env,
    });
    let dr: Cluster;
    let standby: StandbySettings;
    let leader = -1;
    const srcApp = () => ({ password: src.secret("app-password") });
    const local = (ordinal: number, query: string, db = "app") => localPsql(dr, ordinal, query, db);
    const role = async (ordinal: number): Promise<string | undefined> => {
        try {
            return (JSON.parse((await patroniRequest(dr, ordinal, "/patroni", { timeoutMs: 2000 })).text) as { role?: string }).role;
        } catch {
            return undefined;
        }
    };

    before(async () => {
        await s3.start();
        await src.up();
        src.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        src.sql(0, "INSERT INTO items VALUES (1, 'before the backup')");
        await src.until("src to archive", () => archiver(src, 0).archived > 0, 180000);
        const backup = await src.exec(0, ["/bin/bash", `${POD_SCRIPTS}/backup.sh`, "full"]);
        assert.strictEqual(backup.status, 0, backup.stderr);
        src.sql(0, "INSERT INTO items VALUES (2, 'after the backup')");
        src.sql(0, "SELECT pg_switch_wal()", su);
        standby = {
            enabled: true,
            sourceHosts: [src.host(0)],
            sourcePort: DEAD_PORT,
            replicationSecretName: "src-replication",
            sourceCaCertificate: fs.readFileSync(src.caFile!, "utf8"),
            archiveFromClusterName: "src",
        };
        dr = new Cluster({
            name: "dr",
            addressOffset: 20,
            extraHosts: src.podHostLines(),
            secrets: { ...s3Secret, "src-replication": { "replication-password": src.secret("replication-password") } },
            env,
            args: { replicas: 1, failover: "patroni", image: PATRONI_IMAGE, backup: { ...repository, enabled: true, archiveTimeoutSeconds: 10 }, standby },
        });
        await dr.up();
        const deadline = Date.now() + 120000;
        while (Date.now() < deadline && leader < 0) {
            for (const i of [0, 1]) if ((await role(i)) === "standby_leader") leader = i;
            await sleep(500);
        }
        assert.ok(leader >= 0, "a standby leader");
    });
    after(async () => {
        // Only under repeat.sh (RDB_KEEP_DIR), which removes them again when the run passed.
        keepLogs(dr, "patroni-dr");
        keepLogs(src, "patroni-src");
        await dr?.cleanup();
        await src.cleanup();
        await s3.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("makes the standby leader with the pgbackrest method from src's backup, replays src's archive; the other member cascades", async () => {
        const other = 1 - leader;
        const log = fs.readFileSync(dr.logFile(leader), "utf8");
        assert.match(log, /replica has been created using pgbackrest/);
        assert.match(log, /restored the source's stanza default-src into/);
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
        const lagMs: number[] = [];
        for (let i = 0; i < 5; i++) {
            const id = 100 + i;
            const before = archiver(src, 0).archived;
            src.sql(0, `INSERT INTO items VALUES (${id}, 'archived after dr started')`);
            src.sql(0, "SELECT pg_switch_wal()", su);
            await src.until("src to push the segment", () => archiver(src, 0).archived > before, 60000);
            const pushed = Number(src.sql(0, "SELECT round(extract(epoch FROM last_archived_time) * 1000) FROM pg_stat_archiver", su));
            await dr.until(`row ${id} on the standby leader`, () => dr.sql(leader, `SELECT count(*) FROM items WHERE id = ${id}`, srcApp()) === "1", 60000);
            lagMs.push(Date.now() - pushed);
            await dr.until(`row ${id} on the other member`, () => dr.sql(1 - leader, `SELECT count(*) FROM items WHERE id = ${id}`, srcApp()) === "1", 60000);
        }
        console.log(`      archive push on src to the row readable on the standby leader, ms: ${summary(lagMs)}; load average ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    });

    it("streams from src once it can reach it (one config change, applied to the running cluster by patroni-standby.sh)", async () => {
        const started = Date.now();
        standby = { ...standby, sourcePort: 5432 };
        await dr.apply({ standby });
        await eventually(dr, "the standby leader to stream from src", async () => (await local(leader, "SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')", "postgres")) === "streaming", 120000);
        console.log(`      ${Date.now() - started} ms from the applied config to the standby leader streaming`);
        assert.strictEqual(await local(leader, "SELECT sender_host FROM pg_stat_wal_receiver", "postgres"), src.host(0));
        // A row not archived yet (no switch) arrives by streaming.
        src.sql(0, "INSERT INTO items VALUES (200, 'streamed')");
        await dr.until("the streamed row on the standby leader", () => dr.sql(leader, "SELECT count(*) FROM items WHERE id = 200", srcApp()) === "1", 30000);
        await dr.until("the streamed row on the other member", () => dr.sql(1 - leader, "SELECT count(*) FROM items WHERE id = 200", srcApp()) === "1", 30000);
    });

    it("promoted after src is gone: archives to its own stanza, never src's", async () => {
        await Promise.all([src.stop(0, "SIGKILL"), src.stop(1, "SIGKILL")]);
        const srcKeys = () => new Set(s3.objectKeys("pgbackrest/archive/default-src/").concat(s3.objectKeys("pgbackrest/backup/default-src/")));
        const srcBefore = srcKeys();
        await dr.apply({ standby: { ...standby, enabled: false } });
        await dr.until("the standby leader takes writes", () => dr.psql(leader, "SELECT pg_is_in_recovery()", su).stdout.trim() === "f", 120000);
        await dr.until("dr's own app password", () => dr.sql(leader, "SELECT 1") === "1", 60000);
        dr.sql(leader, "INSERT INTO items VALUES (300, 'after the promotion')");
        await dr.until("the leader to archive to its own stanza", () => s3.objectKeys("pgbackrest/archive/default-dr/").some((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(k)), 180000);
        await dr.until("the new row on the other member", () => dr.sql(1 - leader, "SELECT count(*) FROM items WHERE id = 300") === "1", 120000);
        await sleep(5000);
        assert.deepStrictEqual([...srcKeys()].sort(), [...srcBefore].sort());
    });
});
