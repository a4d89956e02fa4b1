/**
 * Encryption in transit (issue 14) on real servers: the pods run with the certificate the component issues
 * (real keys, RDB_RENDER_REAL_TLS, set by the harness), replicas clone and stream over TLS with verify-full,
 * clients that verify the cluster's CA and name get in by every pod name, and a plain-text client, a client
 * with another CA and a client that dials an address the certificate does not name are refused.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { Cluster } from "../harness/cluster";
import { PG_BIN, podAddress } from "../harness/pod";
import { servedSerial } from "../harness/served-cert";
import { AckedWriter } from "../harness/writer";

describe("TLS between the pods and for clients, on real PostgreSQL servers", function () {
    this.timeout(240000);
    const c = new Cluster({ args: { replicas: 2 } });
    const superuser = { user: "postgres", database: "postgres" };

    /** psql with this conninfo (host and TLS settings) and no TLS environment of its own; the app user by default. */
    const psql = (conninfo: string, query = "SELECT 1", as = { user: "app", password: c.secret("app-password") }) =>
        spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-c", query, `${conninfo} port=5432 user=${as.user} dbname=app connect_timeout=5`], {
            env: { PATH: process.env.PATH, PGPASSWORD: as.password },
            encoding: "utf8",
            timeout: 30000,
        });

    before(async () => {
        await c.up();
        assert.ok(c.caFile, "the render has no CA: TLS is not on");
    });
    after(() => c.cleanup());

    it("replicas clone and stream over TLS, verifying the primary's certificate and name", () => {
        // Every walsender on the primary is a TLS session (pg_hba refuses any other, so the clones were too).
        const senders = c.sql(0, "SELECT r.state || ':' || s.ssl || ':' || s.version FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid)", superuser);
        assert.deepStrictEqual(senders.split("\n"), ["streaming:true:TLSv1.3", "streaming:true:TLSv1.3"]);
        for (const i of [1, 2]) {
            const conninfo = c.sql(i, "SELECT conninfo FROM pg_stat_wal_receiver", superuser);
            assert.match(conninfo, /sslmode=verify-full/, `db-${i} streams without verify-full: ${conninfo}`);
            assert.match(conninfo, /sslrootcert=\S*ca\.crt/, `db-${i} streams without the CA: ${conninfo}`);
            assert.match(conninfo, /host=db-0\.db-headless\.default\.svc\.cluster\.local/);
        }
        // The replication user gets a replication session over TLS, and is turned away without it.
        const replicator = { user: "replicator", password: c.secret("replication-password") };
        const tls = psql(`host=${c.host(0)} sslmode=verify-full sslrootcert=${c.caFile} replication=true`, "IDENTIFY_SYSTEM", replicator);
        assert.strictEqual(tls.status, 0, tls.stderr);
        const plain = psql(`host=${c.host(0)} sslmode=disable replication=true`, "IDENTIFY_SYSTEM", replicator);
        assert.notStrictEqual(plain.status, 0);
        // Refused by its own rule ("hostnossl replication all all reject"), which says why.
        assert.match(plain.stderr, /pg_hba\.conf rejects replication connection .* no encryption/);
    });

    it("a client with the CA and sslmode=verify-full connects through each pod's name, encrypted", () => {
        for (const i of [0, 1, 2]) {
            const r = psql(`host=${c.host(i)} sslmode=verify-full sslrootcert=${c.caFile}`, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            assert.strictEqual(r.status, 0, `db-${i}: ${r.stderr}`);
            assert.strictEqual(r.stdout.trim(), "t");
        }
    });

    it("node-postgres with the CA verifies the server and gets in", async () => {
        const client = new Client({ host: c.host(1), port: 5432, user: "app", database: "app", password: c.secret("app-password"), ssl: { ca: fs.readFileSync(c.caFile!, "utf8"), rejectUnauthorized: true } });
        await client.connect();
        try {
            const r = await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            assert.strictEqual(r.rows[0].ssl, true);
        } finally {
            await client.end();
        }
    });

    it("a plain-text client (sslmode=disable) is refused by the hostnossl reject rule", () => {
        const r = psql(`host=${c.host(0)} sslmode=disable`);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /pg_hba\.conf rejects connection for host .* no encryption/);
    });

    it("a client that trusts another CA is refused: the server's certificate does not verify", () => {
        const dir = path.join(c.base, "other-ca");
        fs.mkdirSync(dir);
        execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=other-ca", "-days", "1", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "ca.crt")], { stdio: "ignore" });
        const r = psql(`host=${c.host(0)} sslmode=verify-full sslrootcert=${path.join(dir, "ca.crt")}`);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /certificate verify failed/);
    });

    const served = (ordinal: number) => servedSerial(c, ordinal);

    it("a renewed certificate under writes: every pod serves it within seconds, by itself, with no restart and no lost row", async () => {
        c.sql(0, "CREATE TABLE renewal (id bigint PRIMARY KEY, note text NOT NULL)");
        const pids = [0, 1, 2].map((i) => c.pod(i).pid);
        const before = [0, 1, 2].map(served);
        const ca = fs.readFileSync(c.caFile!, "utf8");
        // Every insert is a new TLS connection by name with verify-full: a certificate that did not verify would
        // stop the acknowledgements.
        const writer = new AckedWriter(c.hosts([0]), c.secret("app-password"), "renewal", path.join(c.base, "renewal-acks"));
        let acksAtRenewal: number;
        try {
            await c.until("the first acknowledged writes", () => writer.acked().length >= 5, 30000);
            // A new validity issues a new server certificate from the same CA (as a renewal does); apply() writes
            // the Secret's new files into the running pods, as the kubelet refreshes a Secret volume. Nobody
            // reloads by hand: the supervisor sees the new files.
            await c.apply({ tls: { validityDays: 200 } });
            acksAtRenewal = writer.acked().length;
            assert.strictEqual(fs.readFileSync(c.caFile!, "utf8"), ca, "the CA changed");
            await c.until("every pod to serve the new certificate", () => [0, 1, 2].every((i) => served(i) !== before[i]), 30000);
            const n = writer.acked().length;
            await c.until("writes acknowledged after the renewal", () => writer.acked().length >= n + 5, 30000);
        } finally {
            await writer.stop();
        }
        assert.ok(writer.acked().length > acksAtRenewal, "no write was acknowledged after the renewal");
        assert.deepStrictEqual([0, 1, 2].map((i) => c.pod(i).pid), pids, "a container restarted");
        const acked = writer.acked();
        const missing = Number(c.sql(0, `SELECT count(*) FROM unnest(ARRAY[${acked.join(",")}]::bigint[]) a(id) WHERE NOT EXISTS (SELECT 1 FROM renewal r WHERE r.id = a.id)`));
        assert.strictEqual(missing, 0, "acknowledged rows are missing");
        assert.match(fs.readFileSync(c.logFile(0), "utf8"), /the TLS certificate changed: the server reloaded it/);
        // The replicas' next replication connection verifies the new certificate: cut the walsenders and see
        // them stream again, over TLS.
        c.sql(0, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication", superuser);
        await c.until("both replicas streaming again over TLS", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming' AND s.ssl", superuser) === "2", 60000);
        const r = psql(`host=${c.host(2)} sslmode=verify-full sslrootcert=${c.caFile}`);
        assert.strictEqual(r.status, 0, r.stderr);
    });

    it("a client that dials the pod's address instead of a name is refused by verify-full (no IP in the certificate)", () => {
        const r = psql(`host=${podAddress(0)} sslmode=verify-full sslrootcert=${c.caFile}`);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /does not match host name/);
    });
});
