/**
 * What the kubelet derives from a pod's objects (the render's, or the API's with ClusterOptions.fromApiNamespace):
 * the container's env with its references resolved, and the files of each ConfigMap and Secret volume. Pure; no
 * process is started here.
 */
import { Manifest } from "../../render/manifests";

export interface PodObjects {
    statefulSet: Manifest;
    configMaps: Map<string, Record<string, string>>;
    secrets: Map<string, Record<string, string>>;
}

export function podObjects(manifests: Manifest[]): PodObjects {
    const statefulSet = manifests.find((m) => m.kind === "StatefulSet");
    if (!statefulSet) throw new Error("the render has no StatefulSet");
    const configMaps = new Map(manifests.filter((m) => m.kind === "ConfigMap").map((m) => [m.metadata.name, m.data ?? {}]));
    const secrets = new Map(
        manifests
            .filter((m) => m.kind === "Secret")
            .map((m) => [
                m.metadata.name,
                {
                    ...Object.fromEntries(Object.entries<string>(m.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")])),
                    ...(m.stringData ?? {}),
                },
            ]),
    );
    return { statefulSet, configMaps, secrets };
}

export function container(objects: PodObjects, name: string): any {
    const spec = objects.statefulSet.spec.template.spec;
    const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name);
    if (!c) throw new Error(`no container ${name}`);
    return c;
}

/** The container's env as the kubelet would set it for the pod `podName` in `namespace`. */
export function resolveEnv(objects: PodObjects, c: any, podName: string, namespace: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
        if (e.value !== undefined) {
            env[e.name] = String(e.value);
            continue;
        }
        // An empty value is stored by the API server without its `value` (omitempty): the kubelet sets "".
        if (e.valueFrom === undefined) {
            env[e.name] = "";
            continue;
        }
        const from = e.valueFrom;
        if (from.fieldRef) {
            const fields: Record<string, string> = { "metadata.name": podName, "metadata.namespace": namespace };
            if (!(from.fieldRef.fieldPath in fields)) throw new Error(`unsupported fieldRef ${from.fieldRef.fieldPath}`);
            env[e.name] = fields[from.fieldRef.fieldPath];
        } else if (from.configMapKeyRef) {
            env[e.name] = lookup(objects.configMaps, from.configMapKeyRef, "ConfigMap");
        } else if (from.secretKeyRef) {
            env[e.name] = lookup(objects.secrets, from.secretKeyRef, "Secret");
        } else {
            throw new Error(`unsupported env source for ${e.name}`);
        }
    }
    return env;
}

function lookup(store: Map<string, Record<string, string>>, ref: { name: string; key: string }, kind: string): string {
    const value = store.get(ref.name)?.[ref.key];
    if (value === undefined) throw new Error(`${kind} ${ref.name} has no key ${ref.key}`);
    return value;
}

/** The files a volume of the pod holds, by file name, or undefined for emptyDir and claims. */
export function volumeFiles(objects: PodObjects, volumeName: string): Record<string, string> | undefined {
    const v = objects.statefulSet.spec.template.spec.volumes.find((x: any) => x.name === volumeName);
    if (!v) return undefined;
    const pick = (data: Record<string, string>, items?: { key: string; path: string }[]) =>
        items ? Object.fromEntries(items.map((i) => [i.path, data[i.key]])) : data;
    if (v.configMap) return pick(objects.configMaps.get(v.configMap.name) ?? {}, v.configMap.items);
    if (v.secret) return pick(objects.secrets.get(v.secret.secretName) ?? {}, v.secret.items);
    return undefined;
}
