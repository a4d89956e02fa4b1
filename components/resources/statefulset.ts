/**
 * The StatefulSet (the primary at ordinal `primaryOrdinal`, 0 by default; replicas on the others) and its
 * PodDisruptionBudget.
 *
 * Its `metadata.name` is fixed: volumeClaimTemplates, serviceName and selector cannot change in place, and a
 * replaced StatefulSet of the same name adopts the same claims, so the data survives a replacement.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DATA_VOLUME, ROLE_LABEL, SECRET_KEYS } from "../naming";
import { BuildContext } from "./context";

type PodSpec = k8s.types.input.core.v1.PodSpec;

export const LABELER_CONTAINER = "role-labeler";
const SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/** The ServiceAccount token, mounted only into the one container that talks to the API. */
const TOKEN_MOUNT = { name: "kube-api-access", mountPath: SERVICEACCOUNT_DIR, readOnly: true };

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
                // A changed volumeClaimTemplate (a new storageSize) makes Pulumi replace the StatefulSet, as
                // the API forbids changing it in place. Orphaning leaves the pods running through that; the
                // new StatefulSet, of the same name and selector, adopts them and their claims.
                annotations: { [DELETION_POLICY_ANNOTATION]: "orphan" },
            },
            spec: {
                serviceName: names.headlessService,
                replicas: args.replicas + 1,
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
                        annotations: { "replicated-db.io/config-checksum": inputs.configChecksum },
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
        // The name is fixed, so the old object must go before its replacement can be created.
        { parent, dependsOn: inputs.dependsOn, deleteBeforeReplace: true },
    );
}

export const DELETION_POLICY_ANNOTATION = "pulumi.com/deletionPropagationPolicy";

function podSpec(ctx: BuildContext): PodSpec {
    const { args, names, engine, paths } = ctx;
    const scratch = engine.scratchVolumes();
    const db = engine.container(ctx);
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
        // Long enough for a fast shutdown to finish a checkpoint on a busy primary.
        terminationGracePeriodSeconds: 60,
        securityContext: {
            runAsNonRoot: true,
            runAsUser: engine.uid,
            runAsGroup: engine.uid,
            fsGroup: engine.uid,
            // Re-chowning a large volume at every start would delay each restart by minutes.
            fsGroupChangePolicy: "OnRootMismatch",
            seccompProfile: { type: "RuntimeDefault" },
        },
        affinity: {
            // Soft: on a single-node cluster the pods must still schedule; on many nodes they spread.
            podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                    { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: ctx.selector } } },
                ],
            },
        },
        ...(args.staticVolumes?.type === "hostPath" ? { initContainers: [volumeOwner(ctx)] } : {}),
        containers: [
            {
                ...db,
                resources,
                securityContext: restrictedContainer(),
                volumeMounts: [
                    { name: DATA_VOLUME, mountPath: engine.dataMountPath },
                    { name: "scripts", mountPath: paths.scripts, readOnly: true },
                    { name: "config", mountPath: paths.config, readOnly: true },
                    { name: "secret", mountPath: paths.secret, readOnly: true },
                    { name: "run", mountPath: paths.run },
                    ...Object.entries(scratch).map(([name, mountPath]) => ({ name, mountPath })),
                    // Patroni talks to the Kubernetes API itself; without it only the sidecar holds a token.
                    ...(args.automatedFailover ? [TOKEN_MOUNT] : []),
                ],
            },
            ...(args.automatedFailover ? [] : [labeler(ctx)]),
        ],
        volumes: [
            { name: "scripts", configMap: { name: names.scriptsConfigMap, defaultMode: 0o555 } },
            { name: "config", configMap: { name: names.configConfigMap, defaultMode: 0o444 } },
            {
                name: "secret",
                secret: {
                    secretName: names.secret,
                    defaultMode: 0o440,
                    items: Object.values(SECRET_KEYS).map((key) => ({ key, path: key })),
                },
            },
            // Shared by both containers: the role file the sidecar reads, the passfile the server uses.
            { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
            ...Object.keys(scratch).map((name) => ({ name, emptyDir: {} })),
            {
                name: "kube-api-access",
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

/** The sidecar that labels its pod with the role its database reports (script-driven mode only). */
function labeler(ctx: BuildContext): k8s.types.input.core.v1.Container {
    const { args, paths } = ctx;
    const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
    return {
        name: LABELER_CONTAINER,
        image: args.labelerImage,
        command: ["/bin/sh", `${paths.scripts}/role-labeler.sh`],
        env: [
            { name: "POD_NAME", ...field("metadata.name") },
            { name: "POD_NAMESPACE", ...field("metadata.namespace") },
            { name: "RDB_RUN_DIR", value: paths.run },
            { name: "RDB_ROLE_LABEL", value: ROLE_LABEL },
            { name: "RDB_LABEL_INTERVAL", value: "5" },
            { name: "RDB_SERVICEACCOUNT_DIR", value: SERVICEACCOUNT_DIR },
        ],
        resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "32Mi" } },
        securityContext: restrictedContainer(),
        volumeMounts: [
            { name: "scripts", mountPath: paths.scripts, readOnly: true },
            { name: "run", mountPath: paths.run, readOnly: true },
            TOKEN_MOUNT,
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

/** At most one pod down for a drain at a time, so that a node drain never takes the primary and a replica together. */
export function createDisruptionBudget(ctx: BuildContext): k8s.policy.v1.PodDisruptionBudget {
    const { args, names, parent } = ctx;
    return new k8s.policy.v1.PodDisruptionBudget(
        `${ctx.name}-pdb`,
        {
            metadata: { name: names.podDisruptionBudget, namespace: args.namespace, labels: ctx.labels("database") },
            spec: { maxUnavailable: 1, selector: { matchLabels: ctx.selector } },
        },
        { parent },
    );
}
