/**
 * Volume growth for claims that the StatefulSet controller created (dynamic provisioning).
 *
 * The controller never touches a claim again once it exists, so a larger volumeClaimTemplate alone grows
 * nothing. A server-side-apply patch per claim sets the new request, and the StorageClass's resizer grows
 * the volume in place. A patch only ever owns the one field: removing it (a scale-down, a destroy) gives the
 * field up and never deletes the claim. Static claims are ours already and are updated directly.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BuildContext } from "./context";

export function createClaimResizes(ctx: BuildContext, statefulSet: pulumi.Resource): k8s.core.v1.PersistentVolumeClaimPatch[] {
    const { args, names, parent } = ctx;
    if (args.staticVolumes) {
        return [];
    }
    return ctx.plan.pods.map(
        ({ ordinal: i }) =>
            new k8s.core.v1.PersistentVolumeClaimPatch(
                `${ctx.name}-claim-size-${i}`,
                {
                    metadata: {
                        name: names.claim(i),
                        namespace: args.namespace,
                        // The controller that created the claim owns this field; take it over for the size.
                        annotations: { "pulumi.com/patchForce": "true" },
                    },
                    spec: { resources: { requests: { storage: args.storageSize } } },
                },
                // After the StatefulSet, whose controller creates the claims on first deployment.
                { parent, dependsOn: [statefulSet] },
            ),
    );
}
