// Two independent databases from the package, in two namespaces, sized differently.
import * as k8s from "@pulumi/kubernetes";
import { ReplicatedDatabase } from "replicated-db";

const namespaces = ["orders", "analytics"].map(
    (name) => new k8s.core.v1.Namespace(name, { metadata: { name } }),
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
