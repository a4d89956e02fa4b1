/**
 * Monitoring (`monitoring.enabled`, README "Monitoring"): the postgres_exporter sidecar of every pod, its queries in
 * the settings ConfigMap, and how Prometheus finds it: a PodMonitor and a PrometheusRule with the Prometheus
 * Operator, else `prometheus.io/*` pod annotations and the rules as a ConfigMap; the Grafana dashboard when asked.
 *
 * The exporter reads the server over the pod's socket as the monitoring role (a member of `pg_monitor`, created by
 * the pods' scripts from the Secret's `monitoring-password`), never as the superuser, and mounts only that key.
 */
import * as k8s from "@pulumi/kubernetes";
import { MONITORING_SECRET_KEY } from "../naming";
import { dashboard } from "../monitoring/dashboard";
import { queriesFile } from "../monitoring/queries";
import { ruleGroup, rulesFile } from "../monitoring/rules";
import { BuildContext } from "./context";
import { databasePodLabels } from "./networkPolicy";

type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;

export const EXPORTER_CONTAINER = "metrics-exporter";
export const METRICS_PORT_NAME = "metrics";
/** The queries file in the settings ConfigMap (mounted at paths.config). */
export const QUERIES_FILE = "exporter-queries.yaml";
const SECRET_VOLUME = "monitoring-secret";
const SECRET_MOUNT = "/etc/replicated-db/monitoring-secret";
/** The engine's socket volume (engine.scratchVolumes()), which the exporter mounts read-only to connect. */
const SOCKET_VOLUME = "socket";
/** The upstream image's entrypoint, named so that the harness can put Debian's binary in its place. */
export const EXPORTER_BINARY = "/bin/postgres_exporter";
const SCRAPE_INTERVAL = "15s";

/** The exporter's configuration files for the settings ConfigMap (so that a change rolls the pods, as the exporter reads them at start). */
export function monitoringConfigFiles(ctx: BuildContext): Record<string, string> {
    return ctx.args.monitoring.enabled ? { [QUERIES_FILE]: queriesFile(ctx.args) } : {};
}

/** The exporter sidecar, without the security context the StatefulSet adds. */
/** The exporter's uid and gid: `nobody`, as its upstream image runs, never the database server's. */
export const EXPORTER_UID = 65534;

export function exporterContainers(ctx: BuildContext): Container[] {
    const { args, engine, paths } = ctx;
    const m = args.monitoring;
    if (!m.enabled) return [];
    const socketDir = engine.scratchVolumes()[SOCKET_VOLUME].mountPath;
    return [
        {
            name: EXPORTER_CONTAINER,
            image: m.exporterImage,
            command: [EXPORTER_BINARY],
            args: [
                `--web.listen-address=:${m.port}`,
                `--extend.query-path=${paths.config}/${QUERIES_FILE}`,
                // Only our queries (and the exporter's own collectors): the legacy built-in queries would double the
                // cost of each scrape for series nothing here reads.
                "--disable-default-metrics",
                "--disable-settings-metrics",
            ],
            env: [
                // The socket (peer rules do not apply: pg_hba has a password rule for this role on the socket first).
                { name: "DATA_SOURCE_URI", value: `:${engine.port}/postgres?host=${socketDir}&sslmode=disable` },
                { name: "DATA_SOURCE_USER", value: m.user },
                { name: "DATA_SOURCE_PASS_FILE", value: `${SECRET_MOUNT}/${MONITORING_SECRET_KEY}` },
            ],
            ports: [{ name: METRICS_PORT_NAME, containerPort: m.port, protocol: "TCP" }],
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
            // A uid of its own, not the server's: on the socket, PostgreSQL's `peer` rule maps a client's uid to a
            // user name, and the server's uid is the superuser's. Its files are readable through the pod's fsGroup.
            securityContext: { runAsUser: EXPORTER_UID, runAsGroup: EXPORTER_UID },
            // The landing page runs no query: the probe only sees that the process serves.
            livenessProbe: { httpGet: { path: "/", port: METRICS_PORT_NAME }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
            volumeMounts: [
                { name: "config", mountPath: paths.config, readOnly: true },
                { name: SOCKET_VOLUME, mountPath: socketDir, readOnly: true },
                { name: SECRET_VOLUME, mountPath: SECRET_MOUNT, readOnly: true },
            ],
        },
    ];
}

/** The exporter's own volume: the monitoring password alone, not the Secret's other keys. */
export function exporterVolumes(ctx: BuildContext): Volume[] {
    if (!ctx.args.monitoring.enabled) return [];
    return [
        {
            name: SECRET_VOLUME,
            secret: { secretName: ctx.names.secret, defaultMode: 0o440, items: [{ key: MONITORING_SECRET_KEY, path: MONITORING_SECRET_KEY }] },
        },
    ];
}

/** Without the Prometheus Operator: the annotations that Prometheus's usual `kubernetes-pods` scrape job follows. */
export function scrapeAnnotations(ctx: BuildContext): Record<string, string> {
    const m = ctx.args.monitoring;
    if (!m.enabled || m.prometheusOperator) return {};
    return { "prometheus.io/scrape": "true", "prometheus.io/port": String(m.port), "prometheus.io/path": "/metrics" };
}

/** The PodMonitor's spec: the exporter, and with Patroni its REST API's /metrics (HTTPS with TLS on, verified by the cluster's CA). */
export function podMonitorSpec(ctx: BuildContext): Record<string, unknown> {
    const { args, names, topology } = ctx;
    const patroni = topology.internalPorts.find((p) => p.name === "patroni");
    const tls = args.tls.enabled
        ? {
              scheme: "https",
              // Prometheus dials the pod's IP, which no certificate names; every pod serves the same certificate, valid for the headless Service's name.
              tlsConfig: { ca: { secret: { name: names.tlsSecret, key: "ca.crt" } }, serverName: names.serviceHost(names.headlessService) },
          }
        : { scheme: "http" };
    return {
        selector: { matchLabels: databasePodLabels(ctx) },
        namespaceSelector: { matchNames: [args.namespace] },
        podMetricsEndpoints: [
            { port: METRICS_PORT_NAME, path: "/metrics", interval: SCRAPE_INTERVAL },
            ...(patroni ? [{ port: patroni.name, path: "/metrics", interval: SCRAPE_INTERVAL, ...tls }] : []),
        ],
    };
}

export function createMonitoring(ctx: BuildContext): void {
    const { args, names, parent } = ctx;
    const m = args.monitoring;
    if (!m.enabled) return;
    const metadata = (name: string, extra: Record<string, string> = {}) => ({ name, namespace: args.namespace, labels: { ...ctx.labels("monitoring"), ...extra } });
    if (m.prometheusOperator) {
        new k8s.apiextensions.CustomResource(
            `${ctx.name}-podmonitor`,
            { apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", metadata: metadata(names.podMonitor, m.prometheusLabels), spec: podMonitorSpec(ctx) },
            { parent },
        );
        new k8s.apiextensions.CustomResource(
            `${ctx.name}-prometheusrule`,
            { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: metadata(names.prometheusRule, m.prometheusLabels), spec: { groups: [ruleGroup(args)] } },
            { parent },
        );
    } else {
        new k8s.core.v1.ConfigMap(
            `${ctx.name}-alert-rules`,
            { metadata: metadata(names.alertRulesConfigMap), data: { [`${args.namespace}-${args.clusterName}.rules.yaml`]: rulesFile(args) } },
            { parent },
        );
    }
    if (m.grafanaDashboard) {
        new k8s.core.v1.ConfigMap(
            `${ctx.name}-dashboard`,
            {
                metadata: metadata(names.dashboardConfigMap, { grafana_dashboard: "1" }),
                data: { [`replicated-db-${args.namespace}-${args.clusterName}.json`]: JSON.stringify(dashboard(args), null, 2) },
            },
            { parent },
        );
    }
}
