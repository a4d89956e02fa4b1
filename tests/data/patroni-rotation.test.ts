/**
 * failover: "patroni": a password rotation while the pods run (a new Secret, as the kubelet swaps its
 * files), under writes, with no restart: the primary sets the new passwords, every member reloads
 * Patroni, replication goes on with the new replication password. A Secret with an empty key is refused and
 * the last good passwords stay.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { Writer } from "../harness/writer";

describe("automated failover: passwords rotate without a restart", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2, failover: "patroni", image: PATRONI_IMAGE } });
    const superuser = { user: "postgres", database: "postgres" };
    const ordinals = [0, 1, 2];
    const primary = () => ordinals.find((i) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const log = (i: number) => fs.readFileSync(c.logFile(i), "utf8");
    const streaming = (p: number) => Number(c.sql(p, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", superuser));

    before(async () => {
        await c.up();
        await c.until("a primary with two streaming replicas", () => {
            const p = primary();
            return p !== undefined && streaming(p) === 2;
        });
        c.sql(primary()!, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("a new Secret reaches the running pods: new passwords work, old ones are refused, nothing restarts", async () => {
        const p = primary()!;
        const pids = ordinals.map((i) => c.pod(i).pid);
        const old = { app: c.secret("app-password"), replication: c.secret("replication-password") };
        const writer = new Writer(c.hosts(p), old.app, "items");
        try {
            await c.apply({ passwordVersion: 2 });
            const fresh = c.secret("app-password");
            assert.notStrictEqual(fresh, old.app);
            await c.until("the new app password to work", () => c.psql(p, "SELECT 1", { password: fresh }).status === 0, 60000);
        } finally {
            await writer.stop();
        }
        assert.notStrictEqual(c.psql(p, "SELECT 1", { password: old.app }).status, 0, "the old app password still works");
        const r = c.psql(p, "SELECT 1", { user: "replicator", password: old.replication, database: "postgres", replication: true });
        assert.notStrictEqual(r.status, 0, "the old replication password still works");
        // The replicas reconnect with the new replication password: a fresh connection of theirs must be
        // made with it, so restart their WAL receivers and see them stream again.
        c.sql(p, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication", superuser);
        await c.until("both replicas streaming again after their connections were cut", () => streaming(p) === 2, 60000);
        assert.deepStrictEqual(ordinals.map((i) => c.pod(i).pid), pids, "a pod restarted");
        assert.strictEqual(primary(), p);
    });

    it("refuses an empty password in the Secret loudly, keeps the last good one across a restart, then takes a usable one", async () => {
        const p = primary()!;
        const pids = ordinals.map((i) => c.pod(i).pid);
        const good = c.secret("app-password");
        const refusal = /the Secret's key app-password is empty: refused, keeping the last good passwords/;
        try {
            await c.editObject("secrets", "db-credentials", "app-password", "");
            await c.until("every member to log the refusal", () => ordinals.every((i) => refusal.test(log(i))), 60000);
            // Another round of the Secret check (every 10 s): still refused, and said once.
            await sleep(11000);
            for (const i of ordinals) assert.strictEqual(log(i).match(new RegExp(refusal.source, "g"))?.length, 1, `db-${i} says it once`);
            const cleared = c.sql(p, "SELECT count(*) FROM pg_authid WHERE rolname = 'app' AND rolpassword IS NULL", superuser);
            assert.strictEqual(cleared, "0", "the app role's password was cleared");
            assert.strictEqual(c.sql(p, "SELECT current_user", { password: good }), "app", "the app still logs in with its last good password");
            // A restarted container keeps the pod's memory, and with it the last good copy: the replica comes
            // back and streams with it.
            const replica = ordinals.find((i) => i !== p)!;
            await c.restart(replica, "SIGINT");
            await c.until(`db-${replica} to refuse the Secret again at start`, () => log(replica).match(new RegExp(refusal.source, "g"))?.length === 2, 60000);
            await c.until(`db-${replica} to stream again`, () => streaming(p) === 2, 120000);
            pids[replica] = c.pod(replica).pid;
        } finally {
            await c.editObject("secrets", "db-credentials", "app-password", `${good}-again`);
        }
        await c.until("the next usable password to work", () => c.psql(p, "SELECT 1", { password: `${good}-again` }).status === 0, 60000);
        assert.notStrictEqual(c.psql(p, "SELECT 1", { password: good }).status, 0, "the password before it still works");
        assert.deepStrictEqual(ordinals.map((i) => c.pod(i).pid), pids, "a pod restarted");
        assert.strictEqual(primary(), p);
    });
});
