/**
 * The connection pooler (issue 17) on real servers: Debian's PgBouncer run with the rendered pgbouncer.ini,
 * script, env, uid and Secrets (tests/harness/pooler.ts) in front of the harness cluster's read-write Service
 * (tests/harness/service.ts). Clients log in with their own password through auth_query, over TLS with
 * verify-full; pgbench runs through it; a switchover behind it costs a short error window and no acknowledged
 * row; a bad password, a client without TLS and the superuser are refused.
 */
import * as assert from "assert";
import * as fs from "fs";
import { fork, spawnSync } from "child_process";
import * as path from "path";
import { Cluster, sleep } from "../harness/cluster";
import { PATRONI_IMAGE } from "../harness/patroni";
import { CREATE_TABLE, ClientSpec, OpRecord, TABLE, readJsonLines } from "../harness/clients/protocol";
import { PG_BIN, podAddress } from "../harness/pod";
import { PoolerPod } from "../harness/pooler";
import { Service, labelledReadyEndpoints } from "../harness/service";

const POOL_SIZE = 6;

describe("the connection pooler (PgBouncer) on real PostgreSQL servers", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2, pooler: { enabled: true, defaultPoolSize: POOL_SIZE, maxClientConnections: 200 } } });
    const superuser = { user: "postgres", database: "postgres" };
    let rw: Service;
    let pooler: PoolerPod;
    const appPassword = () => c.secret("app-password");

    /** psql through the pooler: conninfo words after the pooler's host and TLS settings. */
    const viaPooler = (query: string, extra = "", password = appPassword(), conninfo = pooler.conninfo()) =>
        spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query, `${conninfo} user=app dbname=app connect_timeout=5 ${extra}`], {
            env: { PATH: process.env.PATH, PGPASSWORD: password },
            encoding: "utf8",
            timeout: 30000,
        });

    before(async () => {
        await c.up();
        rw = new Service("rw", labelledReadyEndpoints(c, false), path.join(c.base, "service-rw.log"));
        await rw.start();
        pooler = new PoolerPod(c, "rw");
        await pooler.start();
    });
    after(async () => {
        await pooler?.stop();
        await rw?.stop();
        await c.cleanup();
    });

    it("the pods create the pooler role and an auth function that serves application roles only", () => {
        assert.strictEqual(c.sql(0, "SELECT rolcanlogin || ':' || rolsuper || ':' || rolreplication FROM pg_roles WHERE rolname = 'pooler'", superuser), "true:false:false");
        const fn = (role: string) => c.sql(0, `SELECT count(*) || ':' || coalesce(min(left(passwd, 14)), '') FROM pooler.user_secret('${role}')`, { ...superuser, database: "app" });
        assert.strictEqual(fn("app"), "1:SCRAM-SHA-256$");
        assert.strictEqual(fn("postgres"), "0:", "the superuser's secret must not be served");
        assert.strictEqual(fn("replicator"), "0:", "the replication role's secret must not be served");
        // The pooler role may call the function, and read nothing else of the catalog's secrets.
        const asPooler = { user: "pooler", password: c.secret("pooler-password"), database: "app" };
        assert.strictEqual(c.sql(0, "SELECT count(*) FROM pooler.user_secret('app')", asPooler), "1");
        const shadow = c.psql(0, "SELECT count(*) FROM pg_shadow", asPooler);
        assert.notStrictEqual(shadow.status, 0);
        assert.match(shadow.stderr, /permission denied/);
        // The application role may not call it.
        const asApp = c.psql(0, "SELECT count(*) FROM pooler.user_secret('app')");
        assert.match(asApp.stderr, /permission denied/);
    });

    it("the rendered pooled string gets an application in with its own password, TLS at both hops", () => {
        const uri: string = pooler.outputs.pooledWriteConnectionString;
        assert.match(uri, /^postgresql:\/\/app:[^@]+@db-pooler-rw\.default\.svc\.cluster\.local:5432\/app\?sslmode=verify-full$/);
        const r = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-c", "SELECT ssl || ':' || pg_is_in_recovery() FROM pg_stat_ssl WHERE pid = pg_backend_pid()", uri], {
            env: { PATH: process.env.PATH, PGSSLROOTCERT: c.caFile! },
            encoding: "utf8",
            timeout: 30000,
        });
        // The server's view: the pooler's connection to the primary is TLS (server_tls_sslmode=verify-full).
        assert.strictEqual(r.status, 0, r.stderr + pooler.tail());
        assert.strictEqual(r.stdout.trim(), "true:false");
        // The client's hop is TLS too: a client that requires it and verifies the pooler's name gets in (above);
        // the same client told to use no TLS is refused (below).
    });

    it("serves a certificate of its own: the pooler's names only, from the cluster's CA, not the servers' key", () => {
        // What a client's TLS handshake sees, read with openssl's PostgreSQL STARTTLS.
        const served = (address: string, port: number) => {
            const r = spawnSync("openssl", ["s_client", "-starttls", "postgres", "-connect", `${address}:${port}`, "-CAfile", c.caFile!, "-verify_return_error"], {
                input: "", encoding: "utf8", timeout: 30000,
            });
            assert.strictEqual(r.status, 0, r.stderr);
            const x = spawnSync("openssl", ["x509", "-noout", "-ext", "subjectAltName", "-fingerprint", "-sha256"], { input: r.stdout, encoding: "utf8" });
            assert.strictEqual(x.status, 0, x.stderr);
            return x.stdout;
        };
        const pooled = served(pooler.address, 5432);
        const names = [...pooled.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]);
        assert.deepStrictEqual(names, ["db-pooler-rw", "db-pooler-rw.default", "db-pooler-rw.default.svc", "db-pooler-rw.default.svc.cluster.local"]);
        const server = served(podAddress(0), 5432);
        assert.ok(!/pooler/.test(server), "the servers' certificate does not name the pooler");
        const fingerprint = (text: string) => /Fingerprint=(\S+)/.exec(text)![1];
        assert.notStrictEqual(fingerprint(pooled), fingerprint(server));
        // The pooler's pod holds only its own key: the servers' key file is nowhere among its mounted files.
        const mounted = fs.readFileSync(path.join(pooler.dir, "tls", "tls.key"), "utf8");
        const tlsVolume = c.objects.statefulSet.spec.template.spec.volumes.find((v: any) => v.name === "tls");
        const serverKey: string = c.objects.secrets.get(tlsVolume.secret.secretName)!["tls.key"];
        assert.match(mounted, /PRIVATE KEY/);
        assert.notStrictEqual(mounted.trim(), serverKey.trim());
    });

    it("a wrong password is refused, with the reason", () => {
        const r = viaPooler("SELECT 1", "", "not-the-password");
        assert.notStrictEqual(r.status, 0);
        // PgBouncer 1.18's words for a failed SCRAM exchange.
        assert.match(r.stderr, /FATAL: +SASL authentication failed/);
    });

    it("a client without TLS is refused: the pooler requires it", () => {
        const r = viaPooler("SELECT 1", "", appPassword(), `host=${pooler.host} port=5432 sslmode=disable`);
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /SSL required/i);
    });

    it("the superuser cannot log in through the pooler: auth_query serves no superuser", () => {
        const r = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-c", "SELECT 1", `${pooler.conninfo()} user=postgres dbname=app connect_timeout=5`], {
            env: { PATH: process.env.PATH, PGPASSWORD: c.secret("superuser-password") },
            encoding: "utf8",
            timeout: 30000,
        });
        assert.notStrictEqual(r.status, 0);
        // auth_query returned no row: PgBouncer knows no such user.
        assert.match(r.stderr, /FATAL: +no such user/);
    });

    it("pgbench through the pooler: 24 clients share at most defaultPoolSize server connections", async () => {
        const bench = (args: string[], conninfo: string) =>
            spawnSync(path.join(PG_BIN, "pgbench"), [...args, conninfo], {
                env: { PATH: process.env.PATH, PGPASSWORD: appPassword(), PGUSER: "app" },
                encoding: "utf8",
                timeout: 300000,
            });
        const init = bench(["-i", "-s", "2", "-q"], `${c.hosts(0)} port=5432 dbname=app`);
        assert.strictEqual(init.status, 0, init.stderr);
        let most = 0;
        const sampler = setInterval(() => {
            const n = Number(c.psql(0, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND backend_type = 'client backend'", superuser).stdout.trim());
            if (Number.isFinite(n)) most = Math.max(most, n);
        }, 500);
        const run = await new Promise<{ status: number | null; out: string }>((resolve) => {
            const p = require("child_process").spawn(path.join(PG_BIN, "pgbench"), ["-c", "24", "-j", "2", "-T", "10", "-n", `${pooler.conninfo()} dbname=app`], {
                env: { PATH: process.env.PATH, PGPASSWORD: appPassword(), PGUSER: "app" },
            });
            let out = "";
            p.stdout.on("data", (d: Buffer) => (out += d));
            p.stderr.on("data", (d: Buffer) => (out += d));
            p.on("exit", (status: number | null) => resolve({ status, out }));
        });
        clearInterval(sampler);
        assert.strictEqual(run.status, 0, run.out + pooler.tail());
        const tps = Number(/tps = ([0-9.]+)/.exec(run.out)?.[1]);
        const failed = Number(/number of failed transactions: ([0-9]+)/.exec(run.out)?.[1] ?? 0);
        console.log(`      pgbench through the pooler: ${tps.toFixed(0)} tps, ${failed} failed, at most ${most} server connections for 24 clients`);
        assert.ok(tps > 0, run.out);
        assert.strictEqual(failed, 0, run.out);
        assert.ok(most > 0 && most <= POOL_SIZE, `${most} server connections of the application role (pool size ${POOL_SIZE})`);
    });

    it("a switchover behind the pooler: writers through it reach the new primary, no acknowledged row lost", async () => {
        c.sql(0, CREATE_TABLE);
        // Applications' clients (tests/harness/clients/client.ts) through the pooler's Service name with
        // verify-full: two node-postgres clients holding one connection each, one psql per transaction; each
        // reconnects 100 ms after an error and logs every operation with the server that answered.
        const specs: ClientSpec[] = [
            { name: "pg-pooled-1", kind: "write", driver: "pg", host: pooler.host, port: 5432, caFile: c.caFile, intervalMs: 20, retryMs: 100, log: path.join(c.base, "pg-pooled-1.jsonl") },
            { name: "pg-pooled-2", kind: "write", driver: "pg", host: pooler.host, port: 5432, caFile: c.caFile, intervalMs: 20, retryMs: 100, log: path.join(c.base, "pg-pooled-2.jsonl") },
            { name: "psql-pooled", kind: "write", driver: "psql", conninfo: `${pooler.conninfo()} user=app dbname=app connect_timeout=2`, intervalMs: 20, retryMs: 100, log: path.join(c.base, "psql-pooled.jsonl") },
        ];
        const env = { PATH: process.env.PATH, CLIENT_PASSWORD: appPassword() };
        const procs = specs.map((spec) => fork(path.join(__dirname, "..", "harness", "clients", "client.ts"), [JSON.stringify(spec)], { execArgv: ["-r", "ts-node/register/transpile-only"], env, stdio: "ignore" }));
        const exited = procs.map((p) => new Promise((resolve) => p.once("exit", resolve)));
        process.once("exit", () => procs.forEach((p) => p.kill("SIGKILL")));
        const ops = (s: ClientSpec) => readJsonLines<OpRecord>(s.log);
        const acked = (s: ClientSpec) => ops(s).filter((o) => o.ok);
        let switchedAt = 0;
        try {
            await c.until("the writers to get going through the pooler", () => specs.every((s) => acked(s).length > 20), 60000);
            switchedAt = Date.now();
            await c.apply({ primaryOrdinal: 1 });
            await c.until("db-1 to be the primary behind the rw Service", () => c.serviceEndpoints("rw").join() === "1", 120000);
            const at = specs.map((s) => acked(s).length);
            await c.until("every writer to go on through the pooler on the new primary", () => specs.every((s, i) => acked(s).length > at[i] + 30), 120000);
        } finally {
            procs.forEach((p) => p.kill("SIGTERM"));
            await Promise.all(exited);
        }
        const have = new Set(c.sql(1, `SELECT id FROM ${TABLE}`, { ...superuser, database: "app" }).split("\n").filter(Boolean));
        let lost = 0;
        let total = 0;
        const gaps: number[] = [];
        for (const s of specs) {
            const all = ops(s);
            const ok = all.filter((o) => o.ok);
            total += ok.length;
            lost += ok.filter((o) => !have.has(o.id!)).length;
            // Every acknowledged write was answered by a primary, and the last ones by the new one (db-1).
            assert.ok(ok.every((o) => o.rec === false), `${s.name}: a write acknowledged by a standby`);
            assert.strictEqual(ok[ok.length - 1].addr, podAddress(1), `${s.name}: the last writes did not reach db-1`);
            // The outage as the application sees it: the longest time without an acknowledged write after
            // the switchover began, errors or not (a client may also wait in PgBouncer's queue).
            const ends = ok.filter((o) => o.end >= switchedAt).map((o) => o.end);
            const gap = Math.max(0, ...ends.slice(1).map((t, k) => t - ends[k]));
            gaps.push(gap);
            const errors = all.filter((o) => !o.ok && o.t >= switchedAt);
            const kinds = new Map<string, number>();
            for (const e of errors) {
                const kind = (e.error ?? "").replace(/^psql: error: connection to server at .*?failed: /, "").slice(0, 80);
                kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
            }
            const why = [...kinds].map(([k, n]) => `${n} x ${k}`).join("; ");
            console.log(`      ${s.name}: ${ok.length} acknowledged, ${errors.length} errors, longest gap between acknowledged writes ${gap} ms${why ? ` (${why})` : ""}`);
        }
        assert.strictEqual(lost, 0, `${lost} of ${total} acknowledged rows missing on the new primary`);
        assert.ok(Math.max(...gaps) < 60000, `longest gap between acknowledged writes ${Math.max(...gaps)} ms`);
    });

    it("an emptied pooler-password is refused once per change, and PgBouncer keeps the last good one", async () => {
        const good = c.secret("pooler-password");
        const refusals = () => pooler.tail(1000000).match(/ERROR: Secret key pooler-password is empty; keeping the last good one/g)?.length ?? 0;
        const reloads = () => pooler.tail(1000000).match(/PgBouncer reloaded/g)?.length ?? 0;
        const reloadsBefore = reloads();
        // The switchover before may leave PgBouncer refusing logins for server_login_retry (15 s) after its last
        // failed one ("server login has been failing"): this test starts once the pooler serves again, so that
        // what it sees after the terminated connections is this test's doing, not that one's.
        await c.until("the pooler to serve again after the switchover", () => viaPooler("SELECT 1").stdout.trim() === "1", 60000);
        try {
            pooler.editSecret("pooler-password", "");
            await c.until("pooler.sh to refuse the empty key", () => refusals() === 1, 30000);
            await sleep(3500); // three more checks, a second apart in the harness
            assert.strictEqual(refusals(), 1, "said more than once");
            // New server connections log in as the pooler role with the last good auth_file.
            c.sql(1, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'pooler'", superuser);
            assert.strictEqual(viaPooler("SELECT 1").stdout.trim(), "1", "the pooler lost its role's password");
            pooler.editSecret("pooler-password", good);
            await sleep(2500);
            pooler.editSecret("pooler-password", "");
            await c.until("a second refusal after the good value came back", () => refusals() === 2, 30000);
        } finally {
            pooler.editSecret("pooler-password", good);
        }
        await sleep(2500);
        assert.strictEqual(reloads(), reloadsBefore, "PgBouncer reloaded although the password in force never changed");
    });

    it("a new Secret reaches the running pooler: the primary sets the pooler role's password, PgBouncer reloads it", async () => {
        const oldApp = appPassword();
        const oldPooler = c.secret("pooler-password");
        await c.apply({ passwordVersion: 2 });
        assert.notStrictEqual(c.secret("pooler-password"), oldPooler);
        // The primary (db-1 since the switchover) applies the new passwords; then the kubelet swaps the pooler pod's file.
        await c.until("the primary to apply the new passwords", () => c.psql(1, "SELECT 1", { user: "app", password: oldApp }).status !== 0, 60000);
        await pooler.refreshSecret();
        await c.until("pooler.sh to reload PgBouncer", () => /the pooler role's password changed in the Secret: PgBouncer reloaded/.test(pooler.tail(100000)), 30000);
        // PgBouncer's own server connections as the pooler role were logged in with the old password: end
        // them, so that the next lookup must log in with the new one.
        c.sql(1, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'pooler'", superuser);
        await c.until("the new application password to get in through the pooler", () => viaPooler("SELECT 1", "", appPassword()).status === 0, 60000);
        assert.ok(Number(c.sql(1, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'pooler'", superuser)) > 0, "PgBouncer did not log in again as the pooler role");
        const old = viaPooler("SELECT 1", "", oldApp);
        assert.notStrictEqual(old.status, 0, "the old application password still works through the pooler");
        const log = pooler.tail(100000);
        assert.ok(!log.includes(appPassword()) && !log.includes(c.secret("pooler-password")) && !log.includes(oldPooler), "a password in the pooler's log");
    });

    it("the pooler stops cleanly on the kubelet's SIGTERM (PgBouncer's safe shutdown)", async () => {
        assert.strictEqual(await pooler.stop(), 0, pooler.tail());
    });
});

describe("the connection pooler with Patroni, in front of both Services", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 1, failover: "patroni", image: PATRONI_IMAGE, pooler: { enabled: true, readOnly: true, defaultPoolSize: 4 } } });
    const services: Service[] = [];
    const poolers: Partial<Record<"rw" | "ro", PoolerPod>> = {};

    before(async () => {
        await c.up();
        for (const s of ["rw", "ro"] as const) {
            const svc = new Service(s, labelledReadyEndpoints(c, true), path.join(c.base, `service-${s}.log`));
            await svc.start();
            services.push(svc);
            poolers[s] = new PoolerPod(c, s);
            await poolers[s]!.start();
        }
    });
    after(async () => {
        for (const p of Object.values(poolers)) await p?.stop();
        for (const s of services) await s.stop();
        await c.cleanup();
    });

    it("Patroni's callback creates the pooler role and function; the rw pooler reaches the primary, the ro pooler a replica", async () => {
        const asPooler = { user: "pooler", password: c.secret("pooler-password"), database: "app" };
        // The primary is whichever pod Patroni elected.
        await c.until("the pooler role to log in on the primary", () => [0, 1].some((i) => c.psql(i, "SELECT count(*) FROM pooler.user_secret('app')", asPooler).stdout.trim() === "1"), 60000);
        const recovery = (p: PoolerPod) =>
            spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-c", "SELECT pg_is_in_recovery()", `${p.conninfo()} user=app dbname=app connect_timeout=5`], {
                env: { PATH: process.env.PATH, PGPASSWORD: c.secret("app-password") },
                encoding: "utf8",
                timeout: 30000,
            });
        let rw = recovery(poolers.rw!);
        let ro = recovery(poolers.ro!);
        // The ro Service has an endpoint once the replica streams and is labelled: retry until then.
        await c.until("both pools to answer", () => {
            rw = recovery(poolers.rw!);
            ro = recovery(poolers.ro!);
            return rw.status === 0 && ro.status === 0;
        }, 90000).catch(() => undefined);
        assert.strictEqual(rw.stdout.trim(), "f", rw.stderr + poolers.rw!.tail());
        assert.strictEqual(ro.stdout.trim(), "t", ro.stderr + poolers.ro!.tail());
        assert.match(poolers.ro!.outputs.pooledReadConnectionString, /@db-pooler-ro\.default\.svc\.cluster\.local:5432\/app\?sslmode=verify-full$/);
    });
});
