/**
 * The identity of the pods: a ServiceAccount and a Role in the namespace with the rules the topology needs
 * (the topology also decides which containers get the token).
 */
import * as k8s from "@pulumi/kubernetes";
import { BuildContext } from "../core/context";

export interface Rbac {
    serviceAccount: k8s.core.v1.ServiceAccount;
    role: k8s.rbac.v1.Role;
    roleBinding: k8s.rbac.v1.RoleBinding;
}

/**
 * What the pods' ServiceAccount may change when it updates a pod: RBAC grants `patch` on whole pods (the
 * topology's failover manager or labeler labels and annotates them), which would also let it change a container's
 * image or command. The policy refuses any change but to labels and annotations.
 */
export const POD_UPDATE_RULES: { expression: string; message: string; reason: string }[] = [
    { expression: "object.spec == oldObject.spec", message: "the pods' ServiceAccount may change only labels and annotations, not the spec", reason: "Forbidden" },
    {
        expression:
            "(has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []) == (has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : []) && " +
            "(has(object.metadata.finalizers) ? object.metadata.finalizers : []) == (has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : [])",
        message: "the pods' ServiceAccount may change only labels and annotations, not owners or finalizers",
        reason: "Forbidden",
    },
];

/** The cluster-scoped policy's name: unique per namespace and cluster. */
export function podUpdatePolicyName(namespace: string, clusterName: string): string {
    return `replicated-db.${namespace}.${clusterName}.pod-updates`;
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
    if (args.podUpdatePolicy) {
        const name = podUpdatePolicyName(args.namespace, args.clusterName);
        const policy = new k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            `${ctx.name}-pod-update-policy`,
            {
                metadata: { name, labels: ctx.labels("rbac") },
                spec: {
                    failurePolicy: "Fail",
                    matchConstraints: { resourceRules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["pods"] }] },
                    matchConditions: [
                        { name: "pods-service-account", expression: `request.userInfo.username == "system:serviceaccount:${args.namespace}:${names.serviceAccount}"` },
                    ],
                    validations: POD_UPDATE_RULES,
                },
            },
            { parent },
        );
        new k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            `${ctx.name}-pod-update-policy-binding`,
            {
                metadata: { name, labels: ctx.labels("rbac") },
                spec: {
                    policyName: name,
                    validationActions: ["Deny"],
                    matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": args.namespace } } },
                },
            },
            { parent, dependsOn: [policy] },
        );
    }
    return { serviceAccount, role, roleBinding };
}
