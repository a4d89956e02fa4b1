/**
 * The pieces of NetworkPolicies that every feature writes its rules with: peers, ports, the database pods'
 * labels and the API server's ports. A feature's rules for the database pods come in its pod part
 * (core/parts.ts); a feature with pods of its own (backup Jobs, pooler) writes their policy in its folder.
 */
import * as k8s from "@pulumi/kubernetes";
import { ResolvedNetworkPeer } from "../args";
import { BuildContext } from "../core/context";

export type NetworkPolicyPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
export type NetworkPolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;
export type NetworkPolicySpec = k8s.types.input.networking.v1.NetworkPolicySpec;

export const COMPONENT_LABEL = "app.kubernetes.io/component";
/** The component label of the StatefulSet's pods (builders/statefulset.ts): the backup Jobs' pods share the selector. */
export const DATABASE_COMPONENT = "database";
/** The API server's port behind the `kubernetes` Service: 443 on managed clusters, 6443 on kubeadm-built ones. */
export const API_SERVER_PORTS = [443, 6443];

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

export const tcp = (port: number): NetworkPolicyPort => ({ protocol: "TCP", port });
export const cidrs = (list: string[]): NetworkPolicyPeer[] => list.map((cidr) => ({ ipBlock: { cidr } }));

/** The policy's metadata, with the `network` component's labels. */
export function policyMetadata(ctx: BuildContext, name: string): k8s.types.input.meta.v1.ObjectMeta {
    return { name, namespace: ctx.args.namespace, labels: ctx.labels("network") };
}
