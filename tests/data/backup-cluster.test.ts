/**
 * Issue 13, test 1 on the rendered cluster: `backup.enabled` with a "volume" repository (a directory every
 * pod mounts, as the ReadWriteMany claim). The primary creates its stanza by itself and archives; pgBackRest's
 * check passes; a full backup (backup.sh in the primary) completes under a write load and `pgbackrest info` lists
 * it; a backup asked for as the CronJob's Job asks (the backup role's request over SQL) is taken by the manual
 * supervisor on the primary; a replica added after the backup restores it from the repository instead of cloning
 * the primary (backup.replicasFromRepository; the first replica, added before any backup, cloned); a replica
 * refuses to back up.
 */
import * as assert from "assert";
import { BaseBackupSampler } from "../harness/baseBackups";
import { Cluster } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";
import * as path from "path";
import { BACKUP_IMAGE, POD_SCRIPTS as SCRIPTS, archiver, backupInfo, switchAndArchive } from "../harness/backup";

describe("backups on the rendered cluster (volume repository)", function () {
    this.timeout(600000);
    const c = new Cluster({
        args: { replicas: 1, image: BACKUP_IMAGE, backup: { enabled: true, repositoryType: "volume", archiveTimeoutSeconds: 10 } },
    });

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("archives from the primary once it has made its stanza; pgbackrest check passes", async () => {
        await c.until("the primary to archive a segment", () => archiver(c, 0).archived > 0, 120000);
        const check = await c.exec(0, ["pgbackrest", "check"]);
        assert.strictEqual(check.status, 0, check.stdout + check.stderr);
        // Pushes fail until the stanza exists (seconds after the first start); none fail after that.
        const failed = archiver(c, 0).failed;
        await switchAndArchive(c, 0);
        assert.strictEqual(archiver(c, 0).failed, failed);
        assert.strictEqual(archiver(c, 1).archived, 0, "a replica does not archive");
    });

    it("takes a full backup under a write load, listed by pgbackrest info, recorded in backup-status", async () => {
        const writer = new AckedWriter(c.hosts([0]), c.secret("app-password"), "items", path.join(c.base, "acks"));
        let backup;
        try {
            await c.until("writes", () => Number(c.sql(0, "SELECT count(*) FROM items")) > 20);
            backup = await c.exec(0, ["/bin/bash", `${SCRIPTS}/backup.sh`, "full"]);
        } finally {
            await writer.stop();
        }
        assert.strictEqual(backup.status, 0, backup.stderr);
        const stanza = await backupInfo(c, 0);
        assert.strictEqual(stanza.name, "default-db");
        assert.strictEqual(stanza.status.code, 0, JSON.stringify(stanza.status));
        assert.deepStrictEqual(stanza.backup.map((b: any) => b.type), ["full"]);
        const status = (await c.exec(0, ["cat", "/run/replicated-db/backup-status"])).stdout;
        assert.match(status, /^last_result=ok$/m);
        assert.match(status, /^last_type=full$/m);
    });

    it("takes a backup the backup role asks for over SQL, as the CronJob's Job asks: the supervisor runs it on the primary", async () => {
        const backup = { user: "backup", password: c.secret("backup-password"), database: "postgres" };
        // The Job's client: every pod, the one that takes writes (backup-job.sh does the same).
        const id = c.sql(0, "SELECT replicated_db.request_backup('diff')", backup);
        let outcome = "";
        await c.until("the supervisor to take the request and the backup to end", () => {
            outcome = c.sql(0, `SELECT replicated_db.backup_outcome(${id})`, backup);
            return /^(ok|failed)/.test(outcome);
        }, 120000);
        assert.strictEqual(outcome, "ok");
        const stanza = await backupInfo(c, 0);
        assert.deepStrictEqual(stanza.backup.map((b: any) => b.type), ["full", "diff"]);
        assert.match((await c.exec(0, ["cat", "/run/replicated-db/backup-status"])).stdout, /^last_type=diff$/m);
        assert.match(c.tail(0, 400), new RegExp(`backup request ${id}: a diff backup started`));
        // A replica takes no request: it answers as a standby, and libpq's read-write target never picks it.
        const onReplica = c.psql(1, "SELECT replicated_db.request_backup('full')", backup);
        assert.notStrictEqual(onReplica.status, 0);
        assert.match(onReplica.stderr, /read-only transaction/);
    });

    it("adds a replica from the latest backup in the repository under a write load: no base backup of the primary, every acknowledged row there", async () => {
        const superuser = { user: "postgres", database: "postgres" };
        // db-1 joined before there was any backup: it asked the repository, was told no, and cloned the primary.
        const first = c.tail(1, 2000);
        assert.match(first, /event=replica_restore_failed stanza=default-db next=clone/);
        assert.match(first, /event=clone_started /);

        c.sql(0, "CREATE TABLE joined (id bigint PRIMARY KEY, note text NOT NULL)");
        const writer = new AckedWriter(c.hosts([0]), c.secret("app-password"), "joined", path.join(c.base, "acks-join"));
        const baseBackups = new BaseBackupSampler(c, () => 0);
        try {
            await c.until("writes", () => Number(c.sql(0, "SELECT count(*) FROM joined")) > 20);
            await c.apply({ replicas: 2 });
            await c.waitReady(2, 240000);
            await c.until("db-2 to stream", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'db_2' AND state = 'streaming'", superuser) === "1", 120000);
        } finally {
            await baseBackups.stop();
            await writer.stop();
        }
        const log = c.tail(2, 2000);
        assert.match(log, /event=replica_restore_started stanza=default-db/);
        assert.match(log, /event=replica_restore_finished stanza=default-db/);
        assert.doesNotMatch(log, /event=clone_started/);
        assert.deepStrictEqual(baseBackups.seen, [], "a base backup of the primary ran while db-2 joined");
        // Everything the writer was told was committed, on the new replica once it has replayed the primary's position.
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("db-2 to replay the primary's position", () => c.sql(2, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t", 60000);
        const acked = writer.acked();
        assert.ok(acked.length > 0, "the writer committed nothing");
        const onReplica = new Set(c.sql(2, "SELECT id FROM joined").split("\n"));
        const missing = acked.filter((id) => !onReplica.has(String(id)));
        assert.deepStrictEqual(missing, [], `${missing.length} of ${acked.length} acknowledged rows missing on db-2`);
    });

    it("refuses a backup on a replica, saying why", async () => {
        const r = await c.exec(1, ["/bin/bash", `${SCRIPTS}/backup.sh`, "full"]);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /ERROR: .*standby/);
    });
});
