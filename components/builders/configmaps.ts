/**
 * The ConfigMaps the pods read: the topology's and the pod parts' scripts (mounted executable) and
 * configuration files, the parts' live files, plus `pod-count` (the primary drops the slots of removed pods)
 * and `primary-ordinal` (which pod is the primary), both read live by the pods.
 */
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import { BuildContext } from "../core/context";
import { PodPart, mergeFiles } from "../core/parts";

export interface ConfigMaps {
    scripts: k8s.core.v1.ConfigMap;
    config: k8s.core.v1.ConfigMap;
    /**
     * A digest of what a running server only picks up on restart (scripts and server configuration, not the
     * pod count); the pod template carries it so that a change rolls the pods.
     */
    checksum: string;
}

export const POD_COUNT_KEY = "pod-count";
/** Read live by the pods (no restart): a change is a switchover. */
export const PRIMARY_ORDINAL_KEY = "primary-ordinal";

export function createConfigMaps(ctx: BuildContext, parts: PodPart[]): ConfigMaps {
    const { args, names, topology, parent } = ctx;
    // Only the chosen topology's and the used parts' files are shipped, and only they feed the checksum:
    // editing another topology's script must not restart these pods.
    const scriptFiles = mergeFiles("scripts ConfigMap", topology.scripts(), ...parts.map((p) => p.scripts));
    const configFiles = mergeFiles("config ConfigMap", topology.configFiles(ctx), ...parts.map((p) => p.configFiles));
    const liveFiles = mergeFiles(
        "config ConfigMap",
        { [POD_COUNT_KEY]: String(ctx.plan.podCount), [PRIMARY_ORDINAL_KEY]: String(args.primaryOrdinal) },
        ...parts.map((p) => p.liveFiles),
    );
    const metadata = (name: string) => ({ name, namespace: args.namespace, labels: ctx.labels("config") });
    const scripts = new k8s.core.v1.ConfigMap(`${ctx.name}-scripts`, { metadata: metadata(names.scriptsConfigMap), data: scriptFiles }, { parent });
    const config = new k8s.core.v1.ConfigMap(
        `${ctx.name}-config`,
        {
            metadata: metadata(names.configConfigMap),
            // Live files are read by the running pods: a change to them is applied without a restart.
            data: mergeFiles("config ConfigMap", configFiles, liveFiles),
        },
        { parent },
    );
    return { scripts, config, checksum: digest({ ...scriptFiles, ...configFiles }) };
}

export function digest(files: Record<string, string>): string {
    const hash = crypto.createHash("sha256");
    for (const key of Object.keys(files).sort()) {
        hash.update(key).update("\0").update(files[key]).update("\0");
    }
    return hash.digest("hex").slice(0, 16);
}
