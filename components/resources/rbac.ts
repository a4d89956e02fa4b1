/**
 * The identity of the pods: a ServiceAccount and a Role in the namespace with the rules the topology needs
 * (the topology also decides which containers get the token).
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
        // Not automounted: the token goes (a projected volume) only into the containers the topology names.
        { metadata: metadata(names.serviceAccount), automountServiceAccountToken: false },
        { parent },
    );
    const role = new k8s.rbac.v1.Role(
        `${ctx.name}-role`,
        {
            metadata: metadata(names.role),
            rules: ctx.topology.rbacRules(ctx),
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
