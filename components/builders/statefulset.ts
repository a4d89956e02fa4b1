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
import { Sidecar } from "../core/topology";
import { TERMINATION_GRACE_SECONDS } from "../limits";
import { DATA_VOLUME, HOSTNAME_KEY, ZONE_KEY, podSecretKeys } from "../naming";
import { BuildContext } from "../core/context";
import { PodPart, partMounts, partVolumes } from "../core/parts";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type Container = k8s.types.input.core.v1.Container;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

/** The projected volume with the ServiceAccount token, mounted only where the topology says. */
const TOKEN_VOLUME = "kube-api-access";

export interface StatefulSetInputs {
    /** Rolls the pods when the scripts or the server configuration change. */
    configChecksum: string;
    /** What the features add to the pods (core/parts.ts), in this order. */
    parts: PodPart[];
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
                        annotations: { "replicated-db.io/config-checksum": inputs.configChecksum, ...Object.assign({}, ...inputs.parts.map((p) => p.annotations ?? {})) },
                    },
                    spec: podSpec(ctx, inputs.parts),
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

function podSpec(ctx: BuildContext, parts: PodPart[]): PodSpec {
    const { args, names, engine, topology, paths } = ctx;
    const scratch = engine.scratchVolumes();
    const sidecars = topology.sidecars(ctx);
    const db = topology.container(ctx);
    const tokenMount: VolumeMount = { name: TOKEN_VOLUME, mountPath: paths.serviceAccount, readOnly: true };
    const initContainers = parts.flatMap((p) => p.initContainers ?? []);
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
        ...(initContainers.length > 0 ? { initContainers } : {}),
        containers: [
            {
                ...db,
                env: [...((db.env as k8s.types.input.core.v1.EnvVar[] | undefined) ?? []), ...parts.flatMap((p) => p.env ?? [])],
                resources,
                securityContext: restrictedContainer(),
                volumeMounts: [
                    { name: DATA_VOLUME, mountPath: engine.dataMountPath },
                    { name: "scripts", mountPath: paths.scripts, readOnly: true },
                    { name: "config", mountPath: paths.config, readOnly: true },
                    { name: "secret", mountPath: paths.secret, readOnly: true },
                    { name: "run", mountPath: paths.run },
                    ...Object.entries(scratch).map(([name, dir]) => ({ name, mountPath: dir.mountPath })),
                    ...(topology.databaseApiToken ? [tokenMount] : []),
                    ...partMounts(parts),
                ],
            },
            ...sidecars.map((s) => sidecar(ctx, s, tokenMount)),
            ...parts.flatMap((p) => p.containers ?? []).map((c) => ({ ...c, securityContext: { ...restrictedContainer(), ...c.securityContext } })),
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
            // Shared by the containers: state files the sidecars read, the passfile the server uses.
            { name: "run", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
            ...Object.entries(scratch).map(([name, dir]) => ({ name, emptyDir: { sizeLimit: dir.sizeLimit } })),
            ...sidecars.flatMap((s) => Object.keys(s.scratch)).map((name) => ({ name, emptyDir: { medium: "Memory", sizeLimit: "1Mi" } })),
            ...partVolumes(parts),
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
