// The source of a disaster-recovery pair (README, "Disaster recovery: standby cluster"): a cluster that takes
// the writes in its region, reachable from the standby region at one public name, and the outputs the
// standby stack reads through a StackReference.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ReplicatedDatabase, ROLE_LABEL, SECRET_KEYS } from "replicated-db";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "databases";
// e.g. "db.eu-west.example.com": a DNS record for the LoadBalancer below. The server certificate carries it, so
// the standby verifies this cluster by that name (verify-full) with this cluster's CA.
const publicHost = config.require("publicHost");
// The standby region's egress addresses: the only clients let in from outside this Kubernetes cluster.
const standbyCidrs = config.requireObject<string[]>("standbyCidrs");

const db = new ReplicatedDatabase("db", {
    namespace,
    replicas: 2,
    storageSize: "50Gi",
    tls: { extraDnsNames: [publicHost] },
    networkPolicy: { allowedClientCidrs: standbyCidrs },
});

// The read-write Service is ClusterIP; the other region reaches the primary through a LoadBalancer that selects
// the same pods (the component's selector labels and the role the pods label themselves with). Local keeps the
// client's address, which the network policy's allowedClientCidrs and loadBalancerSourceRanges check.
const external = new k8s.core.v1.Service("db-external", {
    metadata: { namespace, name: "db-external" },
    spec: {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        loadBalancerSourceRanges: standbyCidrs,
        selector: {
            "app.kubernetes.io/name": "postgresql",
            "app.kubernetes.io/instance": "db",
            "app.kubernetes.io/component": "database",
            [ROLE_LABEL]: "primary",
        },
        ports: [{ name: "postgresql", port: 5432, targetPort: 5432 }],
    },
}, { dependsOn: [db] });

// The replication password, for the standby's Secret: read from the cluster's Secret, kept a Pulumi secret.
const credentials = k8s.core.v1.Secret.get("db-credentials", pulumi.interpolate`${namespace}/${db.secretName}`, { dependsOn: [db] });

export const standbyHosts = pulumi.output([publicHost]);
export const caCertificate = db.caCertificate;
export const replicationPassword = pulumi.secret(
    credentials.data.apply((data) => Buffer.from(data[SECRET_KEYS.replication], "base64").toString("utf8")),
);
export const externalService = external.metadata.name;
