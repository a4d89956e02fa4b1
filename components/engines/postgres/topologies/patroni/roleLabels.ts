/**
 * The role label Patroni puts on each pod (its Kubernetes store's `role_label` and `*_label_value` settings),
 * which the read-write and read-only Services select, as in the script-driven mode.
 *
 * Patroni's defaults would label a standby cluster's leader `primary`, putting a server that refuses writes
 * behind the read-write Service; here it is labelled `replica`, as the script-driven mode labels it (it is in
 * recovery): while the cluster is a standby its leader serves reads through the read-only Service and the
 * read-write Service has no endpoint; once promoted it becomes the leader and is labelled `primary`.
 */
import { PRIMARY_ROLE, REPLICA_ROLE, ROLE_LABEL } from "../../../../naming";

/** The `kubernetes` settings that choose the label values. */
export const PATRONI_ROLE_LABELS = {
    role_label: ROLE_LABEL,
    leader_label_value: PRIMARY_ROLE,
    follower_label_value: REPLICA_ROLE,
    standby_leader_label_value: REPLICA_ROLE,
} as const;

/**
 * The label value Patroni sets for a member reporting `role` and `state` (its REST API's `GET /`), as its
 * Kubernetes store computes it from the settings above; undefined: the label is removed. Roles Patroni passes
 * through unchanged (such as `demoted`) match no Service.
 */
export function patroniRoleLabel(role: string | undefined, state: string | undefined): string | undefined {
    if (role === "primary" || role === "master") return PATRONI_ROLE_LABELS.leader_label_value;
    if (role === "standby_leader") return PATRONI_ROLE_LABELS.standby_leader_label_value;
    if (state !== "running" || role === undefined) return undefined;
    return role === "replica" ? PATRONI_ROLE_LABELS.follower_label_value : role;
}
