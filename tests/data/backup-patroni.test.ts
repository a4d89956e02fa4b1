/**
 * Issue 13, test 3 with failover: "patroni": the archive settings and the stanza come from the same rendered
 * configuration (patroni.yml, the callback). The primary is SIGKILLed under synchronous writes; Patroni promotes
 * a replica, which archives on its new timeline; the old primary, its volume emptied, is made again from the
 * repository (backup.replicasFromRepository: Patroni's `repository` replica method) across the failover; a NEW Patroni cluster, bootstrapped by restore.sh to the end
 * of the archive, has every acknowledged row and its replica streams.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { archiver, shareClaim, switchAndArchive } from "../harness/backup";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { untilSyncStandby } from "../harness/patroniApi";
import { runJobPod } from "../harness/job";
import { AckedWriter } from "../harness/writer";
import { writable } from "../harness/clients/topology";

const su = { user: "postgres", database: "postgres" };

describe("archiving across a Patroni failover, and a restore after it", function () {
    this.timeout(900000);
    const a = new Cluster({
        args: {
            // Two replicas: strict synchronous mode lets commits through after the failover only with a standby left.
            replicas: 2,
            synchronousReplicas: 1,
            failover: "patroni",
            image: PATRONI_IMAGE,
            backup: { enabled: true, repositoryType: "volume", archiveTimeoutSeconds: 10 },
        },
        restartExited: false,
    });
    let b: Cluster | undefined;
    after(async () => {
        await b?.cleanup();
        await a.cleanup();
    });

    it("the promoted replica archives on its timeline; a restore to the latest point has every acknowledged row", async () => {
        await a.up();
        const [first] = await writable(a, [0, 1, 2]);
        await a.until("the primary's stanza", () => archiver(a, first).archived > 0, 120000);
        a.sql(first, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        const writer = new AckedWriter(a.hosts([0, 1, 2]), a.secret("app-password"), "items", path.join(a.base, "acks"));
        let promoted = -1;
        try {
            await a.until("writes", () => writer.acked().length > 30);
            // The backup as an operator starts one now: a Job made from the rendered CronJob, run by the real Job
            // controller on the harness node. It holds no Kubernetes token: it logs into the primary as the backup
            // role (the one Secret key it mounts, verify-full against the CA) and asks for a backup, which the
            // primary's patroni.sh runs (backup-requests.sh), and waits for the outcome.
            await a.node!.cp.kubectl(["create", "job", "-n", "default", "--from=cronjob/db-backup-full", "db-backup-now"]);
            const job = await runJobPod(a.node!, "default", "db-backup-now");
            assert.strictEqual(job.code, 0, job.log);
            assert.match(job.log, /asked the primary for a full backup \(request 1\)/);
            assert.match(job.log, /the full backup of request 1 completed/);
            const request = a.sql(first, "SELECT type || ' ' || state || ' ' || pod FROM replicated_db.backup_requests WHERE id = 1", { user: "postgres", database: "postgres" });
            assert.strictEqual(request, `full ok db-${first}`);
            const pod = await a.node!.get("default", "pods", job.pod);
            assert.strictEqual(pod.spec.automountServiceAccountToken, false);
            assert.ok(!(pod.spec.volumes ?? []).some((v: any) => v.projected), "no token volume in the backup pod");
            // The Job controller reads the pod's Succeeded phase the node reported.
            for (let tries = 0; ; tries++) {
                const j = JSON.parse((await a.node!.cp.kubectl(["get", "job", "-n", "default", "db-backup-now", "-o", "json"])).stdout);
                if ((j.status.conditions ?? []).some((c: any) => c.type === "Complete" && c.status === "True")) break;
                if (tries > 300) throw new Error(`the Job is not complete: ${JSON.stringify(j.status)}`);
                await sleep(100);
            }
            // Strict synchronous mode promotes only a standby Patroni has named in its store (one of its loops
            // after the replicas stream): the primary is killed only once it has named one.
            await untilSyncStandby(a, first);
            await a.kill(first, "SIGKILL");
            const deadline = Date.now() + 120000;
            while (promoted < 0) {
                const w = await writable(a, [0, 1, 2].filter((i) => i !== first));
                if (w.length === 1) promoted = w[0];
                else if (Date.now() > deadline) throw new Error("no failover within 120 s");
                else await sleep(500);
            }
            const before = writer.acked().length;
            await a.until("writes on the promoted primary", () => writer.acked().length > before + 20, 120000);
        } finally {
            await writer.stop();
        }
        const acked = writer.acked();
        await switchAndArchive(a, promoted, 120000);
        assert.match(archiver(a, promoted).lastArchived, /^00000002/, "the promoted primary archives on timeline 2");

        // The old primary's volume lost: Patroni makes the member again with its first replica method, this
        // cluster's latest backup from the repository (timeline 1), then the archive across the failover (the
        // promoted primary's history file) and streaming from it; no base backup of the leader.
        fs.rmSync(a.pod(first).dataDir, { recursive: true, force: true });
        fs.mkdirSync(a.pod(first).dataDir);
        a.start(first);
        await a.waitReady(first, 300000);
        await a.until(`db-${first} to stream from the promoted primary`, () => a.sql(promoted, `SELECT count(*) FROM pg_stat_replication WHERE application_name = 'db-${first}' AND state = 'streaming'`, su) === "1", 120000);
        const rejoined = fs.readFileSync(a.logFile(first), "utf8");
        assert.match(rejoined, /restored the latest backup of stanza default-db into .* as a standby/);
        assert.match(rejoined, /replica has been created using repository/);
        assert.doesNotMatch(rejoined, /replica has been created using basebackup/);
        const position = a.sql(promoted, "SELECT pg_current_wal_lsn()", su);
        await a.until(`db-${first} to replay the primary's position`, () => a.sql(first, `SELECT pg_last_wal_replay_lsn() >= '${position}'`, su) === "t", 60000);
        const onRejoined = new Set(a.sql(first, "SELECT string_agg(id::text, ',') FROM items").split(",").map(Number));
        assert.deepStrictEqual(acked.filter((id) => !onRejoined.has(id)), [], "acknowledged rows missing on the member made from the backup");
        await a.stop(first, "SIGINT");
        for (const i of [0, 1, 2].filter((x) => x !== first)) await a.stop(i, "SIGINT");

        b = new Cluster({
            name: "db2",
            // Patroni bootstraps it with restore.sh (bootstrap.method pgbackrest), as rendered.
            args: {
                replicas: 1,
                failover: "patroni",
                image: PATRONI_IMAGE,
                backup: { repositoryType: "volume", volumeClaimName: "db-backups" },
                restore: { fromClusterName: "db" },
            },
        });
        shareClaim(a, b, "db-backups");
        await b.up();
        const [leader] = await writable(b, [0, 1]);
        const ids = new Set(b.sql(leader, "SELECT string_agg(id::text, ',') FROM items").split(",").map(Number));
        assert.deepStrictEqual(acked.filter((id) => !ids.has(id)), [], `acknowledged rows missing (${acked.length} acknowledged)`);
        await b.until("the restored cluster's replica to stream", () => b!.sql(leader, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", su) === "1");
    });
});
