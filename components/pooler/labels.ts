/**
 * The pooler pods' labels. They must not carry the database's selector (`app.kubernetes.io/name` of the
 * engine): the headless Service, the PodDisruptionBudget and the StatefulSet select the database pods by it.
 * Pure.
 */
import type { PooledService } from "../naming";

export const POOLER_APP = "pgbouncer";
export const POOLER_COMPONENT = "pooler";
/** Which Service a pooler pod pools: `rw` or `ro`. */
export const POOLED_SERVICE_LABEL = "replicated-db.io/pooled-service";

/** Every pooler pod of the cluster, both Services' (what the NetworkPolicies name). */
export function poolerPodLabels(clusterName: string): Record<string, string> {
    return { "app.kubernetes.io/name": POOLER_APP, "app.kubernetes.io/instance": clusterName, "app.kubernetes.io/component": POOLER_COMPONENT };
}

/** The pods of one pooled Service: its Deployment's selector (immutable: never add to it). */
export function poolerSelector(clusterName: string, service: PooledService): Record<string, string> {
    return { "app.kubernetes.io/name": POOLER_APP, "app.kubernetes.io/instance": clusterName, [POOLED_SERVICE_LABEL]: service };
}
