/**
 * failover: "patroni" with TLS on (issue 14): a renewed certificate (same CA) reaches the running pods as the
 * kubelet refreshes a Secret volume, and the container's long-running script reloads Patroni, which reloads
 * PostgreSQL and its own HTTPS REST API. Under writes by name with verify-full: nothing restarts, no
 * acknowledged row is lost, the leader keeps its role.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Cluster } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { PATRONI_PORT } from "../harness/patroniApi";
import { servedSerial } from "../harness/served-cert";
import { AckedWriter } from "../harness/writer";

describe("automated failover with TLS: a renewed certificate is served by PostgreSQL and Patroni without a restart", function () {
    this.timeout(300000);
    const c = new Cluster({ args: { replicas: 2, failover: "patroni", image: PATRONI_IMAGE } });
    const superuser = { user: "postgres", database: "postgres" };
    const ordinals = [0, 1, 2];
    const writable = () => ordinals.filter((i) => c.psql(i, "SELECT pg_is_in_recovery()", superuser).stdout.trim() === "f");
    const tlsSenders = (p: number) =>
        Number(c.sql(p, "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming' AND s.ssl", superuser));
    let primary = -1;

    before(async () => {
        await c.up();
        await c.until("one primary and two replicas streaming over TLS", () => {
            const w = writable();
            return w.length === 1 && tlsSenders(w[0]) === 2;
        });
        primary = writable()[0];
        c.sql(primary, "CREATE TABLE items (id bigint PRIMARY KEY, note text NOT NULL)");
    });
    after(() => c.cleanup());

    it("renews under writes: every pod's server and REST API serve the new certificate, nothing restarts, nothing is lost", async () => {
        const pids = ordinals.map((i) => c.pod(i).pid);
        const before = ordinals.map((i) => ({ pg: servedSerial(c, i), api: servedSerial(c, i, PATRONI_PORT) }));
        const writer = new AckedWriter(c.hosts(ordinals), c.secret("app-password"), "items", path.join(c.base, "acks"));
        try {
            await c.until("the first acknowledged writes", () => writer.acked().length >= 5, 30000);
            await c.apply({ tls: { validityDays: 200 } });
            await c.until(
                "every pod's PostgreSQL and REST API to serve the new certificate",
                () => ordinals.every((i) => servedSerial(c, i) !== before[i].pg && servedSerial(c, i, PATRONI_PORT) !== before[i].api),
                60000,
            );
            const n = writer.acked().length;
            await c.until("writes acknowledged after the renewal", () => writer.acked().length >= n + 5, 30000);
        } finally {
            await writer.stop();
        }
        assert.deepStrictEqual(ordinals.map((i) => c.pod(i).pid), pids, "a container restarted");
        assert.deepStrictEqual(writable(), [primary], "the leader changed or two pods took writes");
        const acked = writer.acked();
        const missing = Number(c.sql(primary, `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = a.id)`));
        assert.strictEqual(missing, 0, "acknowledged rows are missing");
        for (const i of ordinals) assert.match(fs.readFileSync(c.logFile(i), "utf8"), /the TLS certificate changed: Patroni reloaded/);
        // The replicas' next connection verifies the new certificate.
        c.sql(primary, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication", superuser);
        await c.until("both replicas streaming again over TLS", () => tlsSenders(primary) === 2, 60000);
    });
});
