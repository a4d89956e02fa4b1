/**
 * The Secret is the truth: a kept volume with a new Secret works, and passwords rotate while the pods run,
 * under a write load, without losing a row or stopping replication.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster } from "../harness/cluster";
import { Writer } from "../harness/writer";

describe("passwords from the Secret, on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 2 } });
    const count = (ordinal: number) => Number(c.sql(ordinal, "SELECT count(*) FROM items"));
    const superuser = { user: "postgres", database: "postgres" };
    const streaming = () => Number(c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", superuser));

    const seen = new Set<string>();
    const remember = () => (["superuser-password", "replication-password", "app-password"] as const).forEach((k) => seen.add(c.secret(k)));

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
        c.sql(0, "INSERT INTO items (note) SELECT 'before' FROM generate_series(1, 100)");
        remember();
    });
    after(() => c.cleanup());

    it("8. a redeploy with a new Secret over the kept volumes: the new passwords work, the old ones do not", async () => {
        const old = { app: c.secret("app-password"), replication: c.secret("replication-password"), superuser: c.secret("superuser-password") };
        for (const i of [2, 1, 0]) await c.pod(i).stop("SIGINT");
        // A restored or re-created stack: same volumes, new generated passwords.
        await c.apply({ passwordVersion: 2 });
        assert.notStrictEqual(c.secret("app-password"), old.app);
        remember();
        for (const i of [0, 1, 2]) c.start(i);
        for (const i of [0, 1, 2]) await c.waitReady(i);
        assert.strictEqual(count(0), 100);
        assert.strictEqual(streaming(), 2, "the replicas authenticate with the new replication password");
        for (const [user, password] of [["app", old.app], ["replicator", old.replication], ["postgres", old.superuser]]) {
            const r = c.psql(0, "SELECT 1", { user, password, database: user === "app" ? "app" : "postgres", replication: user === "replicator" });
            assert.match(r.stderr, /password authentication failed/, `${user}'s old password must be refused`);
        }
        assert.strictEqual(c.sql(0, "SELECT current_user"), "app");
        assert.strictEqual(c.sql(0, "SELECT current_user", superuser), "postgres");
    });

    it("9. a rotation while running, under writes: the replicas pick up the new password and lose nothing", async () => {
        const starts = () => [0, 1, 2].map((i) => (fs.readFileSync(c.logFile(i), "utf8").match(/starting as (the primary|a replica)/g) ?? []).length);
        const startsBefore = starts();
        const writer = new Writer(c.hosts(0), c.secret("app-password"), "items");
        let oldReplication = "";
        try {
            await c.until("the writer to get going", () => count(0) > 120);
            oldReplication = c.secret("replication-password");
            const oldApp = c.secret("app-password");
            // The Secret changes; the kubelet refreshes the mounted files; no pod restarts.
            await c.apply({ passwordVersion: 3 });
            remember();
            // The roles' passwords are set one after another: wait for the last the test uses, the superuser's, too.
            await c.until("the primary to apply the new passwords", () =>
                c.psql(0, "SELECT 1", { user: "app", password: oldApp }).status !== 0 && c.psql(0, "SELECT 1", superuser).status === 0);
            // Drop the replication connections: they must come back with the new password from the passfile.
            c.sql(0, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication", superuser);
            await c.until("both replicas to stream again", () => streaming() === 2);
            const rejoined = c.sql(0, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication", superuser);
            assert.strictEqual(rejoined, "db_1,db_2");
        } finally {
            await writer.stop();
        }
        // The writer used the old app password: its inserts stop once the new one applies. Write more now.
        c.sql(0, "INSERT INTO items (note) SELECT 'after rotation' FROM generate_series(1, 50)");
        const total = count(0);
        await c.until(`both replicas to have all ${total} rows`, () => count(1) === total && count(2) === total);
        const old = c.psql(0, "IDENTIFY_SYSTEM", { user: "replicator", password: oldReplication, replication: true });
        assert.match(old.stderr, /password authentication failed/);
        assert.deepStrictEqual(starts(), startsBefore, "no server was restarted");
    });

    it("never writes a password into a pod's log", () => {
        assert.strictEqual(seen.size, 9);
        for (const i of [0, 1, 2]) {
            const log = fs.readFileSync(c.logFile(i), "utf8");
            for (const pw of seen) assert.ok(!log.includes(pw), `db-${i}'s log contains a password`);
        }
    });
});
