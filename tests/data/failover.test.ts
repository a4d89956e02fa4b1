/**
 * Switchover and failover by config (primaryOrdinal), on real servers: the chosen replica promotes only
 * once no other pod accepts writes, the old primary rejoins as a replica (pg_rewind), the others follow.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { freezePostgres, thaw } from "../harness/pause";
import { AckedWriter, missingAcked } from "../harness/writer";

describe("switchover and failover on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 }, restartExited: true });
    const superuser = { user: "postgres", database: "postgres" };
    const writable = () => [0, 1, 2].filter((i) => c.pod(i).running && c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const followers = (primary: number) => c.sql(primary, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser);

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("a planned switchover under writes loses no acknowledged row and never has two writable pods", async () => {
        const writer = new AckedWriter(c.hosts([0, 1, 2]), c.secret("app-password"), "items", path.join(c.base, "acks-1"));
        let most = 0;
        try {
            await c.until("the writer to get going", () => writer.acked().length > 30);
            await c.apply({ primaryOrdinal: 1 });
            await c.until("db-1 to be the only writable pod and db-0, db-2 to follow it", () => {
                const w = writable();
                most = Math.max(most, w.length);
                return w.length === 1 && w[0] === 1 && followers(1) === "db_0,db_2";
            }, 120000);
            const at = writer.acked().length;
            await c.until("writes to go on through the new primary", () => writer.acked().length > at + 30);
        } finally {
            await writer.stop();
        }
        assert.ok(most <= 1, "two pods accepted writes at once");
        const acked = writer.acked();
        const missing = missingAcked((q) => c.sql(1, q), "items", acked);
        assert.deepStrictEqual(missing, [], `${missing.length} acknowledged rows are missing`);
    });

    it("a failover to the most advanced replica after the primary is killed, and the old primary rejoins", async () => {
        for (let i = 0; i < 100; i++) c.sql(1, `INSERT INTO items (id, note) VALUES (${100000 + i}, 'before the kill')`);
        await c.stop(1, "SIGKILL");
        // The operator's choice (bin/replicated-db-status does the same): the replica that received most.
        const lsn = (i: number) => BigInt(c.sql(i, "SELECT pg_last_wal_receive_lsn() - '0/0'", superuser));
        const chosen = lsn(0) >= lsn(2) ? 0 : 2;
        const other = chosen === 0 ? 2 : 0;
        await c.apply({ primaryOrdinal: chosen });
        await c.until(`db-${chosen} to promote and db-${other} to follow`, () => writable().join() === String(chosen) && followers(chosen) === `db_${other}`, 120000);
        // Synchronous (ANY 1): every row acknowledged before the kill is on the most advanced replica.
        assert.strictEqual(c.sql(chosen, "SELECT count(*) FROM items WHERE id >= 100000"), "100");
        c.sql(chosen, "INSERT INTO items (id, note) VALUES (200000, 'after the failover')");
        c.start(1);
        await c.until("the old primary to rejoin as a replica of the new one", () => followers(chosen) === [`db_1`, `db_${other}`].sort().join(","), 120000);
        assert.deepStrictEqual(writable(), [chosen]);
        await c.until("the old primary to have the new row", () => c.sql(1, "SELECT count(*) FROM items WHERE id = 200000") === "1");
        // It rejoined by pg_rewind, as the rewind role (a failed rewind would have set its data aside and cloned).
        const events = fs.readFileSync(c.logFile(1), "utf8").split("\n").filter((l) => /event=rewind_/.test(l));
        assert.deepStrictEqual(events.map((l) => /event=(rewind_\w+)/.exec(l)![1]), ["rewind_started", "rewind_finished"]);
        await sleep(100);
    });

    it("the rewind role can do what pg_rewind and its CHECKPOINT need on the new primary, and a new replica's restartpoint on a replica, and nothing more", () => {
        const primary = writable()[0];
        const rewind = { user: "rewind", password: c.secret("rewind-password"), database: "postgres" };
        const can = (q: string, database = "postgres") => c.psql(primary, q, { ...rewind, database });
        for (const q of [
            "CHECKPOINT",
            "SELECT count(*) FROM pg_ls_dir('global', false, false)",
            "SELECT (pg_stat_file('global/pg_control', false)).size",
            "SELECT length(pg_read_binary_file('global/pg_control'))",
            "SELECT length(pg_read_binary_file('PG_VERSION', 0, 2, false))",
        ]) {
            const r = can(q);
            assert.strictEqual(r.status, 0, `${q}: ${r.stderr}`);
        }
        // On a replica (clone-peer.sh restartpoint_now): a restartpoint, and where it is.
        const replica = [0, 1, 2].find((i) => i !== primary && c.pod(i).running)!;
        const restartpoint = c.psql(replica, "CHECKPOINT", rewind);
        assert.strictEqual(restartpoint.status, 0, restartpoint.stderr);
        assert.match(c.psql(replica, "SELECT redo_lsn FROM pg_control_checkpoint()", rewind).stdout.trim(), /^[0-9A-F]+\/[0-9A-F]+$/);
        assert.strictEqual(c.sql(primary, "SELECT rolsuper || ',' || rolreplication || ',' || rolcreaterole || ',' || rolcreatedb || ',' || rolbypassrls FROM pg_roles WHERE rolname = 'rewind'", superuser), "false,false,false,false,false");
        const denied: [string, string, RegExp][] = [
            ["SELECT count(*) FROM items", "app", /permission denied for table items/],
            ["INSERT INTO items (id, note) VALUES (1, 'x')", "app", /permission denied for table items/],
            ["CREATE TABLE mine (i int)", "postgres", /permission denied for schema public/],
            ["SELECT pg_read_file('postgresql.auto.conf')", "postgres", /permission denied for function pg_read_file/],
            ["COPY (SELECT 1) TO PROGRAM 'true'", "postgres", /permission denied|must be superuser|pg_execute_server_program/],
            ["ALTER ROLE app PASSWORD 'taken'", "postgres", /permission denied|must have CREATEROLE/],
            ["ALTER SYSTEM SET work_mem = '1MB'", "postgres", /must be superuser|permission denied/],
            ["SELECT pg_reload_conf()", "postgres", /permission denied for function pg_reload_conf/],
            ["SELECT pg_promote()", "postgres", /permission denied for function pg_promote/],
        ];
        for (const [q, database, why] of denied) {
            const r = can(q, database);
            assert.notStrictEqual(r.status, 0, `the rewind role ran: ${q} (${r.stdout.trim()})`);
            assert.match(r.stderr, why, q);
        }
        // Not a replication login: it cannot stream or take a base backup.
        const repl = c.psql(primary, "IDENTIFY_SYSTEM", { ...rewind, replication: true });
        assert.notStrictEqual(repl.status, 0);
        assert.match(repl.stderr, /no pg_hba.conf entry for replication connection|permission denied|must have the REPLICATION/);
    });

    it("a failover to the less advanced replica: it first streams what the other one has, then promotes, losing nothing", async () => {
        const primary = writable()[0];
        const [behind, ahead] = [0, 1, 2].filter((i) => i !== primary);
        await c.until(`db-${behind} and db-${ahead} to stream from db-${primary}`, () => followers(primary) === `db_${behind},db_${ahead}`.split(",").sort().join(","), 120000);
        // db-behind's server paused: the primary's commits (ANY 1) wait for db-ahead alone, and db-behind misses them.
        // More WAL than its socket can hold for it meanwhile (which it would read once resumed): about 40 MiB.
        const paused = freezePostgres(c.pod(behind));
        try {
            c.sql(primary, "INSERT INTO items (id, note) SELECT 400000 + g, repeat('x', 1000) FROM generate_series(1, 30000) AS g");
            for (let i = 0; i < 100; i++) c.sql(primary, `INSERT INTO items (id, note) VALUES (${300000 + i}, 'while db-${behind} was paused')`);
            await c.stop(primary, "SIGKILL");
        } finally {
            thaw(paused);
        }
        // The operator names the replica that is behind (a choice made without looking, or with an old look).
        await c.apply({ primaryOrdinal: behind });
        await c.until(`db-${behind} to promote and db-${ahead} to follow it`, () => writable().join() === String(behind) && followers(behind) === `db_${ahead}`, 120000);
        assert.strictEqual(c.sql(behind, "SELECT count(*) FROM items WHERE id >= 300000 AND id < 400000"), "100");
        assert.strictEqual(c.sql(behind, "SELECT count(*) FROM items WHERE id > 400000"), "30000");
        const log = fs.readFileSync(c.logFile(behind), "utf8");
        assert.match(log, new RegExp(`named the primary: first streaming what db-${ahead} has`), log.split("\n").filter((l) => /named|promot/.test(l)).join("\n"));
        c.start(primary);
        await c.until("the old primary to rejoin as a replica of the new one", () => followers(behind) === [`db_${primary}`, `db_${ahead}`].sort().join(","), 120000);
    });
});
