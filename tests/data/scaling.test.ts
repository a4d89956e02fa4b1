/** Scenarios 6 and 7: scaling up under a write load, and scaling down without keeping WAL forever. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { Writer } from "../harness/writer";

describe("scaling on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 1 } });
    const count = (ordinal: number) => Number(c.sql(ordinal, "SELECT count(*) FROM items"));
    const slots = () => c.sql(0, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots", { user: "postgres", database: "postgres" });

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("6. scales from 1 replica to 3 while writes continue: the new pods clone and catch up", async () => {
        const writer = new Writer(c.hosts(0), c.secret("app-password"), "items");
        try {
            await c.until("the writer to get going", () => count(0) > 20);
            await c.apply({ replicas: 3 });
            await c.waitReady(2);
            await c.waitReady(3);
            const during = count(0);
            await c.until("more writes after the new pods are ready", () => count(0) > during + 20);
        } finally {
            await writer.stop();
        }
        const total = count(0);
        await c.until(`every replica to have all ${total} rows`, () => [1, 2, 3].every((i) => count(i) === total));
        assert.strictEqual(fs.readFileSync(path.join(c.pod(3).root, "mounts", "config", "pod-count"), "utf8"), "4");
        assert.strictEqual(slots(), "db_1,db_2,db_3");
    });

    it("7. scales down to 1 replica: the removed pods' volumes stay, their slots go", async () => {
        await c.apply({ replicas: 1 });
        assert.ok(!c.pod(2).running && !c.pod(3).running);
        // The primary's readiness probe reads the new pod count and drops the inactive slots.
        await c.until("the removed pods' slots to be dropped", () => {
            c.pod(0).probe("readinessProbe");
            return slots() === "db_1";
        });
        for (const i of [2, 3]) {
            assert.ok(fs.existsSync(path.join(c.pod(i).dataDir, "pgdata", "PG_VERSION")), `the volume of db-${i} must be kept`);
        }
        // The primary keeps no WAL for them now: every remaining slot is active.
        assert.strictEqual(c.sql(0, "SELECT bool_and(active) FROM pg_replication_slots", { user: "postgres", database: "postgres" }), "t");
        c.sql(0, "INSERT INTO items (note) VALUES ('after scale-down')");
        const total = count(0);
        await c.until("the remaining replica to follow", () => count(1) === total);
    });

    it("scales back up on the kept volume: the returning replica catches up without a new clone", async () => {
        await c.apply({ replicas: 2 });
        await c.waitReady(2);
        const total = count(0);
        await c.until("the returning replica to catch up", () => count(2) === total);
        const log = fs.readFileSync(c.logFile(2), "utf8");
        assert.strictEqual(log.match(/event=clone_finished/g)?.length, 1, "the kept volume is reused, not cloned again");
    });
});
