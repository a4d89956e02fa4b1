/**
 * Issue 13, tests 1 and 4 on the rendered cluster with an "s3" repository: the test S3 server
 * (tests/harness/s3.ts) on loopback, its credentials in a user Secret as the component expects them, its CA
 * given to pgBackRest (the one test-only env value besides the harness's own, with a short io-timeout so that a
 * refused push gives up in seconds rather than minutes). With the repository down the primary keeps serving,
 * every failure is visible, the WAL waiting on the primary stays within archiveQueueMax (pgBackRest drops the
 * rest, with a warning), and archiving catches up, with a new full backup, once the repository is back.
 */
import * as assert from "assert";
import * as fs from "fs";
import { BACKUP_IMAGE, POD_SCRIPTS, archiver, backupInfo, switchAndArchive } from "../harness/backup";
import { Cluster, sleep } from "../harness/cluster";
import { S3Server } from "../harness/s3";

const su = { user: "postgres", database: "postgres" };
const QUEUE_MB = 64;

describe("backups to S3 on the rendered cluster, and the repository going away", function () {
    this.timeout(900000);
    const dir = fs.mkdtempSync("/var/tmp/rdb-s3-");
    const s3 = new S3Server(dir);
    const creds = s3.credentialsEnv();
    const c = new Cluster({
        args: {
            replicas: 1,
            image: BACKUP_IMAGE,
            backup: {
                enabled: true,
                s3Bucket: s3.bucket,
                s3Endpoint: s3.endpoint,
                s3UriStyle: "path",
                s3CredentialsSecret: "s3-creds",
                archiveQueueMax: `${QUEUE_MB}MB`,
                archiveTimeoutSeconds: 10,
            },
        },
        secrets: { "s3-creds": { "access-key-id": creds.PGBACKREST_REPO1_S3_KEY, "secret-access-key": creds.PGBACKREST_REPO1_S3_KEY_SECRET } },
        env: { PGBACKREST_REPO1_STORAGE_CA_FILE: s3.caFile, PGBACKREST_IO_TIMEOUT: "3" },
    });
    const readyWalMB = () => Number(c.sql(0, "SELECT count(*) * 16 FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'", su));

    before(async () => {
        await s3.start();
        await c.up();
        c.sql(0, "CREATE TABLE filler (id bigserial PRIMARY KEY, pad text NOT NULL)");
    });
    after(async () => {
        await c.cleanup();
        await s3.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("archives and backs up to the bucket; the credentials reach pgBackRest from the Secret only", async () => {
        await c.until("the primary to archive to S3", () => archiver(c, 0).archived > 0, 180000);
        const backup = await c.exec(0, ["/bin/bash", `${POD_SCRIPTS}/backup.sh`, "full"]);
        assert.strictEqual(backup.status, 0, backup.stderr);
        const info = await backupInfo(c, 0);
        assert.strictEqual(info.status.code, 0, JSON.stringify(info.status));
        assert.deepStrictEqual(info.backup.map((b: any) => b.type), ["full"]);
        assert.ok(s3.objectKeys("pgbackrest/backup/default-db/").length > 0, "backup files in the bucket");
        assert.ok(s3.objectKeys("pgbackrest/archive/default-db/").length > 0, "WAL in the bucket");
        assert.doesNotMatch(fs.readFileSync(c.logFile(0), "utf8"), new RegExp(creds.PGBACKREST_REPO1_S3_KEY_SECRET.replace(/[+/=]/g, "\\$&")));
    });

    it("keeps serving with the repository down, shows the failure, keeps at most archiveQueueMax of WAL, and catches up", async () => {
        const failedBefore = archiver(c, 0).failed;
        await s3.stop();
        const logStart = fs.readFileSync(c.logFile(0), "utf8").length;
        // About 160 MB of WAL: ten segments, more than the bound of four.
        for (let i = 0; i < 10; i++) {
            const t0 = Date.now();
            c.sql(0, "INSERT INTO filler (pad) SELECT repeat(md5(g::text), 30) FROM generate_series(1, 15000) g");
            c.sql(0, "SELECT pg_switch_wal()", su);
            assert.ok(Date.now() - t0 < 20000, "a write took more than 20 s with the repository down");
        }
        await c.until("the archiver to report failures", () => archiver(c, 0).failed > failedBefore, 120000);
        await c.until("pgBackRest to drop WAL beyond archiveQueueMax", () => /dropped WAL file '[0-9A-F]{24}' because archive queue exceeded/.test(fs.readFileSync(c.logFile(0), "utf8").slice(logStart)), 300000);
        const log = fs.readFileSync(c.logFile(0), "utf8").slice(logStart);
        // pgBackRest's ERROR line, with the cause on the lines after it.
        assert.match(log, /P00 +ERROR: \[[0-9]+\]: [^\n]*\n(?:[^\n]*\n){0,4}[^\n]*unable to connect to '127\.0\.0\.8:9443': \[111\] Connection refused/);
        // Ready WAL beyond the bound is dropped; what waits may exceed it by the segments completed since.
        await sleep(5000);
        assert.ok(readyWalMB() <= QUEUE_MB + 32, `${readyWalMB()} MB of WAL wait for the repository (bound ${QUEUE_MB} MB)`);
        assert.strictEqual(c.sql(0, "SELECT count(*) > 0 FROM filler"), "t", "the primary still answers");

        await s3.start();
        await switchAndArchive(c, 0, 300000);
        await c.until("the archive queue to drain", () => readyWalMB() === 0, 300000);
        const check = await c.exec(0, ["pgbackrest", "check"]);
        assert.strictEqual(check.status, 0, check.stdout + check.stderr);
        // WAL was dropped: a new full backup closes the gap in point-in-time recovery.
        const backup = await c.exec(0, ["/bin/bash", `${POD_SCRIPTS}/backup.sh`, "full"]);
        assert.strictEqual(backup.status, 0, backup.stderr);
        assert.strictEqual((await backupInfo(c, 0)).backup.length, 2);
    });
});
