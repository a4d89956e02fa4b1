/** Hard limits shared by the args and the engines (kept apart from args.ts to avoid an import cycle). */

/** The most read replicas we render; more is a different architecture (cascading replication). */
export const MAX_REPLICAS = 30;
/**
 * A StatefulSet's pods carry a `controller-revision-hash` label of `<name>-<10 chars>`, which must fit in
 * 63 characters; that bounds the StatefulSet's name.
 */
export const MAX_CLUSTER_NAME = 52;
/**
 * The pods' terminationGracePeriodSeconds: long enough for a fast shutdown to finish a checkpoint on a busy
 * primary. patroni.sh bounds its own stop within it (RDB_TERMINATION_GRACE_SECONDS).
 */
export const TERMINATION_GRACE_SECONDS = 60;
