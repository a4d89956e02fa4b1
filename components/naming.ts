/**
 * Names and labels of every object, derived from the resolved args in one place so that they stay stable:
 * renaming an object replaces it, and for volumes that would orphan data.
 */
import { ResolvedArgs } from "./args";

export const PACKAGE = "replicated-db";
/** The label each pod gets, at run time, from the role its database reports (set as the topology decides). */
export const ROLE_LABEL = "replicated-db.io/role";
export const PRIMARY_ROLE = "primary";
export const REPLICA_ROLE = "replica";
/** The name of the StatefulSet's volumeClaimTemplate; claims are `<template>-<statefulset>-<ordinal>`. */
export const DATA_VOLUME = "data";
/** The well-known node labels that pods spread over: one node, one zone. */
export const HOSTNAME_KEY = "kubernetes.io/hostname";
export const ZONE_KEY = "topology.kubernetes.io/zone";

/** The Secret keys every engine reads its passwords from. */
export const SECRET_KEYS = {
    superuser: "superuser-password",
    replication: "replication-password",
    app: "app-password",
    rewind: "rewind-password",
} as const;

/**
 * The role `pg_rewind` (manual mode) and Patroni's `authentication.rewind` log in as on the new primary: it may
 * run CHECKPOINT (pg_checkpoint) and read the data directory's files through the four functions pg_rewind calls,
 * nothing else (no superuser, no table, no write). Not configurable: the component's own, refused as an app,
 * replication or monitoring role.
 */
export const REWIND_ROLE = "rewind";

/**
 * The role the backup Jobs log in as (`backup.enabled`): it may request a backup of the primary and read that
 * request's outcome (two functions, nothing else); the primary's own supervisor runs the backup. Its password is
 * the Secret's `backup-password`. Not configurable, and refused as an app, replication or monitoring role.
 */
export const BACKUP_ROLE = "backup";
export const BACKUP_SECRET_KEY = "backup-password";

/** The Secret key of the pooler role's password (`pooler.enabled` only; not in SECRET_KEYS, which every cluster mounts). */
export const POOLER_SECRET_KEY = "pooler-password";
/** The pooled Services: `rw` in front of the read-write Service, `ro` in front of the read-only one. */
export type PooledService = "rw" | "ro";
/** The Secret key of the monitoring role's password (`monitoring.enabled` only). */
export const MONITORING_SECRET_KEY = "monitoring-password";

/**
 * The Secret's keys the database container reads: the passwords every cluster has, the monitoring role's when
 * monitoring is on, the pooler role's when the pooler is on, the backup role's when backups are on.
 */
export function podSecretKeys(args: Pick<ResolvedArgs, "monitoring" | "pooler" | "backup">): string[] {
    return [
        ...Object.values(SECRET_KEYS),
        ...(args.monitoring.enabled ? [MONITORING_SECRET_KEY] : []),
        ...(args.pooler.enabled ? [POOLER_SECRET_KEY] : []),
        ...(args.backup.enabled ? [BACKUP_SECRET_KEY] : []),
    ];
}

/** The keys of the TLS Secret the pods mount, as `kubernetes.io/tls` Secrets and cert-manager name them. */
export const TLS_KEYS = { cert: "tls.crt", key: "tls.key", ca: "ca.crt" } as const;

export interface Names {
    statefulSet: string;
    headlessService: string;
    readWriteService: string;
    readOnlyService: string;
    secret: string;
    scriptsConfigMap: string;
    configConfigMap: string;
    serviceAccount: string;
    role: string;
    roleBinding: string;
    podDisruptionBudget: string;
    /** The NetworkPolicy around the database pods. */
    networkPolicy: string;
    /** The NetworkPolicy around the backup Jobs' pods. */
    backupNetworkPolicy: string;
    /** The TLS Secret the pods mount: `<cluster>-tls` (generated or cert-manager's), or the user's `tls.secretName`. */
    tlsSecret: string;
    /** The cert-manager Certificate (`tls.source: certManager`). */
    certificate: string;
    /** The TLS Secret the pooler's pods mount: `<cluster>-pooler-tls`, or the user's `tls.poolerSecretName`. */
    poolerTlsSecret: string;
    /** The pooler's cert-manager Certificate (`tls.source: certManager`). */
    poolerCertificate: string;
    /** The backup repository's claim ("volume" repositories): the user's, or `<cluster>-backups`. */
    backupClaim: string;
    /** The backup CronJob of a backup type ("full", "diff"). */
    backupCronJob(type: string): string;
    /** The pooler's Deployment, Service, PodDisruptionBudget and ConfigMap in front of one Service. */
    pooler(service: PooledService): string;
    /** The ConfigMap with PgBouncer's configuration files and the pooler container's script. */
    poolerConfigMap: string;
    /** The NetworkPolicy around the pooler pods. */
    poolerNetworkPolicy: string;
    /** The alert rules' ConfigMap (a Prometheus rules file), without the Prometheus Operator. */
    alertRulesConfigMap: string;
    /** The Grafana dashboard's ConfigMap (`monitoring.grafanaDashboard`). */
    dashboardConfigMap: string;
    /** The PodMonitor and the PrometheusRule (`monitoring.prometheusOperator`). */
    podMonitor: string;
    prometheusRule: string;
    /** The StorageClass to use ("" for the cluster default). */
    storageClass: string;
    pod(ordinal: number): string;
    /** The DNS name of a pod through the headless Service. */
    podHost(ordinal: number): string;
    serviceHost(service: string): string;
    claim(ordinal: number): string;
    volume(ordinal: number): string;
}

/** `topology` supplies the RBAC objects' suffix: what the pods' ServiceAccount may do differs by topology. */
export function names(args: ResolvedArgs, topology: { rbacSuffix: string }): Names {
    const c = args.clusterName;
    const ns = args.namespace;
    const headless = `${c}-headless`;
    return {
        statefulSet: c,
        headlessService: headless,
        readWriteService: `${c}-rw`,
        readOnlyService: `${c}-ro`,
        secret: args.existingSecretName || `${c}-credentials`,
        scriptsConfigMap: `${c}-scripts`,
        configConfigMap: `${c}-settings`,
        serviceAccount: c,
        // What the pods' ServiceAccount may do differs by topology, and so does the name that says it.
        role: `${c}-${topology.rbacSuffix}`,
        roleBinding: `${c}-${topology.rbacSuffix}`,
        podDisruptionBudget: c,
        networkPolicy: c,
        backupNetworkPolicy: `${c}-backup`,
        tlsSecret: args.tls.mountedSecretName,
        poolerTlsSecret: args.tls.mountedPoolerSecretName,
        poolerCertificate: `${c}-pooler`,
        certificate: c,
        backupClaim: args.backup.volumeClaimName || `${c}-backups`,
        backupCronJob: (type) => `${c}-backup-${type}`,
        pooler: (service) => `${c}-pooler-${service}`,
        poolerConfigMap: `${c}-pooler`,
        poolerNetworkPolicy: `${c}-pooler`,
        alertRulesConfigMap: `${c}-alert-rules`,
        dashboardConfigMap: `${c}-dashboard`,
        podMonitor: c,
        prometheusRule: c,
        // Cluster-scoped: the namespace keeps two clusters of the same name apart.
        storageClass: args.createStorageClass ? `${ns}-${c}` : args.storageClassName,
        pod: (i) => `${c}-${i}`,
        podHost: (i) => `${c}-${i}.${headless}.${ns}.svc.${args.clusterDomain}`,
        serviceHost: (service) => `${service}.${ns}.svc.${args.clusterDomain}`,
        claim: (i) => `${DATA_VOLUME}-${c}-${i}`,
        volume: (i) => `${ns}-${c}-${DATA_VOLUME}-${i}`,
    };
}

/** The labels that select this cluster's pods. Immutable on a StatefulSet: never add to them. */
export function selectorLabels(args: ResolvedArgs, engineName: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": engineName,
        "app.kubernetes.io/instance": args.clusterName,
    };
}

/** The recommended labels (app.kubernetes.io/*) that every object carries. */
export function commonLabels(args: ResolvedArgs, engineName: string, component: string): Record<string, string> {
    const tag = imageTag(args.image);
    return {
        ...selectorLabels(args, engineName),
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PACKAGE,
        "app.kubernetes.io/managed-by": "pulumi",
        ...(tag ? { "app.kubernetes.io/version": tag } : {}),
    };
}

/** The tag of an image reference, if it is a valid label value; digests and odd tags are left out. */
export function imageTag(image: string): string | undefined {
    const withoutDigest = image.split("@")[0];
    const slash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.lastIndexOf(":");
    if (colon <= slash) {
        return undefined;
    }
    const tag = withoutDigest.slice(colon + 1);
    return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(tag) ? tag : undefined;
}
