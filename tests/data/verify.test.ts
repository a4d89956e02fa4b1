/**
 * bin/replicated-db-verify against the harness's pods (through the real kubectl as the operator Role's identity, tests/harness/kubectl.ts):
 * a clean cluster under writes verifies; a replica whose table file was altered on disk (a zeroed page, 64
 * changed bytes) is caught and named. And what a damaged page does to the replica that reads it: its server
 * counts a checksum failure, the pod logs it and goes not ready (out of the read-only Service), while the
 * primary stays ready.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { pgbench, pgbenchBackground } from "../../bench/stats";
import { Cluster } from "../harness/cluster";
import { Kubectl } from "../harness/kubectl";

const VERIFY = path.join(__dirname, "..", "..", "bin", "replicated-db-verify");
const superuser = { user: "postgres", database: "app" };
const PAGE = 8192;

describe("replicated-db-verify", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2 }, onNode: true });
    let k: Kubectl;
    let victimFile = "";

    before(async () => {
        await c.up();
        k = await Kubectl.create(c);
        pgbench(c, ["-i", "-s", "2", "-q"]);
        // The table the tests damage: nothing writes to it after this, so that replay never rewrites its pages.
        c.sql(0, "CREATE TABLE victim AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 5000) g");
        // Frozen, its hint bits set: reading it later writes no full-page image into the WAL (with data checksums
        // a first hint bit after a checkpoint does), which replay would otherwise copy over the damage.
        c.sql(0, "VACUUM FREEZE victim", superuser);
        victimFile = c.sql(0, "SELECT pg_relation_filepath('victim')", superuser);
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        for (const i of [1, 2]) await c.until(`db-${i} to replay the tables`, () => c.sql(i, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t");
    });
    after(() => c.cleanup());

    /** pgbench's TPC-B-like writes (updates and inserts on four tables) for `seconds`, in the background. */
    const load = (seconds: number) => pgbenchBackground(c, ["-c", "2", "-T", String(seconds)]);

    /** Replica `i`'s copy of the victim table's file: stopped cleanly (its buffers on disk), changed, started again. */
    async function damage(i: number, change: (fd: number) => void): Promise<void> {
        // Its restart replays from its last restartpoint: one after everything that touched the table.
        c.sql(0, "CHECKPOINT", superuser);
        const lsn = c.sql(0, "SELECT pg_current_wal_lsn()", superuser);
        await c.until(`db-${i} to replay the checkpoint`, () => c.sql(i, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t");
        c.sql(i, "CHECKPOINT", superuser);
        await c.stop(i, "SIGINT");
        const file = path.join(c.pod(i).dataDir, "pgdata", victimFile);
        const fd = fs.openSync(file, "r+");
        try {
            change(fd);
        } finally {
            fs.closeSync(fd);
        }
        c.start(i);
        await c.waitReady(i);
    }

    it("verifies a clean cluster under writes: every table, index and page, with the writes held back only briefly", async () => {
        const l = load(40);
        try {
            await c.until("pgbench to be writing", () => Number(c.sql(0, "SELECT count(*) FROM pgbench_history")) > 50);
            const r = await k.run(VERIFY, ["-n", "default", "--create-amcheck", "db"]);
            assert.strictEqual(r.code, 0, r.stdout + r.stderr);
            assert.match(r.stdout, /^primary db-0; replicas db-1 db-2$/m);
            // app: pgbench's four tables and the victim; postgres: none.
            const app = r.stdout.match(/^database app: 5 tables compared at \S+ \(writes held back for (\d+) ms\)$/m);
            assert.ok(app, r.stdout);
            assert.ok(Number(app[1]) < 5000, `writes held back for ${app[1]} ms`);
            const summary = r.stdout.match(/^verified: 10 table copies equal on 2 replicas; amcheck: (\d+) indexes checked; page scan: 3 pods clean$/m);
            assert.ok(summary, r.stdout);
            assert.ok(Number(summary[1]) > 3 * 2 * 3, `amcheck checked ${summary[1]} indexes`);
            assert.match(r.stdout, /^OK$/m);
            // The load went on during the verification and afterwards.
            const before = Number(c.sql(0, "SELECT count(*) FROM pgbench_history"));
            await c.until("more writes after the verification", () => Number(c.sql(0, "SELECT count(*) FROM pgbench_history")) > before + 20);
        } finally {
            await l.stop();
        }
    });

    it("names the replica and the table when a page of its copy is zeroed on disk (no error on a scan: its rows are missing)", async () => {
        await damage(2, (fd) => fs.writeSync(fd, Buffer.alloc(PAGE), 0, PAGE, PAGE));
        // The server takes a zeroed page for a new, empty one: no error, no checksum failure.
        assert.ok(Number(c.sql(2, "SELECT count(*) FROM victim")) < 5000);
        const r = await k.run(VERIFY, ["-n", "default", "db"]);
        assert.strictEqual(r.code, 1, r.stdout + r.stderr);
        const first = r.stdout.split("\n").find((l) => l.startsWith("DIFFERS: "));
        assert.match(first ?? "", /^DIFFERS: pod db-2, database app, table public\.victim: \d+ rows \(hash -?\d+\) where the primary db-0 has 5000 \(hash -?\d+\) at [0-9A-F]+\/[0-9A-F]+$/);
        assert.strictEqual(r.stdout.match(/^DIFFERS: /gm)?.length, 1, r.stdout);
        assert.match(r.stdout, /^FAILED: 1 problems/m);
    });

    it("names the replica and the table when 64 bytes of its copy change on disk; the replica that read it goes not ready and says why, the primary stays ready", async () => {
        // 64 bytes in the middle of the first page's rows, which the page's checksum covers.
        await damage(1, (fd) => fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 6000));
        const read = c.psql(1, "SELECT count(*) FROM victim");
        assert.match(read.stderr, /invalid page in block 0 of relation/, c.tail(1, 60));
        const r = await k.run(VERIFY, ["-n", "default", "db"]);
        assert.strictEqual(r.code, 1, r.stdout + r.stderr);
        const lines = r.stdout.split("\n").filter((l) => l.startsWith("DIFFERS: "));
        assert.match(lines[0], /^DIFFERS: pod db-1, database app, table public\.victim: cannot be read: invalid page in block 0 of relation base\/\d+\/\d+ \(SQLSTATE XX001\)$/);
        assert.match(lines[1], /^DIFFERS: pod db-2, database app, table public\.victim: /);
        // The page scan reads the file itself and names the relation and the block.
        assert.ok(lines.some((l) => /^DIFFERS: pod db-1: page checksum failure in database app, relation victim \(file \.\/base\/\d+\/\d+\), block 0: /.test(l)), r.stdout);
        assert.ok(!lines.some((l) => /^DIFFERS: pod db-[02]: page checksum failure/.test(l)), r.stdout);

        await c.until("db-1 to be not ready", () => !c.ready(1), 60000);
        assert.ok(c.ready(0), "the primary stays ready");
        assert.deepStrictEqual(c.serviceEndpoints("ro"), [2]);
        assert.deepStrictEqual(c.serviceEndpoints("rw"), [0]);
        const log = fs.readFileSync(c.logFile(1), "utf8");
        assert.match(log, /db-1 replicated-db: event=checksum_failure failures=\d+ databases=app:\d+ action="a replica is not ready until it is cloned afresh; /);
        assert.match(log, /Readiness probe failed: not ready: data checksum failures in this replica's data directory \(\d+ seen\): clone it afresh/);
        // A restart of the container does not make the damage go away.
        await c.kill(1, "SIGKILL");
        const state = path.join(c.pod(1).root, "mounts", "run", "state");
        // The crash made the server forget its count; the supervisor, restarted, sees it stream again.
        await c.until(
            "db-1 to answer again, with no failure counted, and its supervisor to see it stream",
            () => c.sql(1, "SELECT sum(checksum_failures) FROM pg_stat_database", superuser) === "0" && fs.readFileSync(state, "utf8").includes("ready=yes"),
            90000,
        );
        const probe = c.pod(1).probe("readinessProbe");
        assert.strictEqual(probe.ok, false);
        assert.match(probe.output, /data checksum failures in this replica's data directory/);
        assert.ok(!c.ready(1), "still not ready after a container restart");
    });

    it("a replica re-cloned in place as docs/operations.md says is ready again and verifies; the damaged copy is kept on its volume", async () => {
        // The command docs/operations.md gives; the exec ends with the container (the supervisor exits once its server stops).
        await c.exec(1, ["bash", "-c", 'd="$PGDATA.damaged.$(date +%s)"; mv "$PGDATA" "$d" && pg_ctl -D "$d" -m fast stop']);
        await c.waitReady(1, 180000);
        const log = fs.readFileSync(c.logFile(1), "utf8");
        assert.strictEqual(log.match(/event=clone_finished/g)?.length, 2);
        // Remade after damage, it copies the primary, not db-2 (whose zeroed page no check but a comparison sees).
        assert.match([...log.matchAll(/event=clone_started (.*)/g)][1]?.[1] ?? "", new RegExp(`^source=${c.host(0)} from=primary `));
        assert.strictEqual(fs.readdirSync(c.pod(1).dataDir).filter((f) => f.startsWith("pgdata.damaged.")).length, 1);
        assert.deepStrictEqual(c.serviceEndpoints("ro"), [1, 2]);
        const r = await k.run(VERIFY, ["-n", "default", "--no-page-scan", "db"]);
        assert.strictEqual(r.code, 1, r.stdout + r.stderr);
        const lines = r.stdout.split("\n").filter((l) => l.startsWith("DIFFERS: "));
        assert.strictEqual(lines.length, 1, r.stdout);
        assert.match(lines[0], /^DIFFERS: pod db-2, database app, table public\.victim: /);
    });
});
