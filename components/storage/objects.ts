/**
 * Storage: the optional StorageClass, one claim per pod and, for clusters without a dynamic provisioner, one
 * static PersistentVolume per claim, pre-bound to it.
 *
 * The claims are named as the StatefulSet's volumeClaimTemplate expects (`data-<statefulset>-<ordinal>`), so
 * the StatefulSet adopts them instead of creating its own. Owning them here is what lets a volume grow by
 * updating its claim in place, and what lets the StatefulSet keep its first volumeClaimTemplate for good
 * (builders/statefulset.ts): it is never replaced, so its deletion can stop the pods (`pulumi destroy`).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BuildContext } from "../core/context";

export interface Storage {
    storageClass?: k8s.storage.v1.StorageClass;
    volumes: k8s.core.v1.PersistentVolume[];
    claims: k8s.core.v1.PersistentVolumeClaim[];
}

export function createStorage(ctx: BuildContext, guard: pulumi.Resource): Storage {
    const { args, names, parent } = ctx;
    const storageClass = args.createStorageClass
        ? new k8s.storage.v1.StorageClass(
              `${ctx.name}-storageclass`,
              {
                  metadata: { name: names.storageClass, labels: ctx.stableLabels("storage") },
                  provisioner: args.storageProvisioner,
                  // Retain: deleting a claim must never delete the data behind it.
                  reclaimPolicy: "Retain",
                  allowVolumeExpansion: true,
                  // Binds a volume only once the pod is scheduled, so that it lands where the pod can run.
                  volumeBindingMode: "WaitForFirstConsumer",
              },
              { parent },
          )
        : undefined;

    const volumes: k8s.core.v1.PersistentVolume[] = [];
    const claims: k8s.core.v1.PersistentVolumeClaim[] = [];
    // Deleting the component must not delete data unless the user asked for it.
    const keep: pulumi.CustomResourceOptions = {
        parent,
        retainOnDelete: args.retainVolumesOnDelete,
        dependsOn: storageClass ? [guard, storageClass] : [guard],
    };
    const claim = (i: number, volume?: k8s.core.v1.PersistentVolume) =>
        new k8s.core.v1.PersistentVolumeClaim(
            `${ctx.name}-pvc-${i}`,
            {
                metadata: {
                    name: names.claim(i),
                    namespace: args.namespace,
                    labels: ctx.stableLabels("storage"),
                    // Pulumi would otherwise wait for a binding that, with WaitForFirstConsumer, only
                    // happens once the StatefulSet's pod exists, which waits on this claim.
                    annotations: { "pulumi.com/skipAwait": "true" },
                },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    // An empty class name would ask for no class at all; absent, the cluster's default class.
                    ...(names.storageClass ? { storageClassName: names.storageClass } : {}),
                    ...(volume ? { volumeName: names.volume(i) } : {}),
                    resources: { requests: { storage: args.storageSize } },
                },
            },
            volume ? { ...keep, dependsOn: [volume] } : keep,
        );
    const sv = args.staticVolumes;
    if (!sv) {
        for (const { ordinal: i } of ctx.plan.pods) claims.push(claim(i));
        return { storageClass, volumes, claims };
    }
    for (const { ordinal: i } of ctx.plan.pods) {
        const node = sv.nodeNames.length ? sv.nodeNames[i % sv.nodeNames.length] : undefined;
        const dir = `${sv.basePath}/${args.namespace}-${args.clusterName}-${i}`;
        const pv = new k8s.core.v1.PersistentVolume(
            `${ctx.name}-pv-${i}`,
            {
                metadata: { name: names.volume(i), labels: ctx.stableLabels("storage") },
                spec: {
                    capacity: { storage: args.storageSize },
                    accessModes: ["ReadWriteOnce"],
                    persistentVolumeReclaimPolicy: "Retain",
                    storageClassName: names.storageClass,
                    volumeMode: "Filesystem",
                    // Reserves the volume for its claim so that no other claim can take it first.
                    claimRef: { namespace: args.namespace, name: names.claim(i) },
                    ...(sv.type === "local" ? { local: { path: dir } } : { hostPath: { path: dir, type: "DirectoryOrCreate" } }),
                    ...(node
                        ? {
                              nodeAffinity: {
                                  required: {
                                      nodeSelectorTerms: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [node] }] }],
                                  },
                              },
                          }
                        : {}),
                },
            },
            keep,
        );
        volumes.push(pv);
        claims.push(claim(i, pv));
    }
    return { storageClass, volumes, claims };
}
