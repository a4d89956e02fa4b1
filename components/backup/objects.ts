/**
 * Scheduled backups: one CronJob per backup type (full, and differential unless its schedule is ""), each asking
 * the pod that is the primary right now (libpq's read-write target over every pod, so it follows a switchover or
 * a failover) for a backup, as the backup role, with no Kubernetes token; and the repository claim for "volume"
 * repositories. Nothing here ever deletes backups: the claim
 * is kept on delete unless `retainVolumesOnDelete` is false.
 */
import * as k8s from "@pulumi/kubernetes";
import { BACKUP_ROLE, BACKUP_SECRET_KEY, PACKAGE, TLS_KEYS } from "../naming";
import { BuildContext } from "../core/context";
import { COMPONENT_LABEL, NetworkPolicySpec, databasePodLabels, policyMetadata, policyPeer, tcp } from "../network/rules";
import { TLS_DIR, tlsFiles } from "../tls/files";

/**
 * The labels of a backup CronJob, its Jobs and their pods: the recommended ones without the selector's
 * `app.kubernetes.io/name`, so that nothing that selects the database pods (the StatefulSet, the Services, the
 * PodDisruptionBudget, Patroni's member list, the database pods' NetworkPolicy) counts a backup pod among them.
 */
export function backupJobLabels(ctx: BuildContext, type: string): Record<string, string> {
    const { ["app.kubernetes.io/name"]: _engine, ...rest } = ctx.labels(`backup-${type}`);
    return rest;
}

/** The backup types and their schedules, in the order the CronJobs are created. */
export function backupSchedules(ctx: BuildContext): { type: string; schedule: string }[] {
    const b = ctx.args.backup;
    if (!b.enabled) return [];
    return [{ type: "full", schedule: b.fullSchedule }, ...(b.diffSchedule ? [{ type: "diff", schedule: b.diffSchedule }] : [])];
}

export function createBackupClaim(ctx: BuildContext): k8s.core.v1.PersistentVolumeClaim | undefined {
    const { args, names, parent } = ctx;
    const b = args.backup;
    if (!b.repositoryUsed || b.repositoryType !== "volume" || b.volumeClaimName !== "") return undefined;
    return new k8s.core.v1.PersistentVolumeClaim(
        `${ctx.name}-backup-repository`,
        {
            metadata: { name: names.backupClaim, namespace: args.namespace, labels: ctx.stableLabels("backup-repository") },
            spec: {
                // Every pod mounts it (whichever is primary archives), on any node.
                accessModes: ["ReadWriteMany"],
                ...(b.volumeStorageClassName ? { storageClassName: b.volumeStorageClassName } : {}),
                resources: { requests: { storage: b.volumeSize } },
            },
        },
        { parent, retainOnDelete: args.retainVolumesOnDelete },
    );
}

/**
 * The CronJobs (after the StatefulSet, whose primary they ask). A Job's pod holds no Kubernetes token and has no
 * RBAC at all: it logs into the primary as the backup role (the Secret's `backup-password`, the one key it
 * mounts), verifying the server against the cluster's CA with TLS on, and asks for a backup; the primary's own
 * supervisor runs it and records the outcome, which the Job waits for (backup-job.sh).
 */
export function createBackups(ctx: BuildContext, statefulSet: k8s.apps.v1.StatefulSet): k8s.batch.v1.CronJob[] {
    const schedules = backupSchedules(ctx);
    if (schedules.length === 0) return [];
    const { args, names, parent, engine, paths, plan } = ctx;
    const policy = createBackupPolicy(ctx);
    const tlsDir = TLS_DIR;
    const cronJobs = schedules.map(
        ({ type, schedule }) =>
            new k8s.batch.v1.CronJob(
                `${ctx.name}-backup-${type}`,
                {
                    metadata: { name: names.backupCronJob(type), namespace: args.namespace, labels: backupJobLabels(ctx, type) },
                    spec: {
                        schedule,
                        timeZone: "Etc/UTC",
                        // One backup at a time; a missed run is skipped rather than piled up.
                        concurrencyPolicy: "Forbid",
                        startingDeadlineSeconds: 3600,
                        successfulJobsHistoryLimit: 3,
                        // Failed Jobs stay visible (kubectl get jobs) until three newer ones failed.
                        failedJobsHistoryLimit: 3,
                        jobTemplate: {
                            metadata: { labels: backupJobLabels(ctx, type) },
                            spec: {
                                // One retry: a backup that fails twice is a failed Job, for a person to see.
                                backoffLimit: 1,
                                // With concurrencyPolicy Forbid, a hung backup would block every later one: the Job is
                                // ended after this long (docs/backups.md), which fails it visibly and lets the next run.
                                activeDeadlineSeconds: args.backup.jobDeadlineSeconds,
                                template: {
                                    metadata: { labels: backupJobLabels(ctx, type) },
                                    spec: {
                                        // No token: the Job never talks to the Kubernetes API.
                                        automountServiceAccountToken: false,
                                        restartPolicy: "Never",
                                        securityContext: {
                                            runAsNonRoot: true,
                                            runAsUser: engine.uid,
                                            runAsGroup: engine.uid,
                                            fsGroup: engine.uid,
                                            seccompProfile: { type: "RuntimeDefault" },
                                        },
                                        containers: [
                                            {
                                                name: "backup",
                                                image: args.image,
                                                command: engine.backup.jobCommand(ctx, type),
                                                env: [
                                                    // Every pod by name, in order; libpq finds the one that takes writes.
                                                    { name: "RDB_BACKUP_HOSTS", value: plan.pods.map((p) => names.podHost(p.ordinal)).join(",") },
                                                    { name: "RDB_BACKUP_PORT", value: String(engine.port) },
                                                    { name: "RDB_BACKUP_USER", value: BACKUP_ROLE },
                                                    { name: "RDB_SECRET_DIR", value: paths.secret },
                                                    { name: "RDB_SCRIPTS_DIR", value: paths.scripts },
                                                    { name: "RDB_TLS_CA", value: args.tls.enabled ? tlsFiles(tlsDir).ca : "" },
                                                ],
                                                resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
                                                securityContext: {
                                                    allowPrivilegeEscalation: false,
                                                    readOnlyRootFilesystem: true,
                                                    runAsNonRoot: true,
                                                    capabilities: { drop: ["ALL"] },
                                                },
                                                volumeMounts: [
                                                    { name: "scripts", mountPath: paths.scripts, readOnly: true },
                                                    { name: "secret", mountPath: paths.secret, readOnly: true },
                                                    ...(args.tls.enabled ? [{ name: "tls", mountPath: tlsDir, readOnly: true }] : []),
                                                ],
                                            },
                                        ],
                                        volumes: [
                                            { name: "scripts", configMap: { name: names.scriptsConfigMap, defaultMode: 0o555 } },
                                            // The backup role's password only, not the Secret's other keys.
                                            { name: "secret", secret: { secretName: names.secret, defaultMode: 0o440, items: [{ key: BACKUP_SECRET_KEY, path: BACKUP_SECRET_KEY }] } },
                                            // The CA only, not the server's key.
                                            ...(args.tls.enabled
                                                ? [{ name: "tls", secret: { secretName: names.tlsSecret, defaultMode: 0o444, items: [{ key: TLS_KEYS.ca, path: TLS_KEYS.ca }] } }]
                                                : []),
                                        ],
                                    },
                                },
                            },
                        },
                    },
                },
                { parent, dependsOn: [statefulSet, ...(policy ? [policy] : [])] },
            ),
    );
    return cronJobs;
}

/** The backup Jobs' pods, as a NetworkPolicy selects them. */
export function backupJobPodSelector(ctx: BuildContext): k8s.types.input.meta.v1.LabelSelector | undefined {
    const types = backupSchedules(ctx).map((s) => `backup-${s.type}`);
    if (types.length === 0) return undefined;
    // The backup pods carry no app.kubernetes.io/name (backupJobLabels): the instance and part-of labels with the
    // component pick them out.
    return {
        matchLabels: { "app.kubernetes.io/instance": ctx.args.clusterName, "app.kubernetes.io/part-of": PACKAGE },
        matchExpressions: [{ key: COMPONENT_LABEL, operator: "In", values: types }],
    };
}

/**
 * The backup Jobs' NetworkPolicy `<cluster>-backup`, or undefined without scheduled backups: no ingress; egress to
 * the database pods' port (they log into the primary) and to DNS (they reach the pods by name).
 */
export function backupPolicySpec(ctx: BuildContext): NetworkPolicySpec | undefined {
    const podSelector = backupJobPodSelector(ctx);
    if (!podSelector) return undefined;
    const np = ctx.args.networkPolicy;
    return {
        podSelector,
        policyTypes: ["Ingress", "Egress"],
        // Nothing connects to a backup Job.
        ingress: [],
        egress: [
            { to: [{ podSelector: { matchLabels: databasePodLabels(ctx) } }], ports: [tcp(ctx.engine.port)] },
            { to: np.dnsServers.map(policyPeer), ports: [{ protocol: "UDP", port: np.dnsPort }, tcp(np.dnsPort)] },
        ],
    };
}

/** The backup Jobs' policy with `networkPolicy.enabled`: created before the CronJobs, so that no Job runs outside it. */
export function createBackupPolicy(ctx: BuildContext): k8s.networking.v1.NetworkPolicy | undefined {
    const spec = ctx.args.networkPolicy.enabled ? backupPolicySpec(ctx) : undefined;
    if (!spec) return undefined;
    return new k8s.networking.v1.NetworkPolicy(`${ctx.name}-backup-networkpolicy`, { metadata: policyMetadata(ctx, ctx.names.backupNetworkPolicy), spec }, { parent: ctx.parent });
}
