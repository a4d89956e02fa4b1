// Two independent databases from the package, in two namespaces, sized differently.
import * as k8s from "@pulumi/kubernetes";
import { ReplicatedDatabase } from "replicated-db";

// Both clusters use a provisioner's volumes, so their pods pass Pod Security "restricted": enforce it.
// (hostPath static volumes would need "baseline": README, "Pod Security".)
const podSecurity = Object.fromEntries(
    ["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, "restricted"]),
);
const namespaces = ["orders", "analytics"].map(
    (name) => new k8s.core.v1.Namespace(name, { metadata: { name, labels: podSecurity } }),
);

const orders = new ReplicatedDatabase(
    "orders",
    { namespace: "orders", replicas: 2, storageSize: "50Gi", storageClassName: "gp3" },
    { dependsOn: namespaces },
);
const analytics = new ReplicatedDatabase(
    "analytics",
    {
        namespace: "analytics",
        replicas: 1,
        storageSize: "200Gi",
        storageClassName: "gp3",
        resources: { cpuRequest: "2", memoryRequest: "8Gi", memoryLimit: "8Gi" },
        parameters: { work_mem: "64MB" },
    },
    { dependsOn: namespaces },
);

export const ordersWriteUrl = orders.writeConnectionString;
export const ordersReadUrl = orders.readConnectionString;
export const analyticsWriteUrl = analytics.writeConnectionString;
export const analyticsReadUrl = analytics.readMultiHostConnectionString;
