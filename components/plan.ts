/**
 * The cluster's shape, computed once from the resolved args: how many pods, their ordinals, names and DNS
 * names, which one the config makes the primary and which are replicas. Every resource builder and the
 * connection strings read it from here instead of recomputing `replicas + 1`. Pure.
 *
 * The roles are the configured ones: with `failover: "manual"` they are the truth (the pods follow
 * `primaryOrdinal`); with "patroni" they are where the cluster starts, and Patroni may move the primary later.
 */
import { ResolvedArgs } from "./args";
import { Names, PRIMARY_ROLE, REPLICA_ROLE, names as deriveNames } from "./naming";

export type PodRole = typeof PRIMARY_ROLE | typeof REPLICA_ROLE;

export interface PodPlan {
    ordinal: number;
    /** The pod's name, `<cluster>-<ordinal>`. */
    name: string;
    /** Its DNS name through the headless Service. */
    host: string;
    role: PodRole;
}

export interface ClusterPlan {
    /** The StatefulSet's replica count: the primary and every read replica. */
    podCount: number;
    /** Every pod, ordinal 0 first. */
    pods: PodPlan[];
    /** The configured primary (`primaryOrdinal`). */
    primary: PodPlan;
    /** The others, in ordinal order; empty with `replicas: 0`. */
    replicas: PodPlan[];
    /** The configured primary first, then the replicas: the order a client should try them in for writes. */
    primaryFirst: PodPlan[];
    names: Names;
}

/** `topology` supplies the RBAC objects' suffix in the names (see naming.ts). */
export function plan(args: ResolvedArgs, topology: { rbacSuffix: string }): ClusterPlan {
    const names = deriveNames(args, topology);
    const podCount = args.replicas + 1;
    const pods: PodPlan[] = Array.from({ length: podCount }, (_, ordinal) => ({
        ordinal,
        name: names.pod(ordinal),
        host: names.podHost(ordinal),
        role: ordinal === args.primaryOrdinal ? PRIMARY_ROLE : REPLICA_ROLE,
    }));
    const primary = pods[args.primaryOrdinal];
    if (!primary) {
        // resolveArgs refuses this; a plan of unresolved args must not silently pick another primary.
        throw new Error(`primaryOrdinal ${args.primaryOrdinal} is not one of the ${podCount} pods`);
    }
    const replicas = pods.filter((p) => p.role === REPLICA_ROLE);
    return { podCount, pods, primary, replicas, primaryFirst: [primary, ...replicas], names };
}
