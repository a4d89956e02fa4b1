/**
 * Scenarios 1-5 of the data plane: a primary and two replicas from empty volumes, streaming, read-only
 * replicas, replication authentication, and restarts of a replica and of the primary.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";

describe("replication on real PostgreSQL servers", function () {
    this.timeout(180000);
    const c = new Cluster({ args: { replicas: 2 } });
    const count = (ordinal: number) => Number(c.sql(ordinal, "SELECT count(*) FROM items"));
    const role = (ordinal: number) => fs.readFileSync(path.join(c.pod(ordinal).root, "mounts", "run", "role"), "utf8").trim();
    const streaming = () => Number(c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", { user: "postgres", database: "postgres" }));

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("1. starts a primary and two replicas from empty volumes, each knowing its role", () => {
        assert.strictEqual(c.sql(0, "SELECT pg_is_in_recovery()"), "f");
        assert.strictEqual(c.sql(1, "SELECT pg_is_in_recovery()"), "t");
        assert.strictEqual(c.sql(2, "SELECT pg_is_in_recovery()"), "t");
        assert.deepStrictEqual([0, 1, 2].map(role), ["primary", "replica", "replica"]);
        // Each server runs as the rendered uid (999, the image's postgres), never as root.
        const uid = fs.readFileSync(`/proc/${c.pod(0).pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)![1];
        assert.strictEqual(uid, "999");
        // Each replica streams through its own slot, named after its pod.
        const slots = c.sql(0, "SELECT slot_name || ':' || active FROM pg_replication_slots ORDER BY 1", { user: "postgres", database: "postgres" });
        assert.deepStrictEqual(slots.split("\n"), ["db_1:true", "db_2:true"]);
    });

    it("2. replicates rows to every replica, and refuses writes on a replica", async () => {
        c.sql(0, "INSERT INTO items (note) SELECT 'row ' || g FROM generate_series(1, 500) g");
        await c.until("both replicas to have 500 rows", () => count(1) === 500 && count(2) === 500);
        const r = c.psql(1, "INSERT INTO items (note) VALUES ('nope')");
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /cannot execute INSERT in a read-only transaction/);
        assert.strictEqual(count(0), 500);
    });

    it("3. replicas authenticate as the replication user from the Secret, and nothing else gets in", () => {
        const users = c.sql(0, "SELECT DISTINCT usename FROM pg_stat_replication", { user: "postgres", database: "postgres" });
        assert.strictEqual(users, "replicator");
        const ok = c.psql(0, "IDENTIFY_SYSTEM", { user: "replicator", replication: true });
        assert.strictEqual(ok.status, 0, ok.stderr);
        const wrong = c.psql(0, "IDENTIFY_SYSTEM", { user: "replicator", password: "not-the-password", replication: true });
        assert.match(wrong.stderr, /password authentication failed for user "replicator"/);
        const app = c.psql(0, "IDENTIFY_SYSTEM", { user: "app", replication: true });
        assert.notStrictEqual(app.status, 0);
        assert.match(app.stderr, /no pg_hba.conf entry for replication connection|must have replication/);
        // The password is in the pod's passfile, not in the data directory.
        const autoConf = fs.readFileSync(path.join(c.pod(1).dataDir, "pgdata", "postgresql.auto.conf"), "utf8");
        assert.ok(!autoConf.includes(c.secret("replication-password")));
    });

    it("4. a replica killed with SIGKILL resumes streaming on its volume and catches up", async () => {
        await c.pod(1).stop("SIGKILL");
        c.sql(0, "INSERT INTO items (note) SELECT 'while away ' || g FROM generate_series(1, 300) g");
        c.start(1);
        await c.waitReady(1);
        await c.until("replica 1 to catch up to 800 rows", () => count(1) === 800);
        assert.strictEqual(c.sql(1, "SELECT pg_is_in_recovery()"), "t");
        assert.match(fs.readFileSync(c.logFile(1), "utf8"), /starting as a replica/);
        assert.strictEqual(fs.readFileSync(c.logFile(1), "utf8").match(/event=clone_finished/g)?.length, 1, "it must not re-clone");
    });

    for (const signal of ["SIGINT", "SIGKILL"] as NodeJS.Signals[]) {
        it(`5. the primary restarted (${signal === "SIGINT" ? "fast shutdown" : "SIGKILL"}) comes back as the primary with its data; replicas reconnect`, async () => {
            const before = count(0);
            await c.restart(0, signal);
            await c.waitReady(0);
            assert.strictEqual(c.sql(0, "SELECT pg_is_in_recovery()"), "f");
            assert.strictEqual(count(0), before);
            c.sql(0, "INSERT INTO items (note) VALUES ('after restart')");
            await c.until("both replicas to stream again and have the new row", () => streaming() === 2 && count(1) === before + 1 && count(2) === before + 1);
            await c.waitReady(1);
            await c.waitReady(2);
        });
    }

    it("a replica is ready only while it streams (what holds a rolling update until it is back)", async () => {
        await c.pod(0).stop("SIGINT");
        await c.until("replica 1 to turn unready without its primary", () => !c.pod(1).probe("readinessProbe").ok, 30000);
        assert.ok(c.pod(1).probe("livenessProbe").ok, "but alive: liveness must not restart it");
        c.start(0);
        await c.waitReady(0);
        await c.waitReady(1);
        await c.waitReady(2);
    });

    it("refuses to open a data directory of another major version, changing nothing", async () => {
        await c.pod(2).stop("SIGINT");
        const versionFile = path.join(c.pod(2).dataDir, "pgdata", "PG_VERSION");
        const original = fs.readFileSync(versionFile, "utf8");
        fs.writeFileSync(versionFile, "14\n");
        try {
            c.start(2);
            await c.until("the pod to exit", () => !c.pod(2).running, 30000);
            assert.match(fs.readFileSync(c.logFile(2), "utf8"), /the data directory is PostgreSQL 14 and this image runs PostgreSQL 15/);
            assert.strictEqual(fs.readFileSync(versionFile, "utf8"), "14\n");
        } finally {
            fs.writeFileSync(versionFile, original);
        }
        c.start(2);
        await c.waitReady(2);
    });

    it("with allowMajorVersionChange: sets old-major data aside, starts fresh, and the dump restores", async () => {
        // Stand-in for an old major's volumes (Debian ships one major): PG_VERSION says 14 on every pod.
        const dump = c.sql(0, "SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM items");
        for (const i of [2, 1, 0]) await c.pod(i).stop("SIGINT");
        for (const i of [0, 1, 2]) fs.writeFileSync(path.join(c.pod(i).dataDir, "pgdata", "PG_VERSION"), "14\n");
        await c.apply({ allowMajorVersionChange: true });
        for (const i of [0, 1, 2]) c.start(i);
        for (const i of [0, 1, 2]) await c.waitReady(i);
        for (const i of [0, 1, 2]) {
            const kept = fs.readdirSync(c.pod(i).dataDir).filter((d) => d.startsWith("pgdata.pg14."));
            assert.strictEqual(kept.length, 1, `db-${i} keeps its old data directory`);
            assert.strictEqual(fs.readFileSync(path.join(c.pod(i).dataDir, kept[0], "PG_VERSION"), "utf8"), "14\n");
        }
        assert.strictEqual(c.psql(0, "SELECT count(*) FROM items").status === 0, false, "a fresh cluster, to be restored");
        // The restore (the user's pg_dump, here a few rows) replicates like any write.
        c.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
        c.sql(0, `INSERT INTO items SELECT split_part(x, ':', 1)::bigint, split_part(x, ':', 2) FROM unnest(string_to_array('${dump}', ',')) x`);
        await c.until("the replicas to have the restored rows", () => count(1) === count(0) && count(2) === count(0));
        assert.ok(count(0) > 0);
    });
});
