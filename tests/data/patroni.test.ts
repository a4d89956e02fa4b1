/**
 * Automated failover (failover: "patroni") on real servers: the component's rendered Patroni
 * configuration, scripts and probes, run by the image's Patroni release (tools/patroni/install.sh) on its
 * Kubernetes store, a real API server with the harness as its node (tests/harness/node.ts).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BaseBackupSampler } from "../harness/baseBackups";
import { Cluster, sleep } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";
import { AUTOMATED_FAILOVER_BOUND_MS, PATRONI_IMAGE } from "../harness/patroni";
import { patroniRequest, untilSyncStandby } from "../harness/patroniApi";

describe("automated failover with Patroni on real PostgreSQL servers", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1, failover: "patroni", image: PATRONI_IMAGE } });
    const superuser = { user: "postgres", database: "postgres" };
    const ordinals = [0, 1, 2];
    const writable = () => ordinals.filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const streamingFrom = (primary: number) =>
        c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);
    let primary = -1;

    before(async () => {
        await c.up();
        await c.until("one primary and two streaming replicas", () => {
            const w = writable();
            return w.length === 1 && streamingFrom(w[0]).split(",").length === 2;
        });
        primary = writable()[0];
        // Strict synchronous mode promotes only a standby Patroni has named in its store, which it does one of
        // its loops after the replicas stream; a primary killed before that is replaced by nobody (Patroni 4.x
        // writes the store's sync key with no standby at its first loop; docs/failover.md, "Synchronous mode").
        await untilSyncStandby(c, primary);
        c.sql(primary, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("elects one primary; the replicas stream from it by pod DNS name, one synchronously, and refuse writes", () => {
        const others = ordinals.filter((i) => i !== primary);
        assert.strictEqual(streamingFrom(primary), others.map((i) => `db-${i}`).join(","));
        const conninfo = c.sql(others[0], "SELECT conninfo FROM pg_stat_wal_receiver", superuser);
        assert.match(conninfo, new RegExp(`host=db-${primary}\\.db-headless\\.default\\.svc\\.cluster\\.local`));
        assert.strictEqual(c.sql(primary, "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'", superuser), "1");
        const r = c.psql(others[0], "INSERT INTO items (id, note) VALUES (0, 'on a replica')");
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /read-only transaction/);
    });

    it("keeps its store in the real API server: the leader ConfigMap names the primary, Patroni labels the pods, the Services' endpoints follow", async () => {
        // Written by Patroni with each pod's own token under the rendered Role (the harness's node, node.ts).
        const leader = await c.node!.get("default", "configmaps", "db-leader");
        assert.strictEqual(leader?.metadata?.annotations?.leader, `db-${primary}`);
        const config = await c.node!.get("default", "configmaps", "db-config");
        assert.ok(config?.metadata?.annotations?.initialize, "the config ConfigMap holds the cluster's system identifier");
        for (const i of ordinals) {
            const pod = await c.apiPod(i);
            assert.strictEqual(pod.spec.nodeName, "harness-node");
            assert.strictEqual(pod.metadata.labels["replicated-db.io/role"], i === primary ? "primary" : "replica", `db-${i}'s role label`);
            const status = JSON.parse(pod.metadata.annotations.status);
            assert.strictEqual(status.role, i === primary ? "primary" : "replica", `db-${i}'s status annotation`);
        }
        const address = (i: number) => c.pod(i).address;
        assert.deepStrictEqual(await c.apiEndpoints("rw"), [address(primary)]);
        assert.deepStrictEqual(await c.apiEndpoints("ro"), ordinals.filter((i) => i !== primary).map(address).sort());
    });

    it("the REST API's unsafe endpoints take its own password, not the superuser's; that password is no database login", async () => {
        const basic = (password: string) => ({ Authorization: `Basic ${Buffer.from(`patroni:${password}`).toString("base64")}` });
        // POST /restart on a replica with a schedule far ahead: a real unsafe request, which changes nothing now.
        const replica = ordinals.find((i) => i !== primary)!;
        const restart = (password?: string) =>
            patroniRequest(c, replica, "/restart", {
                method: "POST",
                headers: { "Content-Type": "application/json", ...(password ? basic(password) : {}) },
                body: JSON.stringify({ schedule: "2099-01-01T00:00:00+00:00" }),
            });
        assert.strictEqual((await restart()).status, 401, "no password");
        assert.strictEqual((await restart(c.secret("superuser-password"))).status, 401, "the superuser's password opens nothing here");
        const ok = await restart(c.secret("patroni-api-password"));
        assert.strictEqual(ok.status, 202, ok.text);
        const cancel = await patroniRequest(c, replica, "/restart", { method: "DELETE", headers: basic(c.secret("patroni-api-password")) });
        assert.strictEqual(cancel.status, 200, cancel.text);
        // The API's password is Patroni's, not a role's: no database user logs in with it.
        for (const user of ["postgres", "patroni"]) {
            const r = c.psql(primary, "SELECT 1", { user, database: "postgres", password: c.secret("patroni-api-password") });
            assert.notStrictEqual(r.status, 0, user);
        }
    });

    it("4. the primary killed: a replica is promoted with nobody acting, no acknowledged row is lost, the old one rejoins", async () => {
        const writer = new AckedWriter(c.hosts(ordinals), c.secret("app-password"), "items", path.join(c.base, "acks-patroni"));
        const old = primary;
        let promotedAfterMs = -1;
        let most = 0;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 30);
            await c.stop(old, "SIGKILL");
            const killedAt = Date.now();
            const ackedAtKill = writer.acked().length;
            await c.until(
                "a replica to take writes",
                () => {
                    const w = writable();
                    most = Math.max(most, w.length);
                    if (w.length !== 1 || writer.acked().length <= ackedAtKill) return false;
                    promotedAfterMs = Date.now() - killedAt;
                    primary = w[0];
                    return true;
                },
                AUTOMATED_FAILOVER_BOUND_MS,
            );
            const at = writer.acked().length;
            await c.until("writes to go on through the new primary", () => writer.acked().length > at + 20);
        } finally {
            await writer.stop();
        }
        assert.notStrictEqual(primary, old);
        assert.ok(promotedAfterMs > 0 && most <= 1, `promoted after ${promotedAfterMs} ms; at most ${most} writable at once`);
        // Synchronous mode (1 of 2): Patroni promotes only the synchronous standby, which holds every
        // acknowledged commit.
        const acked = writer.acked();
        const missing = c.sql(primary, `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a WHERE NOT EXISTS (SELECT 1 FROM items WHERE id = a)`);
        assert.strictEqual(missing, "0", `${missing} of ${acked.length} acknowledged rows are missing`);

        // The old primary's node returns: Patroni rewinds it onto the new timeline as a replica.
        c.start(old);
        const twoWritable: number[][] = [];
        await c.until(
            "the old primary to rejoin as a replica",
            () => {
                const w = writable();
                if (w.length > 1) twoWritable.push(w);
                return streamingFrom(primary).split(",").includes(`db-${old}`);
            },
            120000,
        );
        assert.deepStrictEqual(twoWritable, [], "two pods accepted writes at once");
        // Patroni's rewind credential is the rewind role (authentication.rewind), never the superuser: it logs into the
        // new primary with its own password, and whatever Patroni did to rejoin (a rewind, or none needed) did not fail.
        const rewind = { user: "rewind", password: c.secret("rewind-password"), database: "postgres" };
        assert.strictEqual(c.sql(primary, "SELECT current_user || ',' || pg_has_role('pg_checkpoint', 'USAGE') FROM (SELECT 1) x WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)", rewind), "rewind,true");
        const rejoin = fs.readFileSync(c.logFile(old), "utf8").split("\n").filter((l) => /rewind/i.test(l));
        for (const line of rejoin.slice(0, 4)) console.log(`      ${line}`);
        assert.deepStrictEqual(rejoin.filter((l) => /authentication failed|permission denied|must be superuser|pg_rewind exit code=[1-9]|Failed to rewind|rewind failed/i.test(l)), []);
        c.sql(primary, "INSERT INTO items (id, note) VALUES (-1, 'after the rejoin')");
        await c.until("the old primary to replay the new row", () => c.sql(old, "SELECT count(*) FROM items WHERE id = -1") === "1");
        assert.strictEqual(c.sql(old, "SELECT pg_is_in_recovery()", superuser), "t");
    });

    it("a restart with a new Secret over the kept volumes: the new passwords work everywhere", async () => {
        const oldApp = c.secret("app-password");
        for (const i of ordinals) await c.stop(i, "SIGINT");
        await c.apply({ passwordVersion: 2 });
        assert.notStrictEqual(c.secret("app-password"), oldApp);
        for (const i of ordinals) c.start(i);
        await c.until("a primary with two replicas streaming on the new replication password", () => {
            const w = writable();
            if (w.length !== 1) return false;
            primary = w[0];
            return streamingFrom(primary).split(",").length === 2;
        }, 120000);
        assert.ok(Number(c.sql(primary, "SELECT count(*) FROM items")) > 30, "the app logs in with the new password and sees its rows");
        assert.notStrictEqual(c.psql(primary, "SELECT 1", { password: oldApp }).status, 0, "the old app password is refused");
    });

    it("a new member copies a running replica (clonefrom), not the leader, under a write load; every acknowledged row is on it", async () => {
        c.sql(primary, "CREATE TABLE joined (id bigint PRIMARY KEY, note text NOT NULL)");
        const writer = new AckedWriter(c.hosts(ordinals), c.secret("app-password"), "joined", path.join(c.base, "acks-join"));
        const baseBackups = new BaseBackupSampler(c, () => primary);
        try {
            await c.until("writes", () => Number(c.sql(primary, "SELECT count(*) FROM joined")) > 20);
            await c.apply({ replicas: 3 });
            await c.waitReady(3, 240000);
            await c.until("db-3 to stream from the leader", () => streamingFrom(primary).split(",").includes("db-3"), 120000);
        } finally {
            await baseBackups.stop();
            await writer.stop();
        }
        const log = fs.readFileSync(c.logFile(3), "utf8");
        assert.match(log, /trying to bootstrap from replica 'db-[0-2]'/);
        assert.doesNotMatch(log, /trying to bootstrap from leader/);
        assert.match(log, /replica has been created using basebackup/);
        assert.deepStrictEqual(baseBackups.seen, [], "a base backup of the leader ran while db-3 joined");
        const lsn = c.sql(primary, "SELECT pg_current_wal_lsn()", superuser);
        await c.until("db-3 to replay the leader's position", () => c.sql(3, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'`, superuser) === "t", 60000);
        const acked = writer.acked();
        assert.ok(acked.length > 0, "the writer committed nothing");
        const rows = new Set(c.sql(3, "SELECT id FROM joined").split("\n"));
        const missing = acked.filter((id) => !rows.has(String(id)));
        assert.deepStrictEqual(missing, [], `${missing.length} of ${acked.length} acknowledged rows missing on db-3`);
    });

    it("never writes a password into a pod's log", async () => {
        await sleep(100);
        const secrets = (["superuser-password", "replication-password", "app-password", "patroni-api-password"] as const).map((k) => c.secret(k));
        for (const i of ordinals) {
            const log = fs.readFileSync(c.logFile(i), "utf8");
            for (const s of secrets) assert.ok(!log.includes(s), `a password is in db-${i}'s log`);
        }
    });
});
