// The standby of a disaster-recovery pair (README, "Disaster recovery: standby cluster"): a cluster in another
// region that streams from the source stack's cluster and serves reads. `pulumi config set promote true` and
// `pulumi up` promote it, once the source is gone AND fenced (the README's drill).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { OUTPUT_NAMES, ReplicatedDatabase } from "replicated-db";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "databases";
const promote = config.getBoolean("promote") ?? false;
const sourceCidrs = config.getObject<string[]>("sourceCidrs") ?? ["0.0.0.0/0"];
// e.g. "acme/dr-source/eu-west".
const source = new pulumi.StackReference("source", { name: config.require("sourceStack") });

// The source's replication password (a secret output of the source stack) in a Secret of this namespace:
// the standby's pods use it to stream from the source and between themselves.
const replication = new k8s.core.v1.Secret("source-replication", {
    metadata: { namespace, name: "source-replication" },
    stringData: { "replication-password": source.requireOutput("replicationPassword") as pulumi.Output<string> },
});

// The component's args are plain values, known before any resource is made: the source's names and CA (not
// secrets) are read from the StackReference first, hence an async program.
export = async () => {
    const sourceHosts = (await source.getOutputValue("standbyHosts")) as string[];
    const sourceCaCertificate = (await source.getOutputValue("caCertificate")) as string;
    const db = new ReplicatedDatabase(
        "db",
        {
            namespace,
            replicas: 2,
            storageSize: "50Gi",
            standby: { enabled: !promote, sourceHosts, sourceCaCertificate, replicationSecretName: "source-replication", sourceCidrs },
        },
        { dependsOn: [replication] },
    );
    return Object.fromEntries(OUTPUT_NAMES.map((name) => [name, db[name]]));
};
