/**
 * A topology answers one question for an engine: who decides which pod is the primary. It owns everything
 * that follows from that answer (the database container's command, mode env and probes, its sidecars,
 * whether the database container talks to the Kubernetes API, the RBAC rules, the configuration files and
 * the scripts shipped to the pods, and its own checks of the args). The plumbing (StatefulSet, RBAC,
 * ConfigMaps, names) asks the selected topology and never names a mode itself.
 */
import * as k8s from "@pulumi/kubernetes";
import { ReplicatedDatabaseArgs, ResolvedArgs } from "../args";
import { SettingNamer } from "../validation";
import { Container, EngineContext, MountPaths } from "./engineContext";
import { PodPart } from "./parts";

export type PolicyRule = k8s.types.input.rbac.v1.PolicyRule;

/** The pod volumes a sidecar may read; each is mounted read-only at its path in {@link MountPaths}. */
export type SharedVolume = Exclude<keyof MountPaths, "serviceAccount">;

export interface Sidecar {
    /** Name, image, command, env and resources; the plumbing adds the restricted security context and the mounts. */
    container: Container;
    /** The pod's volumes it reads, mounted read-only in this order. */
    reads: SharedVolume[];
    /**
     * Its own writable scratch directories, volume name to mount path: each an emptyDir in memory that no other
     * container mounts (the root file system is read-only).
     */
    scratch: Record<string, string>;
    /** Whether it gets the ServiceAccount token (at `paths.serviceAccount`), to talk to the Kubernetes API. */
    apiToken: boolean;
}

export interface InternalPort {
    name: string;
    port: number;
    /** What serves it, for messages ("Patroni's REST API"). */
    description: string;
    /** The path where it serves Prometheus metrics, which monitoring scrapes; absent when it serves none. */
    metricsPath?: string;
}

export interface Topology {
    /** The `failover` value that selects it. */
    readonly name: string;
    /**
     * The suffix of the Role's and RoleBinding's names (`<cluster>-<suffix>`). It is part of their identity:
     * a new suffix replaces the objects, so never change an existing topology's.
     */
    readonly rbacSuffix: string;
    /** Whether the database container gets the ServiceAccount token (the failover manager in it uses the API). */
    readonly databaseApiToken: boolean;
    /**
     * The TCP ports besides the database's that the cluster's pods serve to each other and to nobody else
     * (Patroni's REST API); the network policy opens them between the cluster's own pods only.
     */
    readonly internalPorts: readonly InternalPort[];
    /**
     * Passwords of its own (keys of the credentials Secret, each `<name>-password`): generated beside the
     * roles' passwords, required in an `existingSecretName`, mounted in the database container only.
     */
    readonly secretKeys: readonly string[];
    /**
     * The topology's checks of the resolved args. `given` is what the user passed, to tell a chosen value from
     * a default. Throws an ArgError naming the setting.
     */
    validate(args: ResolvedArgs, given: ReplicatedDatabaseArgs, setting: SettingNamer): void;
    /** The shell scripts the pods run, file name to content; shipped (and checksummed) in the scripts ConfigMap. */
    scripts(): Record<string, string>;
    /** The configuration files, file name to content; shipped (and checksummed) in the config ConfigMap. */
    configFiles(ctx: EngineContext): Record<string, string>;
    /** The database container, without the volume mounts, resources and security context the plumbing adds. */
    container(ctx: EngineContext): Container;
    /** The containers that run beside the database. */
    sidecars(ctx: EngineContext): Sidecar[];
    /** What the topology adds to the pods besides its container and sidecars (such as live files); `{}` for nothing. */
    pod(ctx: EngineContext): PodPart;
    /** What the pods' ServiceAccount may do, in the cluster's namespace. */
    rbacRules(ctx: EngineContext): PolicyRule[];
}
