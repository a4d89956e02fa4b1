/**
 * A small evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1) over rendered objects, for
 * the unit tests: may endpoint A open a connection to endpoint B on a port and protocol?
 *
 * - A connection is allowed iff B's side allows it as ingress (B is a pod that no policy of its namespace
 *   selects with policyType Ingress, or one of those policies has an ingress rule that admits A on that port),
 *   AND A's side allows it as egress (likewise with Egress). An endpoint that is no pod (an address outside the
 *   cluster) has no policies: only the pod side is evaluated.
 * - A rule admits a connection when one of its peers matches (no `from`/`to`, or an empty list, is every
 *   peer) and one of its ports matches (no `ports`, or an empty list, is every port). A policy with the type but
 *   no rules admits nothing.
 * - Peers: `podSelector` alone is the pods of the POLICY's namespace; `namespaceSelector` alone is every pod
 *   of the matching namespaces; both in one peer is their AND; `ipBlock` matches an address in `cidr` and not
 *   in `except` (pods have addresses too, as most plugins treat them).
 * - Selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); {} selects everything.
 * - Ports: protocol (default TCP), numeric `port` (absent: every port), `endPort` ranges. Named ports are
 *   refused (the rendered policies use numbers; this evaluator does not resolve container port names).
 * - policyTypes as written; when absent, Kubernetes' default: Ingress, plus Egress when there are egress rules.
 * Not modelled: a pod's traffic to itself and its node (always allowed), Service DNAT (policies see the pod).
 */
import { Manifest } from "../../render/manifests";

export interface Pod {
    kind: "pod";
    name: string;
    namespace: string;
    labels: Record<string, string>;
    ip: string;
}

/** An address outside the cluster's pods (the API server, an S3 endpoint). */
export interface External {
    kind: "external";
    name: string;
    ip: string;
}

export type Endpoint = Pod | External;

export interface Cluster {
    /** Namespace name to its labels; `kubernetes.io/metadata.name` is added as Kubernetes does. */
    namespaces: Record<string, Record<string, string>>;
    policies: Manifest[];
}

interface Selector {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function matches(selector: Selector | undefined, labels: Record<string, string>): boolean {
    if (selector === undefined) throw new Error("no selector");
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[k] !== v) return false;
    }
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        switch (e.operator) {
            case "In":
                if (!has || !(e.values ?? []).includes(labels[e.key])) return false;
                break;
            case "NotIn":
                if (has && (e.values ?? []).includes(labels[e.key])) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                throw new Error(`unknown selector operator ${e.operator}`);
        }
    }
    return true;
}

/** An IPv4 address as a number; the tests use IPv4 addresses only. */
function ipv4(text: string): number {
    const parts = text.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${text}`);
    return parts.reduce((a, p) => a * 256 + p, 0);
}

export function inCidr(ip: string, cidr: string): boolean {
    const [base, bits] = cidr.split("/");
    if (base.includes(":")) return false; // an IPv6 block never holds an IPv4 address
    const size = 2 ** (32 - Number(bits));
    return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

function namespaceLabels(cluster: Cluster, ns: string): Record<string, string> {
    const labels = cluster.namespaces[ns];
    if (labels === undefined) throw new Error(`unknown namespace ${ns}`);
    return { ...labels, "kubernetes.io/metadata.name": ns };
}

function peerMatches(cluster: Cluster, policyNamespace: string, peer: any, other: Endpoint): boolean {
    if (peer.ipBlock) {
        if (peer.podSelector || peer.namespaceSelector) throw new Error("ipBlock must stand alone in a peer");
        return inCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => inCidr(other.ip, c));
    }
    if (other.kind !== "pod") return false;
    if (peer.namespaceSelector) {
        if (!matches(peer.namespaceSelector, namespaceLabels(cluster, other.namespace))) return false;
    } else if (other.namespace !== policyNamespace) {
        return false;
    }
    return peer.podSelector === undefined || matches(peer.podSelector, other.labels);
}

function portMatches(ports: any[] | undefined, port: number, protocol: string): boolean {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
        if ((p.protocol ?? "TCP") !== protocol) return false;
        if (p.port === undefined) return true;
        if (typeof p.port !== "number") throw new Error(`named port ${p.port} is not supported by this evaluator`);
        return p.endPort === undefined ? p.port === port : p.port <= port && port <= p.endPort;
    });
}

function policyTypes(spec: any): string[] {
    return spec.policyTypes ?? ["Ingress", ...(spec.egress ? ["Egress"] : [])];
}

/** Whether `pod`'s side lets the connection with `other` through, in `direction`. */
function sideAllows(cluster: Cluster, pod: Pod, direction: "Ingress" | "Egress", other: Endpoint, port: number, protocol: string): boolean {
    const selecting = cluster.policies.filter(
        (p) => p.metadata.namespace === pod.namespace && matches(p.spec.podSelector, pod.labels) && policyTypes(p.spec).includes(direction),
    );
    if (selecting.length === 0) return true;
    const key = direction === "Ingress" ? "ingress" : "egress";
    const peersKey = direction === "Ingress" ? "from" : "to";
    return selecting.some((p) =>
        ((p.spec[key] ?? []) as any[]).some((rule) => {
            const peers: any[] | undefined = rule[peersKey];
            const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(cluster, p.metadata.namespace!, peer, other));
            return peerOk && portMatches(rule.ports, port, protocol);
        }),
    );
}

/** Whether `from` may open a connection to `to` on `port`/`protocol` under the cluster's policies. */
export function allowed(cluster: Cluster, from: Endpoint, to: Endpoint, port: number, protocol = "TCP"): boolean {
    const egress = from.kind === "pod" ? sideAllows(cluster, from, "Egress", to, port, protocol) : true;
    const ingress = to.kind === "pod" ? sideAllows(cluster, to, "Ingress", from, port, protocol) : true;
    return egress && ingress;
}
