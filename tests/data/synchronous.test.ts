/**
 * Synchronous replication (synchronousReplicas: 1 of 2): a commit returns only once a replica has it, so a
 * committed row is on a replica when the primary is lost; with no replica up, commits wait.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { PG_BIN } from "../harness/pod";

describe("synchronous replication on real PostgreSQL servers", function () {
    this.timeout(180000);
    const c = new Cluster({ args: { replicas: 2, synchronousReplicas: 1 } });
    const count = (ordinal: number) => Number(c.sql(ordinal, "SELECT count(*) FROM items"));

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("reports the replicas as quorum standbys", () => {
        const modes = c.sql(0, "SELECT string_agg(sync_state, ',' ORDER BY application_name) FROM pg_stat_replication", { user: "postgres", database: "postgres" });
        assert.strictEqual(modes, "quorum,quorum");
    });

    it("every committed row is already on a replica when the primary dies", async () => {
        for (let i = 0; i < 200; i++) c.sql(0, `INSERT INTO items (note) VALUES ('row ${i}')`);
        await c.pod(0).stop("SIGKILL");
        // ANY 1 of 2: together the replicas hold every acknowledged commit at the moment of the kill.
        await sleep(500);
        const onReplicas = Math.max(count(1), count(2));
        assert.strictEqual(onReplicas, 200);
        c.start(0);
        await c.waitReady(0);
    });

    it("holds a commit while no replica is up, and releases it when one returns", async () => {
        await c.pod(1).stop("SIGINT");
        await c.pod(2).stop("SIGINT");
        let finished = false;
        const insert = spawn(path.join(PG_BIN, "psql"), ["-X", "-q", "-c", "INSERT INTO items (note) VALUES ('waiting')", `${c.hosts(0)} user=app dbname=app`], {
            env: { PGPASSWORD: c.secret("app-password"), PATH: process.env.PATH },
            stdio: "ignore",
        });
        const exited = new Promise<number | null>((resolve) => insert.on("exit", (code) => ((finished = true), resolve(code))));
        await sleep(3000);
        assert.strictEqual(finished, false, "the commit must wait for a synchronous replica");
        c.start(1);
        assert.strictEqual(await exited, 0);
        await c.waitReady(1);
        assert.strictEqual(c.sql(1, "SELECT count(*) FROM items WHERE note = 'waiting'"), "1");
        c.start(2);
        await c.waitReady(2);
    });
});
