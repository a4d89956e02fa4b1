/**
 * The pods' decisions in their logs (lib.sh `event`: "replicated-db: event=NAME key=value ..."), as
 * `kubectl logs` shows them: the primary's initialisation, the replicas' clones, then a failover by config
 * (the primary killed, primaryOrdinal moved): the promotion on the new primary, the rewind of the old one;
 * then a scale-down: the removed pod's slot dropped.
 */
import * as assert from "assert";
import * as fs from "fs";
import { Cluster } from "../harness/cluster";

const EVENT = /^\S+ (db-\d+) replicated-db: event=([a-z_]+)((?: [a-z_]+=(?:"(?:[^"\\]|\\.)*"|\S+))*)$/;

/** A pod's event lines, parsed: the event's name and its keys. */
function events(c: Cluster, ordinal: number): { event: string; keys: Record<string, string> }[] {
    const out = [];
    for (const line of fs.readFileSync(c.logFile(ordinal), "utf8").split("\n")) {
        if (!line.includes("replicated-db: event=")) continue;
        const m = line.match(EVENT);
        assert.ok(m, `an event line in another format: ${line}`);
        assert.strictEqual(m[1], `db-${ordinal}`);
        const keys: Record<string, string> = {};
        for (const kv of m[3].matchAll(/ ([a-z_]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
            keys[kv[1]] = kv[2].startsWith('"') ? JSON.parse(kv[2]) : kv[2];
        }
        out.push({ event: m[2], keys });
    }
    return out;
}

function names(c: Cluster, ordinal: number): string[] {
    return events(c, ordinal).map((e) => e.event);
}

describe("the pods' event lines", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2 } });
    const superuser = { user: "postgres", database: "postgres" };

    before(() => c.up());
    after(() => c.cleanup());

    it("tell the start: the primary initialised, each replica cloned it (or db-2 a streaming db-1) and started streaming", () => {
        assert.deepStrictEqual(events(c, 0).slice(0, 2), [
            { event: "role_chosen", keys: { role: "primary", action: "initdb" } },
            { event: "role_chosen", keys: { role: "primary", action: "start" } },
        ]);
        for (const i of [1, 2]) {
            const e = events(c, i);
            // db-2 copies db-1 when db-1 already streams (cloneFromReplicas), else the primary; db-1 has no replica to copy.
            const copied = i === 2 && e.find((x) => x.event === "clone_started")?.keys.from === "replica";
            const [source, from] = copied ? [c.host(1), "replica"] : [c.host(0), "primary"];
            const story = e.slice(0, copied ? 4 : 3);
            if (copied) {
                // The replica's restartpoint against the primary's WAL position decided the checkpoint.
                const asked = story.shift()!;
                assert.strictEqual(asked.event, "clone_checkpoint");
                assert.strictEqual(asked.keys.source, source);
                assert.match(asked.keys.restartpoint, /^[0-9A-F]+\/[0-9A-F]+$/);
                assert.match(asked.keys.primary_lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
                assert.match(asked.keys.decided, /^(checkpoint|none)$/);
            }
            assert.deepStrictEqual(story, [
                { event: "clone_started", keys: { source, from, slot: `db_${i}` } },
                { event: "clone_finished", keys: { source, from } },
                { event: "role_chosen", keys: { role: "replica", action: "start", source: c.host(0) } },
            ]);
        }
    });

    it("tell a failover: the promotion on the chosen replica, the old primary's rewind", async () => {
        c.sql(0, "CREATE TABLE t AS SELECT 1 AS x", superuser);
        await c.stop(0, "SIGKILL");
        await c.apply({ primaryOrdinal: 1 });
        await c.until("db-1 to take writes", () => c.psql(1, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f", 120000);
        c.start(0);
        await c.waitReady(0, 180000);
        const promoted = events(c, 1).filter((e) => e.event.startsWith("promot"));
        assert.deepStrictEqual(promoted.map((e) => e.event), ["promotion_started", "promoted"]);
        assert.match(promoted[0].keys.lsn, /^[0-9A-F]+\/[0-9A-F]+$/);
        assert.strictEqual(promoted[1].keys.timeline, "2");
        const old = names(c, 0);
        const rewound = old.indexOf("rewind_started");
        assert.ok(rewound > 0, old.join(" "));
        assert.deepStrictEqual(old.slice(rewound, rewound + 3), ["rewind_started", "rewind_finished", "role_chosen"]);
        assert.deepStrictEqual(events(c, 0)[rewound + 2].keys, { role: "replica", action: "start", source: c.host(1) });
    });

    it("tell a scale-down: the new primary drops the removed pod's slot", async () => {
        await c.apply({ replicas: 1 });
        await c.until("db-1 to drop db-2's slot", () => names(c, 1).includes("slot_dropped"), 60000);
        assert.deepStrictEqual(events(c, 1).filter((e) => e.event === "slot_dropped").map((e) => e.keys), [{ slot: "db_2" }]);
    });
});
