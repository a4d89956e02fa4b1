/**
 * The identity of the pods. Script-driven mode: a ServiceAccount whose only right is to read and label the
 * pods of this StatefulSet, which the role-labeler sidecar needs; the database container gets no token.
 * Automated failover: what Patroni needs for its leader lock (ConfigMaps) and for labelling and watching
 * the members (pods), in this namespace only.
 */
import * as k8s from "@pulumi/kubernetes";
import { BuildContext } from "./context";

export interface Rbac {
    serviceAccount: k8s.core.v1.ServiceAccount;
    role: k8s.rbac.v1.Role;
    roleBinding: k8s.rbac.v1.RoleBinding;
}

export function createRbac(ctx: BuildContext): Rbac {
    const { args, names, parent } = ctx;
    const metadata = (name: string) => ({ name, namespace: args.namespace, labels: ctx.labels("rbac") });
    const serviceAccount = new k8s.core.v1.ServiceAccount(
        `${ctx.name}-serviceaccount`,
        // The token is mounted into the sidecar alone (a projected volume), not into every container.
        { metadata: metadata(names.serviceAccount), automountServiceAccountToken: false },
        { parent },
    );
    const pods = Array.from({ length: args.replicas + 1 }, (_, i) => names.pod(i));
    const role = new k8s.rbac.v1.Role(
        `${ctx.name}-role`,
        {
            metadata: metadata(names.role),
            rules: args.automatedFailover
                ? patroniRules()
                : [{ apiGroups: [""], resources: ["pods"], resourceNames: pods, verbs: ["get", "patch"] }],
        },
        { parent },
    );
    const roleBinding = new k8s.rbac.v1.RoleBinding(
        `${ctx.name}-rolebinding`,
        {
            metadata: metadata(names.roleBinding),
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: names.role },
            subjects: [{ kind: "ServiceAccount", name: names.serviceAccount, namespace: args.namespace }],
        },
        { parent, dependsOn: [role, serviceAccount] },
    );
    return { serviceAccount, role, roleBinding };
}

/**
 * Patroni with `use_endpoints: false`: the leader lock, the cluster config and the failover/sync keys are
 * ConfigMaps named after the cluster (created on first start, hence no resourceNames: create and list
 * cannot be limited by name); the members are the pods, which Patroni lists, watches and labels.
 */
export function patroniRules(): k8s.types.input.rbac.v1.PolicyRule[] {
    return [
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create", "get", "list", "patch", "update", "watch", "delete"] },
        { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "patch", "update", "watch"] },
    ];
}
