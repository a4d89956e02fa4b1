/**
 * The NetworkPolicies (README, "Network policy"), with `networkPolicy.enabled`:
 * - `<cluster>` selects the database pods. Ingress: the database port from the cluster's own pods (replication,
 *   pg_rewind) and from `allowedClients`; the topology's internal ports (Patroni's REST API) from the cluster's
 *   own pods only. Egress: the same ports on the cluster's own pods, DNS, the Kubernetes API when a container
 *   of the pods uses it, and the S3 repository while it is used.
 * - `<cluster>-backup` selects the backup Jobs' pods: no ingress; egress to the Kubernetes API only (they find
 *   the primary and exec into it through the API; kubectl reaches it by the IP in KUBERNETES_SERVICE_HOST, so
 *   no DNS).
 * - `<cluster>-pooler` (with `pooler.enabled`) selects the pooler pods: ingress to the pooler's port from
 *   `allowedClients`; egress to the database port of the database pods and DNS. The database pods' policy then
 *   admits the pooler pods on the database port.
 * Probes need no rule: the kubelet's traffic from the pod's own node is always allowed (and the manual
 * topology's probes are exec probes).
 */
import * as k8s from "@pulumi/kubernetes";
import { ResolvedNetworkPeer } from "../args";
import { backupSchedules } from "./backups";
import { PACKAGE } from "../naming";
import { poolerPodLabels } from "../pooler/labels";
import { POOLER_PORT } from "../pooler/pgbouncerIni";
import { pooledServices } from "../pooler/services";
import { BuildContext } from "./context";

type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type NetworkPolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;

export const COMPONENT_LABEL = "app.kubernetes.io/component";
/** The component label of the StatefulSet's pods (statefulset.ts): the backup Jobs' pods share the selector. */
export const DATABASE_COMPONENT = "database";
/** The API server's port behind the `kubernetes` Service: 443 on managed clusters, 6443 on kubeadm-built ones. */
export const API_SERVER_PORTS = [443, 6443];
/** pgBackRest talks HTTPS to S3: 443 unless the endpoint names a port. */
export const DEFAULT_S3_PORT = 443;

/** The labels of the database pods alone (not the backup Jobs', which carry the cluster's selector too). */
export function databasePodLabels(ctx: BuildContext): Record<string, string> {
    return { ...ctx.selector, [COMPONENT_LABEL]: DATABASE_COMPONENT };
}

/** A peer as a NetworkPolicy writes it: without namespaceLabels, the policy's (the cluster's) namespace only. */
export function policyPeer(p: ResolvedNetworkPeer): NetworkPolicyPeer {
    return {
        podSelector: { matchLabels: { ...p.podLabels } },
        ...(p.namespaceLabels === undefined ? {} : { namespaceSelector: { matchLabels: { ...p.namespaceLabels } } }),
    };
}

/** The port of `backup.s3Endpoint` ("host" or "host:port"). */
export function s3Port(endpoint: string): number {
    const m = /:([0-9]+)$/.exec(endpoint);
    return m ? Number(m[1]) : DEFAULT_S3_PORT;
}

/** Whether a container of the database pods talks to the Kubernetes API (Patroni, the role-labeler). */
export function podsUseApiServer(ctx: BuildContext): boolean {
    return ctx.topology.databaseApiToken || ctx.topology.sidecars(ctx).some((s) => s.apiToken);
}

const tcp = (port: number): NetworkPolicyPort => ({ protocol: "TCP", port });
const cidrs = (list: string[]): NetworkPolicyPeer[] => list.map((cidr) => ({ ipBlock: { cidr } }));

/** The database pods' policy spec. */
export function databasePolicySpec(ctx: BuildContext): k8s.types.input.networking.v1.NetworkPolicySpec {
    const { args, engine, topology } = ctx;
    const np = args.networkPolicy;
    const own: NetworkPolicyPeer = { podSelector: { matchLabels: databasePodLabels(ctx) } };
    const clusterPorts = [tcp(engine.port), ...topology.internalPorts.map((p) => tcp(p.port))];
    const ingress = [
        { from: [own], ports: clusterPorts },
        // An empty `from` would admit everyone: no clients means no rule.
        ...(np.allowedClients.length > 0 ? [{ from: np.allowedClients.map(policyPeer), ports: [tcp(engine.port)] }] : []),
        // The pooler's pods, whoever the allowed clients are: they connect on the clients' behalf.
        ...(pooledServices(args).length > 0 ? [{ from: [{ podSelector: { matchLabels: poolerPodLabels(args.clusterName) } }], ports: [tcp(engine.port)] }] : []),
        // Clients outside the Kubernetes cluster by address, such as a standby cluster in another region.
        ...(np.allowedClientCidrs.length > 0 ? [{ from: cidrs(np.allowedClientCidrs), ports: [tcp(engine.port)] }] : []),
        ...metricsIngress(ctx),
    ];
    const b = args.backup;
    const egress = [
        { to: [own], ports: clusterPorts },
        { to: np.dnsServers.map(policyPeer), ports: [{ protocol: "UDP", port: np.dnsPort }, tcp(np.dnsPort)] },
        ...(podsUseApiServer(ctx) ? [{ to: cidrs(np.apiServerCidrs), ports: API_SERVER_PORTS.map(tcp) }] : []),
        ...(b.repositoryUsed && b.repositoryType === "s3" ? [{ to: cidrs(np.backupRepositoryCidrs), ports: [tcp(s3Port(b.s3Endpoint))] }] : []),
        // A standby cluster streams from its source (kept after a promotion, so that the pod template and
        // policy do not change with it).
        ...(args.standby ? [{ to: cidrs(args.standby.sourceCidrs), ports: [tcp(args.standby.sourcePort)] }] : []),
    ];
    return { podSelector: { matchLabels: databasePodLabels(ctx) }, policyTypes: ["Ingress", "Egress"], ingress, egress };
}

/**
 * With monitoring on: the exporter's port, and Patroni's REST API (its /metrics), from `monitoring.scrapers` only.
 * Patroni's other endpoints that act (switchover, restart) ask for its password.
 */
export function metricsIngress(ctx: BuildContext): k8s.types.input.networking.v1.NetworkPolicyIngressRule[] {
    const m = ctx.args.monitoring;
    if (!m.enabled || m.scrapers.length === 0) return [];
    const patroni = ctx.topology.internalPorts.filter((p) => p.name === "patroni").map((p) => tcp(p.port));
    return [{ from: m.scrapers.map(policyPeer), ports: [tcp(m.port), ...patroni] }];
}

/** The backup Jobs' policy spec, or undefined without scheduled backups. */
export function backupPolicySpec(ctx: BuildContext): k8s.types.input.networking.v1.NetworkPolicySpec | undefined {
    const types = backupSchedules(ctx).map((s) => `backup-${s.type}`);
    if (types.length === 0) return undefined;
    return {
        // The backup pods carry no app.kubernetes.io/name (backupJobLabels): the instance and part-of labels
        // with the component pick them out.
        podSelector: {
            matchLabels: { "app.kubernetes.io/instance": ctx.args.clusterName, "app.kubernetes.io/part-of": PACKAGE },
            matchExpressions: [{ key: COMPONENT_LABEL, operator: "In", values: types }],
        },
        policyTypes: ["Ingress", "Egress"],
        // Nothing connects to a backup Job.
        ingress: [],
        egress: [{ to: cidrs(ctx.args.networkPolicy.apiServerCidrs), ports: API_SERVER_PORTS.map(tcp) }],
    };
}

/** The pooler pods' policy spec, or undefined without a pooler. */
export function poolerPolicySpec(ctx: BuildContext): k8s.types.input.networking.v1.NetworkPolicySpec | undefined {
    const { args, engine } = ctx;
    if (pooledServices(args).length === 0) return undefined;
    const np = args.networkPolicy;
    return {
        podSelector: { matchLabels: poolerPodLabels(args.clusterName) },
        policyTypes: ["Ingress", "Egress"],
        ingress: np.allowedClients.length > 0 ? [{ from: np.allowedClients.map(policyPeer), ports: [tcp(POOLER_PORT)] }] : [],
        egress: [
            { to: [{ podSelector: { matchLabels: databasePodLabels(ctx) } }], ports: [tcp(engine.port)] },
            { to: np.dnsServers.map(policyPeer), ports: [{ protocol: "UDP", port: np.dnsPort }, tcp(np.dnsPort)] },
        ],
    };
}

export function createNetworkPolicies(ctx: BuildContext): k8s.networking.v1.NetworkPolicy[] {
    const { args, names, parent } = ctx;
    if (!args.networkPolicy.enabled) return [];
    const metadata = (name: string) => ({ name, namespace: args.namespace, labels: ctx.labels("network") });
    const policies = [new k8s.networking.v1.NetworkPolicy(`${ctx.name}-networkpolicy`, { metadata: metadata(names.networkPolicy), spec: databasePolicySpec(ctx) }, { parent })];
    const backup = backupPolicySpec(ctx);
    if (backup) {
        policies.push(new k8s.networking.v1.NetworkPolicy(`${ctx.name}-backup-networkpolicy`, { metadata: metadata(names.backupNetworkPolicy), spec: backup }, { parent }));
    }
    const pooler = poolerPolicySpec(ctx);
    if (pooler) {
        policies.push(new k8s.networking.v1.NetworkPolicy(`${ctx.name}-pooler-networkpolicy`, { metadata: metadata(names.poolerNetworkPolicy), spec: pooler }, { parent }));
    }
    return policies;
}
