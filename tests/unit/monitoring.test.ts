/**
 * Monitoring (docs/monitoring.md): the exporter sidecar as rendered (least privilege: its own role, one Secret key,
 * the socket read-only, restricted Pod Security), how Prometheus finds it (annotations, or a PodMonitor and a
 * PrometheusRule), the network policy's metrics rule under the NetworkPolicy evaluator, the dashboard's queries
 * against the series the exporter's queries produce, and the validation of every field.
 */
import * as assert from "assert";
import { ReplicatedDatabaseArgs } from "../../components/args";
import { exporterMetricNames, exporterQueries, queriesFile } from "../../components/monitoring/queries";
import { dashboard, PANELS } from "../../components/monitoring/dashboard";
import { ALERTS, ruleGroup } from "../../components/monitoring/rules";
import { resolveArgs } from "../../components/resolve";
import { ArgError } from "../../components/validation";
import { Rendered } from "../../render/render";
import { container, env, find, ofKind, renderComponent } from "./helpers";
import { Cluster, Endpoint, Pod, allowed } from "./netpol-eval";
import { restrictedViolations } from "./podSecurity";

const IMAGE = "registry.example.com/replicated-db-postgres:17.6";
const PATRONI = { failover: "patroni", image: IMAGE };
const BACKUP = { image: IMAGE, backup: { enabled: true, s3Bucket: "bkp", s3Endpoint: "s3.example.com", s3CredentialsSecret: "creds" } };
const EXPORTER = "metrics-exporter";
/** Metrics from outside the exporter that the dashboard and rules may use: the kubelet's volume statistics. */
const KUBELET = ["kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes"];

const spec = (r: Rendered) => find(r, "StatefulSet").spec.template.spec;

/** The metric names a PromQL expression reads: identifiers followed by a selector, a range or an operator, not functions, keywords or labels. */
function metricNames(expr: string): string[] {
    const withoutLabels = expr.replace(/\{[^}]*\}/g, "{}").replace(/"[^"]*"/g, '""').replace(/\[[^\]]*\]/g, "");
    const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"]);
    const aggregations = new Set(["sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group"]);
    const out: string[] = [];
    for (const m of withoutLabels.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
        if (m[2]) continue; // a function call or an aggregation
        if (keywords.has(m[1]) || aggregations.has(m[1])) continue;
        out.push(m[1]);
    }
    // Grouping clauses list label names in parentheses: drop what follows "by (" / "on (".
    const grouped = [...withoutLabels.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(",").map((s) => s.trim()));
    return out.filter((n) => !grouped.includes(n));
}

describe("monitoring", () => {
    it("runs the exporter as a sidecar: the socket read-only, only the monitoring password, its queries from the settings ConfigMap", async () => {
        const r = await renderComponent("db");
        const sts = find(r, "StatefulSet");
        const c = container(sts, EXPORTER);
        assert.strictEqual(c.image, "quay.io/prometheuscommunity/postgres-exporter:v0.16.0");
        assert.deepStrictEqual(c.command, ["/bin/postgres_exporter"]);
        assert.ok(c.args.includes("--extend.query-path=/etc/replicated-db/config/exporter-queries.yaml"));
        assert.ok(c.args.includes("--disable-default-metrics"));
        assert.deepStrictEqual(c.ports, [{ name: "metrics", containerPort: 9187, protocol: "TCP" }]);
        assert.strictEqual(env(c, "DATA_SOURCE_URI").value, ":5432/postgres?host=/var/run/postgresql&sslmode=disable");
        assert.strictEqual(env(c, "DATA_SOURCE_USER").value, "monitor");
        assert.strictEqual(env(c, "DATA_SOURCE_PASS_FILE").value, "/etc/replicated-db/monitoring-secret/monitoring-password");
        assert.ok(c.volumeMounts.every((m: any) => m.readOnly === true), "the exporter writes to no volume");
        assert.deepStrictEqual(c.volumeMounts.map((m: any) => m.name).sort(), ["config", "monitoring-secret", "socket"]);
        const volume = spec(r).volumes.find((v: any) => v.name === "monitoring-secret");
        assert.deepStrictEqual(volume.secret.items, [{ key: "monitoring-password", path: "monitoring-password" }]);
        assert.strictEqual(volume.secret.secretName, "db-credentials");
        // No readiness probe: a failing exporter must never take the pod out of the Services.
        assert.strictEqual(c.readinessProbe, undefined);
        assert.deepStrictEqual(c.livenessProbe.httpGet, { path: "/", port: "metrics" });
        // The database container gets the key too (its scripts set the role's password) and the role's name.
        assert.ok(spec(r).volumes.find((v: any) => v.name === "secret").secret.items.some((i: any) => i.key === "monitoring-password"));
        assert.strictEqual(env(container(sts, "postgres"), "RDB_MONITORING_USER").value, "monitor");
        assert.strictEqual(find(r, "ConfigMap", "db-settings").data["exporter-queries.yaml"], queriesFile(resolveArgs("db", {})));
        // The socket rule for the role comes before peer, which would map the sidecar's uid to the superuser.
        const hba = find(r, "ConfigMap", "db-settings").data["pg_hba.conf"].split("\n").filter((l: string) => l && !l.startsWith("#"));
        assert.deepStrictEqual(hba.slice(0, 2), ["local postgres monitor scram-sha-256", "local all all peer"]);
    });

    it("with the defaults: prometheus.io annotations and a rules ConfigMap, no CRD objects", async () => {
        const r = await renderComponent("db", { namespace: "shop" });
        const annotations = find(r, "StatefulSet").spec.template.metadata.annotations;
        assert.strictEqual(annotations["prometheus.io/scrape"], "true");
        assert.strictEqual(annotations["prometheus.io/port"], "9187");
        assert.strictEqual(annotations["prometheus.io/path"], "/metrics");
        assert.deepStrictEqual(ofKind(r, "PodMonitor").length + ofKind(r, "PrometheusRule").length, 0);
        const rules = JSON.parse(find(r, "ConfigMap", "db-alert-rules").data["shop-db.rules.yaml"]);
        assert.deepStrictEqual(rules.groups[0], JSON.parse(JSON.stringify(ruleGroup(resolveArgs("db", { namespace: "shop" })))));
        assert.strictEqual(ofKind(r, "ConfigMap").some((m) => m.metadata.name === "db-dashboard"), false);
    });

    it("with prometheusOperator: a PodMonitor for the exporter (and Patroni's HTTPS /metrics) and a PrometheusRule, labelled for the selectors", async () => {
        const labels = { release: "kube-prometheus-stack" };
        const r = await renderComponent("db", { ...PATRONI, namespace: "shop", monitoring: { prometheusOperator: true, prometheusLabels: labels } });
        const pm = find(r, "PodMonitor", "db");
        assert.strictEqual(pm.apiVersion, "monitoring.coreos.com/v1");
        assert.strictEqual(pm.metadata.labels.release, "kube-prometheus-stack");
        assert.deepStrictEqual(pm.spec.selector.matchLabels, { "app.kubernetes.io/name": "postgresql", "app.kubernetes.io/instance": "db", "app.kubernetes.io/component": "database" });
        assert.deepStrictEqual(pm.spec.namespaceSelector, { matchNames: ["shop"] });
        assert.deepStrictEqual(pm.spec.podMetricsEndpoints[0], { port: "metrics", path: "/metrics", interval: "15s" });
        assert.deepStrictEqual(pm.spec.podMetricsEndpoints[1], {
            port: "patroni",
            path: "/metrics",
            interval: "15s",
            scheme: "https",
            tlsConfig: { ca: { secret: { name: "db-tls", key: "ca.crt" } }, serverName: "db-headless.shop.svc.cluster.local" },
        });
        const rule = find(r, "PrometheusRule", "db");
        assert.strictEqual(rule.metadata.labels.release, "kube-prometheus-stack");
        assert.deepStrictEqual(rule.spec.groups[0].rules.map((x: any) => x.alert), [
            ALERTS.noPrimary, ALERTS.twoPrimaries, ALERTS.replicaNotStreaming, ALERTS.replayLag, ALERTS.slotWal, ALERTS.diskFull, ALERTS.checksumFailures,
        ]);
        const annotations = find(r, "StatefulSet").spec.template.metadata.annotations;
        assert.strictEqual(annotations["prometheus.io/scrape"], undefined);
        assert.strictEqual(ofKind(r, "ConfigMap").some((m) => m.metadata.name === "db-alert-rules"), false);
        // Plain HTTP for Patroni's API with TLS off; the manual mode has no Patroni endpoint.
        const plain = await renderComponent("db", { ...PATRONI, tls: { enabled: false }, monitoring: { prometheusOperator: true } });
        assert.strictEqual(find(plain, "PodMonitor").spec.podMetricsEndpoints[1].scheme, "http");
        const manual = await renderComponent("db", { monitoring: { prometheusOperator: true } });
        assert.deepStrictEqual(find(manual, "PodMonitor").spec.podMetricsEndpoints.map((e: any) => e.port), ["metrics"]);
    });

    it("with backups: the archiver's query and the archiving and backup-age alerts", () => {
        const args = resolveArgs("db", BACKUP);
        assert.ok("rdb_archiver" in exporterQueries(args));
        assert.ok(!("rdb_archiver" in exporterQueries(resolveArgs("db", {}))));
        const alerts = ruleGroup(args).rules.map((x) => x.alert);
        assert.ok(alerts.includes(ALERTS.archivingFailing) && alerts.includes(ALERTS.backupTooOld));
        const age = ruleGroup(resolveArgs("db", { ...BACKUP, monitoring: { backupMaxAgeHours: 30 } })).rules.find((x) => x.alert === ALERTS.backupTooOld)!;
        assert.match(age.expr, /cronjob=~"db-backup-\(full\|diff\)"/);
        assert.match(age.expr, /> 108000$/);
    });

    it("puts the thresholds of the args into the rules", () => {
        const g = ruleGroup(resolveArgs("db", { replicas: 3, maxSlotWalKeepSize: "2GB", monitoring: { replayLagSeconds: 15, slotWalPercent: 90, diskUsedPercent: 70 } }));
        const expr = (a: string) => g.rules.find((x) => x.alert === a)!.expr;
        assert.match(expr(ALERTS.replayLag), /rdb_replication_replay_lag_seconds\{rdb_cluster="db",rdb_namespace="default"\} > 15$/);
        assert.match(expr(ALERTS.slotWal), /> 0\.9 \* rdb_slot_max_retained_bytes/);
        assert.match(expr(ALERTS.diskFull), /> 0\.7$/);
        assert.match(expr(ALERTS.replicaNotStreaming), /< 3$/);
    });

    it("the dashboard reads only series the exporter's queries produce (or the kubelet's), and the ConfigMap is made when asked", async () => {
        for (const args of [{}, BACKUP, PATRONI] as ReplicatedDatabaseArgs[]) {
            const produced = new Set([...exporterMetricNames(resolveArgs("db", args)), ...KUBELET]);
            const d = dashboard(resolveArgs("db", args)) as any;
            const exprs: string[] = d.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));
            assert.strictEqual(exprs.length, PANELS.flatMap((p) => p.targets).length);
            for (const expr of exprs) {
                const names = metricNames(expr);
                assert.ok(names.length > 0, `no metric found in ${expr}`);
                for (const n of names) assert.ok(produced.has(n), `panel query ${expr} reads ${n}, which the exporter does not produce`);
            }
        }
        // The check is not vacuous: a misspelt series is caught.
        assert.deepStrictEqual(metricNames('rate(rdb_activity_xact_comit{rdb_cluster="$cluster"}[1m])'), ["rdb_activity_xact_comit"]);
        assert.deepStrictEqual(metricNames("max by (rdb_cluster) (a and b == 1) < 2"), ["a", "b"]);
        const r = await renderComponent("db", { monitoring: { grafanaDashboard: true } });
        const cm = find(r, "ConfigMap", "db-dashboard");
        assert.strictEqual(cm.metadata.labels.grafana_dashboard, "1");
        const model = JSON.parse(cm.data["replicated-db-default-db.json"]);
        assert.ok(model.panels.length >= 10);
        for (const title of ["Role", "lag", "Transactions", "Connections", "WAL", "volume"]) {
            assert.ok(model.panels.some((p: any) => p.title.includes(title)), `no panel about ${title}`);
        }
    });

    it("the rules read only series the exporter's queries produce, the kubelet's and kube-state-metrics'", () => {
        for (const args of [{}, BACKUP] as ReplicatedDatabaseArgs[]) {
            const produced = new Set([...exporterMetricNames(resolveArgs("db", args)), ...KUBELET, "kube_cronjob_status_last_successful_time"]);
            for (const rule of ruleGroup(resolveArgs("db", args)).rules) {
                for (const n of metricNames(rule.expr)) assert.ok(produced.has(n), `${rule.alert} reads ${n}`);
            }
        }
    });

    it("passes Pod Security restricted with the exporter, in both failover modes", async () => {
        for (const args of [{}, PATRONI, { monitoring: { prometheusOperator: true } }] as ReplicatedDatabaseArgs[]) {
            const s = spec(await renderComponent("db", args));
            assert.ok(s.containers.some((c: any) => c.name === EXPORTER));
            assert.deepStrictEqual(restrictedViolations(s), []);
        }
    });

    it("enabled false: no exporter, no role, no key, no rules, no annotations", async () => {
        const r = await renderComponent("db", { monitoring: { enabled: false } });
        const s = spec(r);
        assert.deepStrictEqual(s.containers.map((c: any) => c.name), ["postgres", "role-labeler"]);
        assert.ok(!s.volumes.some((v: any) => v.name === "monitoring-secret"));
        assert.ok(!s.volumes.find((v: any) => v.name === "secret").secret.items.some((i: any) => i.key === "monitoring-password"));
        assert.strictEqual(env(container(find(r, "StatefulSet"), "postgres"), "RDB_MONITORING_USER").value, "");
        assert.deepStrictEqual(Object.keys(find(r, "Secret", "db-credentials").stringData).sort(), ["app-password", "replication-password", "rewind-password", "superuser-password"]);
        assert.ok(!("exporter-queries.yaml" in find(r, "ConfigMap", "db-settings").data));
        assert.ok(!find(r, "ConfigMap", "db-settings").data["pg_hba.conf"].includes("monitor"));
        assert.strictEqual(ofKind(r, "ConfigMap").some((m) => m.metadata.name === "db-alert-rules"), false);
        assert.strictEqual(find(r, "StatefulSet").spec.template.metadata.annotations["prometheus.io/scrape"], undefined);
        const np = find(r, "NetworkPolicy", "db");
        assert.ok(!np.spec.ingress.some((rule: any) => rule.ports.some((p: any) => p.port === 9187)));
    });

    describe("network policy", () => {
        let ip = 100;
        const pod = (name: string, namespace: string, labels: Record<string, string>): Pod => ({ kind: "pod", name, namespace, labels, ip: `10.244.1.${ip++}` });
        async function world(args: ReplicatedDatabaseArgs) {
            const r = await renderComponent("db", args);
            const template = find(r, "StatefulSet").spec.template.metadata.labels;
            const db = [0, 1].map((i) => pod(`db-${i}`, "default", { ...template, "statefulset.kubernetes.io/pod-name": `db-${i}` }));
            const cluster: Cluster = {
                namespaces: { default: {}, monitoring: { team: "obs", "kubernetes.io/metadata.name": "monitoring" }, elsewhere: {} },
                policies: ofKind(r, "NetworkPolicy"),
            };
            const may = (from: Endpoint, to: Endpoint, port: number) => allowed(cluster, from, to, port, "TCP");
            return { db, may };
        }
        const prometheus = pod("prometheus-k8s-0", "default", { "app.kubernetes.io/name": "prometheus" });
        const elsewhere = pod("prometheus-k8s-0", "monitoring", { "app.kubernetes.io/name": "prometheus" });
        const neighbour = pod("web", "default", { app: "web" });

        it("admits the metrics port from the scrapers only: by default Prometheus's pods of the cluster's own namespace", async () => {
            const { db, may } = await world({});
            for (const p of db) {
                assert.ok(may(prometheus, p, 9187), "Prometheus scrapes the exporter");
                assert.ok(!may(elsewhere, p, 9187), "a pod labelled as Prometheus in another namespace may not");
                assert.ok(!may(neighbour, p, 9187), "a namespace neighbour may not scrape");
                // (The default allowedClients admit the namespace's own pods, Prometheus's among them, to 5432.)
                assert.ok(!may(elsewhere, p, 5432), "a scraper elsewhere is no database client");
                assert.ok(!may(prometheus, p, 8008), "no Patroni port in the manual mode");
            }
            assert.ok(!may(pod("other", "elsewhere", { app: "grafana-agent" }), db[0], 9187));
        });

        it("with Patroni, also its REST port (for /metrics); named scrapers; [] is nobody", async () => {
            const patroni = await world({ ...PATRONI });
            assert.ok(patroni.may(prometheus, patroni.db[1], 8008));
            assert.ok(!patroni.may(neighbour, patroni.db[1], 8008));
            const named = await world({ monitoring: { scrapers: [{ podLabels: { app: "agent" }, namespaceLabels: { team: "obs" } }] } });
            assert.ok(named.may(pod("agent", "monitoring", { app: "agent" }), named.db[0], 9187));
            assert.ok(!named.may(prometheus, named.db[0], 9187), "the default scraper is not in a named list");
            assert.ok(!named.may(pod("agent", "elsewhere", { app: "agent" }), named.db[0], 9187), "both selectors must match");
            // The monitoring namespace by name, as docs/monitoring.md shows it.
            const byName = await world({ monitoring: { scrapers: [{ podLabels: { "app.kubernetes.io/name": "prometheus" }, namespaceLabels: { "kubernetes.io/metadata.name": "monitoring" } }] } });
            assert.ok(byName.may(elsewhere, byName.db[0], 9187) && !byName.may(prometheus, byName.db[0], 9187));
            assert.ok(!byName.may(elsewhere, byName.db[0], 5432), "the scraper is no database client");
            const nobody = await world({ monitoring: { scrapers: [] } });
            assert.ok(!nobody.may(prometheus, nobody.db[0], 9187));
            // A custom port is the one opened.
            const port = await world({ monitoring: { port: 9300 } });
            assert.ok(port.may(prometheus, port.db[0], 9300) && !port.may(prometheus, port.db[0], 9187));
        });
    });

    describe("validation", () => {
        const refused = (monitoring: unknown, message: string) =>
            assert.throws(
                () => resolveArgs("db", { monitoring } as ReplicatedDatabaseArgs),
                (e: unknown) => e instanceof ArgError && e.message === message,
                message,
            );
        it("refuses bad values with the setting, the value and what is allowed", () => {
            refused({ enabled: "yes" }, 'invalid monitoring.enabled: "yes" (allowed: true or false)');
            refused({ user: "replicator" }, 'invalid monitoring.user: "replicator" (allowed: a role other than replicationUser ("replicator"): each identity has its own password)');
            refused({ user: "pooler" }, 'invalid monitoring.user: "pooler" (allowed: a role other than the pooler\'s role ("pooler"): each identity has its own password)');
            refused(
                { user: "postgres" },
                'invalid monitoring.user: "postgres" (allowed: a role of its own: not "postgres", "public", "none", "current_user", "session_user", "current_role" nor a "pg_" name (PostgreSQL\'s own roles))',
            );
            for (const image of ["quay.io/prometheuscommunity/postgres-exporter:latest", "postgres-exporter", "registry:5000/postgres-exporter"]) {
                refused(
                    { exporterImage: image },
                    `invalid monitoring.exporterImage: "${image}" (allowed: an image with a version tag or a digest, such as "quay.io/prometheuscommunity/postgres-exporter:v0.16.0" (no "latest", no bare name: a floating tag changes what runs under you))`,
                );
            }
            refused({ user: "Mon" }, resolveError({ user: "Mon" }));
            refused({ port: 5432 }, "invalid monitoring.port: 5432 (allowed: a port from 1024 to 65535 other than 5432 (the database) and 8008 (Patroni's REST API))");
            refused({ port: 80 }, "invalid monitoring.port: 80 (allowed: a whole number from 1024 to 65535)");
            refused({ slotWalPercent: 0 }, "invalid monitoring.slotWalPercent: 0 (allowed: a whole number from 1 to 100)");
            refused({ diskUsedPercent: 100 }, "invalid monitoring.diskUsedPercent: 100 (allowed: a whole number from 1 to 99)");
            refused({ replayLagSeconds: 1.5 }, "invalid monitoring.replayLagSeconds: 1.5 (allowed: a whole number from 1 to 86400)");
            refused({ scrapers: {} }, 'invalid monitoring.scrapers: {} (allowed: a list of {podLabels, namespaceLabels} maps)');
            refused({ scrapers: [{ pods: {} }] }, 'invalid monitoring.scrapers[0].pods: {} (allowed: one of podLabels, namespaceLabels)');
            refused({ prometheusLabels: { "bad key!": "x" } }, resolveError({ prometheusLabels: { "bad key!": "x" } }));
            refused({ exporterImage: "has space" }, 'invalid monitoring.exporterImage: "has space" (allowed: an image reference with a version tag or a digest, such as "quay.io/prometheuscommunity/postgres-exporter:v0.16.0")');
            refused({ grafana: true }, resolveError({ grafana: true }));
            assert.match(resolveError({ grafana: true }), /^invalid monitoring\.grafana: true \(allowed: one of the monitoring settings: enabled, /);
            assert.match(resolveError({ user: "Mon" }), /^invalid monitoring\.user: "Mon"/);
            assert.match(resolveError({ prometheusLabels: { "bad key!": "x" } }), /^invalid monitoring\.prometheusLabels: "bad key!"/);
        });
    });
});

function resolveError(monitoring: unknown): string {
    try {
        resolveArgs("db", { monitoring } as ReplicatedDatabaseArgs);
    } catch (e) {
        return (e as Error).message;
    }
    return "(accepted)";
}
