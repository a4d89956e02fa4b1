/**
 * The database pods' NetworkPolicy `<cluster>` (docs/security.md, "Network policy"), with `networkPolicy.enabled`.
 * Ingress: the database port from the cluster's own pods (replication, pg_rewind) and from `allowedClients` and
 * `allowedClientCidrs`; the topology's internal ports (Patroni's REST API) from the cluster's own pods only.
 * Egress: the same ports on the cluster's own pods, DNS, and the Kubernetes API when a container of the pods uses
 * it. The pod parts add their own rules (core/parts.ts): the pooler's pods, the scrapers, the S3 repository,
 * a standby's source. Probes need no rule: the kubelet's traffic from the pod's own node is always allowed (and
 * the manual topology's probes are exec probes).
 */
import * as k8s from "@pulumi/kubernetes";
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";
import { API_SERVER_PORTS, NetworkPolicyPeer, NetworkPolicySpec, cidrs, databasePodLabels, policyMetadata, policyPeer, tcp } from "./rules";

/** Whether a container of the database pods talks to the Kubernetes API (Patroni, the role-labeler). */
export function podsUseApiServer(ctx: BuildContext): boolean {
    return ctx.topology.databaseApiToken || ctx.topology.sidecars(ctx).some((s) => s.apiToken);
}

/** The database pods' policy spec. */
export function databasePolicySpec(ctx: BuildContext, parts: PodPart[]): NetworkPolicySpec {
    const { args, engine, topology } = ctx;
    const np = args.networkPolicy;
    const own: NetworkPolicyPeer = { podSelector: { matchLabels: databasePodLabels(ctx) } };
    const clusterPorts = [tcp(engine.port), ...topology.internalPorts.map((p) => tcp(p.port))];
    const ingress = [
        { from: [own], ports: clusterPorts },
        // An empty `from` would admit everyone: no clients means no rule.
        ...(np.allowedClients.length > 0 ? [{ from: np.allowedClients.map(policyPeer), ports: [tcp(engine.port)] }] : []),
        // Clients outside the Kubernetes cluster by address, such as a standby cluster in another region.
        ...(np.allowedClientCidrs.length > 0 ? [{ from: cidrs(np.allowedClientCidrs), ports: [tcp(engine.port)] }] : []),
        ...parts.flatMap((p) => p.ingress ?? []),
    ];
    const egress = [
        { to: [own], ports: clusterPorts },
        { to: np.dnsServers.map(policyPeer), ports: [{ protocol: "UDP", port: np.dnsPort }, tcp(np.dnsPort)] },
        ...(podsUseApiServer(ctx) ? [{ to: cidrs(np.apiServerCidrs), ports: API_SERVER_PORTS.map(tcp) }] : []),
        ...parts.flatMap((p) => p.egress ?? []),
    ];
    return { podSelector: { matchLabels: databasePodLabels(ctx) }, policyTypes: ["Ingress", "Egress"], ingress, egress };
}

/** The database pods' policy, or undefined with `networkPolicy.enabled` false. */
export function createDatabasePolicy(ctx: BuildContext, parts: PodPart[]): k8s.networking.v1.NetworkPolicy | undefined {
    if (!ctx.args.networkPolicy.enabled) return undefined;
    return new k8s.networking.v1.NetworkPolicy(
        `${ctx.name}-networkpolicy`,
        { metadata: policyMetadata(ctx, ctx.names.networkPolicy), spec: databasePolicySpec(ctx, parts) },
        { parent: ctx.parent },
    );
}
