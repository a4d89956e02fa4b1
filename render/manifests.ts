/** Turns captured Kubernetes resources into the manifests the provider would apply, and prints them. */
import { stringify } from "yaml";
import { CapturedResource } from "./capture";

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [key: string]: any };
    [key: string]: any;
}

/** "kubernetes:apps/v1:StatefulSet" -> { apiVersion: "apps/v1", kind: "StatefulSet" }; core has no group. */
export function apiVersionKind(type: string): { apiVersion: string; kind: string } | undefined {
    const m = /^kubernetes:([a-z0-9.-]+)\/([a-z0-9]+):([A-Za-z]+)$/.exec(type);
    if (!m) {
        return undefined;
    }
    const [, group, version, kind] = m;
    return { apiVersion: group === "core" ? version : `${group.replace(/_/g, ".")}/${version}`, kind };
}

/**
 * The manifests of the Kubernetes objects the program owns. Reads of existing objects are left out, and so
 * are Patch resources: they are partial changes to objects made by others (claims the StatefulSet creates).
 */
/**
 * The order a render prints and applies objects in: what others refer to first (Helm's install order, for the
 * kinds we render). Mocks capture resources in the order their inputs resolve, which varies from run to run.
 */
const APPLY_ORDER = [
    "NetworkPolicy", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "ServiceAccount", "Secret", "Certificate",
    "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "Service", "PodDisruptionBudget", "StatefulSet", "Deployment", "Job", "CronJob",
    "PodMonitor", "PrometheusRule",
];

function applyRank(m: Manifest): number {
    const i = APPLY_ORDER.indexOf(m.kind);
    return i < 0 ? APPLY_ORDER.length : i;
}

export function toManifests(resources: CapturedResource[]): Manifest[] {
    const out: Manifest[] = [];
    for (const r of resources) {
        const gvk = apiVersionKind(r.type);
        if (!gvk || r.read || gvk.kind.endsWith("Patch")) {
            continue;
        }
        const { apiVersion: _a, kind: _k, ...rest } = r.inputs;
        out.push({ ...gvk, ...rest } as Manifest);
    }
    const key = (m: Manifest) => `${m.kind}/${m.metadata?.namespace ?? ""}/${m.metadata?.name ?? ""}`;
    return out.sort((a, b) => applyRank(a) - applyRank(b) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export const MASK = "[secret]";

/** A copy with every Secret's values masked, for printing. */
export function maskSecrets(manifests: Manifest[]): Manifest[] {
    return manifests.map((m) => {
        if (m.kind !== "Secret") {
            return m;
        }
        const mask = (d?: Record<string, string>) => (d ? Object.fromEntries(Object.keys(d).map((k) => [k, MASK])) : undefined);
        const masked: Manifest = { ...m };
        if (m.data) masked.data = mask(m.data);
        if (m.stringData) masked.stringData = mask(m.stringData);
        return masked;
    });
}

/**
 * Multi-document YAML, one document per object, in a stable order. Written under YAML 1.1's rules, which
 * kubectl and most Kubernetes tools read by: a string such as `on` or `2026-11-25 20:00:00+00` is quoted, so
 * that no reader takes it for a boolean or a timestamp. What is quoted for 1.1 reads the same under 1.2.
 */
export function toYaml(manifests: Manifest[]): string {
    return manifests.map((m) => `---\n${stringify(m, { lineWidth: 0, version: "1.1" })}`).join("");
}
