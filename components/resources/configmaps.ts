/**
 * The ConfigMaps the pods read: the topology's scripts (mounted executable) and configuration files (and the
 * engine's backup ones, when the cluster uses a backup repository),
 * plus `pod-count` (the primary drops the slots of removed pods) and `primary-ordinal` (which pod is the
 * primary), both read live by the pods.
 */
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import { BuildContext } from "./context";
import { standbyConfigFiles } from "../standby/pod";
import { monitoringConfigFiles } from "./monitoring";

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

export function createConfigMaps(ctx: BuildContext): ConfigMaps {
    const { args, names, topology, parent } = ctx;
    // Only the chosen topology's files are shipped, and only they feed the checksum: editing another
    // topology's script must not restart these pods.
    const backup = args.backup.repositoryUsed ? ctx.engine.backup : undefined;
    const scriptFiles = { ...topology.scripts(), ...backup?.scripts() };
    const configFiles = { ...topology.configFiles(ctx), ...backup?.configFiles(ctx), ...monitoringConfigFiles(ctx) };
    const metadata = (name: string) => ({ name, namespace: args.namespace, labels: ctx.labels("config") });
    const scripts = new k8s.core.v1.ConfigMap(`${ctx.name}-scripts`, { metadata: metadata(names.scriptsConfigMap), data: scriptFiles }, { parent });
    const config = new k8s.core.v1.ConfigMap(
        `${ctx.name}-config`,
        {
            metadata: metadata(names.configConfigMap),
            // The standby's files are read live too (no restart): `standby.enabled: false` is a promotion.
            data: { ...configFiles, [POD_COUNT_KEY]: String(ctx.plan.podCount), [PRIMARY_ORDINAL_KEY]: String(args.primaryOrdinal), ...standbyConfigFiles(args, ctx.paths.scripts) },
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
