/**
 * A model of what `pulumi up` does when a render changes: per resource, create, delete, update in place or
 * replace. The replace rules are the Kubernetes API's immutable fields for the kinds we render (the
 * Kubernetes provider replaces a resource when one of them changes); this is a model, checked against the
 * API reference, not the provider's own diff, which needs a cluster.
 */
import { CapturedResource } from "../../render/capture";
import { Rendered } from "../../render/render";

export type Step = "create" | "delete" | "update" | "replace" | "same";

/** Paths (prefixes) whose change forces a replacement, per Pulumi type. */
const IMMUTABLE: Record<string, string[]> = {
    "kubernetes:apps/v1:StatefulSet": ["spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"],
    // Only the size request of a claim may change, and only upwards.
    "kubernetes:core/v1:PersistentVolumeClaim": ["spec.accessModes", "spec.storageClassName", "spec.volumeName", "spec.volumeMode", "spec.selector", "spec.dataSource"],
    "kubernetes:core/v1:PersistentVolume": ["spec.hostPath", "spec.local", "spec.nodeAffinity", "spec.volumeMode"],
    "kubernetes:storage.k8s.io/v1:StorageClass": ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"],
    "kubernetes:core/v1:Service": ["spec.clusterIP"],
    "kubernetes:policy/v1:PodDisruptionBudget": [],
};

function flatten(value: any, prefix = "", out: Record<string, string> = {}): Record<string, string> {
    if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else {
        out[prefix] = JSON.stringify(value);
    }
    return out;
}

/** The paths whose values differ between two inputs. */
export function changedPaths(before: any, after: any): string[] {
    const a = flatten(before);
    const b = flatten(after);
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort();
}

export function step(before: CapturedResource | undefined, after: CapturedResource | undefined): Step {
    if (!before) return "create";
    if (!after) return "delete";
    // Pulumi sends the old value of an ignored path, so its change is no change.
    const ignored = after.options?.ignoreChanges ?? [];
    const changed = changedPaths(before.inputs, after.inputs).filter((p) => !ignored.some((i) => p === i || p.startsWith(`${i}.`)));
    if (changed.length === 0) return "same";
    const immutable = IMMUTABLE[after.type] ?? [];
    const nameChanged = changed.some((p) => p === "metadata.name" || p === "metadata.namespace");
    return nameChanged || changed.some((p) => immutable.some((i) => p === i || p.startsWith(`${i}.`))) ? "replace" : "update";
}

/** The step of every resource, by Pulumi resource name. */
export function plan(before: Rendered, after: Rendered): Record<string, Step> {
    const key = (r: CapturedResource) => `${r.type}::${r.name}`;
    const a = new Map(before.resources.map((r) => [key(r), r]));
    const b = new Map(after.resources.map((r) => [key(r), r]));
    const out: Record<string, Step> = {};
    for (const k of new Set([...a.keys(), ...b.keys()])) {
        out[k.split("::")[1]] = step(a.get(k), b.get(k));
    }
    return out;
}
