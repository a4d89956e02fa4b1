/**
 * The StatefulSet (the primary at ordinal `primaryOrdinal`, 0 by default; replicas on the others) and its
 * PodDisruptionBudget.
 *
 * It is never replaced. Its volumeClaimTemplates, serviceName and selector cannot change in place; the last two
 * derive from fixed names, and the template is the first deployment's for good: the claims are the
 * component's own (storage.ts) and adopted by name, so the template's size is never read again, and a growth
 * updates the claims, not this object. That is what lets its deletion stop the pods: `pulumi destroy` deletes it
 * in the foreground, so the pods are gone before the ConfigMaps, Secrets, Services and RBAC they use.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Sidecar } from "../engines";
import { TERMINATION_GRACE_SECONDS } from "../limits";
import { DATA_VOLUME, TLS_KEYS, podSecretKeys } from "../naming";
import { exporterContainers, exporterVolumes, scrapeAnnotations } from "./monitoring";
import { BuildContext } from "./context";
import { standbyEnv, standbyVolumeMounts, standbyVolumes } from "../standby/pod";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** The backup repository's claim ("volume" repositories), shared by every pod: whichever is primary archives. */
export const BACKUP_REPOSITORY_VOLUME = "backup-repository";

/** The TLS Secret's files (`tls.enabled`), in the database container only. */
export const TLS_VOLUME = "tls";

/** The projected volume with the ServiceAccount token, mounted only where the topology says. */
const TOKEN_VOLUME = "kube-api-access";

export interface StatefulSetInputs {
    /** Rolls the pods when the scripts or the server configuration change. */
    configChecksum: string;
    dependsOn: pulumi.Resource[];
}

export function createStatefulSet(ctx: BuildContext, inputs: StatefulSetInputs): k8s.apps.v1.StatefulSet {
    const { args, names, parent } = ctx;
    return new k8s.apps.v1.StatefulSet(
        `${ctx.name}-statefulset`,
        {
            metadata: {
                name: names.statefulSet,
                namespace: args.namespace,
                labels: ctx.labels("database"),
                // Pulumi's deletion returns once the pods are gone: whatever they use is deleted after them.
                annotations: { [DELETION_POLICY_ANNOTATION]: "foreground" },
            },
            spec: {
                serviceName: names.headlessService,
                replicas: ctx.plan.podCount,
                // Replicas start alongside the primary and wait for it; OrderedReady would also make a
                // replica that cannot stream block the creation of every pod after it.
                podManagementPolicy: "Parallel",
                // The highest ordinal first, ordinal 0 (the primary by default) last: replicas take a new image or
                // configuration before the primary does.
                updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
                // Claims outlive the StatefulSet and scale-downs: data goes only when a person deletes it.
                persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
                selector: { matchLabels: ctx.selector },
                template: {
                    metadata: {
                        labels: ctx.labels("database"),
                        annotations: { "replicated-db.io/config-checksum": inputs.configChecksum, ...scrapeAnnotations(ctx) },
                    },
                    spec: podSpec(ctx),
                },
                volumeClaimTemplates: [
                    {
                        metadata: { name: DATA_VOLUME, labels: ctx.stableLabels("storage") },
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            ...(names.storageClass ? { storageClassName: names.storageClass } : {}),
                            resources: { requests: { storage: args.storageSize } },
                        },
                    },
                ],
            },
        },
        // ignoreChanges: a new storageSize would otherwise replace the StatefulSet (the API forbids a new
        // template in place), restarting every pod at once to change a field nothing reads any more.
        // deleteBeforeReplace: should anything else ever force a replacement, the fixed name must be free first.
        { parent, dependsOn: inputs.dependsOn, deleteBeforeReplace: true, ignoreChanges: [VOLUME_CLAIM_TEMPLATES] },
    );
}

export const DELETION_POLICY_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

/** The StatefulSet's field that keeps its first deployment's value (see the file's comment). */
export const VOLUME_CLAIM_TEMPLATES = "spec.volumeClaimTemplates";

function podSpec(ctx: BuildContext): PodSpec {
    const { args, names, engine, topology, paths } = ctx;
    const scratch = engine.scratchVolumes();
    const sidecars = topology.sidecars(ctx);
    const db = topology.container(ctx);
    const repositoryVolume = args.backup.repositoryUsed && args.backup.repositoryType === "volume";
    const tokenMount: VolumeMount = { name: TOKEN_VOLUME, mountPath: paths.serviceAccount, readOnly: true };
    const tlsOn = args.tls.enabled;
    const resources = {
        requests: { cpu: args.resources.cpuRequest, memory: args.resources.memoryRequest },
        limits: {
            memory: args.resources.memoryLimit,
            ...(args.resources.cpuLimit ? { cpu: args.resources.cpuLimit } : {}),
        },
    };
    return {
        serviceAccountName: names.serviceAccount,
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
        securityContext: {
            runAsNonRoot: true,
            runAsUser: engine.uid,
            runAsGroup: engine.uid,
            fsGroup: engine.uid,
            // Re-chowning a large volume at every start would delay each restart by minutes.
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
        },
        ...placement(ctx),
        ...(args.staticVolumes?.type === "hostPath" ? { initContainers: [volumeOwner(ctx)] } : {}),
        containers: [
            {
                ...db,
                env: [...((db.env as k8s.types.input.core.v1.EnvVar[] | undefined) ?? []), ...engine.backup.env(ctx), ...standbyEnv(args)],
                resources,
                securityContext: restrictedContainer(),
                volumeMounts: [
                    { name: DATA_VOLUME, mountPath: engine.dataMountPath },
                    { name: "scripts", mountPath: paths.scripts, readOnly: true },
                    { name: "config", mountPath: paths.config, readOnly: true },
                    { name: "secret", mountPath: paths.secret, readOnly: true },
                    // A standby cluster's replication password: its source's (components/standby/pod.ts).
                    ...standbyVolumeMounts(args),
                    ...(tlsOn ? [{ name: TLS_VOLUME, mountPath: paths.tls, readOnly: true }] : []),
                    { name: "run", mountPath: paths.run },
                    ...Object.entries(scratch).map(([name, dir]) => ({ name, mountPath: dir.mountPath })),
                    ...(topology.databaseApiToken ? [tokenMount] : []),
                    ...(repositoryVolume ? [{ name: BACKUP_REPOSITORY_VOLUME, mountPath: engine.backup.repositoryMountPath }] : []),
                ],
            },
            ...sidecars.map((s) => sidecar(ctx, s, tokenMount)),
            ...exporterContainers(ctx).map((c) => ({ ...c, securityContext: { ...restrictedContainer(), ...c.securityContext } })),
        ],
        volumes: [
            { name: "scripts", configMap: { name: names.scriptsConfigMap, defaultMode: 0o555 } },
            { name: "config", configMap: { name: names.configConfigMap, defaultMode: 0o444 } },
            {
                name: "secret",
                secret: {
                    secretName: names.secret,
                    defaultMode: 0o440,
                    items: [...podSecretKeys(args), ...topology.secretKeys].map((key) => ({ key, path: key })),
                },
            },
            ...standbyVolumes(args),
            // Owned by root with the server's group (fsGroup) and mode 0440: PostgreSQL accepts a key owned by root
            // that its group may read and nobody may write. The kubelet refreshes the files on renewal.
            ...(tlsOn
                ? [
                      {
                          name: TLS_VOLUME,
                          secret: {
                              secretName: names.tlsSecret,
                              defaultMode: 0o440,
                              items: Object.values(TLS_KEYS).map((key) => ({ key, path: key })),
                          },
                      },
                  ]
                : []),
            // Shared by the containers: state files the sidecars read, the passfile the server uses.
            { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
            ...Object.entries(scratch).map(([name, dir]) => ({ name, emptyDir: { sizeLimit: dir.sizeLimit } })),
            ...sidecars.flatMap((s) => Object.keys(s.scratch)).map((name) => ({ name, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } })),
            ...(repositoryVolume ? [{ name: BACKUP_REPOSITORY_VOLUME, persistentVolumeClaim: { claimName: names.backupClaim } }] : []),
            ...exporterVolumes(ctx),
            {
                name: TOKEN_VOLUME,
                projected: {
                    defaultMode: 0o444,
                    sources: [
                        { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
                        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
                        { downwardAPI: { items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }] } },
                    ],
                },
            },
        ],
    };
}

/** A topology's sidecar, with the restricted security context, read-only mounts of the volumes it reads and its own scratch. */
function sidecar(ctx: BuildContext, s: Sidecar, tokenMount: VolumeMount): Container {
    return {
        ...s.container,
        securityContext: restrictedContainer(),
        volumeMounts: [
            ...s.reads.map((volume) => ({ name: volume, mountPath: ctx.paths[volume], readOnly: true })),
            ...Object.entries(s.scratch).map(([name, mountPath]) => ({ name, mountPath })),
            ...(s.apiToken ? [tokenMount] : []),
        ],
    };
}

export const HOSTNAME_KEY = "kubernetes.io/hostname";
export const ZONE_KEY = "topology.kubernetes.io/zone";

/**
 * Where the pods may go (`podAntiAffinity`). "preferred" (the default) only weighs the scheduler's choice, so a
 * single-node dev cluster still runs every pod. "required" puts each pod on its own node and keeps the zones
 * within one pod of each other (4 pods over 3 zones: 2/1/1), so a lost node takes one pod and a lost zone at
 * most half of them. A zone spread, not a zone anti-affinity: with more pods than zones, one pod per zone could
 * never schedule them all. With DoNotSchedule the scheduler only places pods on nodes that carry the zone label.
 */
function placement(ctx: BuildContext): Pick<PodSpec, "affinity" | "topologySpreadConstraints"> {
    const labelSelector = { matchLabels: ctx.selector };
    const required = ctx.args.podAntiAffinity === "required";
    return {
        affinity: {
            podAntiAffinity: required
                ? { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME_KEY, labelSelector }] }
                : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: HOSTNAME_KEY, labelSelector } }] },
        },
        topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: required ? "DoNotSchedule" : "ScheduleAnyway", labelSelector },
        ],
    };
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

function restrictedContainer(): k8s.types.input.core.v1.SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/**
 * At most one pod down for a drain at a time, so that a node drain never takes the primary and a replica together.
 * A pod that is not Ready (crash-looping, stuck) may always be evicted: it serves nothing, and counting it
 * against the budget would block every node drain until someone deletes it by hand.
 */
export function createDisruptionBudget(ctx: BuildContext): k8s.policy.v1.PodDisruptionBudget {
    const { args, names, parent } = ctx;
    return new k8s.policy.v1.PodDisruptionBudget(
        `${ctx.name}-pdb`,
        {
            metadata: { name: names.podDisruptionBudget, namespace: args.namespace, labels: ctx.labels("database") },
            spec: { maxUnavailable: 1, selector: { matchLabels: ctx.selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" },
        },
        { parent },
    );
}
