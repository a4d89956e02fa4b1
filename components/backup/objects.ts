/**
 * Scheduled backups: one CronJob per backup type (full, and differential unless its schedule is ""), each
 * running the engine's backup command in the pod that is the primary right now (found by its role label, so it
 * follows a switchover or a failover), with a ServiceAccount that may only find the pods and exec into this
 * cluster's; and the repository claim for "volume" repositories. Nothing here ever deletes backups: the claim
 * is kept on delete unless `retainVolumesOnDelete` is false.
 */
import * as k8s from "@pulumi/kubernetes";
import { PACKAGE, PRIMARY_ROLE, ROLE_LABEL } from "../naming";
import { BuildContext } from "../core/context";
import { API_SERVER_PORTS, COMPONENT_LABEL, NetworkPolicySpec, cidrs, policyMetadata, tcp } from "../network/rules";

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

/** The CronJobs and their RBAC (after the StatefulSet: they exec into its pods). */
export function createBackups(ctx: BuildContext, statefulSet: k8s.apps.v1.StatefulSet): k8s.batch.v1.CronJob[] {
    const schedules = backupSchedules(ctx);
    if (schedules.length === 0) return [];
    const { args, names, parent, engine, paths, plan } = ctx;
    const metadata = (name: string, component: string) => ({ name, namespace: args.namespace, labels: ctx.labels(component) });
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${ctx.name}-backup-serviceaccount`,
        { metadata: metadata(names.backupServiceAccount, "backup"), automountServiceAccountToken: false },
        { parent },
    );
    const role = new k8s.rbac.v1.Role(
        `${ctx.name}-backup-role`,
        {
            metadata: metadata(names.backupServiceAccount, "backup"),
            rules: [
                // To find the primary by its label (list cannot be limited by name).
                { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
                // To run the backup in it: this cluster's pods only.
                { apiGroups: [""], resources: ["pods/exec"], verbs: ["create"], resourceNames: plan.pods.map((p) => p.name) },
            ],
        },
        { parent },
    );
    const binding = new k8s.rbac.v1.RoleBinding(
        `${ctx.name}-backup-rolebinding`,
        {
            metadata: metadata(names.backupServiceAccount, "backup"),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.backupServiceAccount },
            subjects: [{ kind: "ServiceAccount", name: names.backupServiceAccount, namespace: args.namespace }],
        },
        { parent, dependsOn: [role, serviceAccount] },
    );
    const policy = createBackupPolicy(ctx);
    const primarySelector = Object.entries({ ...ctx.selector, [ROLE_LABEL]: PRIMARY_ROLE })
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
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
                                        serviceAccountName: names.backupServiceAccount,
                                        automountServiceAccountToken: true,
                                        restartPolicy: "Never",
                                        securityContext: {
                                            runAsNonRoot: true,
                                            runAsUser: engine.uid,
                                            runAsGroup: engine.uid,
                                            seccompProfile: { type: "RuntimeDefault" },
                                        },
                                        containers: [
                                            {
                                                name: "backup",
                                                image: args.image,
                                                command: engine.backup.jobCommand(ctx, type),
                                                env: [
                                                    { name: "RDB_NAMESPACE", value: args.namespace },
                                                    { name: "RDB_PRIMARY_SELECTOR", value: primarySelector },
                                                    { name: "RDB_CONTAINER", value: String(ctx.topology.container(ctx).name) },
                                                    { name: "RDB_SCRIPTS_DIR", value: paths.scripts },
                                                    // kubectl keeps its discovery cache under $HOME.
                                                    { name: "HOME", value: "/tmp" },
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
                                                    { name: "tmp", mountPath: "/tmp" },
                                                ],
                                            },
                                        ],
                                        volumes: [
                                            { name: "scripts", configMap: { name: names.scriptsConfigMap, defaultMode: 0o555 } },
                                            // kubectl's discovery cache: a few hundred KiB.
                                            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
                                        ],
                                    },
                                },
                            },
                        },
                    },
                },
                { parent, dependsOn: [binding, statefulSet, ...(policy ? [policy] : [])] },
            ),
    );
    return cronJobs;
}

/**
 * The backup Jobs' NetworkPolicy `<cluster>-backup`, or undefined without scheduled backups: no ingress; egress to
 * the Kubernetes API only (they find the primary and exec into it through the API; kubectl reaches it by the IP in
 * KUBERNETES_SERVICE_HOST, so no DNS).
 */
export function backupPolicySpec(ctx: BuildContext): NetworkPolicySpec | undefined {
    const types = backupSchedules(ctx).map((s) => `backup-${s.type}`);
    if (types.length === 0) return undefined;
    return {
        // The backup pods carry no app.kubernetes.io/name (backupJobLabels): the instance and part-of labels
        // with the component pick them out.
        podSelector: {
            matchLabels: { "app.kubernetes.io/instance": ctx.args.clusterName, "app.kubernetes.io/part-of": PACKAGE },
            matchExpressions: [{ key: COMPONENT_LABEL, operator: "In", values: types }],
        },
        policyTypes: ["Ingress", "Egress"],
        // Nothing connects to a backup Job.
        ingress: [],
        egress: [{ to: cidrs(ctx.args.networkPolicy.apiServerCidrs), ports: API_SERVER_PORTS.map(tcp) }],
    };
}

/** The backup Jobs' policy with `networkPolicy.enabled`: created before the CronJobs, so that no Job runs outside it. */
export function createBackupPolicy(ctx: BuildContext): k8s.networking.v1.NetworkPolicy | undefined {
    const spec = ctx.args.networkPolicy.enabled ? backupPolicySpec(ctx) : undefined;
    if (!spec) return undefined;
    return new k8s.networking.v1.NetworkPolicy(`${ctx.name}-backup-networkpolicy`, { metadata: policyMetadata(ctx, ctx.names.backupNetworkPolicy), spec }, { parent: ctx.parent });
}
