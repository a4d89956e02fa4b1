/**
 * What a feature adds to the database pods, as one value the generic builders combine (builders/statefulset.ts,
 * builders/configmaps.ts): each volume with the database container's mount of it, environment, containers beside the
 * database, pod annotations, and files for the two ConfigMaps. A feature builds its part in its own folder
 * (`tls/pod.ts`, `backup/pod.ts`, ...); the builders never ask which feature a part came from.
 */
import * as k8s from "@pulumi/kubernetes";

type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Container = k8s.types.input.core.v1.Container;
type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** A pod volume and where the database container mounts it: declared together, so neither exists without the other. */
export interface MountedVolume {
    /** The volume's name in the pod. */
    name: string;
    /** Its source (secret, configMap, emptyDir, persistentVolumeClaim, ...). */
    source: Omit<Volume, "name">;
    /** Where the database container mounts it; absent for a volume only the part's own containers mount. */
    mountPath?: string;
    readOnly?: boolean;
}

export interface PodPart {
    volumes?: MountedVolume[];
    /** Appended to the database container's environment. */
    env?: EnvVar[];
    /** Containers that run, complete, before the database's; each sets its own security context. */
    initContainers?: Container[];
    /** Containers beside the database, complete with their mounts; the builder adds the restricted security context. */
    containers?: Container[];
    /** The pod template's annotations. */
    annotations?: Record<string, string>;
    /** Scripts for the scripts ConfigMap: part of the checksum that rolls the pods. */
    scripts?: Record<string, string>;
    /** Files for the config ConfigMap that the pods read at start: part of the checksum that rolls the pods. */
    configFiles?: Record<string, string>;
    /** Files for the config ConfigMap that the pods read live: never part of the checksum. */
    liveFiles?: Record<string, string>;
    /** What the database pods' NetworkPolicy admits for it (with `networkPolicy.enabled`). */
    ingress?: IngressRule[];
    /** Where the database pods' NetworkPolicy lets them connect for it. */
    egress?: EgressRule[];
}

/** The parts' files merged; a name given twice would silently shadow another part's file, so it throws. */
export function mergeFiles(what: string, ...sets: (Record<string, string> | undefined)[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const set of sets) {
        for (const [file, content] of Object.entries(set ?? {})) {
            if (file in out) throw new Error(`${what}: ${file} is given by two pod parts`);
            out[file] = content;
        }
    }
    return out;
}

export function partVolumes(parts: PodPart[]): Volume[] {
    return parts.flatMap((p) => p.volumes ?? []).map((v) => ({ name: v.name, ...v.source }));
}

export function partMounts(parts: PodPart[]): VolumeMount[] {
    return parts
        .flatMap((p) => p.volumes ?? [])
        .filter((v) => v.mountPath !== undefined)
        .map((v) => ({ name: v.name, mountPath: v.mountPath!, ...(v.readOnly ? { readOnly: true } : {}) }));
}
