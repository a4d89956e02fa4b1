/** Scenarios 6 and 7: scaling up under a write load, and scaling down without keeping WAL forever. */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { BaseBackupSampler } from "../harness/baseBackups";
import { Cluster } from "../harness/cluster";
import { AckedWriter } from "../harness/writer";

describe("scaling on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 1 } });
    const count = (ordinal: number) => Number(c.sql(ordinal, "SELECT count(*) FROM items"));
    const superuser = { user: "postgres", database: "postgres" };
    const slots = () => c.sql(0, "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots", superuser);

    before(async () => {
        await c.up();
        c.sql(0, "CREATE TABLE items (id bigserial PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("6. scales from 1 replica to 3 while writes continue: the new pods copy a streaming replica, not the primary, and catch up", async () => {
        const writer = new AckedWriter(c.hosts([0]), c.secret("app-password"), "items", path.join(c.base, "acks-scale"));
        const baseBackups = new BaseBackupSampler(c, () => 0);
        try {
            await c.until("the writer to get going", () => count(0) > 20);
            await c.apply({ replicas: 3 });
            await c.waitReady(2);
            await c.waitReady(3);
            const during = count(0);
            await c.until("more writes after the new pods are ready", () => count(0) > during + 20);
        } finally {
            await baseBackups.stop();
            await writer.stop();
        }
        // cloneFromReplicas (on by default): each new pod copied another replica that streamed (db-1, or the other new pod once it streamed).
        for (const i of [2, 3]) {
            const started = fs.readFileSync(c.logFile(i), "utf8").match(/event=clone_started (.*)/)?.[1] ?? "";
            assert.match(started, /^source=\S+ from=replica slot=db_\d$/, `db-${i}`);
            assert.ok([1, 2, 3].filter((p) => p !== i).some((p) => started.startsWith(`source=${c.host(p)} `)), `db-${i} copied ${started}`);
        }
        // Before each copy the copied replica made a restartpoint for the rewind role and said where it is; the
        // primary was asked for a checkpoint only when that is more than 64 MiB of WAL behind it (decide_clone_checkpoint).
        for (const i of [2, 3]) {
            const asked = fs.readFileSync(c.logFile(i), "utf8").match(/event=clone_checkpoint source=\S+ restartpoint=([0-9A-F]+)\/([0-9A-F]+) primary_lsn=([0-9A-F]+)\/([0-9A-F]+) decided=(\w+)/);
            assert.ok(asked, `db-${i}: no clone_checkpoint event with both positions`);
            const behind = (BigInt(`0x${asked[3]}`) << 32n) + BigInt(`0x${asked[4]}`) - ((BigInt(`0x${asked[1]}`) << 32n) + BigInt(`0x${asked[2]}`));
            assert.strictEqual(asked[5], behind > 64n * 1024n * 1024n ? "checkpoint" : "none", `db-${i}: ${asked[0]}`);
        }
        assert.deepStrictEqual(baseBackups.seen, [], "a base backup of the primary ran while the pods joined");
        // The primary's count is read again each time: AckedWriter.stop() ends its loop, not the insert in flight,
        // which may commit after a first count (the likely cause of one timeout waiting for 202 rows, 6 December:
        // the new replicas streamed, and both had replayed the same last transaction).
        await c.until("every replica to have all the primary's rows", () => {
            const total = count(0);
            return [1, 2, 3].every((i) => count(i) === total);
        });
        const acked = writer.acked();
        assert.ok(acked.length > 0, "the writer committed nothing");
        for (const i of [2, 3]) {
            const rows = new Set(c.sql(i, "SELECT id FROM items").split("\n"));
            const missing = acked.filter((id) => !rows.has(String(id)));
            assert.deepStrictEqual(missing, [], `${missing.length} of ${acked.length} acknowledged rows missing on db-${i}`);
        }
        assert.strictEqual(fs.readFileSync(path.join(c.pod(3).root, "mounts", "config", "pod-count"), "utf8"), "4");
        assert.strictEqual(slots(), "db_1,db_2,db_3");
        // Each streams from the primary through its own slot.
        assert.strictEqual(c.sql(0, "SELECT string_agg(application_name, ',' ORDER BY application_name) FROM pg_stat_replication WHERE state = 'streaming'", superuser), "db_1,db_2,db_3");
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
        c.sql(0, "INSERT INTO items (id, note) VALUES (-1, 'after scale-down')");
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
