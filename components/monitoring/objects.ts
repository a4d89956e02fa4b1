/**
 * Monitoring's objects (`monitoring.enabled`, docs/monitoring.md): how Prometheus finds the exporters (./pod.ts), a
 * PodMonitor and a PrometheusRule with the Prometheus Operator, else the rules as a ConfigMap; the Grafana
 * dashboard when asked.
 */
import * as k8s from "@pulumi/kubernetes";
import { dashboard } from "./dashboard";
import { ruleGroup, rulesFile } from "./rules";
import { BuildContext } from "../core/context";
import { databasePodLabels } from "../network/rules";
import { METRICS_PORT_NAME, SCRAPE_INTERVAL } from "./pod";

/** The PodMonitor's spec: the exporter, and with Patroni its REST API's /metrics (HTTPS with TLS on, verified by the cluster's CA). */
export function podMonitorSpec(ctx: BuildContext): Record<string, unknown> {
    const { args, names, topology } = ctx;
    const served = topology.internalPorts.filter((p) => p.metricsPath !== undefined);
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
            ...served.map((p) => ({ port: p.name, path: p.metricsPath, interval: SCRAPE_INTERVAL, ...tls })),
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
