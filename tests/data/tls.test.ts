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
        // "hostnossl all all all reject" does not match replication ("all" never does): no rule matches, so
        // the refusal reads "no pg_hba.conf entry ... no encryption"; it is a refusal all the same.
        assert.match(plain.stderr, /pg_hba\.conf .*replication connection .* no encryption/);
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

    /** The serial of the certificate pod `ordinal` serves to a new connection, verified against the CA by name. */
    const servedSerial = (ordinal: number): string => {
        const script = 'openssl s_client -starttls postgres -connect "$ADDR:5432" -servername "$HOST" -verify_hostname "$HOST" -CAfile "$CA" -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial';
        const r = spawnSync("bash", ["-c", script], { env: { PATH: process.env.PATH, ADDR: podAddress(ordinal), HOST: c.host(ordinal), CA: c.caFile! }, encoding: "utf8", timeout: 15000 });
        if (r.status !== 0) throw new Error(`db-${ordinal}: no verified certificate (${r.stderr.trim()})`);
        return r.stdout.trim();
    };

    it("a renewed certificate is served after a reload, without a restart, and verifies with the same CA", async () => {
        const pids = [0, 1, 2].map((i) => c.pod(i).pid);
        const before = [0, 1, 2].map(servedSerial);
        const ca = fs.readFileSync(c.caFile!, "utf8");
        // A new validity issues a new server certificate from the same CA (as a renewal does); apply() writes the
        // Secret's new files into the running pods, as the kubelet refreshes a Secret volume.
        await c.apply({ tls: { validityDays: 200 } });
        assert.strictEqual(fs.readFileSync(c.caFile!, "utf8"), ca, "the CA changed");
        assert.deepStrictEqual([0, 1, 2].map(servedSerial), before, "a new certificate was served before any reload");
        // The reload the README asks for (the scripts do not reload by themselves yet).
        for (const i of [0, 1, 2]) c.sql(i, "SELECT pg_reload_conf()", superuser);
        await c.until("every pod to serve the new certificate", () => [0, 1, 2].every((i) => servedSerial(i) !== before[i]), 30000);
        assert.deepStrictEqual([0, 1, 2].map((i) => c.pod(i).pid), pids, "a container restarted");
        const senders = c.sql(0, "SELECT count(*) FROM pg_stat_replication r JOIN pg_stat_ssl s USING (pid) WHERE r.state = 'streaming' AND s.ssl", superuser);
        assert.strictEqual(senders, "2");
        const r = psql(`host=${c.host(2)} sslmode=verify-full sslrootcert=${c.caFile}`);
        assert.strictEqual(r.status, 0, r.stderr);
    });

    it("a client that dials the pod's address instead of a name is refused by verify-full (no IP in the certificate)", () => {
        const r = psql(`host=${podAddress(0)} sslmode=verify-full sslrootcert=${c.caFile}`);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /does not match host name/);
    });
});
