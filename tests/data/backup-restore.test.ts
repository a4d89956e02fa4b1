/**
 * Issue 13, tests 2 and 3 on rendered clusters with a "volume" repository: rows written under a load, a full
 * backup, a switchover while archiving (the new primary archives on its new timeline), a timestamp taken,
 * then a table dropped. A NEW cluster restored to that timestamp has every row acknowledged before it and
 * not the drop; its replica clones and streams from it, and no recovery setting reaches it.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";
import { BACKUP_IMAGE, POD_SCRIPTS as SCRIPTS, archiver, shareClaim, switchAndArchive } from "../harness/backup";

const su = { user: "postgres", database: "postgres" };

describe("point-in-time recovery into a new cluster, across a switchover", function () {
    this.timeout(900000);
    const a = new Cluster({
        args: { replicas: 1, image: BACKUP_IMAGE, backup: { enabled: true, repositoryType: "volume", archiveTimeoutSeconds: 10 } },
    });
    let b: Cluster | undefined;

    after(async () => {
        await b?.cleanup();
        await a.cleanup();
    });

    it("restores to a time after the switchover: every acknowledged row, not the drop; the replica streams", async () => {
        await a.up();
        a.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        const writer = new AckedWriter(a.hosts([0, 1]), a.secret("app-password"), "items", path.join(a.base, "acks"));
        let acked: number[];
        let beforeBackup = "";
        try {
            await a.until("writes", () => writer.acked().length > 30);
            beforeBackup = a.sql(0, "SELECT now()", su);
            await sleep(1100);
            const backup = await a.exec(0, ["/bin/bash", `${SCRIPTS}/backup.sh`, "full"]);
            assert.strictEqual(backup.status, 0, backup.stderr);
            // Test 3: a switchover while the writes and the archiving go on.
            await a.apply({ primaryOrdinal: 1 });
            await a.until("ordinal 1 to take writes", () => a.sql(1, "SELECT pg_is_in_recovery()", su) === "f", 120000);
            const before = writer.acked().length;
            await a.until("writes on the new primary", () => writer.acked().length > before + 30, 120000);
        } finally {
            await writer.stop();
        }
        acked = writer.acked();
        // The new primary archives on its new timeline, its history file first.
        const timeline = a.sql(1, "SELECT timeline_id FROM pg_control_checkpoint()", su);
        assert.strictEqual(timeline, "2");
        await switchAndArchive(a, 1);
        assert.match(archiver(a, 1).lastArchived, /^00000002/);

        await sleep(1100);
        const target = a.sql(1, "SELECT now()", su);
        await sleep(1100);
        a.sql(1, "DROP TABLE items");
        await switchAndArchive(a, 1);
        for (const i of [0, 1]) await a.stop(i, "SIGINT");

        // Test 5: a target before the first backup is refused by the new primary, which touches nothing.
        const early = new Cluster({
            name: "db3",
            args: {
                replicas: 0,
                image: BACKUP_IMAGE,
                backup: { repositoryType: "volume", volumeClaimName: "db-backups" },
                restore: { fromClusterName: "db", targetType: "time", target: beforeBackup },
            },
            restartExited: false,
        });
        try {
            shareClaim(a, early, "db-backups");
            await early.render();
            early.start(0);
            await early.until("db3-0 to refuse the restore", () => /ERROR: .*before/.test(early.tail(0, 200)) && !early.pod(0).running, 120000);
            assert.deepStrictEqual(fs.readdirSync(early.pod(0).dataDir), [], "the refused restore left files on the volume");
            assert.ok(!early.ready(0));
        } finally {
            await early.cleanup();
        }

        b = new Cluster({
            name: "db2",
            args: {
                replicas: 1,
                image: BACKUP_IMAGE,
                backup: { repositoryType: "volume", volumeClaimName: "db-backups" },
                restore: { fromClusterName: "db", targetType: "time", target: target },
            },
        });
        // The same ReadWriteMany claim, named by the new cluster's volumeClaimName.
        shareClaim(a, b, "db-backups");
        await b.up();
        const ids = b.sql(0, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items").split(",").map(Number);
        const missing = acked.filter((id) => !ids.includes(id));
        assert.deepStrictEqual(missing, [], `acknowledged rows missing after the restore (${acked.length} acknowledged)`);
        assert.strictEqual(b.sql(0, "SELECT pg_is_in_recovery()", su), "f");
        await b.until("the restored cluster's replica to have every row", () => b!.sql(1, "SELECT count(*) FROM items") === String(ids.length));
        assert.strictEqual(b.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", su), "1");
        for (const i of [0, 1]) {
            assert.strictEqual(b.sql(i, "SHOW recovery_target_time", su), "", `db2-${i} inherited a recovery target`);
        }
    });
});
