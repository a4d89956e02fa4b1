/**
 * Monitoring on real servers: each pod's exporter sidecar run from its rendered container (Debian's
 * postgres_exporter, tests/harness/exporter.ts) with the rendered queries and the monitoring role, and a real
 * Prometheus (tests/harness/prometheus.ts) with the scrape job the pods' annotations ask for and the rendered
 * rules. A stopped replica fires ReplicatedDbReplicaNotStreaming, which resolves once the replica streams again;
 * lag under a pgbench load is a series. With Patroni: its callbacks create the role, and its REST API's /metrics
 * answers as the PodMonitor scrapes it (HTTPS, the cluster's CA, the headless Service's name).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import { exporterMetricNames } from "../../components/monitoring/queries";
import { ALERTS, FOR } from "../../components/monitoring/rules";
import { resolveArgs } from "../../components/resolve";
import { Cluster, sleep } from "../harness/cluster";
import { Exporters } from "../harness/exporter";
import { PATRONI_IMAGE } from "../harness/patroni";
import { PATRONI_PORT } from "../harness/patroniApi";
import { PG_BIN, podAddress } from "../harness/pod";
import { EXPORTER_CONTAINER } from "../../components/monitoring/pod";
import { SOCKET_DIR } from "../../components/engines/postgres/pod";
import { renderComponent } from "../../render/render";
import { pgbenchAsync } from "../../bench/stats";
import { Alert, Prometheus } from "../harness/prometheus";

const NOT_STREAMING = ALERTS.replicaNotStreaming;

describe("metrics and alerts on real servers", function () {
    this.timeout(600000);
    const c = new Cluster({ args: { replicas: 2 } });
    const exporters = new Exporters(c);
    const prometheus = new Prometheus(c);
    const superuser = { user: "postgres", database: "postgres" };
    const monitoringPassword = () => c.objects.secrets.get(`${c.name}-credentials`)!["monitoring-password"];

    /** Polls until `check` passes; fails with what was last seen. */
    async function eventually<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs: number): Promise<T> {
        const deadline = Date.now() + timeoutMs;
        let last: T | undefined;
        while (Date.now() < deadline) {
            try {
                last = await read();
                if (check(last)) return last;
            } catch (err) {
                last = err as T;
            }
            await sleep(500);
        }
        throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}\n${prometheus.log()}`);
    }

    const notStreaming = async (): Promise<Alert[]> => (await prometheus.alerts()).filter((a) => a.labels.alertname === NOT_STREAMING);

    before(async () => {
        await c.up();
        exporters.startAll();
        await prometheus.start();
        await eventually("every pod's exporter up and reporting its role", () => prometheus.query("rdb_server_is_primary"), (s) => s.length === 3, 60000);
    });
    after(async () => {
        prometheus.stop();
        exporters.stop();
        await c.cleanup();
    });

    it("scrapes every pod as the annotations say, as the monitoring role over the socket, with every series the rules and dashboard read", async () => {
        assert.deepStrictEqual(await prometheus.targets(), { "db-0": "up", "db-1": "up", "db-2": "up" });
        const roles = Object.fromEntries((await prometheus.query("rdb_server_is_primary")).map((s) => [s.metric.pod, s.value]));
        assert.deepStrictEqual(roles, { "db-0": 1, "db-1": 0, "db-2": 0 });
        // Every series the queries define is there (the archiver's only with backups), with the cluster's labels.
        for (const name of exporterMetricNames(resolveArgs("db", c.args))) {
            const samples = await prometheus.query(`${name}{rdb_cluster="db",rdb_namespace="default"}`);
            assert.ok(samples.length > 0, `no series ${name}`);
        }
        const perReplica = await prometheus.query("rdb_replication_streaming");
        assert.deepStrictEqual(perReplica.map((s) => [s.metric.pod, s.metric.replica, s.value]).sort(), [["db-0", "db_1", 1], ["db-0", "db_2", 1]]);
        const standby = await prometheus.query("rdb_standby_streaming");
        assert.deepStrictEqual(standby.map((s) => [s.metric.pod, s.value]).sort(), [["db-1", 1], ["db-2", 1]]);
        const timelines = await prometheus.query("rdb_server_timeline");
        assert.deepStrictEqual(timelines.map((s) => s.value), [1, 1, 1]);
        assert.deepStrictEqual((await prometheus.query("rdb_checksum_enabled")).map((s) => s.value), [1, 1, 1]);
        assert.deepStrictEqual((await prometheus.query("rdb_slot_active")).map((s) => [s.metric.slot, s.value]).sort(), [["db_1", 1], ["db_2", 1]]);
        // The role: pg_monitor and nothing more, its sessions on the socket (no client address), one per exporter.
        assert.strictEqual(c.sql(0, "SELECT rolsuper || ',' || rolreplication || ',' || rolcreaterole || ',' || rolcreatedb FROM pg_roles WHERE rolname = 'monitor'", superuser), "false,false,false,false");
        assert.strictEqual(c.sql(0, "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'monitor'", superuser), "pg_monitor");
        for (const i of [0, 1, 2]) {
            // Its sessions (postgres_exporter keeps one for its queries, one for its collectors) stay under the role's limit of 5.
            const [n, socket] = c.sql(i, "SELECT count(*) || ':' || bool_and(client_addr IS NULL) FROM pg_stat_activity WHERE usename = 'monitor'", superuser).split(":");
            assert.ok(Number(n) >= 1 && Number(n) <= 5, `${n} monitor sessions on db-${i}`);
            assert.strictEqual(socket, "true");
        }
        // It reads statistics, not data: the application's tables are closed to it.
        c.sql(0, "CREATE TABLE IF NOT EXISTS secrets_here (v text)");
        const denied = c.psql(0, "SELECT * FROM secrets_here", { user: "monitor", password: monitoringPassword() });
        assert.match(denied.stderr, /permission denied for table secrets_here/);
        // The other pods' questions and the sidecar's own log never carry the password.
        assert.ok(!c.tail(0, 1000).includes(monitoringPassword()));
    });

    it("the exporter's container reaches no superuser session: peer refuses it as postgres; its own role needs its password", async () => {
        const socket = SOCKET_DIR;
        const asExporter = (user: string, extra: Record<string, string> = {}) =>
            c.pod(0).execSidecar(EXPORTER_CONTAINER, ["env", ...Object.entries(extra).map(([k, v]) => `${k}=${v}`), `${PG_BIN}/psql`, "-XAtq", "-h", socket, "-U", user, "-d", "postgres", "-c", "SELECT current_user"]);
        const superuserTry = await asExporter("postgres");
        assert.notStrictEqual(superuserTry.status, 0, `the exporter got in as postgres: ${superuserTry.stdout}`);
        assert.match(superuserTry.stderr, /Peer authentication failed for user "postgres"/);
        const noPassword = await asExporter("monitor");
        assert.notStrictEqual(noPassword.status, 0);
        const own = await asExporter("monitor", { PGPASSFILE: "/dev/null", PGPASSWORD: monitoringPassword() });
        assert.strictEqual(own.status, 0, own.stderr);
        assert.strictEqual(own.stdout.trim(), "monitor");
    });

    it("shows replication lag under a pgbench load as a series", async () => {
        const bench = (args: string[]) => pgbenchAsync(c, args);
        await bench(["-i", "-s", "5", "-q"]);
        const started = Date.now();
        await bench(["-c", "4", "-j", "2", "-T", "20", "-n"]);
        const window = `${Math.ceil((Date.now() - started) / 1000) + 5}s`;
        await sleep(2000);
        const lag = await prometheus.query(`max_over_time(rdb_replication_replay_lag_bytes[${window}])`);
        assert.strictEqual(lag.length, 2, JSON.stringify(lag));
        for (const s of lag) assert.ok(s.value > 0, `replica ${s.metric.replica} showed no replay lag in bytes under load: ${JSON.stringify(lag)}`);
        const seconds = await prometheus.query(`max_over_time(rdb_replication_replay_lag_seconds[${window}])`);
        assert.ok(seconds.some((s) => s.value > 0), `no replay lag in seconds under load: ${JSON.stringify(seconds)}`);
        const tps = await prometheus.query(`max_over_time(rate(rdb_activity_xact_commit{pod="db-0"}[6s])[${window}:2s])`);
        assert.ok(tps[0].value > 50, `commit rate ${tps[0].value}`);
        const wal = await prometheus.query(`increase(rdb_server_wal_position_bytes{pod="db-0"}[${window}])`);
        assert.ok(wal[0].value > 1e6, `WAL written ${wal[0].value}`);
        // Nothing fired meanwhile: lag stayed under the 60 s threshold and every replica streamed.
        assert.deepStrictEqual((await prometheus.alerts()).filter((a) => a.state === "firing"), []);
        console.log(`      max replay lag under load: ${lag.map((s) => `${s.metric.replica} ${(s.value / 1024).toFixed(0)} kB`).join(", ")}; ` +
            `${seconds.map((s) => `${s.metric.replica} ${s.value.toFixed(3)} s`).join(", ")}; peak commit rate ${tps[0].value.toFixed(0)}/s`);
    });

    it("fires ReplicatedDbReplicaNotStreaming for a stopped replica after its `for`, and resolves when the replica streams again", async () => {
        assert.deepStrictEqual(await notStreaming(), []);
        const stoppedAt = Date.now();
        await c.stop(2, "SIGINT");
        const pending = await eventually("the alert pending", notStreaming, (a) => a.length > 0, 30000);
        assert.strictEqual(pending[0].state, "pending");
        const firing = await eventually("the alert firing", notStreaming, (a) => a.some((x) => x.state === "firing"), 150000);
        const firedAfter = (Date.now() - stoppedAt) / 1000;
        const alert = firing.find((x) => x.state === "firing")!;
        assert.deepStrictEqual([alert.labels.rdb_cluster, alert.labels.rdb_namespace, alert.labels.severity, Number(alert.value)], ["db", "default", "warning", 1]);
        assert.ok(firedAfter >= 60, `fired ${firedAfter} s after the stop, before its for (${FOR.streaming})`);
        // The stopped replica's sidecar still runs and says its server is down.
        assert.ok(exporters.running(2));
        const seen = async () => ({ up: (await prometheus.query('up{pod="db-2"}')).map((s) => s.value), pgUp: (await prometheus.query('pg_up{pod="db-2"}')).map((s) => s.value) });
        await eventually("db-2's exporter scraped, reporting its server down", seen, (v) => v.up[0] === 1 && v.pgUp[0] === 0, 20000);
        // No other alert: the primary and the other replica are fine.
        assert.deepStrictEqual([...new Set((await prometheus.alerts()).map((a) => a.labels.alertname))], [NOT_STREAMING]);
        const returnedAt = Date.now();
        c.start(2);
        await c.until("db-2 to stream again", () => c.sql(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", superuser) === "2", 120000);
        await eventually("the alert resolved", notStreaming, (a) => a.length === 0, 60000);
        console.log(`      ${NOT_STREAMING}: firing ${firedAfter.toFixed(0)} s after the stop (for: ${FOR.streaming}), resolved ${((Date.now() - returnedAt) / 1000).toFixed(0)} s after the restart`);
    });
});

describe("metrics with failover: patroni", function () {
    this.timeout(600000);
    const args = { replicas: 1, failover: "patroni", image: PATRONI_IMAGE, monitoring: { prometheusOperator: true } };
    const c = new Cluster({ args });
    const exporters = new Exporters(c);

    /** One GET as the scraper makes it: to the pod's address (Prometheus dials pod IPs), TLS verified as the PodMonitor says. */
    function scrape(ordinal: number, port: number, tls?: { ca: Buffer; servername: string }): Promise<string> {
        return new Promise((resolve, reject) => {
            const options = { host: podAddress(ordinal), port, path: "/metrics", timeout: 5000, ...(tls ?? {}) };
            const req = (tls ? https : http).get(options, (res) => {
                let body = "";
                res.on("data", (d) => (body += d));
                res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
            });
            req.on("timeout", () => req.destroy(new Error("no answer")));
            req.on("error", reject);
        });
    }
    const value = (text: string, series: string) => {
        const line = text.split("\n").find((l) => l.startsWith(series));
        return line === undefined ? undefined : Number(line.split(" ").pop());
    };

    before(async () => {
        await c.up();
        exporters.startAll();
    });
    after(async () => {
        exporters.stop();
        await c.cleanup();
    });

    it("Patroni's callbacks create the monitoring role: each pod's exporter reports its role", async () => {
        const roles: (number | undefined)[] = [];
        const deadline = Date.now() + 60000;
        while (Date.now() < deadline) {
            roles.length = 0;
            for (const i of [0, 1]) {
                const text = await scrape(i, 9187).catch(() => "");
                roles.push(value(text, 'rdb_server_is_primary{rdb_cluster="db",rdb_namespace="default"'));
            }
            if (roles.every((r) => r !== undefined)) break;
            await sleep(1000);
        }
        assert.deepStrictEqual([...roles].sort(), [0, 1], `exporter roles ${JSON.stringify(roles)}:\n${fs.readFileSync(exporters.logFile(0), "utf8").slice(-2000)}`);
        assert.strictEqual(c.sql(0, "SELECT rolsuper FROM pg_roles WHERE rolname = 'monitor'", { user: "postgres", database: "postgres" }), "f");
    });

    it("Patroni's /metrics answers over HTTPS verified by the cluster's CA with the PodMonitor's server name, at the pod's address", async () => {
        const r = await renderComponent("db", args);
        const endpoint = r.manifests.find((m) => m.kind === "PodMonitor")!.spec.podMetricsEndpoints.find((e: any) => e.port === "patroni");
        const ca = Buffer.from(c.objects.secrets.get(endpoint.tlsConfig.ca.secret.name)![endpoint.tlsConfig.ca.secret.key]);
        for (const i of [0, 1]) {
            const text = await scrape(i, PATRONI_PORT, { ca, servername: endpoint.tlsConfig.serverName });
            assert.ok(value(text, "patroni_postgres_running") === 1, text.slice(0, 500));
        }
        // Patroni 4.0 renamed patroni_master to patroni_primary (1 on the member holding the leader lock).
        const leaders = await Promise.all([0, 1].map(async (i) => value(await scrape(i, PATRONI_PORT, { ca, servername: endpoint.tlsConfig.serverName }), "patroni_primary")));
        assert.deepStrictEqual([...leaders].sort(), [0, 1]);
        // The name matters: the pod's address alone is in no certificate.
        await assert.rejects(scrape(0, PATRONI_PORT, { ca, servername: "" }), /IP|altname|certificate/i);
    });
});
