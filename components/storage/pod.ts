/** What static hostPath volumes add to the database pods: a root container that hands the volume to the server's uid. */
import * as k8s from "@pulumi/kubernetes";
import { DATA_VOLUME } from "../naming";
import { BuildContext } from "../core/context";
import { PodPart } from "../core/parts";

export function storagePart(ctx: BuildContext): PodPart {
    return ctx.args.staticVolumes?.type === "hostPath" ? { initContainers: [volumeOwner(ctx)] } : {};
}

export const VOLUME_OWNER_CONTAINER = "volume-owner";

/**
 * Kubernetes applies fsGroup to most volume types but never to hostPath, which the kubelet creates as a
 * root-owned directory: the server (uid 999) could not write its data. This container hands the directory
 * to that uid and does nothing else; it is the one place that runs as root, with CHOWN as its only
 * capability, and only with hostPath volumes (local clusters). It still breaks the "restricted" Pod Security
 * level, which a local dev cluster does not enforce; use "local" volumes or a provisioner where it does.
 */
function volumeOwner(ctx: BuildContext): k8s.types.input.core.v1.Container {
    const { args, engine } = ctx;
    return {
        name: VOLUME_OWNER_CONTAINER,
        image: args.image,
        command: ["chown", `${engine.uid}:${engine.uid}`, engine.dataMountPath],
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
        securityContext: {
            runAsUser: 0,
            runAsNonRoot: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"], add: ["CHOWN"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
        volumeMounts: [{ name: DATA_VOLUME, mountPath: engine.dataMountPath }],
    };
}

