/**
 * What monitoring adds to the database pods: the postgres_exporter container beside the database, its queries in
 * the config ConfigMap, its own volume with the monitoring password alone, and without the Prometheus Operator
 * the `prometheus.io/*` annotations.
 *
 * The exporter reads the server over the pod's socket as the monitoring role (a member of `pg_monitor`, created by
 * the pods' scripts from the Secret's `monitoring-password`), never as the superuser, and mounts only that key.
 */
import * as k8s from "@pulumi/kubernetes";
import { MONITORING_SECRET_KEY } from "../naming";
import { queriesFile } from "./queries";
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { policyPeer, tcp } from "../network/rules";

type Container = k8s.types.input.core.v1.Container;

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
export const SCRAPE_INTERVAL = "15s";

/** The exporter's configuration files for the settings ConfigMap (so that a change rolls the pods, as the exporter reads them at start). */
function monitoringConfigFiles(ctx: BuildContext): Record<string, string> {
    return ctx.args.monitoring.enabled ? { [QUERIES_FILE]: queriesFile(ctx.args) } : {};
}

/** The exporter sidecar, without the security context the StatefulSet adds. */
/** The exporter's uid and gid: `nobody`, as its upstream image runs, never the database server's. */
export const EXPORTER_UID = 65534;

function exporterContainers(ctx: BuildContext): Container[] {
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

/** Without the Prometheus Operator: the annotations that Prometheus's usual `kubernetes-pods` scrape job follows. */
function scrapeAnnotations(ctx: BuildContext): Record<string, string> {
    const m = ctx.args.monitoring;
    if (!m.enabled || m.prometheusOperator) return {};
    return { "prometheus.io/scrape": "true", "prometheus.io/port": String(m.port), "prometheus.io/path": "/metrics" };
}

/**
 * The exporter's port, and a topology's metrics port (Patroni's REST API's /metrics), from `monitoring.scrapers`
 * only. Patroni's other endpoints that act (switchover, restart) ask for its password.
 */
function metricsIngress(ctx: BuildContext): k8s.types.input.networking.v1.NetworkPolicyIngressRule[] {
    const m = ctx.args.monitoring;
    if (m.scrapers.length === 0) return [];
    const served = ctx.topology.internalPorts.filter((p) => p.metricsPath !== undefined).map((p) => tcp(p.port));
    return [{ from: m.scrapers.map(policyPeer), ports: [tcp(m.port), ...served] }];
}

export function monitoringPart(ctx: BuildContext): PodPart {
    if (!ctx.args.monitoring.enabled) return {};
    return {
        containers: exporterContainers(ctx),
        // The exporter's own volume: the monitoring password alone, not the Secret's other keys. Only the exporter mounts it.
        volumes: [
            {
                name: SECRET_VOLUME,
                source: { secret: { secretName: ctx.names.secret, defaultMode: 0o440, items: [{ key: MONITORING_SECRET_KEY, path: MONITORING_SECRET_KEY }] } },
            },
        ],
        annotations: scrapeAnnotations(ctx),
        ingress: metricsIngress(ctx),
        configFiles: monitoringConfigFiles(ctx),
    };
}
