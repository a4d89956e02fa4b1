/**
 * What a standby cluster adds to the pods (README, "Disaster recovery: standby cluster"):
 * - in the config ConfigMap, read live by the supervisor on every tick (never part of the checksum that rolls
 *   the pods, so that a promotion is a config change, not a restart): `standby-hosts` (the source's hosts,
 *   comma-separated; empty once promoted), `standby-port`, `standby-ca.crt` (the source's CA) and, with Patroni,
 *   `patroni-standby.json` (its standby_cluster setting, null once promoted: ./patroni.ts);
 * - the Secret `replicationSecretName`'s `replication-password` (the source's), mounted beside the cluster's
 *   own Secret, and RDB_REPLICATION_SECRET_DIR naming it: the scripts take the replication password from there.
 * Nothing at all without the `standby` arg.
 */
import * as k8s from "@pulumi/kubernetes";
import { ResolvedArgs } from "../args";
import { SECRET_KEYS } from "../naming";
import { patroniStandbyFile } from "./patroni";

export const STANDBY_CONFIG_KEYS = { hosts: "standby-hosts", port: "standby-port", ca: "standby-ca.crt" } as const;
export const REPLICATION_SECRET_VOLUME = "standby-replication";
export const REPLICATION_SECRET_MOUNT = "/etc/replicated-db/standby-replication";

/** The live config files; with `enabled` false `standby-hosts` is empty: the standby leader promotes. */
export function standbyConfigFiles(args: ResolvedArgs, scriptsDir: string): Record<string, string> {
    const sb = args.standby;
    if (!sb) return {};
    return {
        [STANDBY_CONFIG_KEYS.hosts]: sb.enabled ? sb.sourceHosts.join(",") : "",
        [STANDBY_CONFIG_KEYS.port]: String(sb.sourcePort),
        [STANDBY_CONFIG_KEYS.ca]: sb.sourceCaCertificate,
        ...patroniStandbyFile(args, scriptsDir),
    };
}

/** Whether the pods mount the source's replication password. */
function mountsReplicationSecret(args: ResolvedArgs): boolean {
    return (args.standby?.replicationSecretName ?? "") !== "";
}

export function standbyEnv(args: ResolvedArgs): k8s.types.input.core.v1.EnvVar[] {
    return mountsReplicationSecret(args) ? [{ name: "RDB_REPLICATION_SECRET_DIR", value: REPLICATION_SECRET_MOUNT }] : [];
}

export function standbyVolumeMounts(args: ResolvedArgs): k8s.types.input.core.v1.VolumeMount[] {
    return mountsReplicationSecret(args) ? [{ name: REPLICATION_SECRET_VOLUME, mountPath: REPLICATION_SECRET_MOUNT, readOnly: true }] : [];
}

export function standbyVolumes(args: ResolvedArgs): k8s.types.input.core.v1.Volume[] {
    if (!mountsReplicationSecret(args)) return [];
    return [
        {
            name: REPLICATION_SECRET_VOLUME,
            secret: {
                secretName: args.standby!.replicationSecretName,
                defaultMode: 0o440,
                items: [{ key: SECRET_KEYS.replication, path: SECRET_KEYS.replication }],
            },
        },
    ];
}
